"""Managed policies, versions, attachments, inline policies and identity-policy assembly."""

from __future__ import annotations

import dataclasses

import pytest

from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded
from opensts.directory.records import AWS_MANAGED_ACCOUNT, InlinePolicy
from opensts.store import SqlStore

from .records import ACCT, DOC, NOW, group, policy, role, user

AWS_ADMIN = dataclasses.replace(
    policy("AdministratorAccess", account=AWS_MANAGED_ACCOUNT),
    arn="arn:aws:iam::aws:policy/AdministratorAccess", tags=(),
    document='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
)


def test_policy_roundtrip_and_versions(store: SqlStore) -> None:
    p = policy("S3", "/team/")
    store.create_policy(p)
    assert store.get_managed_policy(p.arn) == p
    with pytest.raises(AlreadyExists):
        store.create_policy(policy("s3"))
    later = NOW.replace(hour=13)
    v2 = store.create_policy_version(p.arn, '{"v":2}', later, set_default=False)
    assert v2.version_id == "v2" and not v2.is_default
    v3 = store.create_policy_version(p.arn, '{"v":3}', later, set_default=True)
    got = store.get_managed_policy(p.arn)
    assert got.default_version_id == "v3" and got.document == '{"v":3}' and got.updated == later
    assert [v.version_id for v in store.list_policy_versions(p.arn)] == ["v3", "v2", "v1"]
    assert store.get_policy_version(p.arn, "v3") == v3
    with pytest.raises(Conflict) as err:
        store.delete_policy_version(p.arn, "v3")
    assert err.value.reason == "default_version"
    store.set_default_policy_version(p.arn, "v1")
    assert store.get_managed_policy(p.arn).document == DOC
    store.delete_policy_version(p.arn, "v3")
    with pytest.raises(NotFound):
        store.get_policy_version(p.arn, "v3")
    with pytest.raises(NotFound):
        store.set_default_policy_version(p.arn, "v3")
    # version ids are never reused
    assert store.create_policy_version(p.arn, "{}", later, set_default=False).version_id == "v4"


def test_policy_version_quota(store: SqlStore) -> None:
    p = policy("P")
    store.create_policy(p)
    for _ in range(4):
        store.create_policy_version(p.arn, "{}", NOW, set_default=False)
    with pytest.raises(QuotaExceeded) as err:
        store.create_policy_version(p.arn, "{}", NOW, set_default=True)
    assert err.value.limit == 5
    assert store.get_managed_policy(p.arn).default_version_id == "v1"


def test_delete_policy_conflicts(store: SqlStore) -> None:
    p = policy("P")
    store.create_policy(p)
    store.create_user(user("alice"))
    store.attach_policy("user", ACCT, "alice", p.arn)
    with pytest.raises(Conflict) as err:
        store.delete_policy(p.arn)
    assert err.value.reason == "policy_attached"
    store.detach_policy("user", ACCT, "alice", p.arn)
    store.create_policy_version(p.arn, "{}", NOW, set_default=True)
    with pytest.raises(Conflict) as err:
        store.delete_policy(p.arn)
    assert err.value.reason == "policy_versions"
    store.delete_policy_version(p.arn, "v1")
    store.delete_policy(p.arn)
    with pytest.raises(NotFound):
        store.get_managed_policy(p.arn)


def test_aws_managed_sync_listing_and_attachment(store: SqlStore) -> None:
    store.sync_aws_managed_policies([AWS_ADMIN])
    store.sync_aws_managed_policies([AWS_ADMIN])  # idempotent
    local = policy("Mine")
    store.create_policy(local)
    store.create_role(role("r"))
    assert [p.name for p in store.list_policies(ACCT, scope="AWS").items] == [
        "AdministratorAccess"]
    assert [p.name for p in store.list_policies(ACCT, scope="Local").items] == ["Mine"]
    assert len(store.list_policies(ACCT).items) == 2
    assert store.list_policies(ACCT, only_attached=True).items == []
    store.attach_policy("role", ACCT, "r", AWS_ADMIN.arn)
    attached = store.list_policies(ACCT, only_attached=True).items
    assert [p.arn for p in attached] == [AWS_ADMIN.arn] and attached[0].attachment_count == 1
    # another account sees the shared AWS policy, but not as attached by itself
    assert store.list_policies("444455556666", only_attached=True).items == []
    assert store.get_managed_policy(AWS_ADMIN.arn).aws_managed


