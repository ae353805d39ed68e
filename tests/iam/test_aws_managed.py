"""All of AWS's managed policies: listed, read, attached; read-only as on AWS."""

from __future__ import annotations

import json
from typing import Any

from .helpers import allow, doc, error_of, trust, unique

CHANGE_PASSWORD = "arn:aws:iam::aws:policy/IAMUserChangePassword"
LAMBDA_BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
ACTIVITY = "arn:aws:iam::aws:policy/AWSAccountActivityAccess"  # used by this file only


def _all(iam: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return list(iam.get_paginator("list_policies").paginate(**kwargs)
                .build_full_result()["Policies"])


def test_all_aws_managed_policies_are_listed_with_paging_and_paths(iam: Any) -> None:
    aws = _all(iam, Scope="AWS")
    assert len(aws) > 1000
    assert len({p["Arn"] for p in aws}) == len(aws)
    assert all(p["Arn"] == f"arn:aws:iam::aws:policy{p['Path']}{p['PolicyName']}"
               for p in aws)
    page = iam.list_policies(Scope="AWS", MaxItems=50)
    assert len(page["Policies"]) == 50 and page["IsTruncated"] and page["Marker"]
    service_role = _all(iam, Scope="AWS", PathPrefix="/service-role/")
    assert service_role and all(p["Path"] == "/service-role/" for p in service_role)
    assert LAMBDA_BASIC in {p["Arn"] for p in service_role}
    assert {p["Path"] for p in aws} >= {"/", "/service-role/", "/aws-service-role/",
                                       "/job-function/"}


def test_an_aws_managed_policy_reads_like_aws(iam: Any) -> None:
    policy = iam.get_policy(PolicyArn=CHANGE_PASSWORD)["Policy"]
    assert policy["PolicyName"] == "IAMUserChangePassword" and policy["Path"] == "/"
    assert policy["PolicyId"].startswith("ANPA") and policy["IsAttachable"]
    version = policy["DefaultVersionId"]
    got = iam.get_policy_version(PolicyArn=CHANGE_PASSWORD, VersionId=version)
    statement = got["PolicyVersion"]["Document"]["Statement"]
    assert "iam:ChangePassword" in json.dumps(statement)
    assert got["PolicyVersion"]["IsDefaultVersion"]
    versions = iam.list_policy_versions(PolicyArn=CHANGE_PASSWORD)["Versions"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == [version]


def test_aws_managed_policies_attach_and_filter_by_usage(iam: Any, server: Any) -> None:
    user, role = unique("amu"), unique("amr")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=CHANGE_PASSWORD)
    iam.attach_user_policy(UserName=user, PolicyArn=ACTIVITY)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(server.account_id),
                    PermissionsBoundary=LAMBDA_BASIC)
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert {"PolicyName": "IAMUserChangePassword", "PolicyArn": CHANGE_PASSWORD} in attached
    used = {p["Arn"] for p in _all(iam, Scope="AWS", OnlyAttached=True)}
    assert {CHANGE_PASSWORD, ACTIVITY} <= used
    permissions = {p["Arn"] for p in _all(iam, Scope="AWS",
                                            PolicyUsageFilter="PermissionsPolicy")}
    boundaries = {p["Arn"] for p in _all(iam, Scope="AWS",
                                          PolicyUsageFilter="PermissionsBoundary")}
    assert ACTIVITY in permissions and ACTIVITY not in boundaries
    assert LAMBDA_BASIC in boundaries and LAMBDA_BASIC not in permissions
    assert iam.get_policy(PolicyArn=CHANGE_PASSWORD)["Policy"]["AttachmentCount"] >= 1
    for arn in (CHANGE_PASSWORD, ACTIVITY):
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.delete_role(RoleName=role)
    iam.delete_user(UserName=user)


def test_aws_managed_policies_are_read_only(iam: Any) -> None:
    for call, kwargs in (
        (iam.delete_policy, {}),
        (iam.create_policy_version, {"PolicyDocument": doc(allow("s3:*"))}),
        (iam.delete_policy_version, {"VersionId": "v1"}),
        (iam.set_default_policy_version, {"VersionId": "v1"}),
        (iam.tag_policy, {"Tags": [{"Key": "k", "Value": "v"}]}),
        (iam.untag_policy, {"TagKeys": ["k"]}),
    ):
        code, _status, message = error_of(call, PolicyArn=CHANGE_PASSWORD, **kwargs)
        assert code in ("UnmodifiableEntity", "AccessDenied"), (call, code, message)
        assert CHANGE_PASSWORD in message
    policy = iam.get_policy(PolicyArn=CHANGE_PASSWORD)["Policy"]
    assert "Tags" not in policy or policy["Tags"] == []
    assert len(iam.list_policy_versions(PolicyArn=CHANGE_PASSWORD)["Versions"]) == 1


def test_aws_managed_policies_through_the_aws_cli(server: Any, iam: Any) -> None:
    listed = server.aws_json("iam", "list-policies", "--scope", "AWS",
                             "--path-prefix", "/job-function/")["Policies"]
    assert listed and all(p["Path"] == "/job-function/" for p in listed)
    user = unique("amcli")
    iam.create_user(UserName=user)
    # The forced password change needs this one (issue 13).
    server.aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn", CHANGE_PASSWORD)
    got = server.aws_json("iam", "list-attached-user-policies", "--user-name", user)
    assert [p["PolicyArn"] for p in got["AttachedPolicies"]] == [CHANGE_PASSWORD]
    version = server.aws_json("iam", "get-policy-version", "--policy-arn", CHANGE_PASSWORD,
                              "--version-id", iam.get_policy(PolicyArn=CHANGE_PASSWORD)[
                                  "Policy"]["DefaultVersionId"])["PolicyVersion"]
    assert version["IsDefaultVersion"] is True
    bad = server.aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn",
                     "IAMUserChangePassword", check=False)
    assert bad.returncode != 0 and "Invalid ARN:  Could not be parsed!" in bad.stderr
    server.aws("iam", "detach-user-policy", "--user-name", user, "--policy-arn", CHANGE_PASSWORD)
    iam.delete_user(UserName=user)
