"""Cloudsplaining (``download`` + ``scan``) and ``opensts analyze`` on the same directory.

Cloudsplaining judges each policy document on its own: a risky action allowed on ``*``
without a condition, minus the Deny statements *of that same document*. OpenSTS decides per
principal with the policy engine (identity policies, groups, boundary, explicit denies in
any policy, conditions, resource ARNs). Every difference is asserted below with who is
right (docs/analyzer-escalation.md, "Comparison with Cloudsplaining")."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.analyzer._estate import ADMIN, Builder, allow, analyze_json, deny, doc, name_of, trust
from tests.conftest import BIN, Server, start_server, stop_server, unique
from tests.tools.test_scanners import _have

pytestmark = pytest.mark.skipif(not _have("cloudsplaining"), reason="pip install -e '.[test]'")

IAM_FULL = "arn:aws:iam::aws:policy/IAMFullAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
BUCKET = "arn:aws:s3:::cs-bucket"


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("cloudsplaining") / "data")
    yield running
    stop_server(running)


def _build(server: Server) -> dict[str, str]:
    """The directory: one principal per case, by case name -> ARN."""
    b = Builder(server)
    iam = b.iam
    p: dict[str, str] = {}
    only_s3 = b.policy("cs-boundary-s3", allow("s3:GetObject"))
    only_list = b.policy("cs-boundary-list", allow("iam:ListUsers"))
    victim = b.admin_user("cs-victim")
    p["admins-group"] = b.group("cs-admins", [], admin=True)

    # Escalation in an inline policy, and the same in a customer managed policy.
    p["inline"] = b.user("cs-inline", allow("iam:PutUserPolicy"))
    managed = b.policy("cs-managed-cpv", allow("iam:CreatePolicyVersion"))
    p["managed"] = b.user("cs-managed")
    iam.attach_user_policy(UserName=name_of(p["managed"]), PolicyArn=managed)
    # A customer managed policy attached to no one.
    p["unattached-policy"] = b.policy("cs-unattached", allow("iam:PutRolePolicy"))
    # Fenced by a permissions boundary.
    p["boundary"] = b.user("cs-boundary", allow("iam:CreateAccessKey"), boundary=only_s3)
    # An explicit deny in another (managed) policy; and one in the same document.
    p["deny-other"] = b.user("cs-deny-other", allow("iam:AttachUserPolicy"))
    iam.attach_user_policy(UserName=name_of(p["deny-other"]), PolicyArn=b.policy(
        "cs-deny-attach", deny("iam:Attach*")))
    p["deny-same"] = b.user("cs-deny-same", allow("iam:PutUserPolicy"),
                            deny("iam:PutUserPolicy"))
    # AWS managed policies: AdministratorAccess (on Cloudsplaining's default exclusion list)
    # and IAMFullAccess.
    p["aws-admin"] = victim
    p["aws-iamfull"] = b.user("cs-iamfull")
    iam.attach_user_policy(UserName=name_of(p["aws-iamfull"]), PolicyArn=IAM_FULL)
    # Escalation allowed only on a named resource / under a condition.
    p["scoped"] = b.user("cs-scoped", allow("iam:CreateAccessKey", victim))
    self_name = unique("cs-conditional")
    p["conditional"] = b.user("cs-conditional", allow(
        "iam:AttachUserPolicy", b.arn("user", self_name),
        Condition={"ArnEquals": {"iam:PolicyARN": ADMIN}}), name=self_name)
    # Through a group's inline policy.
    p["group-member"] = b.user("cs-member")
    p["group"] = b.group("cs-group", [p["group-member"]])
    iam.put_group_policy(GroupName=name_of(p["group"]), PolicyName="g",
                         PolicyDocument=doc(allow("iam:AddUserToGroup")))
    # A role that can run an instance with an administrator role (Rhino's PassRole + EC2).
    ec2_admin = b.role("cs-ec2-admin", trust({"Service": "ec2.amazonaws.com"}))
    profile = unique("cs-profile")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=name_of(ec2_admin))
    p["role-ec2"] = b.role("cs-role-ec2", trust({"Service": "ec2.amazonaws.com"}), admin=False)
    iam.put_role_policy(RoleName=name_of(p["role-ec2"]), PolicyName="r", PolicyDocument=doc(
        allow(["iam:PassRole", "ec2:RunInstances"])))
    # A method OpenSTS does not model (no Lambda functions are held).
    p["lambda-update"] = b.user("cs-lambda-update", allow("lambda:UpdateFunctionCode"))
    # sts:AssumeRole on * and an administrator role trusting the account.
    p["admin-role"] = b.role("cs-account-admin", trust({"AWS": f"arn:aws:iam::{b.acct}:root"}))
    p["assumer"] = b.user("cs-assumer", allow("sts:AssumeRole"))
    # ABAC: tag oneself to satisfy the trust policy's aws:PrincipalTag condition.
    team = unique("ops")
    abac = b.role("cs-abac-admin", trust({"AWS": f"arn:aws:iam::{b.acct}:root"}, Condition={
        "StringEquals": {"aws:PrincipalTag/team": team}}))
    tag_name = unique("cs-tagger")
    p["abac"] = b.user("cs-tagger", allow("sts:AssumeRole", abac), allow(
        "iam:TagUser", b.arn("user", tag_name),
        Condition={"StringEquals": {"aws:RequestTag/team": team}}), name=tag_name)

    # Trust policies (scanned with --flag-trust-policies): open to any principal, to any
    # principal of an organization, to another account. No permissions of their own.
    p["trust-any"] = b.role("cs-trust-any", trust({"AWS": "*"}), admin=False)
    p["trust-org"] = b.role("cs-trust-org", trust("*", Condition={
        "StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}}), admin=False)
    p["trust-xacct"] = b.role("cs-trust-xacct", trust({"AWS": "arn:aws:iam::999999999999:root"}),
                              admin=False)

    # Data exfiltration, resource exposure, service wildcard.
    p["reader"] = b.user("cs-reader", allow(["s3:GetObject", "secretsmanager:GetSecretValue"]))
    p["reader-fenced"] = b.user("cs-reader-fenced", allow("s3:GetObject"),
                                boundary=only_list)
    # The same two kinds in customer managed policies (--flag-all-risky-actions reaches
    # those, not users' inline policies): CreateAccessKey on the administrator, and on a
    # user who is no administrator (becoming it is no escalation).
    for case, target in (("scoped-managed", victim), ("scoped-low", p["reader"])):
        p[case] = b.user("cs-" + case)
        iam.attach_user_policy(UserName=name_of(p[case]), PolicyArn=b.policy(
            "cs-" + case, allow("iam:CreateAccessKey", target)))
    p["readonly-group-member"] = b.user("cs-ro-member")
    p["readonly-group"] = b.group("cs-ro", [p["readonly-group-member"]])
    iam.attach_group_policy(GroupName=name_of(p["readonly-group"]), PolicyArn=READ_ONLY)
    p["exposer"] = b.user("cs-exposer", allow("s3:PutBucketPolicy"))
    p["exposer-denied"] = b.user("cs-exposer-denied", allow("s3:PutBucketPolicy"))
    iam.attach_user_policy(UserName=name_of(p["exposer-denied"]), PolicyArn=b.policy(
        "cs-deny-s3", deny("s3:*")))
    p["s3-star"] = b.user("cs-s3-star", allow("s3:*"))
    return p


@pytest.fixture(scope="module")
def estate(own_server: Server) -> dict[str, str]:
    return _build(own_server)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def run_cloudsplaining(server: Server, tmp: Path, *, key: str | None = None,
                       secret: str | None = None, token: str | None = None) -> dict[str, Any]:
    """``cloudsplaining download`` against ``server`` (as root, or with the credentials
    given), then ``scan`` with the defaults ("results") and with --flag-all-risky-actions
    --flag-trust-policies ("all": statements with a resource ARN or a condition are flagged
    too, and roles' trust policies are judged)."""
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp),
        "AWS_ACCESS_KEY_ID": key or server.root_key,
        "AWS_SECRET_ACCESS_KEY": secret or server.root_secret, "AWS_DEFAULT_REGION": "us-east-1",
        # botocore's per-service endpoint override (Cloudsplaining has no option of its own).
        "AWS_ENDPOINT_URL_IAM": server.endpoint, "AWS_ENDPOINT_URL_STS": server.endpoint,
        "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
    }
    if token:
        env["AWS_SESSION_TOKEN"] = token
    (tmp / "download").mkdir()
    _run([str(BIN / "cloudsplaining"), "download", "--output", str(tmp / "download")], env, tmp)
    out: dict[str, Any] = {
        "details": json.loads((tmp / "download" / "default.json").read_text())}
    for name, extra in (("results", []),
                        ("all", ["--flag-all-risky-actions", "--flag-trust-policies"])):
        report = tmp / ("report-" + name)
        report.mkdir()
        _run([str(BIN / "cloudsplaining"), "scan", "--input-file",
              str(tmp / "download" / "default.json"), "--output", str(report),
              "--skip-open-report", *extra], env, tmp)
        out[name] = json.loads((report / "iam-results-default.json").read_text())
    return out


