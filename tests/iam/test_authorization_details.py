"""GetAccountAuthorizationDetails through boto3 and the AWS CLI: every entity with its
policies, filters, paging across the four lists, authorization."""

from __future__ import annotations

from typing import Any

from .helpers import allow, doc, error_of, trust, unique

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _all(iam: Any, **kwargs: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"UserDetailList": [], "GroupDetailList": [],
                                 "RoleDetailList": [], "Policies": []}
    for page in iam.get_paginator("get_account_authorization_details").paginate(**kwargs):
        for key in out:
            out[key] += page[key]
    return out


def test_every_entity_with_its_policies(iam: Any, server: Any) -> None:
    user, group, role = unique("u"), unique("g"), unique("r")
    iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "a"}])
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=doc(allow("s3:*")))
    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(server.account_id))
    iam.put_role_policy(RoleName=role, PolicyName="r", PolicyDocument=doc(allow("sqs:*")))
    policy = iam.create_policy(PolicyName=unique("p"), PolicyDocument=doc(allow("ec2:*")))[
        "Policy"]
    iam.create_policy_version(PolicyArn=policy["Arn"], PolicyDocument=doc(allow("ec2:Describe*")),
                              SetAsDefault=True)
    iam.attach_role_policy(RoleName=role, PolicyArn=policy["Arn"])
    details = _all(iam)
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    assert users[user]["GroupList"] == [group]
    assert users[user]["UserPolicyList"][0]["PolicyName"] == "inline"
    # boto3 URL-decodes the documents the server sends encoded
    assert users[user]["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == [
        "s3:*"]
    assert users[user]["Tags"] == [{"Key": "team", "Value": "a"}]
    groups = {g["GroupName"]: g for g in details["GroupDetailList"]}
    assert groups[group]["AttachedManagedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    assert roles[role]["RolePolicyList"][0]["PolicyName"] == "r"
    assert roles[role]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert roles[role]["AttachedManagedPolicies"][0]["PolicyArn"] == policy["Arn"]
    assert roles[role]["InstanceProfileList"] == []
    policies = {p["Arn"]: p for p in details["Policies"]}
    mine = policies[policy["Arn"]]
    assert mine["DefaultVersionId"] == "v2" and mine["AttachmentCount"] == 1
    versions = {v["VersionId"]: v for v in mine["PolicyVersionList"]}
    assert versions["v2"]["IsDefaultVersion"] and not versions["v1"]["IsDefaultVersion"]
    assert versions["v2"]["Document"]["Statement"][0]["Action"] == ["ec2:Describe*"]
    assert READ_ONLY in policies  # attached AWS managed policies are listed
    assert all(p["AttachmentCount"] > 0 for p in details["Policies"]
               if p["Arn"].startswith("arn:aws:iam::aws:"))


def test_filters_and_paging(iam: Any, server: Any) -> None:
    for _ in range(3):
        iam.create_group(GroupName=unique("paged"))
    only_groups = _all(iam, Filter=["Group"])
    assert only_groups["UserDetailList"] == [] and only_groups["Policies"] == []
    assert len(only_groups["GroupDetailList"]) >= 3
    first = iam.get_account_authorization_details(MaxItems=2)
    assert first["IsTruncated"] and first["Marker"]
    count = sum(len(first[k]) for k in ("UserDetailList", "GroupDetailList", "RoleDetailList",
                                        "Policies"))
    assert count == 2
    paged = _all(iam, PaginationConfig={"PageSize": 3})
    whole = _all(iam)
    assert {k: len(v) for k, v in paged.items()} == {k: len(v) for k, v in whole.items()}
    local = _all(iam, Filter=["LocalManagedPolicy"])["Policies"]
    assert all(p["Arn"].startswith(f"arn:aws:iam::{server.account_id}:") for p in local)
    assert error_of(iam.get_account_authorization_details, Marker="nonsense")[:2] == (
        "InvalidInput", 400)
    code = error_of(iam.get_account_authorization_details, Filter=["Users"])
    assert code[:2] == ("ValidationError", 400) and "enum value set" in code[2]


def test_authorization_and_cli(server: Any, new_user: Any) -> None:
    _, key, secret = new_user()
    assert error_of(server.client("iam", key, secret).get_account_authorization_details)[:2] == (
        "AccessDenied", 403)
    out = server.aws_json("iam", "get-account-authorization-details", "--filter", "User")
    assert out["UserDetailList"] and out["RoleDetailList"] == []
