"""Escalation across accounts of an organization: a management-account user that may assume
a member account's administrator role has a cross-account path; an SCP on the member account
that denies IAM writes makes that role no administrator, and the path is gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.analyzer._estate import analyze_json, doc, trust
from tests.conftest import Server, start_server, stop_server, unique


@pytest.fixture(scope="module")
def org_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("paths-org") / "data")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def estate(org_server: Server) -> dict[str, Any]:
    orgs = org_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]
    orgs.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    name = unique("member")
    member = orgs.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"]["AccountId"]
    access = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    iam = org_server.client("iam")
    user = unique("xacct")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc(
        {"Sid": "CrossAccount", "Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": access}))
    # A member role that trusts the management user directly: the trust side alone is not
    # enough across accounts, and the user's own policy does not name it.
    key = iam.create_access_key(UserName=user)["AccessKey"]
    creds = org_server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
        RoleArn=access, RoleSessionName="setup")["Credentials"]
    member_iam = org_server.client("iam", creds["AccessKeyId"], creds["SecretAccessKey"],
                                   creds["SessionToken"])
    mgmt = org_server.account_id
    trusting = unique("trusting")
    member_iam.create_role(RoleName=trusting, AssumeRolePolicyDocument=trust(
        {"AWS": f"arn:aws:iam::{mgmt}:user/{user}"}))
    member_iam.attach_role_policy(RoleName=trusting,
                                  PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    return {"orgs": orgs, "member": member, "access": access,
            "user": f"arn:aws:iam::{mgmt}:user/{user}",
            "trusting": f"arn:aws:iam::{member}:role/{trusting}"}


def test_cross_account_path_then_an_scp_removes_it(org_server: Server,
                                                  estate: dict[str, Any]) -> None:
    report = analyze_json(org_server, "paths", "--to", "admin", "--from", estate["user"])
    [path] = report["paths"]
    assert path["to"] == estate["access"]
    [move] = path["moves"]
    assert move["move"] == "assume-role"
    [step] = move["steps"]
    kinds = {(s["policyType"], s["sid"]) for s in step["statements"]}
    assert ("identity", "CrossAccount") in kinds  # the caller's side
    assert any(t == "resource" for t, _ in kinds)  # and the role's trust policy
    # The other member role names the user in its trust policy, but across accounts the
    # user's own policies must allow it too: no move there.
    assert not any(m["toArn"] == estate["trusting"] for m in report["moves"])
    assert estate["access"] in report["administrators"]

    orgs = estate["orgs"]
    scp = orgs.create_policy(
        Name=unique("no-iam"), Description="no IAM writes", Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "NoIam", "Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}))
    orgs.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"],
                       TargetId=estate["member"])
    after = analyze_json(org_server, "paths", "--to", "admin", "--from", estate["user"])
    assert after["paths"] == []
    assert estate["access"] not in after["administrators"]
    # The move is still there; only what it leads to is no longer an administrator.
    assert any(m["toArn"] == estate["access"] for m in after["moves"])
