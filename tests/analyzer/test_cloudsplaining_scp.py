"""Cloudsplaining and ``opensts analyze paths`` on a member account of an organization whose
SCP denies the escalation: Cloudsplaining reads GetAccountAuthorizationDetails of the
account only, and SCPs are no part of it (docs/analyzer-escalation.md, "Comparison with
Cloudsplaining")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.analyzer._estate import allow, analyze_json, deny, doc
from tests.analyzer.test_cloudsplaining import _by_principal, run_cloudsplaining
from tests.conftest import Server, start_server, stop_server, unique
from tests.tools.test_scanners import _have

pytestmark = pytest.mark.skipif(not _have("cloudsplaining"), reason="pip install -e '.[test]'")


@pytest.fixture(scope="module")
def org_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("cloudsplaining-scp") / "data")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def member(org_server: Server) -> dict[str, Any]:
    """A member account with two users allowed iam:PutUserPolicy on ``*``, and an SCP on the
    account denying it to one of them (by a principal-ARN condition)."""
    orgs = org_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]
    orgs.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    name = unique("cs-member")
    account = orgs.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"]["AccountId"]
    # Root may not assume roles (as on AWS): an administrator user of the management account.
    mgmt_iam = org_server.client("iam")
    operator = unique("cs-operator")
    mgmt_iam.create_user(UserName=operator)
    mgmt_iam.attach_user_policy(UserName=operator,
                                PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    op_key = mgmt_iam.create_access_key(UserName=operator)["AccessKey"]
    creds = org_server.client("sts", op_key["AccessKeyId"], op_key["SecretAccessKey"]).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="setup")["Credentials"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    iam = org_server.client("iam", *session)
    users = {}
    for case in ("open", "fenced"):
        user = unique("cs-scp-" + case)
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="p",
                            PolicyDocument=doc(allow("iam:PutUserPolicy")))
        users[case] = f"arn:aws:iam::{account}:user/{user}"
    scp = orgs.create_policy(
        Name=unique("cs-no-put"), Description="no inline policies", Type="SERVICE_CONTROL_POLICY",
        Content=doc(allow("*"), {**deny("iam:PutUserPolicy"), "Condition": {
            "ArnEquals": {"aws:PrincipalArn": users["fenced"]}}}))
    orgs.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"], TargetId=account)
    return {"account": account, "session": session, **users}


def test_an_scp_deny_is_invisible_to_cloudsplaining(
        org_server: Server, member: dict[str, Any], tmp_path: Path) -> None:
    key, secret, token = member["session"]
    cs = run_cloudsplaining(org_server, tmp_path, key=key, secret=secret, token=token)
    flagged = _by_principal(cs["results"])
    # Both users' inline policies are flagged alike: the SCP is not in the account's
    # authorization details, and Cloudsplaining reads nothing else.
    for case in ("open", "fenced"):
        assert "PutUserPolicy" in flagged[member[case]]["PrivilegeEscalation"], case
    assert "ServiceControlPolic" not in json.dumps(cs["details"])
    # The engine applies the SCP to the member account's principals: the fenced user's
    # PutUserPolicy is denied, so only the open one has a path. OpenSTS is right.
    ours = analyze_json(org_server, "paths", "--to", "admin")
    escalators = {p["from"]: p["moves"][0]["move"] for p in ours["paths"]}
    assert escalators.get(member["open"]) == "put-user-policy"
    assert member["fenced"] not in escalators
