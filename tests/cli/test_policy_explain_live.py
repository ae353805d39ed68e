"""`opensts policy explain --endpoint-url`: the live policies of a real server, read through
its API with the caller's credentials, explained locally, and checked against the server's
own SimulatePrincipalPolicy and against real calls (issue 12)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, free_port, unique
from tests.sts.helpers import allow, creds, deny, doc

OPENSTS = str(Path(sys.executable).parent / "opensts")
BUCKET = "arn:aws:s3:::ep-reports"


def explain(server: Server, principal: str, action: str, resource: str, *extra: str,
            key: str | None = None, secret: str | None = None, token: str | None = None,
            home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"HOME": str(home or server.data_dir / "no-home"),
                "AWS_CONFIG_FILE": str((home or server.data_dir) / "no-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str((home or server.data_dir) / "no-creds")})
    if home is None:
        env.update({"AWS_ACCESS_KEY_ID": key or server.root_key,
                    "AWS_SECRET_ACCESS_KEY": secret or server.root_secret})
        if token:
            env["AWS_SESSION_TOKEN"] = token
    return subprocess.run(
        [OPENSTS, "policy", "explain", "--endpoint-url", server.endpoint, "--principal",
         principal, "--action", action, "--resource", resource, *extra],
        capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture(scope="module")
def alice(server: Server, iam: Any) -> dict[str, Any]:
    """A user with an inline policy, an attached managed policy, a group with its own inline
    and managed policies, and a permissions boundary."""
    name, group = unique("alice"), unique("readers")
    user = iam.create_user(UserName=name, Path="/team/")["User"]
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=doc(
        allow("s3:GetObject", f"{BUCKET}/*"), allow("iam:ListUsers")))
    guard = iam.create_policy(PolicyName=unique("guard"), PolicyDocument=doc(
        deny("s3:GetObject", f"{BUCKET}/secret/*")))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=guard)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    iam.put_group_policy(GroupName=group, PolicyName="list", PolicyDocument=doc(
        allow("s3:ListBucket", BUCKET)))
    writer = iam.create_policy(PolicyName=unique("writer"), PolicyDocument=doc(
        allow("s3:PutObject", f"{BUCKET}/inbox/*")))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=writer)
    boundary = iam.create_policy(PolicyName=unique("only-s3"), PolicyDocument=doc(
        allow(["s3:*", "sts:AssumeRole"])))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"name": name, "arn": user["Arn"], "id": user["UserId"], "guard": guard,
            "writer": writer, "boundary": boundary, "group": group, "key": key["AccessKeyId"],
            "secret": key["SecretAccessKey"]}


CASES = [
    ("s3:GetObject", f"{BUCKET}/q1.csv"),  # user inline: allowed
    ("s3:GetObject", f"{BUCKET}/secret/plan"),  # attached managed: explicit deny
    ("s3:ListBucket", BUCKET),  # group inline: allowed
    ("s3:PutObject", f"{BUCKET}/inbox/new"),  # group managed: allowed
    ("s3:PutObject", f"{BUCKET}/other"),  # nothing allows it
    ("iam:ListUsers", "*"),  # allowed by identity, outside the boundary
]


def test_live_explain_agrees_with_simulate_principal_policy(
        server: Server, alice: dict[str, Any]) -> None:
    actions = sorted({a for a, _ in CASES})
    resources = sorted({r for _, r in CASES})
    simulated = server.aws_json("iam", "simulate-principal-policy", "--policy-source-arn",
                                alice["arn"], "--action-names", *actions,
                                "--resource-arns", *resources)
    expected = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"]
                for r in simulated["EvaluationResults"]}
    assert {expected[c] for c in CASES} == {"allowed", "explicitDeny", "implicitDeny"}
    for action, resource in CASES:
        result = explain(server, alice["arn"], action, resource, "--json")
        out = json.loads(result.stdout)
        assert (action, resource, out["decision"]) == (action, resource,
                                                       expected[(action, resource)])
        assert result.returncode == (0 if out["decision"] == "allowed" else 1), result.stderr
        assert out["determined"] is True
        assert out["live"]["unreadable"] == []
        assert out["live"]["credentials"] == "environment"


def test_live_explain_names_every_policy_it_read(server: Server, alice: dict[str, Any]) -> None:
    result = explain(server, alice["arn"], "s3:GetObject", f"{BUCKET}/secret/plan")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Decision: explicitDeny — an applicable statement explicitly denies"
    assert f"  decisive: Deny identity {alice['guard']} Statement[0]" in lines
    group_arn = f"arn:aws:iam::{server.account_id}:group/{alice['group']}"
    start = lines.index(f"Live policies read from {server.endpoint} with the credentials "
                        "of environment:") + 1
    listed = list(itertools.takewhile(lambda line: line.startswith("  "), lines[start:]))
    read = [line for line in listed if not line.startswith("  note: ")]
    assert read == [f"  {alice['arn']}#inline:read", f"  {alice['guard']}",
                    f"  {group_arn}#inline:list", f"  {alice['writer']}",
                    f"  {alice['boundary']}"]
    assert "Permissions boundary: allowed" in lines
    assert lines[-1] == ("Context keys taken from the principal (--context overrides): "
                         f"aws:PrincipalAccount='{server.account_id}', "
                         f"aws:PrincipalArn='{alice['arn']}', aws:userid='{alice['id']}', "
                         f"aws:username='{alice['name']}'")


def test_trust_policy_is_read_for_assume_role_and_matches_sts(
        server: Server, iam: Any, alice: dict[str, Any]) -> None:
    iam.put_user_policy(UserName=alice["name"], PolicyName="assume", PolicyDocument=doc(
        allow("sts:AssumeRole", "arn:aws:iam::*:role/*")))
    trusting, other = unique("trusting"), unique("other")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": alice["arn"]}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=trusting, Path="/apps/", AssumeRolePolicyDocument=json.dumps(trust))
    trust["Statement"][0]["Principal"] = {"Service": "ec2.amazonaws.com"}
    iam.create_role(RoleName=other, AssumeRolePolicyDocument=json.dumps(trust))
    sts = server.client("sts", alice["key"], alice["secret"])
    role_arn = f"arn:aws:iam::{server.account_id}:role/apps/{trusting}"

    allowed = explain(server, alice["arn"], "sts:AssumeRole", role_arn)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert f"[resource] {role_arn} (trust policy)" in allowed.stdout
    sts.assume_role(RoleArn=role_arn, RoleSessionName="ep")  # the server agrees

    other_arn = f"arn:aws:iam::{server.account_id}:role/{other}"
    denied = explain(server, alice["arn"], "sts:AssumeRole", other_arn)
    assert denied.returncode == 1, denied.stdout + denied.stderr
    assert denied.stdout.startswith("Decision: implicitDeny")
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=other_arn, RoleSessionName="ep")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # The service the other role trusts: no identity side, the trust policy decides.
    service = explain(server, "ec2.amazonaws.com", "sts:AssumeRole", other_arn, "--json")
    assert service.returncode == 0, service.stdout + service.stderr
    out = json.loads(service.stdout)
    assert out["live"]["read"] == [f"{other_arn} (trust policy)"]
    assert out["live"]["principalContext"] == {}


def test_unreadable_policies_never_claim_an_allow(server: Server, alice: dict[str, Any]) -> None:
    # Alice may not read IAM: her own explanation cannot see her policies.
    result = explain(server, alice["arn"], "s3:GetObject", f"{BUCKET}/q1.csv",
                     key=alice["key"], secret=alice["secret"])
    assert result.returncode == 3, result.stdout + result.stderr
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith("Decision: undetermined — policies that apply could not be read "
                            "(1 below) and could change this; the policies read give "
                            "implicitDeny")
    assert second.startswith(f"  could not read: {alice['arn']}: GetUser answered "
                             "AccessDenied: User: ")
    assert "Decision: allowed" not in result.stdout
    as_json = json.loads(explain(server, alice["arn"], "s3:GetObject", f"{BUCKET}/q1.csv",
                                 "--json", key=alice["key"], secret=alice["secret"]).stdout)
    assert as_json["decision"] == "undetermined" and as_json["determined"] is False


def test_an_explicit_deny_stands_even_with_unreadable_policies(
        server: Server, iam: Any, alice: dict[str, Any]) -> None:
    role = unique("sessioned")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": f"arn:aws:iam::{server.account_id}:root"}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=doc(
        allow("s3:*"), deny("s3:DeleteBucket")))
    session = f"arn:aws:sts::{server.account_id}:assumed-role/{role}/work"
    # A role session's session policies cannot be read: an allow is undetermined ...
    maybe = explain(server, session, "s3:GetObject", f"{BUCKET}/x")
    assert maybe.returncode == 3, maybe.stdout + maybe.stderr
    assert f"could not read: session policies of {session}" in maybe.stdout
    # ... unless the caller says the session has none, or passes them.
    assert explain(server, session, "s3:GetObject", f"{BUCKET}/x",
                   "--no-session-policy").returncode == 0
    only_list = server.data_dir.parent / f"{role}-session.json"
    only_list.write_text(doc(allow("s3:ListBucket")))
    limited = explain(server, session, "s3:GetObject", f"{BUCKET}/x", "--session",
                      str(only_list))
    assert limited.returncode == 1, limited.stdout + limited.stderr
    assert f"[session] {only_list}" in limited.stdout
    # An explicit deny needs nothing else to be certain.
    denied = explain(server, session, "s3:DeleteBucket", BUCKET)
    assert denied.returncode == 1, denied.stdout + denied.stderr
    assert denied.stdout.startswith("Decision: explicitDeny")


def test_credentials_from_a_profile(server: Server, alice: dict[str, Any],
                                    tmp_path: Path) -> None:
    (tmp_path / "no-creds").write_text(
        f"[ops]\naws_access_key_id = {server.root_key}\n"
        f"aws_secret_access_key = {server.root_secret}\n")
    result = explain(server, alice["arn"], "s3:ListBucket", BUCKET, "--profile", "ops",
                     home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"credentials of {tmp_path / 'no-creds'} [ops]:" in result.stdout
    # The config file: credential_process, then static keys (botocore's order).
    process = tmp_path / "creds.py"
    process.write_text("import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': "
                       f"{server.root_key!r}, 'SecretAccessKey': {server.root_secret!r}}}))\n")
    (tmp_path / "no-config").write_text(
        f"[profile proc]\ncredential_process = {sys.executable} {process}\n"
        f"[profile static]\naws_access_key_id = {server.root_key}\n"
        f"aws_secret_access_key = {server.root_secret}\nregion = eu-west-1\n")
    via_process = explain(server, alice["arn"], "s3:ListBucket", BUCKET, "--profile", "proc",
                          home=tmp_path)
    assert via_process.returncode == 0, via_process.stdout + via_process.stderr
    assert "credentials of credential_process of profile proc:" in via_process.stdout
    via_config = explain(server, alice["arn"], "s3:ListBucket", BUCKET, "--profile", "static",
                         home=tmp_path)
    assert via_config.returncode == 0, via_config.stdout + via_config.stderr
    assert f"credentials of {tmp_path / 'no-config'} [static]:" in via_config.stdout
    missing = explain(server, alice["arn"], "s3:ListBucket", BUCKET, "--profile", "none",
                      home=tmp_path)
    assert missing.returncode == 2 and "no AWS credentials found" in missing.stderr
    assert missing.stdout == ""


def test_a_principal_that_does_not_exist_or_a_dead_endpoint_is_an_error(
        server: Server) -> None:
    ghost = f"arn:aws:iam::{server.account_id}:user/{unique('ghost')}"
    result = explain(server, ghost, "s3:GetObject", "*")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"Error: {ghost} does not exist on this server (The user with "
                             f"name {ghost.rsplit('/', 1)[1]} cannot be found.)\n")
    dead = Server(f"http://127.0.0.1:{free_port()}", server.data_dir, server.process)
    refused = explain(dead, ghost, "s3:GetObject", "*")
    assert refused.returncode == 2 and "did not answer" in refused.stderr


def test_scps_and_rcps_are_read_from_organizations(server: Server, new_user: Any,
                                          organization: dict[str, Any]) -> None:
    orgs = server.client("organizations")
    name = unique("acct")
    member = orgs.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"]["AccountId"]
    role = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    _, key, secret = new_user(doc(allow("sts:AssumeRole", role)))
    admin = creds(server.client("sts", key, secret).assume_role(RoleArn=role,
                                                               RoleSessionName="admin"))
    member_iam = server.client("iam", admin["key"], admin["secret"], admin["token"])
    bob = member_iam.create_user(UserName=unique("bob"))["User"]["Arn"]
    member_iam.put_user_policy(UserName=bob.rsplit("/", 1)[1], PolicyName="all",
                               PolicyDocument=doc(allow("iam:*")))
    scp = orgs.create_policy(Content=doc(deny("iam:CreateUser")), Description="no users",
                             Name=unique("no-users"), Type="SERVICE_CONTROL_POLICY")[
        "Policy"]["PolicySummary"]
    orgs.attach_policy(PolicyId=scp["Id"], TargetId=member)
    home = server.data_dir.parent / unique("home")
    home.mkdir()
    (home / "no-creds").write_text(
        f"[member]\naws_access_key_id = {admin['key']}\naws_secret_access_key = "
        f"{admin['secret']}\naws_session_token = {admin['token']}\n"
        f"[management]\naws_access_key_id = {server.root_key}\n"
        f"aws_secret_access_key = {server.root_secret}\n")
    # The management account's credentials cannot read the member's IAM: fail closed.
    elsewhere = explain(server, bob, "iam:ListUsers", "*")
    assert elsewhere.returncode == 3, elsewhere.stdout + elsewhere.stderr
    assert (f"could not read: policies: {bob} is in account {member}, the credentials are "
            f"of account {server.account_id}") in elsewhere.stdout
    # The member account's credentials may not read Organizations: fail closed.
    alone = explain(server, bob, "iam:ListUsers", "*", "--profile", "member", home=home)
    assert alone.returncode == 3, alone.stdout + alone.stderr
    assert f"could not read: SCPs of account {member}: " in alone.stdout
    both = ("--profile", "member", "--organizations-profile", "management")
    listed = explain(server, bob, "iam:ListUsers", "*", *both, home=home)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    created = explain(server, bob, "iam:CreateUser",
                      f"arn:aws:iam::{member}:user/x", *both, home=home)
    assert created.returncode == 1, created.stdout + created.stderr
    assert created.stdout.startswith("Decision: explicitDeny")
    assert f"decisive: Deny scp level 1 {scp['Arn']} Statement[0]" in created.stdout, \
        created.stdout

    # RCPs of the resource's account, for STS: a role of the member that trusts bob.
    root = orgs.list_roots()["Roots"][0]
    if not any(t["Type"] == "RESOURCE_CONTROL_POLICY" for t in root["PolicyTypes"]):
        orgs.enable_policy_type(RootId=root["Id"], PolicyType="RESOURCE_CONTROL_POLICY")
    guarded = unique("guarded")
    guarded_arn = member_iam.create_role(RoleName=guarded, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": bob},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    member_iam.put_user_policy(UserName=bob.rsplit("/", 1)[1], PolicyName="assume",
                               PolicyDocument=doc(allow("sts:AssumeRole", guarded_arn)))
    rcp = orgs.create_policy(Content=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole",
         "Resource": guarded_arn}]}), Description="not this role", Name=unique("rcp"),
        Type="RESOURCE_CONTROL_POLICY")["Policy"]["PolicySummary"]
    orgs.attach_policy(PolicyId=rcp["Id"], TargetId=member)
    assumed = explain(server, bob, "sts:AssumeRole", guarded_arn, *both, home=home)
    assert assumed.returncode == 1, assumed.stdout + assumed.stderr
    assert f"decisive: Deny rcp level 1 {rcp['Arn']} Statement[0]" in assumed.stdout, \
        assumed.stdout
    assert f"[resource] {guarded_arn} (trust policy)" in assumed.stdout
    bob_key = member_iam.create_access_key(UserName=bob.rsplit("/", 1)[1])["AccessKey"]
    with pytest.raises(ClientError) as refused:
        server.client("sts", bob_key["AccessKeyId"], bob_key["SecretAccessKey"]).assume_role(
            RoleArn=guarded_arn, RoleSessionName="ep")
    assert "explicit deny in a resource control policy" in refused.value.response["Error"][
        "Message"]
    orgs.detach_policy(PolicyId=rcp["Id"], TargetId=member)
    assert explain(server, bob, "sts:AssumeRole", guarded_arn, *both,
                   home=home).returncode == 0
