"""Organizations, member accounts, cross-account roles and SCPs, through boto3.

Organizations API reference (CreateAccount creates OrganizationAccountAccessRole trusting the
management account); IAM User Guide, policy evaluation: SCPs must allow at every level, an
explicit deny in any SCP wins, and cross-account access needs both sides.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, unique
from tests.sts.helpers import allow, creds, deny, doc, error_of


@pytest.fixture
def org(organization: dict[str, Any]) -> dict[str, Any]:
    return organization


@pytest.fixture
def member(server: Server, org: dict[str, Any]) -> str:
    client = server.client("organizations")
    name = unique("acct")
    status = client.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"
    ]
    assert status["State"] == "SUCCEEDED"
    described = client.describe_create_account_status(CreateAccountRequestId=status["Id"])
    assert described["CreateAccountStatus"]["AccountId"] == status["AccountId"]
    return str(status["AccountId"])


def admin_session(server: Server, new_user: Any, account: str) -> dict[str, str]:
    """Credentials of OrganizationAccountAccessRole in ``account``, via a management user."""
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    _, key, secret = new_user(doc(allow("sts:AssumeRole", role)))
    return creds(
        server.client("sts", key, secret).assume_role(RoleArn=role, RoleSessionName="admin")
    )


def test_describe_and_list(server: Server, org: dict[str, Any], member: str) -> None:
    client = server.client("organizations")
    organization = client.describe_organization()["Organization"]
    assert organization["MasterAccountId"] == ACCOUNT_ID
    assert organization["Id"].startswith("o-")
    pages = client.get_paginator("list_accounts").paginate()
    accounts = {a["Id"]: a for page in pages for a in page["Accounts"]}
    assert ACCOUNT_ID in accounts and member in accounts
    assert accounts[member]["JoinedMethod"] == "CREATED"


def test_cross_account_role_needs_both_sides(server: Server, member: str, new_user: Any) -> None:
    role = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    _, key, secret = new_user()  # trusted account (the role trusts our root), no identity allow
    with pytest.raises(ClientError) as denied:
        server.client("sts", key, secret).assume_role(RoleArn=role, RoleSessionName="xx")
    assert error_of(denied.value)[:2] == ("AccessDenied", 403)
    session = admin_session(server, new_user, member)
    identity = server.client("sts", **session).get_caller_identity()
    assert identity["Account"] == member
    assert (
        identity["Arn"] == f"arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/admin"
    )
    # AdministratorAccess is attached: IAM in the member account works.
    server.client("iam", **session).create_user(UserName=unique("in-member"))


def test_scp_explicit_deny_applies_to_member_accounts(
    server: Server, member: str, new_user: Any
) -> None:
    client = server.client("organizations")
    session = admin_session(server, new_user, member)
    iam = server.client("iam", **session)
    policy = client.create_policy(
        Content=doc(deny("iam:CreateUser")),
        Description="no new users",
        Name=unique("deny-users"),
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]
    client.attach_policy(PolicyId=policy["Id"], TargetId=member)
    with pytest.raises(ClientError) as denied:
        iam.create_user(UserName=unique("blocked"))
    code, status, message = error_of(denied.value)
    assert (code, status) == ("AccessDenied", 403)
    assert "with an explicit deny in a service control policy" in message
    iam.list_users()  # other actions are unaffected
    with pytest.raises(ClientError) as duplicate:
        client.attach_policy(PolicyId=policy["Id"], TargetId=member)
    assert error_of(duplicate.value)[0] == "DuplicatePolicyAttachmentException"
    client.detach_policy(PolicyId=policy["Id"], TargetId=member)
    iam.create_user(UserName=unique("allowed"))


def test_scp_allow_list_must_allow_at_every_level(
    server: Server, member: str, new_user: Any
) -> None:
    client = server.client("organizations")
    session = admin_session(server, new_user, member)
    iam = server.client("iam", **session)
    only_list = client.create_policy(
        Content=doc(allow(["iam:List*", "sts:*"])),
        Description="read only",
        Name=unique("list-only"),
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]
    client.attach_policy(PolicyId=only_list["Id"], TargetId=member)
    client.detach_policy(PolicyId="p-FullAWSAccess", TargetId=member)
    iam.list_users()
    with pytest.raises(ClientError) as denied:
        iam.create_user(UserName=unique("nope"))
    assert (
        "because no service control policy allows the iam:CreateUser action"
        in (error_of(denied.value)[2])
    )
    attached = client.list_policies_for_target(TargetId=member, Filter="SERVICE_CONTROL_POLICY")
    assert [p["Id"] for p in attached["Policies"]] == [only_list["Id"]]


def test_management_account_is_not_limited_by_scps(server: Server, org: dict[str, Any]) -> None:
    client = server.client("organizations")
    policy = client.create_policy(
        Content=doc(deny("*")),
        Description="deny all",
        Name=unique("deny-all"),
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]
    client.attach_policy(PolicyId=policy["Id"], TargetId=ACCOUNT_ID)
    try:
        server.client("iam").list_users()
    finally:
        client.detach_policy(PolicyId=policy["Id"], TargetId=ACCOUNT_ID)


def test_malformed_scp_and_errors(server: Server, org: dict[str, Any]) -> None:
    client = server.client("organizations")
    with pytest.raises(ClientError) as bad:
        client.create_policy(
            Content="{not json", Description="", Name=unique("bad"), Type="SERVICE_CONTROL_POLICY"
        )
    assert error_of(bad.value)[0] == "MalformedPolicyDocumentException"
    with pytest.raises(ClientError) as missing:
        client.describe_policy(PolicyId="p-doesnotexist")
    assert error_of(missing.value)[0] == "PolicyNotFoundException"
    assert json.loads(client.describe_policy(PolicyId="p-FullAWSAccess")["Policy"]["Content"])


def test_cross_account_assume_role_is_logged_in_both_accounts(
    server: Server, member: str, new_user: Any
) -> None:
    role = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    _, key, secret = new_user(doc(allow("sts:AssumeRole", role)))
    server.client("sts", key, secret).assume_role(RoleArn=role, RoleSessionName="logged")
    events = [
        e
        for e in server.audit_events()
        if e["eventName"] == "AssumeRole"
        and (e.get("requestParameters") or {}).get("roleArn") == role
        and "errorCode" not in e
    ]
    assert len(events) == 2
    caller_side, target_side = events
    assert caller_side["recipientAccountId"] == ACCOUNT_ID
    assert caller_side["userIdentity"]["type"] == "IAMUser"
    assert target_side["recipientAccountId"] == member
    assert target_side["userIdentity"] == {
        "type": "AWSAccount",
        "principalId": caller_side["userIdentity"]["principalId"],
        "accountId": ACCOUNT_ID,
    }
    assert caller_side["sharedEventID"] == target_side["sharedEventID"]
    assert caller_side["eventID"] != target_side["eventID"]


def _enable_rcps(server: Server, org: dict[str, Any]) -> None:
    client = server.client("organizations")
    root = client.list_roots()["Roots"][0]
    if not any(t["Type"] == "RESOURCE_CONTROL_POLICY" for t in root["PolicyTypes"]):
        client.enable_policy_type(RootId=root["Id"], PolicyType="RESOURCE_CONTROL_POLICY")


def test_resource_control_policies_limit_access_to_member_roles(
    server: Server, org: dict[str, Any], member: str, new_user: Any
) -> None:
    # Organizations user guide, RCPs: they restrict access to resources in member accounts
    # (STS among the covered services) whoever the caller is; RCPFullAWSAccess is attached
    # everywhere and cannot be detached; an explicit deny in any RCP wins.
    _enable_rcps(server, org)
    client = server.client("organizations")
    rcp = client.create_policy(
        Content=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sts:AssumeRole",
                        "Resource": "*",
                        "Condition": {"StringNotLike": {"sts:RoleSessionName": "approved-*"}},
                    }
                ],
            }
        ),
        Description="only approved sessions",
        Name=unique("rcp"),
        Type="RESOURCE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]
    assert rcp["Type"] == "RESOURCE_CONTROL_POLICY"
    client.attach_policy(PolicyId=rcp["Id"], TargetId=member)
    attached = client.list_policies_for_target(TargetId=member, Filter="RESOURCE_CONTROL_POLICY")
    assert {p["Id"] for p in attached["Policies"]} == {"p-RCPFullAWSAccess", rcp["Id"]}
    with pytest.raises(ClientError) as fixed:
        client.detach_policy(PolicyId="p-RCPFullAWSAccess", TargetId=member)
    assert error_of(fixed.value)[0] == "ConstraintViolationException"

    role = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    _, key, secret = new_user(doc(allow("sts:AssumeRole", role)))
    sts = server.client("sts", key, secret)
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=role, RoleSessionName="casual")
    code, status, message = error_of(denied.value)
    assert (code, status) == ("AccessDenied", 403)
    assert "with an explicit deny in a resource control policy" in message
    assert sts.assume_role(RoleArn=role, RoleSessionName="approved-1")["AssumedRoleUser"]


def test_rcps_do_not_apply_to_the_management_account(
    server: Server, org: dict[str, Any], iam: Any, new_user: Any
) -> None:
    _enable_rcps(server, org)
    client = server.client("organizations")
    deny_all = client.create_policy(
        Content=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Deny", "Principal": "*", "Action": "sts:*", "Resource": "*"}
                ],
            }
        ),
        Description="deny sts",
        Name=unique("rcp-all"),
        Type="RESOURCE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]
    client.attach_policy(PolicyId=deny_all["Id"], TargetId=ACCOUNT_ID)
    try:
        name, key, secret = new_user()
        role = iam.create_role(
            RoleName=unique("mgmt-role"),
            AssumeRolePolicyDocument=doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"},
                    "Action": "sts:AssumeRole",
                }
            ),
        )["Role"]["Arn"]
        server.client("sts", key, secret).assume_role(RoleArn=role, RoleSessionName="mgmt")
    finally:
        client.detach_policy(PolicyId=deny_all["Id"], TargetId=ACCOUNT_ID)


def test_unknown_ids_are_not_found(server: Server, org: dict[str, Any]) -> None:
    client = server.client("organizations")
    cases = [
        (client.describe_account, {"AccountId": "999999999999"}, "AccountNotFoundException"),
        (
            client.describe_create_account_status,
            {"CreateAccountRequestId": "car-0123456789abcdef0123456789abcdef"},
            "CreateAccountStatusNotFoundException",
        ),
        (
            client.create_organizational_unit,
            {"ParentId": "ou-zzzz-zzzzzzzz", "Name": "x"},
            "ParentNotFoundException",
        ),
    ]
    for call, kwargs, code in cases:
        with pytest.raises(ClientError) as missing:
            call(**kwargs)
        assert error_of(missing.value)[0] == code
