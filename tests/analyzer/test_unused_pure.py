"""The pure unused-access analysis (opensts.analyzer.unused): records in, findings out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from opensts.analyzer.unused import (
    AccessKeyRecord,
    Exclusion,
    PolicyTexts,
    RoleRecord,
    Settings,
    UserRecord,
    analyze,
    configuration,
    granted_actions,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=200)
ACCT = "123456789012"
ACTION_LEVEL = Settings(action_level=frozenset({"iam", "sts", "s3"}))


def doc(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: object, resource: object = "*") -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def role(name: str = "r", *, created: datetime = OLD, last_used: datetime | None = None,
         policies: PolicyTexts | None = None, path: str = "/",
         tags: dict[str, str] | None = None) -> RoleRecord:
    return RoleRecord(ACCT, f"arn:aws:iam::{ACCT}:role{path}{name}", f"AROA{name.upper()}",
                      path, created, last_used, policies or PolicyTexts(), tags or {})


def user(name: str = "u", **kw: object) -> UserRecord:
    base: dict[str, object] = {"created": OLD, "policies": PolicyTexts()}
    base.update(kw)
    return UserRecord(ACCT, f"arn:aws:iam::{ACCT}:user/{name}", f"AIDA{name.upper()}",
                      **base)  # type: ignore[arg-type]


def types(findings: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(f.finding_type for f in findings)


def test_role_never_assumed_is_unused_without_last_accessed() -> None:
    [f] = analyze([role()], [], {}, Settings(), NOW)
    assert (f.finding_type, f.resource_type, f.resource_owner_account) == (
        "UnusedIAMRole", "AWS::IAM::Role", ACCT)
    assert f.details == ({"unusedIamRoleDetails": {}},)


def test_role_last_used_before_the_age_carries_last_accessed() -> None:
    last = NOW - timedelta(days=100)
    [f] = analyze([role(last_used=last)], [], {}, Settings(), NOW)
    assert f.details == ({"unusedIamRoleDetails": {"lastAccessed": last}},)
    # The same role with a 120-day age is used.
    assert analyze([role(last_used=last)], [], {}, Settings(age_days=120), NOW) == []


def test_young_role_and_service_linked_role_are_not_analyzed() -> None:
    young = role(created=NOW - timedelta(days=10))
    linked = role("AWSServiceRoleForX", path="/aws-service-role/x.amazonaws.com/")
    assert analyze([young, linked], [], {}, Settings(), NOW) == []


def test_used_role_gets_unused_permission_per_service_and_action() -> None:
    policies = PolicyTexts(identity=(doc(allow(["s3:*", "iam:ListUsers"])),))
    r = role(last_used=NOW - timedelta(days=1), policies=policies)
    usage = {r.role_id: {"iam:listusers": NOW - timedelta(days=1)}}
    [f] = analyze([r], [], usage, ACTION_LEVEL, NOW)
    assert f.finding_type == "UnusedPermission"
    assert f.details == ({"unusedPermissionDetails": {"serviceNamespace": "s3"}},)


def test_partly_used_service_lists_unused_actions_with_their_last_use() -> None:
    policies = PolicyTexts(identity=(doc(allow(["iam:ListUsers", "iam:ListRoles",
                                                "iam:GetUser"])),))
    r = role(last_used=NOW, policies=policies)
    long_ago = NOW - timedelta(days=150)
    usage = {r.role_id: {"iam:listusers": NOW, "iam:getuser": long_ago}}
    [f] = analyze([r], [], usage, ACTION_LEVEL, NOW)
    assert f.details == ({"unusedPermissionDetails": {
        "serviceNamespace": "iam", "lastAccessed": NOW,
        "actions": [{"action": "iam:GetUser", "lastAccessed": long_ago},
                    {"action": "iam:ListRoles"}]}},)
    # Every granted action used: no finding.
    usage = {r.role_id: {"iam:listusers": NOW, "iam:getuser": NOW, "iam:listroles": NOW}}
    assert analyze([r], [], usage, ACTION_LEVEL, NOW) == []


def test_service_used_long_ago_reports_its_last_access() -> None:
    policies = PolicyTexts(identity=(doc(allow(["sts:GetCallerIdentity", "iam:ListUsers"])),))
    r = role(last_used=NOW, policies=policies)
    long_ago = NOW - timedelta(days=95)
    usage = {r.role_id: {"iam:listusers": NOW, "sts:getcalleridentity": long_ago}}
    [f] = analyze([r], [], usage, ACTION_LEVEL, NOW)
    assert f.details == ({"unusedPermissionDetails": {"serviceNamespace": "sts",
                                                      "lastAccessed": long_ago}},)


def test_user_key_password_and_permissions() -> None:
    used_key = AccessKeyRecord("AKIAUSED", True, OLD, NOW - timedelta(days=2))
    stale_key = AccessKeyRecord("AKIASTALE", True, OLD, NOW - timedelta(days=91))
    never_key = AccessKeyRecord("AKIANEVER", True, OLD, None)
    inactive = AccessKeyRecord("AKIAOFF", False, OLD, None)
    young_key = AccessKeyRecord("AKIAYOUNG", True, NOW - timedelta(days=3), None)
    u = user(access_keys=(used_key, stale_key, never_key, inactive, young_key),
             password_created=OLD, password_last_used=None,
             policies=PolicyTexts(identity=(doc(allow("iam:ListUsers")),)))
    findings = analyze([], [u], {u.user_id: {"iam:listusers": NOW}}, ACTION_LEVEL, NOW)
    assert types(findings) == ["UnusedIAMUserAccessKey", "UnusedIAMUserAccessKey",
                               "UnusedIAMUserPassword"]
    keys = {f.details[0]["unusedIamUserAccessKeyDetails"]["accessKeyId"]: f for f in findings
            if f.finding_type == "UnusedIAMUserAccessKey"}
    assert set(keys) == {"AKIASTALE", "AKIANEVER"}
    assert keys["AKIASTALE"].details[0]["unusedIamUserAccessKeyDetails"]["lastAccessed"] == (
        NOW - timedelta(days=91))
    assert keys["AKIASTALE"].key != keys["AKIANEVER"].key
    assert all(f.resource == u.arn and f.resource_type == "AWS::IAM::User" for f in findings)


def test_password_used_within_the_age_or_young_is_no_finding() -> None:
    recent = user(password_created=OLD, password_last_used=NOW - timedelta(days=5))
    young = user("v", password_created=NOW - timedelta(days=5))
    no_password = user("w")
    assert analyze([], [recent, young, no_password], {}, Settings(), NOW) == []
    stale = user(password_created=OLD, password_last_used=NOW - timedelta(days=100))
    [f] = analyze([], [stale], {}, Settings(), NOW)
    assert f.details == ({"unusedIamUserPasswordDetails": {
        "lastAccessed": NOW - timedelta(days=100)}},)


def test_young_user_is_not_analyzed() -> None:
    u = user(created=NOW - timedelta(days=1), password_created=NOW - timedelta(days=1),
             policies=PolicyTexts(identity=(doc(allow("s3:*")),)))
    assert analyze([], [u], {}, Settings(), NOW) == []


def test_exclusions_by_account_and_tags() -> None:
    tagged = role("t", tags={"team": "ops", "env": "prod"})
    plain = role("p")
    by_tag = Settings(exclusions=(Exclusion(resource_tags=({"team": "ops"},)),))
    assert [f.resource for f in analyze([tagged, plain], [], {}, by_tag, NOW)] == [plain.arn]
    both_tags = Settings(exclusions=(Exclusion(resource_tags=({"team": "ops", "env": "dev"},)),))
    assert len(analyze([tagged, plain], [], {}, both_tags, NOW)) == 2
    by_account = Settings(exclusions=(Exclusion(account_ids=frozenset({ACCT})),))
    assert analyze([tagged, plain], [], {}, by_account, NOW) == []
    other = Settings(exclusions=(Exclusion(account_ids=frozenset({"111122223333"})),))
    assert len(analyze([tagged, plain], [], {}, other, NOW)) == 2


def test_configuration_reads_the_wire_dict() -> None:
    s = configuration({"unusedAccess": {"unusedAccessAge": 30, "analysisRule": {
        "exclusions": [{"accountIds": ["111122223333"]}, {"resourceTags": [{"a": "b"}]}]}}})
    assert s.age_days == 30
    assert s.exclusions == (Exclusion(frozenset({"111122223333"})),
                            Exclusion(resource_tags=({"a": "b"},)))
    assert configuration(None).age_days == 90
    assert configuration({"unusedAccess": {}}).age_days == 90
    assert configuration({"unusedAccess": {"unusedAccessAge": 10**9}}).age_days == 365


def test_granted_actions_deny_boundary_and_scp() -> None:
    identity = doc(allow(["s3:GetObject", "s3:PutObject", "iam:ListUsers", "iam:ListRoles"]))
    assert granted_actions(PolicyTexts(identity=(identity,))) == (
        "iam:ListRoles", "iam:ListUsers", "s3:GetObject", "s3:PutObject")
    deny_put = doc({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"})
    assert "s3:PutObject" not in granted_actions(PolicyTexts(identity=(identity, deny_put)))
    # A conditional or resource-scoped deny may leave the action usable: still granted.
    conditional = doc({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    scoped = doc({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"})
    for extra in (conditional, scoped):
        assert "s3:PutObject" in granted_actions(PolicyTexts(identity=(identity, extra)))
    boundary = doc(allow("iam:*"))
    assert granted_actions(PolicyTexts(identity=(identity,), boundary=boundary)) == (
        "iam:ListRoles", "iam:ListUsers")
    assert granted_actions(PolicyTexts(identity=(identity,), unresolved_boundary=True)) == ()
    scp_full = doc(allow("*"))
    scp_no_iam = doc(allow("*"), {"Effect": "Deny", "Action": "iam:*", "Resource": "*"})
    assert granted_actions(PolicyTexts(identity=(identity,),
                                       scp_levels=((scp_full,), (scp_no_iam,)))) == (
        "s3:GetObject", "s3:PutObject")


def test_granted_actions_not_action_and_wildcards() -> None:
    not_iam = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    granted = granted_actions(PolicyTexts(identity=(not_iam,)))
    assert "s3:GetObject" in granted and "sts:GetCallerIdentity" in granted
    assert not any(a.startswith("iam:") for a in granted)
    assert granted_actions(PolicyTexts(identity=(doc(allow("iam:list?sers")),))) == (
        "iam:ListUsers",)
    # An unknown service or a broken document grants nothing it cannot name.
    assert granted_actions(PolicyTexts(identity=(doc(allow("nosuch:Thing")), "{"))) == ()


def test_unused_permission_details_of_an_admin_role_name_each_service() -> None:
    r = role(last_used=NOW, policies=PolicyTexts(identity=(doc(allow("*")),)))
    [f] = analyze([r], [], {r.role_id: {"iam:listusers": NOW}}, ACTION_LEVEL, NOW)
    services = [d["unusedPermissionDetails"]["serviceNamespace"] for d in f.details]
    assert "s3" in services and "ec2" in services and services == sorted(services)
    iam = next(d["unusedPermissionDetails"] for d in f.details
               if d["unusedPermissionDetails"]["serviceNamespace"] == "iam")
    assert {"action": "iam:ListUsers"} not in iam["actions"]
    assert {"action": "iam:ListRoles"} in iam["actions"]
