"""SimulateCustomPolicy through boto3 against the real server."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.simulate.helpers import allow, deny, policy

OBJECT = "arn:aws:s3:::reports/q1.csv"
SECRET = "arn:aws:s3:::reports/secret.csv"


def _error(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def test_allowed_explicit_and_implicit_deny_with_statement_positions(iam: Any) -> None:
    doc = policy(allow("s3:GetObject", "arn:aws:s3:::reports/*"),
                 deny("s3:GetObject", SECRET, Sid="NoSecret"), indent=2)
    out = iam.simulate_custom_policy(PolicyInputList=[doc],
                                     ActionNames=["s3:GetObject", "s3:PutObject"],
                                     ResourceArns=[OBJECT, SECRET])
    assert out["IsTruncated"] is False
    # One EvaluationResult per action and resource, each about the requested ARN.
    results = {(r["EvalActionName"], r["EvalResourceName"]): r for r in out["EvaluationResults"]}
    assert list(results) == [("s3:GetObject", OBJECT), ("s3:GetObject", SECRET),
                             ("s3:PutObject", OBJECT), ("s3:PutObject", SECRET)]
    allowed, denied = results[("s3:GetObject", OBJECT)], results[("s3:GetObject", SECRET)]
    assert allowed["EvalDecision"] == "allowed" and denied["EvalDecision"] == "explicitDeny"
    for r in out["EvaluationResults"]:
        (specific,) = r["ResourceSpecificResults"]
        assert specific["EvalResourceName"] == r["EvalResourceName"]
        assert specific["EvalResourceDecision"] == r["EvalDecision"]
        assert "EvalDecisionDetails" not in specific  # same account
        assert r["EvalDecisionDetails"] == {}
    # indent=2: line 1 "{", 2 Version, 3 "Statement": [, statement 0 opens on line 4.
    (stmt,) = allowed["MatchedStatements"]
    assert stmt["SourcePolicyId"] == "PolicyInputList.1"
    assert stmt["SourcePolicyType"] == "IAM Policy"
    assert stmt["StartPosition"] == {"Line": 4, "Column": 6}
    assert stmt["EndPosition"]["Line"] == 8
    (deny_stmt,) = denied["MatchedStatements"]
    assert deny_stmt["StartPosition"]["Line"] == 9
    lines = doc.splitlines()
    assert '"NoSecret"' in "\n".join(lines[8:deny_stmt["EndPosition"]["Line"]])
    for resource in (OBJECT, SECRET):
        put = results[("s3:PutObject", resource)]
        assert put["EvalDecision"] == "implicitDeny" and put["MatchedStatements"] == []


def test_wildcard_resource_has_no_resource_specific_results(iam: Any) -> None:
    doc = policy(allow("iam:ListUsers"))
    (result,) = iam.simulate_custom_policy(PolicyInputList=[doc],
                                           ActionNames=["iam:ListUsers"])["EvaluationResults"]
    assert result["EvalResourceName"] == "*"
    assert result["EvalDecision"] == "allowed"
    assert "ResourceSpecificResults" not in result
    assert "EvalDecisionDetails" not in result
    assert result["MatchedStatements"][0]["StartPosition"] == {"Line": 1, "Column": 42}


def test_missing_context_values_are_reported(iam: Any) -> None:
    doc = policy(allow("ec2:StopInstances",
                       Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                  "StringEquals": {"aws:PrincipalTag/team": "ops"}}))
    (result,) = iam.simulate_custom_policy(
        PolicyInputList=[doc], ActionNames=["ec2:StopInstances"],
        ContextEntries=[{"ContextKeyName": "aws:PrincipalTag/team", "ContextKeyValues": ["ops"],
                         "ContextKeyType": "string"}])["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["aws:MultiFactorAuthPresent"]


@pytest.mark.parametrize(
    ("entry", "decision"),
    [
        ({"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.20.30.40"],
          "ContextKeyType": "ip"}, "allowed"),
        ({"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["192.0.2.1"],
          "ContextKeyType": "ip"}, "implicitDeny"),
    ],
)
def test_ip_context(iam: Any, entry: dict[str, Any], decision: str) -> None:
    doc = policy(allow("s3:ListBucket",
                       Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    (result,) = iam.simulate_custom_policy(PolicyInputList=[doc], ActionNames=["s3:ListBucket"],
                                           ContextEntries=[entry])["EvaluationResults"]
    assert result["EvalDecision"] == decision
    assert result["MissingContextValues"] == []


def test_date_boolean_numeric_and_list_contexts(iam: Any) -> None:
    doc = policy(
        allow("s3:GetObject", Sid="Window",
              Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
        deny("s3:GetObject", Sid="NeedMfa",
             Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
        deny("s3:GetObject", Sid="FreshMfa",
             Condition={"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}),
        deny("s3:GetObject", Sid="NoBadTags",
             Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["forbidden"]}}),
    )

    def run(current: str, mfa: str, age: str, tags: list[str]) -> str:
        entries = [
            {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": [current],
             "ContextKeyType": "date"},
            {"ContextKeyName": "aws:MultiFactorAuthPresent", "ContextKeyValues": [mfa],
             "ContextKeyType": "boolean"},
            {"ContextKeyName": "aws:MultiFactorAuthAge", "ContextKeyValues": [age],
             "ContextKeyType": "numeric"},
            {"ContextKeyName": "aws:TagKeys", "ContextKeyValues": tags,
             "ContextKeyType": "stringList"},
        ]
        (r,) = iam.simulate_custom_policy(PolicyInputList=[doc], ActionNames=["s3:GetObject"],
                                          ContextEntries=entries)["EvaluationResults"]
        return str(r["EvalDecision"])

    assert run("2029-06-01T12:00:00Z", "true", "60", ["team"]) == "allowed"
    assert run("2031-06-01T12:00:00Z", "true", "60", ["team"]) == "implicitDeny"
    assert run("2029-06-01T12:00:00Z", "FALSE", "60", ["team"]) == "explicitDeny"
    assert run("2029-06-01T12:00:00Z", "true", "7200", ["team"]) == "explicitDeny"
    assert run("2029-06-01T12:00:00Z", "true", "60", ["team", "forbidden"]) == "explicitDeny"


def test_permissions_boundary_detail(iam: Any) -> None:
    identity = policy(allow(["s3:GetObject", "s3:DeleteObject"]))
    boundary = policy(allow("s3:GetObject"))
    out = iam.simulate_custom_policy(PolicyInputList=[identity],
                                     PermissionsBoundaryPolicyInputList=[boundary],
                                     ActionNames=["s3:GetObject", "s3:DeleteObject"])
    get, delete = out["EvaluationResults"]
    assert get["EvalDecision"] == "allowed"
    assert get["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert [s["SourcePolicyId"] for s in get["MatchedStatements"]] == ["PolicyInputList.1"]
    assert delete["EvalDecision"] == "implicitDeny"
    assert delete["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_resource_policy_with_caller_arn(iam: Any, server: Any) -> None:
    alice = f"arn:aws:iam::{server.account_id}:user/alice"
    bucket_policy = policy({"Effect": "Allow", "Principal": {"AWS": alice},
                            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"})
    identity = policy(allow("s3:ListBucket"))
    kwargs: dict[str, Any] = {"PolicyInputList": [identity], "ResourcePolicy": bucket_policy,
                              "ActionNames": ["s3:GetObject"],
                              "ResourceArns": ["arn:aws:s3:::shared/doc"]}
    (result,) = iam.simulate_custom_policy(CallerArn=alice, **kwargs)["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    (stmt,) = result["ResourceSpecificResults"][0]["MatchedStatements"]
    assert stmt["SourcePolicyId"] == "ResourcePolicy"
    assert stmt["SourcePolicyType"] == "resource"
    assert result["EvalDecisionDetails"] == {}  # same account with a resource ARN: empty
    bob = f"arn:aws:iam::{server.account_id}:user/bob"
    (other,) = iam.simulate_custom_policy(CallerArn=bob, **kwargs)["EvaluationResults"]
    assert other["EvalDecision"] == "implicitDeny"


def test_cross_account_decision_details(iam: Any) -> None:
    caller = "arn:aws:iam::444455556666:user/carol"
    bucket_policy = policy({"Effect": "Allow", "Principal": {"AWS": "444455556666"},
                            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::partner/*"})
    common = {"ResourcePolicy": bucket_policy, "CallerArn": caller,
              "ActionNames": ["s3:GetObject"], "ResourceArns": ["arn:aws:s3:::partner/x"],
              "ResourceOwner": "777788889999"}
    (ok,) = iam.simulate_custom_policy(PolicyInputList=[policy(allow("s3:GetObject"))],
                                       **common)["EvaluationResults"]
    assert ok["EvalDecision"] == "allowed"
    assert ok["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "allowed"}
    (no,) = iam.simulate_custom_policy(PolicyInputList=[policy(allow("s3:ListBucket"))],
                                       **common)["EvaluationResults"]
    assert no["EvalDecision"] == "implicitDeny"
    assert no["EvalDecisionDetails"] == {"IAM Policy": "implicitDeny",
                                         "Resource Policy": "allowed"}
    assert no["ResourceSpecificResults"][0]["EvalDecisionDetails"]["IAM Policy"] == "implicitDeny"


def test_organization_policy_levels(iam: Any) -> None:
    full = policy(allow("*"))
    no_delete = policy(deny("s3:DeleteBucket"))
    only_s3 = policy(allow("s3:*"))
    out = iam.simulate_custom_policy(
        PolicyInputList=[policy(allow("*"))],
        OrderedOrganizationPolicyInputList=[
            {"ServiceControlPolicyInputList": [full, no_delete]},
            {"ServiceControlPolicyInputList": [only_s3]},
        ],
        ActionNames=["s3:GetObject", "s3:DeleteBucket", "ec2:RunInstances"])
    get, delete, run = out["EvaluationResults"]
    assert get["EvalDecision"] == "allowed"
    assert get["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    assert delete["EvalDecision"] == "explicitDeny"
    assert delete["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert delete["MatchedStatements"] == []  # SCP statements are not listed
    assert run["EvalDecision"] == "implicitDeny"
    assert run["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}


def test_pagination(iam: Any) -> None:
    actions = [f"s3:{a}" for a in ("GetObject", "PutObject", "DeleteObject", "ListBucket",
                                   "GetBucketPolicy")]
    doc = policy(allow("s3:Get*"))
    seen: list[str] = []
    kwargs: dict[str, Any] = {}
    pages = 0
    while True:
        out = iam.simulate_custom_policy(PolicyInputList=[doc], ActionNames=actions,
                                         MaxItems=2, **kwargs)
        pages += 1
        seen += [r["EvalActionName"] for r in out["EvaluationResults"]]
        if not out["IsTruncated"]:
            assert "Marker" not in out
            break
        kwargs = {"Marker": out["Marker"]}
    assert pages == 3
    assert seen == actions
    paginated = iam.get_paginator("simulate_custom_policy").paginate(
        PolicyInputList=[doc], ActionNames=actions, PaginationConfig={"PageSize": 4})
    assert [r["EvalDecision"] for p in paginated for r in p["EvaluationResults"]] == [
        "allowed", "implicitDeny", "implicitDeny", "implicitDeny", "allowed"]
    code, status, message = _error(iam.simulate_custom_policy, PolicyInputList=[doc],
                                   ActionNames=actions, Marker="not-a-marker")
    assert (code, status, message) == ("InvalidInput", 400, "Invalid Marker.")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"PolicyInputList": ['{"Version": "2012-10-17", "Statement": ']}, "Syntax errors"),
        ({"PolicyInputList": [policy({"Effect": "Allow", "Action": "s3:*"})]},
         "must contain resources"),
        ({"ActionNames": ["GetObject"]}, "service:Action"),
        ({"ContextEntries": [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["nope"],
                              "ContextKeyType": "ip"}]}, "aws:SourceIp"),
        ({"ContextEntries": [{"ContextKeyName": "aws:MultiFactorAuthPresent",
                              "ContextKeyValues": ["yes"], "ContextKeyType": "boolean"}]},
         "boolean"),
        ({"ContextEntries": [{"ContextKeyName": "aws:CurrentTime",
                              "ContextKeyValues": ["tomorrow"], "ContextKeyType": "date"}]},
         "date"),
        ({"ContextEntries": [{"ContextKeyName": "aws:SourceIp",
                              "ContextKeyValues": ["10.0.0.1", "10.0.0.2"],
                              "ContextKeyType": "ip"}]}, "ipList"),
        ({"ResourcePolicy": policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                                    "Resource": "*"})}, "CallerArn"),
        ({"CallerArn": "arn:aws:sts::123456789012:assumed-role/r/s"}, "CallerArn"),
        ({"PermissionsBoundaryPolicyInputList": [policy(allow("*")), policy(allow("*"))]},
         "one permissions boundary"),
        ({"ResourceOwner": "not-an-account"}, "ResourceOwner"),
        ({"ResourceHandlingOption": "EC2-Classic"}, "ResourceHandlingOption"),
        ({"ResourceArns": ["bucket/key"]}, "bucket/key"),
    ],
)
def test_invalid_input(iam: Any, kwargs: dict[str, Any], fragment: str) -> None:
    call: dict[str, Any] = {"PolicyInputList": [policy(allow("s3:*"))],
                            "ActionNames": ["s3:GetObject"], **kwargs}
    code, status, message = _error(iam.simulate_custom_policy, **call)
    assert (code, status) == ("InvalidInput", 400)
    assert fragment in message


def test_context_key_type_outside_the_enum_is_a_validation_error(iam: Any) -> None:
    code, status, message = _error(
        iam.simulate_custom_policy, PolicyInputList=[policy(allow("s3:*"))],
        ActionNames=["s3:GetObject"],
        ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.0.0.1"],
                         "ContextKeyType": "cidr"}])
    assert (code, status) == ("ValidationError", 400)
    assert "enum value set" in message
