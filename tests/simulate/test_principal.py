"""SimulatePrincipalPolicy through boto3 against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.simulate.helpers import allow, deny, policy, unique

READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
TRUST = policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole"})


def _error(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


@pytest.fixture(scope="module")
def family(iam: Any) -> Iterator[dict[str, str]]:
    """A user with an inline policy, a customer managed policy, an AWS managed policy, and a
    group with an inline Deny."""
    user, group, managed = unique("sim-user"), unique("sim-group"), unique("sim-managed")
    iam.create_user(UserName=user, Path="/team/")
    iam.put_user_policy(UserName=user, PolicyName="UserInline",
                        PolicyDocument=policy(allow("dynamodb:GetItem"), indent=2))
    arn = iam.create_policy(PolicyName=managed,
                            PolicyDocument=policy(allow("sqs:SendMessage")))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=READ_ONLY)
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="GroupGuard",
                         PolicyDocument=policy(deny("s3:GetObject", "arn:aws:s3:::vault/*")))
    iam.add_user_to_group(GroupName=group, UserName=user)
    user_arn = iam.get_user(UserName=user)["User"]["Arn"]
    group_arn = iam.get_group(GroupName=group)["Group"]["Arn"]
    yield {"user": user, "user_arn": user_arn, "group_arn": group_arn, "managed": managed,
           "managed_arn": arn}


def _one(iam: Any, source: str, action: str, **kwargs: Any) -> dict[str, Any]:
    (result,) = iam.simulate_principal_policy(PolicySourceArn=source, ActionNames=[action],
                                              **kwargs)["EvaluationResults"]
    return result


def test_user_policies_from_every_source(iam: Any, family: dict[str, str]) -> None:
    src = family["user_arn"]
    inline = _one(iam, src, "dynamodb:GetItem")
    assert inline["EvalDecision"] == "allowed"
    (stmt,) = inline["MatchedStatements"]
    assert (stmt["SourcePolicyId"], stmt["SourcePolicyType"]) == ("UserInline", "user")
    assert stmt["StartPosition"] == {"Line": 4, "Column": 6}
    managed = _one(iam, src, "sqs:SendMessage")
    assert [(s["SourcePolicyId"], s["SourcePolicyType"]) for s in managed["MatchedStatements"]] \
        == [(family["managed"], "user-managed")]
    aws = _one(iam, src, "s3:GetObject", ResourceArns=["arn:aws:s3:::public/a"])
    assert aws["EvalDecision"] == "allowed"
    assert {(s["SourcePolicyId"], s["SourcePolicyType"]) for s in aws["MatchedStatements"]} \
        == {("AmazonS3ReadOnlyAccess", "aws-managed")}
    assert _one(iam, src, "ec2:RunInstances")["EvalDecision"] == "implicitDeny"


def test_group_policy_denies_the_user(iam: Any, family: dict[str, str]) -> None:
    result = _one(iam, family["user_arn"], "s3:GetObject",
                  ResourceArns=["arn:aws:s3:::vault/gold"])
    assert result["EvalDecision"] == "explicitDeny"
    (stmt,) = result["MatchedStatements"]
    assert (stmt["SourcePolicyId"], stmt["SourcePolicyType"]) == ("GroupGuard", "group")


def test_group_as_policy_source(iam: Any, family: dict[str, str]) -> None:
    result = _one(iam, family["group_arn"], "s3:GetObject",
                  ResourceArns=["arn:aws:s3:::vault/gold"])
    assert result["EvalDecision"] == "explicitDeny"
    assert _one(iam, family["group_arn"], "dynamodb:GetItem")["EvalDecision"] == "implicitDeny"


def test_input_policies_are_added(iam: Any, family: dict[str, str]) -> None:
    result = _one(iam, family["user_arn"], "ec2:RunInstances",
                  PolicyInputList=[policy(allow("ec2:RunInstances"))])
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"


def test_exclusions(iam: Any, family: dict[str, str]) -> None:
    src = family["user_arn"]
    vault = {"ResourceArns": ["arn:aws:s3:::vault/gold"]}
    gone = _one(iam, src, "s3:GetObject", PolicyExclusionList=[{"InlinePolicyIdentifier": {
        "PolicyName": "GroupGuard", "AttachmentType": "group", "AttachmentName": "sim-group-*"}}],
        **vault)
    assert gone["EvalDecision"] == "allowed"
    by_type = _one(iam, src, "s3:GetObject", PolicyExclusionList=[{"PolicyType": "aws-managed"}],
                   ResourceArns=["arn:aws:s3:::public/a"])
    assert by_type["EvalDecision"] == "implicitDeny"
    by_arn = _one(iam, src, "sqs:SendMessage",
                  PolicyExclusionList=[{"PolicyArn": family["managed_arn"][:-3] + "*"}])
    assert by_arn["EvalDecision"] == "implicitDeny"
    code, status, _ = _error(iam.simulate_principal_policy, PolicySourceArn=src,
                             ActionNames=["s3:GetObject"],
                             PolicyExclusionList=[{"PolicyArn": "arn:aws:iam::*:policy/x*y*"}])
    assert (code, status) == ("InvalidInput", 400)


def test_role_with_permissions_boundary(iam: Any) -> None:
    role = unique("sim-role")
    boundary = iam.create_policy(PolicyName=unique("sim-boundary"),
                                 PolicyDocument=policy(allow("s3:*")))["Policy"]["Arn"]
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST,
                          PermissionsBoundary=boundary)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="RoleInline",
                        PolicyDocument=policy(allow(["s3:GetObject", "ec2:RunInstances"])))
    get = _one(iam, arn, "s3:GetObject")
    assert get["EvalDecision"] == "allowed"
    assert get["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert [(s["SourcePolicyId"], s["SourcePolicyType"]) for s in get["MatchedStatements"]] == [
        ("RoleInline", "role")]
    run = _one(iam, arn, "ec2:RunInstances")
    assert run["EvalDecision"] == "implicitDeny"
    assert run["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    # A boundary passed in replaces the attached one.
    replaced = _one(iam, arn, "ec2:RunInstances",
                    PermissionsBoundaryPolicyInputList=[policy(allow("ec2:*"))])
    assert replaced["EvalDecision"] == "allowed"
    excluded = _one(iam, arn, "ec2:RunInstances",
                    PolicyExclusionList=[{"PolicyType": "permission-boundary"}])
    assert excluded["EvalDecision"] == "allowed"
    assert "PermissionsBoundaryDecisionDetail" not in excluded


def test_resource_policy_and_caller_arn(iam: Any, family: dict[str, str], server: Any) -> None:
    other = f"arn:aws:iam::{server.account_id}:user/someone-else"
    bucket = policy({"Effect": "Allow", "Principal": {"AWS": other}, "Action": "s3:PutObject",
                     "Resource": "arn:aws:s3:::drop/*"})
    kwargs = {"ResourcePolicy": bucket, "ResourceArns": ["arn:aws:s3:::drop/f"]}
    as_self = _one(iam, family["user_arn"], "s3:PutObject", **kwargs)
    assert as_self["EvalDecision"] == "implicitDeny"
    as_other = _one(iam, family["user_arn"], "s3:PutObject", CallerArn=other, **kwargs)
    assert as_other["EvalDecision"] == "allowed"
    (stmt,) = as_other["MatchedStatements"]
    assert (stmt["SourcePolicyId"], stmt["SourcePolicyType"]) == ("ResourcePolicy", "resource")


def test_pagination(iam: Any, family: dict[str, str]) -> None:
    actions = ["dynamodb:GetItem", "sqs:SendMessage", "ec2:RunInstances"]
    first = iam.simulate_principal_policy(PolicySourceArn=family["user_arn"],
                                          ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] is True
    second = iam.simulate_principal_policy(PolicySourceArn=family["user_arn"],
                                           ActionNames=actions, MaxItems=2,
                                           Marker=first["Marker"])
    assert second["IsTruncated"] is False
    assert [r["EvalDecision"] for r in first["EvaluationResults"] + second["EvaluationResults"]] \
        == ["allowed", "allowed", "implicitDeny"]


@pytest.mark.parametrize(
    ("source", "code", "status", "message"),
    [
        ("arn:aws:iam::123456789012:user/nobody-here", "NoSuchEntity", 404,
         "The user with name nobody-here cannot be found."),
        ("arn:aws:iam::123456789012:role/no-role", "NoSuchEntity", 404,
         "The role with name no-role cannot be found."),
        ("arn:aws:iam::123456789012:group/no-group", "NoSuchEntity", 404,
         "The group with name no-group cannot be found."),
        ("arn:aws:iam::999999999999:user/elsewhere", "NoSuchEntity", 404,
         "The user with name elsewhere cannot be found."),
        ("arn:aws:s3:::not-a-principal-bucket", "InvalidInput", 400, None),
    ],
)
def test_unknown_or_invalid_source(iam: Any, source: str, code: str, status: int,
                                   message: str | None) -> None:
    got = _error(iam.simulate_principal_policy, PolicySourceArn=source,
                 ActionNames=["s3:GetObject"])
    assert got[:2] == (code, status)
    if message:
        assert got[2] == message


def test_wrong_path_is_not_found(iam: Any, family: dict[str, str]) -> None:
    wrong = family["user_arn"].replace("/team/", "/")
    code, status, _ = _error(iam.simulate_principal_policy, PolicySourceArn=wrong,
                             ActionNames=["s3:GetObject"])
    assert (code, status) == ("NoSuchEntity", 404)


def test_authorization(server: Any, new_user: Any, family: dict[str, str]) -> None:
    name, key, secret = new_user()
    client = server.client("iam", key, secret)
    code, status, message = _error(client.simulate_principal_policy,
                                   PolicySourceArn=family["user_arn"],
                                   ActionNames=["s3:GetObject"])
    assert (code, status) == ("AccessDenied", 403)
    assert "iam:SimulatePrincipalPolicy" in message and family["user_arn"] in message
    code, status, message = _error(client.simulate_custom_policy,
                                   PolicyInputList=[policy(allow("*"))],
                                   ActionNames=["s3:GetObject"])
    assert (code, status) == ("AccessDenied", 403)
    assert "iam:SimulateCustomPolicy" in message
    # Unknown entities stay hidden from callers who may not simulate them.
    code, _, _ = _error(client.simulate_principal_policy,
                        PolicySourceArn="arn:aws:iam::123456789012:user/nobody-here",
                        ActionNames=["s3:GetObject"])
    assert code == "AccessDenied"
    own = f"arn:aws:iam::{server.account_id}:user/{name}"
    server.client("iam").put_user_policy(
        UserName=name, PolicyName="simulate-self",
        PolicyDocument=policy(allow("iam:SimulatePrincipalPolicy", own),
                              allow("iam:SimulateCustomPolicy")))
    (result,) = client.simulate_principal_policy(
        PolicySourceArn=own, ActionNames=["iam:SimulatePrincipalPolicy"],
        ResourceArns=[own])["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert client.simulate_custom_policy(
        PolicyInputList=[policy(allow("*"))],
        ActionNames=["s3:GetObject"])["EvaluationResults"][0]["EvalDecision"] == "allowed"
    code, _, _ = _error(client.simulate_principal_policy, PolicySourceArn=family["user_arn"],
                        ActionNames=["s3:GetObject"])
    assert code == "AccessDenied"


def test_exclusion_globs_do_not_backtrack(iam: Any) -> None:
    # AttachmentName is a caller-written glob matched against entity names. As a regex
    # ('.*a' forty times) it ran for hours against a 64-character name of 'a's; the glob
    # matcher answers at once (tests/policy/test_glob.py bounds its steps).
    user = "a" * 53 + "-" + unique("x")[-10:]
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="UserInline",
                        PolicyDocument=policy(allow("dynamodb:GetItem")))
    arn = iam.get_user(UserName=user)["User"]["Arn"]
    kept = _one(iam, arn, "dynamodb:GetItem", PolicyExclusionList=[{"InlinePolicyIdentifier": {
        "PolicyName": "UserInline", "AttachmentType": "user", "AttachmentName": "*a" * 40 + "*_"}}])
    assert kept["EvalDecision"] == "allowed"
    gone = _one(iam, arn, "dynamodb:GetItem", PolicyExclusionList=[{"InlinePolicyIdentifier": {
        "PolicyName": "UserInline", "AttachmentType": "user", "AttachmentName": "*A" * 40 + "*"}}])
    assert gone["EvalDecision"] == "implicitDeny"


def test_resource_name_templates_are_globs() -> None:
    from opensts.services.iam.simulate import eval_resource_name, resource_templates

    template = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
    assert eval_resource_name("s3:GetObject", ["arn:aws:s3:::b/k"]) == template
    # "${...}" is one character or more, and the template's own text is literal.
    assert eval_resource_name("ec2:StartInstances", [
        "arn:aws:ec2:us-east-1:1:instance/i-1"]).endswith(":instance/${InstanceId}")
    long_miss = "arn:aws:ec2:" + ":" * 2000  # no template matches: the first is named
    first = resource_templates("ec2:StartInstances")[0]
    assert eval_resource_name("ec2:StartInstances", [long_miss]) == first
