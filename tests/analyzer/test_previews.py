"""Access previews, pure (opensts.analyzer.previews): configurations, ACL grants, access
point delegation, and changeType against existing findings."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from opensts.analyzer import previews as p
from opensts.analyzer.external import BUCKET, ROLE, Resource
from opensts.analyzer.findings import reconcile
from opensts.analyzer.zone import account_zone, organization_zone

OWN = "111111111111"
MEMBER = "222222222222"
THIRD = "333333333333"
ANALYZER = f"arn:aws:access-analyzer:us-east-1:{OWN}:analyzer/a"
ROLE_ARN = f"arn:aws:iam::{OWN}:role/r"
BUCKET_ARN = "arn:aws:s3:::b-bucket"
NOW = datetime(2026, 12, 4, tzinfo=UTC)
ZONE = account_zone(OWN, "o-abc", [OWN, MEMBER])


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(*accounts: str) -> str:
    return _doc(*({"Effect": "Allow", "Principal": {"AWS": a}, "Action": "sts:AssumeRole"}
                  for a in accounts))


def _preview(proposal: p.Proposal, existing: Any = (), rules: Any = (), zone: Any = ZONE
             ) -> list[p.PreviewFinding]:
    found = p.accesses(proposal, zone, [])
    return p.compare(str(uuid.uuid4()), ANALYZER, proposal, found, existing, list(rules), NOW)


def _role(policy: str | None, current: Resource | None = None) -> p.Proposal:
    return p.propose(ROLE_ARN, "iamRole", {"trustPolicy": policy} if policy else {}, OWN,
                     current)


@pytest.mark.parametrize(("configurations", "field"), [
    ({}, "configurations"),
    ({"a": {"iamRole": {}}, "b": {"iamRole": {}}}, "configurations"),
    ({"a": {}}, "configurations.a"),
    ({"a": {"iamRole": {}, "s3Bucket": {}}}, "configurations.a"),
    ({"a": {"ecrRepository": {"repositoryPolicy": "{}"}}}, "configurations.a.ecrRepository"),
])
def test_one_covered_configuration(configurations: Any, field: str) -> None:
    with pytest.raises(p.ConfigError) as exc:
        p.single_configuration(configurations)
    assert exc.value.field == field


def test_every_union_member_is_either_covered_or_refused() -> None:
    for member in p.UNION_MEMBERS:
        if member in p.COVERED:
            assert p.single_configuration({"x": {member: {}}})[1] == member
        else:
            with pytest.raises(p.ConfigError):
                p.single_configuration({"x": {member: {}}})


def test_arn_shapes() -> None:
    assert p.role_account(ROLE_ARN) == OWN
    for bad in ("arn:aws:iam::1:role/r", "arn:aws:iam::111111111111:user/u",
                "arn:aws:iam::111111111111:role/"):
        with pytest.raises(p.ConfigError):
            p.role_account(bad)
    assert p.bucket_name(BUCKET_ARN) == "b-bucket"
    with pytest.raises(p.ConfigError):
        p.bucket_name("arn:aws:s3:::b-bucket/key")


def test_role_trust_left_out_uses_the_current_one() -> None:
    current = Resource(ROLE, ROLE_ARN, OWN, _trust(THIRD))
    [f] = _preview(_role(None, current))
    assert f.access.principal == (("AWS", THIRD),)
    with pytest.raises(p.InvalidConfiguration):
        _role(None, None)
    with pytest.raises(p.InvalidConfiguration):
        p.propose(ROLE_ARN, "iamRole", {"trustPolicy": "  "}, OWN, current)


def test_unparseable_policy_fails_the_preview_rather_than_passing() -> None:
    with pytest.raises(p.InvalidConfiguration):
        _preview(_role('{"Statement": [{"Effect": "Allow"'))


def test_zone_of_trust() -> None:
    """A member account is outside an ACCOUNT zone, inside an ORGANIZATION one."""
    proposal = _role(_trust(MEMBER))
    assert [f.access.principal for f in _preview(proposal)] == [(("AWS", MEMBER),)]
    assert _preview(proposal, zone=organization_zone("o-abc", [OWN, MEMBER])) == []


def test_change_types() -> None:
    old = reconcile(ANALYZER, Resource(ROLE, ROLE_ARN, OWN, None),
                    [a for a, _ in p.accesses(_role(_trust(THIRD, MEMBER)), ZONE, [])],
                    [], [], NOW)
    by_principal = {f.access.principal[0][1]: f for f in old}
    resolved = reconcile(ANALYZER, Resource(ROLE, ROLE_ARN, OWN, None), [],
                         [by_principal[MEMBER]], [], NOW)
    existing = [by_principal[THIRD], *resolved]
    found = {f.access.principal[0][1]: f for f in
             _preview(_role(_trust(MEMBER, "444444444444")), existing)}
    # THIRD's access goes: CHANGED to RESOLVED; MEMBER's was resolved and comes back:
    # CHANGED to ACTIVE; the other is NEW.
    assert (found[THIRD].change_type, found[THIRD].status, found[THIRD].existing_status) == \
        ("CHANGED", "RESOLVED", "ACTIVE")
    assert (found[MEMBER].change_type, found[MEMBER].status,
            found[MEMBER].existing_status) == ("CHANGED", "ACTIVE", "RESOLVED")
    assert found["444444444444"].change_type == "NEW"
    assert found["444444444444"].existing_id is None
    # A resolved finding whose access stays gone is not a preview finding.
    assert [f.change_type for f in _preview(_role(_trust(OWN)), resolved)] == []


def test_archive_rules_apply_to_new_and_returning_findings() -> None:
    rule = {"principal.AWS": {"eq": [THIRD]}}
    [f] = _preview(_role(_trust(THIRD)), rules=[rule])
    assert (f.change_type, f.status) == ("NEW", "ARCHIVED")


def test_acl_grants() -> None:
    trusted = "c" * 64
    grants = [{"grantee": {"uri": p.ALL_USERS}, "permission": "READ_ACP"},
              {"grantee": {"uri": p.AUTHENTICATED_USERS}, "permission": "WRITE"},
              {"grantee": {"uri": "http://acs.amazonaws.com/groups/other"},
               "permission": "READ"},
              {"grantee": {"uri": p.LOG_DELIVERY}, "permission": "WRITE"},
              {"grantee": {"id": trusted}, "permission": "FULL_CONTROL"},
              {"grantee": {"id": "d" * 64}, "permission": "FULL_CONTROL"}]
    proposal = p.propose(BUCKET_ARN, "s3Bucket", {"bucketAclGrants": grants}, OWN, None)
    found = p.accesses(proposal, ZONE, [trusted])
    public = [a for a, _ in found if a.is_public]
    # The three public groups merge into one public access (unknown group: public).
    assert len(public) == 1 and set(public[0].actions) == {
        "s3:GetBucketAcl", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
        "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"}
    [private] = [a for a, _ in found if not a.is_public]
    assert private.principal == (("CanonicalUser", "d" * 64),)
    assert set(private.actions) == set(p.ACL_ACTIONS["FULL_CONTROL"])
    assert all(sources == ({"type": "BUCKET_ACL"},) for _, sources in found)
    ignoring = p.propose(BUCKET_ARN, "s3Bucket", {
        "bucketAclGrants": grants,
        "bucketPublicAccessBlock": {"ignorePublicAcls": True, "restrictPublicBuckets": False}},
        OWN, None)
    assert [a.principal for a, _ in p.accesses(ignoring, ZONE, [trusted])] == [
        (("CanonicalUser", "d" * 64),)]


def test_bucket_policy_left_out_empty_or_restricted() -> None:
    public = _doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": f"{BUCKET_ARN}/*"})
    current = Resource(BUCKET, BUCKET_ARN, OWN, public, False)
    kept = p.propose(BUCKET_ARN, "s3Bucket", {}, OWN, current)
    assert [a.is_public for a, _ in p.accesses(kept, ZONE, [])] == [True]
    deleted = p.propose(BUCKET_ARN, "s3Bucket", {"bucketPolicy": ""}, OWN, current)
    assert p.accesses(deleted, ZONE, []) == []
    restricted = p.propose(BUCKET_ARN, "s3Bucket", {"bucketPublicAccessBlock": {
        "ignorePublicAcls": False, "restrictPublicBuckets": True}}, OWN, current)
    assert p.accesses(restricted, ZONE, []) == []
    # The bucket's own Block Public Access setting is kept when none is proposed.
    current_restricted = Resource(BUCKET, BUCKET_ARN, OWN, public, True)
    assert p.accesses(p.propose(BUCKET_ARN, "s3Bucket", {}, OWN, current_restricted),
                      ZONE, []) == []


def test_access_point_delegation_is_narrow() -> None:
    point = f"arn:aws:s3:us-east-1:{OWN}:accesspoint/ap"
    delegate = {"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
                "Condition": {"StringEquals": {"s3:DataAccessPointAccount": OWN}}}
    other = {**delegate, "Condition": {"StringEquals": {"s3:DataAccessPointAccount": THIRD}}}
    points = {point: {"accessPointPolicy": None}}
    only = p.propose(BUCKET_ARN, "s3Bucket", {"bucketPolicy": _doc(delegate),
                                              "accessPoints": points}, OWN, None)
    assert p.accesses(only, ZONE, []) == []
    # Delegation to another account's access points is analyzed as it stands: public.
    theirs = p.propose(BUCKET_ARN, "s3Bucket", {"bucketPolicy": _doc(delegate, other),
                                                "accessPoints": points}, OWN, None)
    assert [a.is_public for a, _ in p.accesses(theirs, ZONE, [])] == [True]
    # The access point's Block Public Access restricts its public policy.
    point_policy = _doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                         "Resource": f"{point}/object/*"})
    open_point = {point: {"accessPointPolicy": point_policy}}
    found = p.accesses(p.propose(BUCKET_ARN, "s3Bucket", {"bucketPolicy": _doc(delegate),
                                                          "accessPoints": open_point},
                                 OWN, None), ZONE, [])
    assert [(a.is_public, s[0]["type"]) for a, s in found] == [(True, "S3_ACCESS_POINT")]
    blocked_point = {point: {"accessPointPolicy": point_policy, "publicAccessBlock": {
        "ignorePublicAcls": True, "restrictPublicBuckets": True}}}
    assert p.accesses(p.propose(BUCKET_ARN, "s3Bucket", {"bucketPolicy": _doc(delegate),
                                                         "accessPoints": blocked_point},
                                OWN, None), ZONE, []) == []


def test_filters_and_storage_round_trip() -> None:
    findings = _preview(_role(_trust(THIRD, MEMBER)))
    assert p.check_filter_keys({"changeType": {}, "principal.AWS": {}}, ["principal.AWS"]) \
        is None
    assert p.check_filter_keys({"colour": {}}, ["principal.AWS"]) == "colour"
    only = p.filtered(findings, {"principal.AWS": {"eq": [THIRD]},
                                 "changeType": {"eq": ["NEW"]}})
    assert [f.access.principal for f in only] == [(("AWS", THIRD),)]
    assert p.filtered(findings, {"existingFindingId": {"exists": True}}) == []
    assert [p.from_json(p.to_json(f)) for f in findings] == findings
    wire = p.to_wire(findings[0])
    assert set(wire) >= {"id", "resourceType", "createdAt", "changeType", "status",
                         "resourceOwnerAccount"}