def test_attachments_quota_idempotence_and_listing(store: SqlStore) -> None:
    store.create_group(group("g"))
    arns = []
    for i in range(11):
        p = policy(f"P{i:02d}", "/x/" if i < 3 else "/")
        store.create_policy(p)
        arns.append(p.arn)
    for arn in arns[:10]:
        store.attach_policy("group", ACCT, "g", arn, max_attached=10)
    store.attach_policy("group", ACCT, "g", arns[0], max_attached=10)  # already attached
    with pytest.raises(QuotaExceeded):
        store.attach_policy("group", ACCT, "g", arns[10], max_attached=10)
    page = store.list_attached_policies("group", ACCT, "g", max_items=4)
    got = [a.name for a in page.items]
    while page.marker:
        page = store.list_attached_policies("group", ACCT, "g", marker=page.marker, max_items=4)
        got += [a.name for a in page.items]
    assert got == [f"P{i:02d}" for i in range(10)]
    assert len(store.list_attached_policies("group", ACCT, "g", path_prefix="/x/").items) == 3
    with pytest.raises(NotFound):
        store.detach_policy("group", ACCT, "g", arns[10])
    with pytest.raises(NotFound):
        store.attach_policy("group", ACCT, "g", f"arn:aws:iam::{ACCT}:policy/none")
    # a policy of another account cannot be attached
    foreign = policy("F", account="444455556666")
    store.create_policy(foreign)
    with pytest.raises(NotFound):
        store.attach_policy("group", ACCT, "g", foreign.arn)
    groups, users, roles = store.list_entities_for_policy(arns[0])
    assert [g.name for g in groups] == ["g"] and users == [] and roles == []


def test_inline_policies(store: SqlStore) -> None:
    store.create_user(user("alice"))
    store.put_inline_policy(InlinePolicy(ACCT, "user", "alice", "b", DOC))
    store.put_inline_policy(InlinePolicy(ACCT, "user", "ALICE", "a", "{}"))
    store.put_inline_policy(InlinePolicy(ACCT, "user", "alice", "a", '{"x":1}'))  # replace
    assert store.get_inline_policy("user", ACCT, "alice", "a") == InlinePolicy(
        ACCT, "user", "alice", "a", '{"x":1}')
    assert store.list_inline_policies("user", ACCT, "alice").items == ["a", "b"]
    page = store.list_inline_policies("user", ACCT, "alice", max_items=1)
    assert page.items == ["a"] and page.marker
    assert store.list_inline_policies("user", ACCT, "alice", marker=page.marker).items == ["b"]
    with pytest.raises(NotFound):
        store.get_inline_policy("user", ACCT, "alice", "zzz")
    with pytest.raises(NotFound):
        store.put_inline_policy(InlinePolicy(ACCT, "role", "nobody", "a", DOC))
    with pytest.raises(NotFound):
        store.delete_inline_policy("user", ACCT, "alice", "zzz")


def test_identity_policies_for_user_and_role(store: SqlStore) -> None:
    alice = user("alice")
    store.create_user(alice)
    g = group("devs")
    store.create_group(g)
    store.add_user_to_group(ACCT, "devs", "alice")
    pu, pg = policy("ForUser"), policy("ForGroup")
    store.create_policy(pu)
    store.create_policy(pg)
    store.create_policy_version(pu.arn, '{"new":1}', NOW, set_default=True)
    store.attach_policy("user", ACCT, "alice", pu.arn)
    store.attach_policy("group", ACCT, "devs", pg.arn)
    store.put_inline_policy(InlinePolicy(ACCT, "user", "alice", "own", "{1}"))
    store.put_inline_policy(InlinePolicy(ACCT, "group", "devs", "shared", "{2}"))
    got = store.identity_policies_for_user(ACCT, "Alice")
    assert got == [
        (f"{alice.arn}#inline:own", "{1}"),
        (pu.arn, '{"new":1}'),
        (f"{g.arn}#inline:shared", "{2}"),
        (pg.arn, DOC),
    ]
    r = role("R")
    store.create_role(r)
    assert store.identity_policies_for_role(ACCT, "R") == []
    store.attach_policy("role", ACCT, "R", pg.arn)
    assert store.identity_policies_for_role(ACCT, "r") == [(pg.arn, DOC)]
    with pytest.raises(NotFound):
        store.identity_policies_for_user(ACCT, "nobody")