@pytest.fixture(scope="module")
def cs(own_server: Server, estate: dict[str, str],
       tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_cloudsplaining(own_server, tmp_path_factory.mktemp("cloudsplaining-run"))


CATEGORIES = ("PrivilegeEscalation", "DataExfiltration", "ResourceExposure", "ServiceWildcard",
              "CredentialsExposure")


def _policy_findings(results: dict[str, Any], holder: dict[str, Any]) -> dict[str, set[str]]:
    """Cloudsplaining's findings over the policies ``holder`` (a user, group or role entry
    of iam-results) points to: its inline, customer managed and AWS managed policies. A
    policy on the exclusion list has no entry in the policy sections, so it adds nothing."""
    found: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    for section, pointers in (("inline_policies", holder["inline_policies"]),
                              ("customer_managed_policies", holder["customer_managed_policies"]),
                              ("aws_managed_policies", holder["aws_managed_policies"])):
        for policy_id in pointers:
            policy = results[section].get(policy_id)
            if policy is None or policy.get("is_excluded"):
                continue
            for category in CATEGORIES:
                for finding in policy[category]["findings"]:
                    found[category].add(finding["type"] if isinstance(finding, dict)
                                        else finding)
    return found


def _by_principal(results: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """Per user (with its groups' policies), group and role ARN: the union of its policies'
    findings. Cloudsplaining reports per policy; this only gathers them per holder."""
    out: dict[str, dict[str, set[str]]] = {}
    for kind in ("users", "groups", "roles"):
        for entry in results[kind].values():
            found = _policy_findings(results, entry)
            for group in entry.get("groups", {}).values():
                for category, values in _policy_findings(results, group).items():
                    found[category] |= values
            out[entry["arn"]] = found
    return out


@pytest.fixture(scope="module")
def flagged(cs: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    return _by_principal(cs["results"])


@pytest.fixture(scope="module")
def flagged_all(cs: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    return _by_principal(cs["all"])


@pytest.fixture(scope="module")
def ours(own_server: Server, estate: dict[str, str]) -> Any:
    return analyze_json(own_server, "paths", "--to", "admin")


def _escalators(ours: Any) -> dict[str, str]:
    """Principal ARN -> the first move of its path (administrators themselves: "admin")."""
    found = {p["from"]: p["moves"][0]["move"] for p in ours["paths"]}
    return found | {arn: "admin" for arn in ours["administrators"]}


def _who(server: Server, action: str, resource: str) -> set[str]:
    answer = analyze_json(server, "who-can", action, resource)
    # "conditional" counts as allowed: a finding must not hide a possible access.
    return {p["arn"] for p in answer["principals"] if p["outcome"] in ("allowed", "conditional")}


def test_agreements_on_escalation(own_server: Server, cs: dict[str, Any],
                                  flagged: dict[str, dict[str, set[str]]], ours: Any,
                                  estate: dict[str, str]) -> None:
    """Both see the Rhino methods where the policy allows them on ``*`` with nothing else in
    the way: inline or customer managed, per user or through a group, a user or a role."""
    paths = _escalators(ours)
    for case, method, move in (
            ("inline", "PutUserPolicy", "put-user-policy"),
            ("managed", "CreateNewPolicyVersion", "create-policy-version"),
            ("group-member", "AddUserToGroup", "add-user-to-group"),
            ("role-ec2", "CreateEC2WithExistingIP", "pass-role-ec2"),
            ("aws-iamfull", "PutUserPolicy", "put-user-policy")):
        assert method in flagged[estate[case]]["PrivilegeEscalation"], case
        assert paths.get(estate[case]) == move, case
    # The same Deny in the same document: Cloudsplaining subtracts it, OpenSTS too.
    assert flagged[estate["deny-same"]]["PrivilegeEscalation"] == set()
    assert estate["deny-same"] not in paths
    # A customer managed policy attached to no one: `cloudsplaining download` keeps only
    # policies with AttachmentCount > 0, and OpenSTS has no principal holding it.
    assert estate["unattached-policy"] not in {p["Arn"] for p in cs["details"]["Policies"]}
    assert _who(own_server, "iam:PutRolePolicy", f"arn:aws:iam::{own_server.account_id}"
                ":role/any") == set(ours["administrators"]) | {estate["aws-iamfull"]}
    # The group itself: Cloudsplaining flags the group's policy; OpenSTS answers for the
    # members (a group is not a principal). Both say the member can escalate.
    assert "AddUserToGroup" in flagged[estate["group"]]["PrivilegeEscalation"]
    assert estate["group"] not in paths


def test_cloudsplaining_flags_what_a_boundary_or_another_policy_denies(
        flagged: dict[str, dict[str, set[str]]], ours: Any, estate: dict[str, str]) -> None:
    """Cloudsplaining judges one document at a time: a permissions boundary (its download
    even drops the boundary policy, AttachmentCount 0) and a Deny in another policy never
    reach it. The engine intersects the boundary and lets any explicit Deny win, so the
    user cannot make the call: OpenSTS is right."""
    paths = _escalators(ours)
    assert "CreateAccessKey" in flagged[estate["boundary"]]["PrivilegeEscalation"]
    assert estate["boundary"] not in paths
    assert "AttachUserPolicy" in flagged[estate["deny-other"]]["PrivilegeEscalation"]
    assert estate["deny-other"] not in paths


def test_opensts_finds_what_cloudsplaining_skips_for_a_resource_or_condition(
        flagged: dict[str, dict[str, set[str]]], ours: Any, estate: dict[str, str]) -> None:
    """Cloudsplaining flags an action only on Resource ``*`` without a condition (unless
    run with --flag-all-risky-actions). iam:CreateAccessKey on one administrator's ARN, and
    AttachUserPolicy on oneself limited to iam:PolicyARN = AdministratorAccess, are each a
    one-step escalation the engine allows: OpenSTS is right."""
    paths = _escalators(ours)
    for case, move in (("scoped", "create-access-key"), ("conditional", "attach-user-policy"),
                       ("scoped-managed", "create-access-key")):
        assert flagged[estate[case]]["PrivilegeEscalation"] == set(), case
        assert paths.get(estate[case]) == move, case
    assert flagged[estate["scoped-low"]]["PrivilegeEscalation"] == set()
    assert estate["scoped-low"] not in paths


def test_flag_all_risky_actions_trades_misses_for_false_alarms(
        flagged_all: dict[str, dict[str, set[str]]], ours: Any, estate: dict[str, str]) -> None:
    """With --flag-all-risky-actions Cloudsplaining flags a risky action whatever its
    Resource, so it now agrees with OpenSTS on CreateAccessKey for the administrator in a
    managed policy, but it flags CreateAccessKey on a user who is no administrator as well:
    the key gives that user's permissions only, no path to an administrator (OpenSTS right).
    The boundary and the Deny in another policy are still not seen (OpenSTS right)."""
    paths = _escalators(ours)
    assert "CreateAccessKey" in flagged_all[estate["scoped-managed"]]["PrivilegeEscalation"]
    assert paths.get(estate["scoped-managed"]) == "create-access-key"
    assert "CreateAccessKey" in flagged_all[estate["scoped-low"]]["PrivilegeEscalation"]
    assert estate["scoped-low"] not in paths
    assert "CreateAccessKey" in flagged_all[estate["boundary"]]["PrivilegeEscalation"]
    assert "AttachUserPolicy" in flagged_all[estate["deny-other"]]["PrivilegeEscalation"]
    # A Cloudsplaining 0.9.1 bug: UserDetailList builds each UserDetail without the flag_*
    # arguments (cloudsplaining/scan/user_details.py), so a user's inline policies are
    # scanned with the defaults even under --flag-all-risky-actions; the same statements
    # inline stay unflagged. OpenSTS finds both paths (right).
    for case in ("scoped", "conditional"):
        assert flagged_all[estate[case]]["PrivilegeEscalation"] == set(), case
        assert estate[case] in paths, case


def test_administrator_access_is_excluded_by_cloudsplaining(
        flagged: dict[str, dict[str, set[str]]], ours: Any, estate: dict[str, str]) -> None:
    """Cloudsplaining's default exclusions list AdministratorAccess ("Otherwise, this will
    take a long time"): its holders get no finding at all. OpenSTS lists them as
    administrators. OpenSTS is right: they hold every permission. AWS managed policies not
    excluded (IAMFullAccess, ReadOnlyAccess) are scanned like any other."""
    admin = estate["aws-admin"]
    for holder in (admin, estate["admins-group"], estate["admin-role"]):
        assert all(v == set() for v in flagged[holder].values()), holder
    assert {admin, estate["admin-role"]} <= set(ours["administrators"])
    assert flagged[estate["aws-iamfull"]]["PrivilegeEscalation"] >= {
        "CreateAccessKey", "AttachUserPolicy", "PutUserPolicy", "UpdateRolePolicyToAssumeIt"}


def test_data_exfiltration_and_exposure_vs_who_can(
        own_server: Server, flagged: dict[str, dict[str, set[str]]], ours: Any,
        estate: dict[str, str]) -> None:
    acct = own_server.account_id
    admins = set(ours["administrators"])
    users = {v for k, v in estate.items() if ":user/" in v}

    def cs_has(category: str, action: str) -> set[str]:
        return {arn for arn in users if action in flagged[arn][category]}

    # s3:GetObject: agreement on the reader, the s3:* user and the ReadOnlyAccess member.
    # Differences: the user whose boundary allows only iam:ListUsers (Cloudsplaining flags
    # the policy; the boundary refuses: OpenSTS right) and the AdministratorAccess holders
    # (excluded by Cloudsplaining: OpenSTS right).
    get = _who(own_server, "s3:GetObject", f"{BUCKET}/key")
    exfil = cs_has("DataExfiltration", "s3:GetObject")
    assert exfil & get == {estate["reader"], estate["s3-star"], estate["readonly-group-member"]}
    assert exfil - get == {estate["reader-fenced"]}
    assert (get & users) - exfil == admins & users
    secret = _who(own_server, "secretsmanager:GetSecretValue",
                  f"arn:aws:secretsmanager:us-east-1:{acct}:secret:db-AbCdEf")
    assert cs_has("DataExfiltration", "secretsmanager:GetSecretValue") == {estate["reader"]}
    assert secret & users == {estate["reader"]} | (admins & users)

    # s3:PutBucketPolicy (ResourceExposure): the Deny s3:* in another policy is ignored by
    # Cloudsplaining; the engine lets it win: OpenSTS right.
    put = _who(own_server, "s3:PutBucketPolicy", BUCKET)
    exposure = cs_has("ResourceExposure", "s3:PutBucketPolicy")
    assert exposure & put == {estate["exposer"], estate["s3-star"]}
    assert exposure - put == {estate["exposer-denied"]}
    assert (put & users) - exposure == admins & users

    # iam:PassRole on the EC2 administrator role (ResourceExposure in Cloudsplaining): the
    # role with PassRole on * and the IAMFullAccess user, in both; administrators only in
    # ours (excluded policy).
    pass_role = _who(own_server, "iam:PassRole", f"arn:aws:iam::{acct}:role/cs-ec2-admin-x")
    cs_pass = {arn for arn, f in flagged.items() if "iam:PassRole" in f["ResourceExposure"]}
    assert cs_pass == {estate["role-ec2"], estate["aws-iamfull"]}
    assert pass_role - cs_pass == admins

    # iam:CreateAccessKey on another user (CredentialsExposure in Cloudsplaining): the
    # fenced user is flagged but refused by its boundary (OpenSTS right); the users allowed
    # it on that one ARN only are not flagged but are allowed on it (OpenSTS right).
    victim = estate["aws-admin"]
    keys = _who(own_server, "iam:CreateAccessKey", victim)
    cs_keys = cs_has("CredentialsExposure", "iam:CreateAccessKey")
    assert cs_keys == {estate["boundary"], estate["aws-iamfull"]}
    assert cs_keys - keys == {estate["boundary"]}
    assert (keys & users) - cs_keys == {estate["scoped"], estate["scoped-managed"]} | (
        admins & users)


def test_service_wildcard_is_cloudsplaining_only(
        own_server: Server, flagged: dict[str, dict[str, set[str]]],
        estate: dict[str, str]) -> None:
    """ServiceWildcard (``s3:*``) has no OpenSTS counterpart: who-can answers per action.
    Cloudsplaining's flag is right as a hygiene finding; the engine agrees the user is
    allowed an arbitrary S3 action."""
    assert flagged[estate["s3-star"]]["ServiceWildcard"] == {"s3"}
    assert estate["s3-star"] in _who(own_server, "s3:DeleteBucket", BUCKET)
    assert flagged[estate["aws-iamfull"]]["ServiceWildcard"] == {"iam"}



def test_trust_policies(own_server: Server, cs: dict[str, Any], ours: Any,
                        estate: dict[str, str]) -> None:
    """--flag-trust-policies vs who-can sts:AssumeRole. who-can answers for the principals
    the directory holds; exposure to principals outside it is what Access Analyzer's
    external-access findings report, not this command."""
    roles = {r["arn"]: {k: set(v["findings"]) for k, v in r.items()
                        if k.startswith("Assumable") and v["findings"]}
             for r in cs["all"]["roles"].values()}
    users = {v for v in estate.values() if ":user/" in v}

    # Principal "*" without a condition: critical for Cloudsplaining; for the engine every
    # user of the directory may assume it on the trust policy alone, except those whose
    # permissions boundary does not allow sts:AssumeRole. Both right (they agree it is open;
    # OpenSTS also names who is not, because of the boundary).
    assert roles[estate["trust-any"]] == {"AssumableByAnyPrincipal": {"*"}}
    who = _who(own_server, "sts:AssumeRole", estate["trust-any"])
    assert who & users == users - {estate["boundary"], estate["reader-fenced"]}
    # Principal "*" limited by aws:PrincipalOrgID: Cloudsplaining asks for a review; no
    # principal of the directory is in that organization, so who-can names none. Both right:
    # members of that organization outside the directory are Access Analyzer's findings.
    assert roles[estate["trust-org"]] == {"AssumableByAnyPrincipalWithConditions": {"*"}}
    assert _who(own_server, "sts:AssumeRole", estate["trust-org"]) == set()
    # Another account's root: Cloudsplaining flags it; who-can names none, because that
    # account is not in the directory. Cloudsplaining is right about the exposure, which
    # who-can by design cannot see (Access Analyzer reports it).
    assert roles[estate["trust-xacct"]] == {
        "AssumableByCrossAccountPrincipal": {"arn:aws:iam::999999999999:root"}}
    assert _who(own_server, "sts:AssumeRole", estate["trust-xacct"]) == set()
    # Compute services: both EC2 roles flagged; OpenSTS uses the EC2 trust of the
    # administrator role for the pass-role-ec2 path (agreement).
    ec2 = {arn for arn, f in roles.items() if f.get("AssumableByComputeServices") == {"ec2"}}
    assert estate["role-ec2"] in ec2
    [path] = [p for p in ours["paths"] if p["from"] == estate["role-ec2"]]
    assert path["to"] in ec2
