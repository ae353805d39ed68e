"""S3 authorization on the IAM engine: user and bucket contexts, same-account union,
cross-account intersection, SCPs/RCPs, boundaries, session policies, revoked sessions,
anonymous callers and Block Public Access, and S3's AccessDenied wording.

Every policy set is read from a real store (SQLite) by the real Authorizer."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from opensts.directory.records import Bucket, Tag
from opensts.services.context import RequestMeta
from opensts.services.s3.authorize import authorize_s3, is_public_policy, s3_access_denied
from opensts.store import SqlStore, open_store

from .authz_world import (
    DEV,
    NOW,
    OFF,
    OTHER,
    PAB,
    PROD,
    RCP,
    SCP,
    World,
    allow,
    before,
    deny,
    doc,
    need,
)

B = "productionapp"
BUCKET_ARN, OBJECTS = f"arn:aws:s3:::{B}", f"arn:aws:s3:::{B}/*"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'directory.db'}", aws_managed=False)
    yield opened
    opened.close()


@pytest.fixture
def world(store: SqlStore) -> World:
    return World(store)


def principal(*arns: str) -> dict[str, object]:
    return {"AWS": list(arns)}


def bucket_policy(*statements: dict[str, object]) -> str:
    return doc(*statements)


def grant(who: object, action: str | list[str], resource: str | list[str] = OBJECTS,
          **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Principal": who, "Action": action, "Resource": resource, **extra}


def message(world: World, caller, what, bucket) -> str:  # type: ignore[no-untyped-def]
    decision = world.decide(caller, what, bucket)
    assert not decision.allowed
    error = s3_access_denied(caller, what, decision)
    assert (error.code, error.status) == ("AccessDenied", 403)
    return error.message


# -- same account: identity OR bucket policy -------------------------------------------------


def test_same_account_identity_policy_alone_allows(world: World) -> None:
    alice = world.user(PROD, "alice", doc(allow("s3:GetObject", OBJECTS)))
    assert world.decide(alice, need("s3:GetObject", B, "a.txt"), world.bucket(B, PROD)).allowed


def test_same_account_bucket_policy_naming_the_user_alone_allows(world: World) -> None:
    bob = world.user(PROD, "bob")
    bucket = world.bucket(B, PROD, bucket_policy(grant(principal(bob.arn), "s3:GetObject")))
    decision = world.decide(bob, need("s3:GetObject", B, "a.txt"), bucket)
    assert decision.allowed
    assert [m.policy_type for m in decision.matched_statements] == ["resource"]


def test_same_account_neither_allows(world: World) -> None:
    bob = world.user(PROD, "bob")
    what = need("s3:GetObject", B, "a.txt")
    assert message(world, bob, what, world.bucket(B, PROD)) == (
        f'User: {bob.arn} is not authorized to perform: s3:GetObject on resource: '
        f'"arn:aws:s3:::{B}/a.txt" because no identity-based policy allows the s3:GetObject '
        "action")


def test_a_bucket_policy_naming_the_account_delegates_to_identity_policies(world: World) -> None:
    bob = world.user(PROD, "bob")
    bucket = world.bucket(B, PROD, bucket_policy(grant(principal(PROD), "s3:GetObject")))
    assert not world.decide(bob, need("s3:GetObject", B, "k"), bucket).allowed


def test_explicit_deny_in_the_bucket_policy_beats_an_identity_allow(world: World) -> None:
    alice = world.user(PROD, "alice", doc(allow("s3:*")))
    bucket = world.bucket(B, PROD, bucket_policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": OBJECTS}))
    what = need("s3:DeleteObject", B, "k")
    assert message(world, alice, what, bucket).endswith(
        '"arn:aws:s3:::productionapp/k" with an explicit deny in a resource-based policy')
    assert world.decide(alice, need("s3:GetObject", B, "k"), bucket).allowed


def test_a_bucket_policy_naming_the_role_is_limited_by_the_session_policy(world: World) -> None:
    role = world.role(PROD, "Reader")
    bucket = world.bucket(B, PROD, bucket_policy(grant(principal(role.arn), "s3:*",
                                                 [BUCKET_ARN, OBJECTS])))
    free = world.session(role)
    assert world.decide(free, need("s3:PutObject", B, "k"), bucket).allowed
    narrowed = world.session(role, "s2", policy=doc(allow("s3:GetObject", OBJECTS)))
    assert world.decide(narrowed, need("s3:GetObject", B, "k"), bucket).allowed
    # The role has no identity policy either; the first step that fails is reported.
    what = need("s3:PutObject", B, "k")
    assert message(world, narrowed, what, bucket).endswith(
        "because no identity-based policy allows the s3:PutObject action")


def test_a_bucket_policy_naming_the_session_is_not_limited_by_its_session_policy(
    world: World,
) -> None:
    role = world.role(PROD, "Reader")
    narrowed = world.session(role, "s2", policy=doc(allow("s3:GetObject", OBJECTS)))
    bucket = world.bucket(B, PROD, bucket_policy(grant(principal(narrowed.arn), "s3:PutObject")))
    assert world.decide(narrowed, need("s3:PutObject", B, "k"), bucket).allowed


def test_a_permissions_boundary_limits_identity_grants(world: World) -> None:
    boundary = world.managed(PROD, "OnlyRead", doc(allow(["s3:GetObject", "s3:ListBucket"])))
    carol = world.user(PROD, "carol", doc(allow("s3:*")), boundary=boundary)
    assert world.decide(carol, need("s3:GetObject", B, "k"), world.bucket(B, PROD)).allowed
    assert message(world, carol, need("s3:PutObject", B, "k"), world.bucket(B, PROD)).endswith(
        "because no permissions boundary allows the s3:PutObject action")


def test_a_bucket_policy_naming_the_user_is_not_limited_by_its_boundary(world: World) -> None:
    boundary = world.managed(PROD, "OnlyRead", doc(allow("s3:GetObject")))
    carol = world.user(PROD, "carol", boundary=boundary)
    bucket = world.bucket(B, PROD, bucket_policy(grant(principal(carol.arn), "s3:PutObject")))
    assert world.decide(carol, need("s3:PutObject", B, "k"), bucket).allowed


def test_the_account_root_may_do_anything_in_its_own_account(world: World) -> None:
    root = world.root(PROD)
    assert world.decide(root, need("s3:DeleteBucket", B), world.bucket(B, PROD)).allowed


def test_no_bucket_means_the_callers_own_account(world: World) -> None:
    alice = world.user(PROD, "alice", doc(allow("s3:ListAllMyBuckets")))
    decision = world.decide(alice, need("s3:ListAllMyBuckets"), None)
    assert decision.allowed
    assert not world.decide(world.user(PROD, "bob"), need("s3:ListAllMyBuckets"), None).allowed
    assert not world.decide(None, need("s3:ListAllMyBuckets"), None).allowed


# -- cross account: both must allow ------------------------------------------------------


def test_cross_account_needs_the_bucket_policy(world: World) -> None:
    dave = world.user(DEV, "dave", doc(allow("s3:GetObject", OBJECTS)))
    what = need("s3:GetObject", B, "k")
    decision = world.decide(dave, what, world.bucket(B, PROD))
    assert not decision.allowed
    assert decision.reason == "cross-account: no resource-based policy allows"
    # Another account's caller learns nothing about the owner's policies.
    assert s3_access_denied(dave, what, decision).message == "Access Denied"
    shared = world.bucket(B, PROD, bucket_policy(grant(principal(DEV), "s3:GetObject")))
    assert world.decide(dave, what, shared).allowed


def test_cross_account_needs_the_identity_policy(world: World) -> None:
    erin = world.user(DEV, "erin")
    bucket = world.bucket(B, PROD, bucket_policy(grant(principal(erin.arn), "s3:GetObject")))
    decision = world.decide(erin, need("s3:GetObject", B, "k"), bucket)
    assert not decision.allowed
    assert decision.reason == "cross-account: the caller's policies do not allow"


def test_cross_account_root_still_needs_the_bucket_policy(world: World) -> None:
    root = world.root(DEV)
    what = need("s3:GetObject", B, "k")
    assert not world.decide(root, what, world.bucket(B, PROD)).allowed
    shared = world.bucket(B, PROD, bucket_policy(grant(principal(DEV), "s3:GetObject")))
    assert world.decide(root, what, shared).allowed


def test_seed_developers_assume_update_app_in_prod_and_write_to_productionapp(
    world: World,
) -> None:
    """IAM tutorial "Delegate access across AWS accounts using IAM roles": Developers in
    the dev account may assume UpdateApp in prod; Testers may not. The bucket policy refuses
    everyone in prod but the UpdateApp role, and grants nothing itself: the role's policy
    and the bucket policy are both needed for the write."""
    update_app = f"arn:aws:iam::{PROD}:role/UpdateApp"
    world.group(DEV, "Developers", doc(allow("sts:AssumeRole", update_app)))
    world.group(DEV, "Testers", doc(allow("s3:ListAllMyBuckets")))
    dev = world.user(DEV, "dana", groups=("Developers",))
    tester = world.user(DEV, "theo", groups=("Testers",))
    role = world.role(PROD, "UpdateApp", doc(
        allow("s3:ListAllMyBuckets"),
        allow(["s3:ListBucket", "s3:GetBucketLocation"], BUCKET_ARN),
        allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], OBJECTS),
    ), trust=doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"},
                  "Action": "sts:AssumeRole"}))
    # sts:AssumeRole across accounts: the trust policy and the group's policy both allow.
    meta = RequestMeta("r", NOW, "203.0.113.7", "t", "us-east-1", "sts")
    for caller, allowed in ((dev, True), (tester, False)):
        decision = world.authorizer.decide(
            caller, "sts:AssumeRole", update_app, meta=meta,
            resource_policy=role.assume_role_policy, resource_account=PROD, trust=True)
        assert decision.allowed is allowed

    bucket = world.bucket(B, PROD, bucket_policy({
        "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": OBJECTS,
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": update_app}},
    }))
    session = world.session(role, "dana")
    assert world.decide(session, need("s3:PutObject", B, "app.zip"), bucket).allowed
    # A prod administrator is refused by the bucket policy; the testers' own credentials
    # are another account's and the bucket policy grants them nothing.
    admin = world.user(PROD, "admin", doc(allow("s3:*")))
    assert not world.decide(admin, need("s3:PutObject", B, "app.zip"), bucket).allowed
    tester_s3 = world.decide(tester, need("s3:PutObject", B, "app.zip"), bucket)
    assert not tester_s3.allowed
    # Without the role's own policy the bucket policy grants nothing.
    bare = world.role(PROD, "Bare")
    assert not world.decide(world.session(bare), need("s3:PutObject", B, "x"), bucket).allowed


# -- session policies and session tags ------------------------------------------------


def test_seed_a_session_policy_narrows_a_role_to_one_prefix(world: World) -> None:
    role = world.role(PROD, "Storage", doc(allow("s3:*", [BUCKET_ARN, OBJECTS])))
    narrowed = world.session(role, "alice", policy=doc(
        allow("s3:ListBucket", BUCKET_ARN,
              Condition={"StringLike": {"s3:prefix": ["home/alice/", "home/alice/*"]}}),
        allow(["s3:GetObject", "s3:PutObject"], f"{BUCKET_ARN}/home/alice/*"),
    ))
    bucket = world.bucket(B, PROD)
    listing = need("s3:ListBucket", B)
    assert world.decide(narrowed, listing, bucket, context={"s3:prefix": "home/alice/"}).allowed
    assert not world.decide(narrowed, listing, bucket, context={"s3:prefix": "home/bob/"}).allowed
    assert not world.decide(narrowed, listing, bucket).allowed  # no prefix: the whole bucket
    assert world.decide(narrowed, need("s3:PutObject", B, "home/alice/x"), bucket).allowed
    what = need("s3:GetObject", B, "home/bob/x")
    assert message(world, narrowed, what, bucket).endswith(
        "because no session policy allows the s3:GetObject action")


def test_a_managed_session_policy_narrows_too(world: World) -> None:
    role = world.role(PROD, "Storage", doc(allow("s3:*")))
    only_get = world.managed(PROD, "OnlyGet", doc(allow("s3:GetObject")))
    session = world.session(role, policy_arns=(only_get,))
    assert world.decide(session, need("s3:GetObject", B, "k"), world.bucket(B, PROD)).allowed
    assert not world.decide(session, need("s3:PutObject", B, "k"), world.bucket(B, PROD)).allowed


def test_seed_tenant_isolation_with_principal_tag_in_the_object_prefix(world: World) -> None:
    role = world.role(PROD, "Tenant", doc(
        allow(["s3:GetObject", "s3:PutObject"], f"{BUCKET_ARN}/${{aws:PrincipalTag/TenantID}}/*"),
        allow("s3:ListBucket", BUCKET_ARN, Condition={
            "StringLike": {"s3:prefix": "${aws:PrincipalTag/TenantID}/*"}}),
    ))
    t1 = world.session(role, "u1", tags={"TenantID": "t1"})
    bucket = world.bucket(B, PROD)
    assert world.decide(t1, need("s3:PutObject", B, "t1/report.csv"), bucket).allowed
    assert not world.decide(t1, need("s3:GetObject", B, "t2/report.csv"), bucket).allowed
    assert world.decide(t1, need("s3:ListBucket", B), bucket,
                        context={"s3:prefix": "t1/2026/"}).allowed
    assert not world.decide(t1, need("s3:ListBucket", B), bucket,
                            context={"s3:prefix": "t2/"}).allowed
    untagged = world.session(role, "u0")
    decision = world.decide(untagged, need("s3:GetObject", B, "t1/report.csv"), bucket)
    assert not decision.allowed


# -- organizations ------------------------------------------------------------------


def test_seed_an_scp_denies_delete_object_in_a_member_account(world: World) -> None:
    world.organization()
    world.attach_org_policy(SCP, DEV, doc(deny("s3:DeleteObject")))
    dana = world.user(DEV, "dana", doc(allow("s3:*")))
    bucket = world.bucket("devbucket", DEV)
    assert world.decide(dana, need("s3:GetObject", "devbucket", "k"), bucket).allowed
    assert message(world, dana, need("s3:DeleteObject", "devbucket", "k"), bucket).endswith(
        "with an explicit deny in a service control policy")
    # Root of the member account is governed by the SCP too.
    assert not world.decide(world.root(DEV), need("s3:DeleteObject", "devbucket", "k"),
                            bucket).allowed
    # The SCP governs the member's principals, not its bucket's other callers: a PROD
    # user granted by the bucket policy may delete.
    paul = world.user(PROD, "paul", doc(allow("s3:DeleteObject")))
    shared = world.bucket("devbucket", DEV, bucket_policy(
        grant(principal(paul.arn), "s3:DeleteObject", "arn:aws:s3:::devbucket/*")))
    assert world.decide(paul, need("s3:DeleteObject", "devbucket", "k"), shared).allowed


def test_an_rcp_of_the_bucket_owner_governs_every_caller(world: World) -> None:
    world.organization()
    world.attach_org_policy(RCP, PROD, doc({
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-s3authztest"}},
    }))
    outsider = world.user(OTHER, "olga", doc(allow("s3:GetObject")))
    insider = world.user(DEV, "ines", doc(allow("s3:GetObject")))
    bucket = world.bucket(B, PROD, bucket_policy(grant(principal(OTHER, DEV), "s3:GetObject")))
    what = need("s3:GetObject", B, "k")
    assert world.decide(insider, what, bucket).allowed
    decision = world.decide(outsider, what, bucket)
    assert decision.decision == "explicitDeny"
    assert [m.policy_type for m in decision.matched_statements] == ["rcp"]
    # The caller's own account's RCPs do not govern another account's bucket.
    world.attach_org_policy(RCP, DEV, doc({"Effect": "Deny", "Principal": "*",
                                           "Action": "s3:*", "Resource": "*"}))
    assert world.decide(insider, what, bucket).allowed


def test_rcps_cover_s3() -> None:
    from opensts.services.authz import RCP_SERVICES
    assert "s3" in RCP_SERVICES and "iam" not in RCP_SERVICES


# -- revoked sessions ------------------------------------------------------------------


def test_seed_aws_revoke_older_sessions_denies_s3_for_older_sessions(world: World) -> None:
    role = world.role(PROD, "App", doc(allow("s3:*")))
    old = world.session(role, "old", issued=before(NOW, 30))
    cutoff = before(NOW, 10).strftime("%Y-%m-%dT%H:%M:%SZ")
    world.put_role_policy(role, "AWSRevokeOlderSessions", doc({
        "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
    }))
    new = world.session(role, "new", issued=before(NOW, 1))
    # Even a bucket policy naming the old session cannot undo the explicit deny.
    bucket = world.bucket(B, PROD, bucket_policy(grant(principal(old.arn), "s3:GetObject")))
    what = need("s3:GetObject", B, "k")
    assert world.decide(new, what, bucket).allowed
    assert message(world, old, what, bucket).endswith(
        "with an explicit deny in an identity-based policy")


# -- anonymous callers and Block Public Access --------------------------------------


PUBLIC_READ = bucket_policy(grant("*", "s3:GetObject"))


def test_anonymous_only_through_a_public_bucket_policy(world: World) -> None:
    what = need("s3:GetObject", B, "k")
    assert not world.decide(None, what, world.bucket(B, PROD, public_access_block=OFF)).allowed
    decision = world.decide(None, what, world.bucket(B, PROD, PUBLIC_READ, public_access_block=OFF))
    assert decision.allowed
    aws_star = bucket_policy(grant({"AWS": "*"}, "s3:GetObject"))
    assert world.decide(None, what,
                        world.bucket(B, PROD, aws_star, public_access_block=OFF)).allowed
    # Naming an account is not naming everyone.
    named = bucket_policy(grant(principal(PROD), "s3:GetObject"))
    assert not world.decide(None, what,
                            world.bucket(B, PROD, named, public_access_block=OFF)).allowed
    denied = world.decide(None, need("s3:PutObject", B, "k"),
                          world.bucket(B, PROD, PUBLIC_READ, public_access_block=OFF))
    assert s3_access_denied(None, need("s3:PutObject", B, "k"), denied).message == "Access Denied"


def test_restrict_public_buckets_refuses_anonymous_callers(world: World) -> None:
    what = need("s3:GetObject", B, "k")
    bucket = world.bucket(B, PROD, PUBLIC_READ, public_access_block=PAB())
    decision = world.decide(None, what, bucket)
    assert not decision.allowed
    assert "RestrictPublicBuckets" in decision.reason
    # Only RestrictPublicBuckets matters at request time (BlockPublicPolicy acts on PUT).
    only_block = PAB(True, True, True, False)
    assert world.decide(None, what, world.bucket(B, PROD, PUBLIC_READ,
                                           public_access_block=only_block)).allowed


def test_restrict_public_buckets_blocks_cross_account_delegation_in_a_public_policy(
    world: World,
) -> None:
    dave = world.user(DEV, "dave", doc(allow("s3:*")))
    alice = world.user(PROD, "alice")
    policy = bucket_policy(grant("*", "s3:GetObject"),
                           grant(principal(DEV), "s3:PutObject"))
    restricted = world.bucket(B, PROD, policy, public_access_block=PAB())
    assert not world.decide(dave, need("s3:PutObject", B, "k"), restricted).allowed
    # Principals of the owner's account keep what the public statement grants them.
    assert world.decide(alice, need("s3:GetObject", B, "k"), restricted).allowed
    # A non-public policy keeps its cross-account grant with every setting on.
    private = world.bucket(B, PROD, bucket_policy(grant(principal(DEV), "s3:PutObject")))
    assert world.decide(dave, need("s3:PutObject", B, "k"), private).allowed
    opened = world.bucket(B, PROD, policy, public_access_block=OFF)
    assert world.decide(dave, need("s3:PutObject", B, "k"), opened).allowed


def test_anonymous_requests_get_no_identity_or_scp_evaluation(world: World) -> None:
    world.organization()
    world.attach_org_policy(SCP, PROD, doc(deny("s3:*")))
    what = need("s3:GetObject", B, "k")
    decision = world.decide(None, what, world.bucket(B, PROD, PUBLIC_READ, public_access_block=OFF))
    assert decision.allowed
    groups = {g["type"] for g in decision.trace()}
    assert groups == {"resource", "rcp"}
    assert "Request: anonymous anonymous" in decision.explain()


def test_an_rcp_governs_anonymous_callers(world: World) -> None:
    world.organization()
    world.attach_org_policy(RCP, PROD, doc({
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    what = need("s3:GetObject", B, "k")
    bucket = world.bucket(B, PROD, PUBLIC_READ, public_access_block=OFF)
    assert world.decide(None, what, bucket).allowed  # the test requests arrive over TLS
    world.attach_org_policy(RCP, PROD, doc({
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"Null": {"aws:PrincipalAccount": "true"}}}))
    assert world.decide(None, what, bucket).decision == "explicitDeny"


def test_anonymous_context_has_no_principal_keys(world: World) -> None:
    bucket = world.bucket(B, PROD, bucket_policy(grant("*", "s3:GetObject", Condition={
        "StringEquals": {"aws:SourceIp": "203.0.113.7", "s3:ResourceAccount": PROD}},
    )), public_access_block=OFF)
    decision = world.decide(None, need("s3:GetObject", B, "k"), bucket)
    assert decision.allowed
    request = decision._request
    assert request is not None
    assert not any(k.startswith("aws:principal") and k != "aws:principalisawsservice"
                   for k in request._ctx)  # type: ignore[attr-defined]


def test_public_policy_is_s3_stores_definition() -> None:
    assert is_public_policy(PUBLIC_READ)
    assert not is_public_policy(bucket_policy(grant(principal(DEV), "s3:GetObject")))
    assert not is_public_policy(bucket_policy(grant("*", "s3:GetObject", Condition={
        "StringEquals": {"aws:PrincipalOrgID": "o-abc"}})))
    assert is_public_policy(bucket_policy(grant("*", "s3:GetObject", Condition={
        "IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})))
    assert is_public_policy("not json")


# -- the context ---------------------------------------------------------------------


def test_resource_account_and_bucket_tags_are_in_the_context(world: World) -> None:
    alice = world.user(PROD, "alice", doc(
        allow("s3:GetObject", OBJECTS, Condition={"StringEquals": {
            "s3:ResourceAccount": PROD, "s3:BucketTag/team": "payments"}}),
    ))
    tagged = world.bucket(B, PROD, tags=(Tag("team", "payments"),))
    what = need("s3:GetObject", B, "k")
    assert world.decide(alice, what, tagged).allowed
    assert not world.decide(alice, what, world.bucket(B, PROD, tags=(Tag("team", "web"),))).allowed


def test_aws_resource_tag_needs_abac_on_the_bucket(world: World) -> None:
    alice = world.user(PROD, "alice", doc(allow("s3:GetObject", OBJECTS, Condition={
        "StringEquals": {"aws:ResourceTag/team": "payments"}})))
    tagged = world.bucket(B, PROD, tags=(Tag("team", "payments"),))
    decision = world.decide(alice, need("s3:GetObject", B, "k"), tagged)
    assert not decision.allowed
    assert "aws:ResourceTag/team" in decision.missing_context_values

    @dataclasses.dataclass(frozen=True)
    class AbacBucket(Bucket):  # the store keeps no ABAC switch yet (PutBucketAbac)
        abac_enabled: bool = True

    abac = AbacBucket(B, PROD, "us-east-1", NOW, tags=(Tag("team", "payments"),))
    assert world.decide(alice, need("s3:GetObject", B, "k"), abac).allowed


def test_gateway_context_keys_reach_the_policies(world: World) -> None:
    alice = world.user(PROD, "alice", doc(
        allow("s3:PutObject", OBJECTS),
        deny("s3:PutObject", OBJECTS, Condition={
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}),
    ))
    what = need("s3:PutObject", B, "k")
    bucket = world.bucket(B, PROD)
    assert world.decide(alice, what, bucket,
                        context={"s3:x-amz-server-side-encryption": "AES256"}).allowed
    assert not world.decide(alice, what, bucket).allowed


def test_the_gateway_context_cannot_replace_principal_or_bucket_keys(world: World) -> None:
    alice = world.user(PROD, "alice", doc(allow("s3:GetObject", OBJECTS, Condition={
        "StringEquals": {"aws:PrincipalArn": f"arn:aws:iam::{PROD}:user/admin"}})))
    forged = {"AWS:PrincipalArn": f"arn:aws:iam::{PROD}:user/admin",
              "aws:principalarn": f"arn:aws:iam::{PROD}:user/admin",
              "s3:ResourceAccount": DEV}
    decision = world.decide(alice, need("s3:GetObject", B, "k"), world.bucket(B, PROD),
                            context=forged)
    assert not decision.allowed
    request = decision._request
    assert request is not None
    ctx = request._ctx  # type: ignore[attr-defined]
    assert ctx["aws:principalarn"] == alice.arn and ctx["s3:resourceaccount"] == PROD


def test_a_stored_bucket_policy_that_no_longer_parses_denies(world: World) -> None:
    alice = world.user(PROD, "alice", doc(allow("s3:*")))
    decision = world.decide(alice, need("s3:GetObject", B, "k"), world.bucket(B, PROD, "{broken"))
    assert decision.decision == "explicitDeny"
    assert "could not be parsed" in decision.reason


def test_a_deleted_role_behind_a_session_denies(world: World, store: SqlStore) -> None:
    role = world.role(PROD, "Gone", doc(allow("s3:*")))
    session = world.session(role)
    bucket = world.bucket(B, PROD, bucket_policy(grant("*", "s3:GetObject")),
                          public_access_block=OFF)
    store.delete_inline_policy("role", PROD, "Gone", "p0")
    store.delete_role(PROD, "Gone")
    decision = world.decide(session, need("s3:GetObject", B, "k"), bucket)
    assert not decision.allowed
    assert "could not be resolved" in decision.reason


def test_messages_name_the_denying_policy_type(world: World) -> None:
    role = world.role(PROD, "Limited", doc(allow("s3:*")))
    session = world.session(role, policy=doc(deny("s3:PutObject"), allow("s3:*")))
    text = message(world, session, need("s3:PutObject", B, "k"), world.bucket(B, PROD))
    assert text == (
        f'User: {session.arn} is not authorized to perform: s3:PutObject on resource: '
        f'"arn:aws:s3:::{B}/k" with an explicit deny in a session policy')
    root_text = message(world, world.root(PROD), need("s3:GetObject", B, "k"),
                        world.bucket(B, PROD, bucket_policy({"Effect": "Deny", "Principal": "*",
                                                       "Action": "s3:*", "Resource": "*"})))
    assert root_text.startswith(f"User: arn:aws:iam::{PROD}:root is not authorized")
    assert "Statement" not in text and "{" not in text


def test_authorize_s3_is_the_interface(world: World) -> None:
    # The plan's signature: keyword-only meta and context, bucket None allowed.
    import inspect
    params = inspect.signature(authorize_s3).parameters
    assert list(params) == ["authorizer", "caller", "need", "bucket", "meta", "context"]
    assert params["meta"].kind is inspect.Parameter.KEYWORD_ONLY