def test_boundary_usage_count(store: SqlStore) -> None:
    b = policy("Boundary")
    store.create_policy(b)
    store.create_user(user("alice", permissions_boundary=b.arn))
    store.create_role(role("r", permissions_boundary=b.arn))
    assert store.get_managed_policy(b.arn).boundary_usage_count == 2


def test_bundled_aws_managed_policies_load_and_parse(store: SqlStore) -> None:
    from opensts.directory.aws_managed import aws_managed_policies
    from opensts.policy import PolicyKind, parse_policy

    bundled = list(aws_managed_policies())
    assert len(bundled) > 1000  # all of AWS's, not a sample
    store.sync_aws_managed_policies(bundled)
    names: set[str] = set()
    marker = None
    while True:
        page = store.list_policies(ACCT, scope="AWS", max_items=1000, marker=marker)
        names |= {p.name for p in page.items}
        if page.marker is None:
            break
        marker = page.marker
    assert len(names) == len(bundled)
    assert {"AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "IAMFullAccess",
            "IAMReadOnlyAccess", "AmazonS3ReadOnlyAccess", "AmazonS3FullAccess",
            "AWSOrganizationsFullAccess", "IAMUserChangePassword"} <= names
    for p in bundled:
        assert p.arn == f"arn:aws:iam::aws:policy{p.path}{p.name}"
        assert p.policy_id.startswith("ANPA") and len(p.policy_id) == 21
        parse_policy(p.document, PolicyKind.IDENTITY)
    stored = store.get_managed_policy("arn:aws:iam::aws:policy/AdministratorAccess")
    assert stored.policy_id == "ANPAIWMBCKSKIEE64ZLYK"  # AWS's own ID, kept by hand


def test_aws_managed_sync_skips_a_synced_bundle_and_moves_versions(store: SqlStore) -> None:
    store.sync_aws_managed_policies([AWS_ADMIN], digest=7)
    assert store.aws_managed_digest() == 7
    newer = dataclasses.replace(AWS_ADMIN, default_version_id="v2",
                                document='{"Version":"2012-10-17"}')
    store.sync_aws_managed_policies([newer], digest=7)  # same digest: nothing happens
    assert store.get_managed_policy(AWS_ADMIN.arn).default_version_id == "v1"
    store.sync_aws_managed_policies([newer], digest=8)
    assert store.get_managed_policy(AWS_ADMIN.arn).default_version_id == "v2"
    assert [v.version_id for v in store.list_policy_versions(AWS_ADMIN.arn)] == ["v2", "v1"]


@pytest.mark.parametrize("kind", ["user", "role"])
def test_a_policy_in_use_as_a_permissions_boundary_is_not_deleted(store: SqlStore,
                                                                  kind: str) -> None:
    p = policy("Boundary")
    store.create_policy(p)
    if kind == "user":
        store.create_user(user("bounded", permissions_boundary=p.arn))
    else:
        store.create_role(role("bounded", permissions_boundary=p.arn))
    with pytest.raises(Conflict) as err:
        store.delete_policy(p.arn)
    assert err.value.reason == "policy_attached"
    assert store.get_managed_policy(p.arn).boundary_usage_count == 1
    if kind == "user":
        store.update_user(ACCT, "bounded", lambda u: dataclasses.replace(
            u, permissions_boundary=None))
    else:
        store.update_role(ACCT, "bounded", lambda r: dataclasses.replace(
            r, permissions_boundary=None))
    store.delete_policy(p.arn)
