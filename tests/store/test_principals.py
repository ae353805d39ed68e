"""Accounts, users, groups, roles: CRUD, case-insensitive names, paging, delete conflicts."""

from __future__ import annotations

import dataclasses

import pytest

from opensts.directory.errors import AlreadyExists, Conflict, NotFound
from opensts.directory.records import Account, InlinePolicy, Tag
from opensts.store import SqlStore

from .records import ACCT, DOC, NOW, access_key, group, mfa, policy, role, user


def test_account_roundtrip(store: SqlStore) -> None:
    store.create_account(Account(ACCT, "main", "root@example.com", NOW))
    assert store.get_account(ACCT) == Account(ACCT, "main", "root@example.com", NOW)
    assert store.find_account("999999999999") is None
    with pytest.raises(NotFound):
        store.get_account("999999999999")
    with pytest.raises(AlreadyExists):
        store.create_account(Account(ACCT, "again", "", NOW))
    assert [a.account_id for a in store.list_accounts()] == [ACCT]


def test_user_crud_and_case_insensitive_names(store: SqlStore) -> None:
    alice = user("Alice", "/eng/", tags=(Tag("team", "x"), Tag("cost", "1")))
    store.create_user(alice)
    assert store.get_user(ACCT, "alice") == alice
    assert store.get_user(ACCT, "ALICE").created.tzinfo is not None
    assert store.get_user_by_id(alice.user_id) == alice
    with pytest.raises(AlreadyExists):
        store.create_user(user("ALICE"))
    with pytest.raises(NotFound):
        store.get_user(ACCT, "bob")
    # the same name in another account is a different user
    store.create_user(user("alice", account="444455556666"))
    assert store.get_user("444455556666", "alice").account_id == "444455556666"


def test_update_user_rename_and_clash(store: SqlStore) -> None:
    store.create_user(user("alice"))
    store.create_user(user("bob"))
    renamed = store.update_user(ACCT, "alice", lambda u: dataclasses.replace(
        u, name="carol", path="/new/", arn=f"arn:aws:iam::{ACCT}:user/new/carol"))
    assert store.get_user(ACCT, "carol") == renamed
    with pytest.raises(NotFound):
        store.get_user(ACCT, "alice")
    with pytest.raises(AlreadyExists):
        store.update_user(ACCT, "carol", lambda u: dataclasses.replace(u, name="BOB"))
    assert store.get_user(ACCT, "carol").path == "/new/"


def test_list_users_paging_and_path_prefix(store: SqlStore) -> None:
    for i in range(7):
        store.create_user(user(f"u{i}", "/a/" if i % 2 else "/b/"))
    page = store.list_users(ACCT, max_items=3)
    names = [u.name for u in page.items]
    assert names == ["u0", "u1", "u2"] and page.is_truncated
    while page.marker:
        page = store.list_users(ACCT, marker=page.marker, max_items=3)
        names += [u.name for u in page.items]
    assert names == [f"u{i}" for i in range(7)]
    assert [u.name for u in store.list_users(ACCT, path_prefix="/a/").items] == ["u1", "u3", "u5"]
    last = store.list_users(ACCT, max_items=7)
    assert not last.is_truncated


def test_delete_user_conflicts_in_aws_order(store: SqlStore) -> None:
    alice = user("alice")
    store.create_user(alice)
    store.create_group(group("devs"))
    store.add_user_to_group(ACCT, "devs", "alice")
    store.put_inline_policy(InlinePolicy(ACCT, "user", "alice", "p1", DOC))
    key = access_key("alice", alice.user_id)
    store.create_access_key(key)
    with pytest.raises(Conflict) as err:
        store.delete_user(ACCT, "alice")
    assert err.value.reason == "access_keys"
    store.delete_access_key(ACCT, "alice", key.access_key_id)
    with pytest.raises(Conflict) as err:
        store.delete_user(ACCT, "alice")
    assert err.value.reason == "inline_policies"
    store.delete_inline_policy("user", ACCT, "alice", "p1")
    with pytest.raises(Conflict) as err:
        store.delete_user(ACCT, "alice")
    assert err.value.reason == "group_memberships"
    store.remove_user_from_group(ACCT, "devs", "alice")
    store.delete_user(ACCT, "alice")
    with pytest.raises(NotFound):
        store.get_user(ACCT, "alice")
    with pytest.raises(NotFound):
        store.delete_user(ACCT, "alice")


def test_delete_user_with_mfa_or_attached_policy(store: SqlStore) -> None:
    store.create_user(user("alice"))
    p = policy("P")
    store.create_policy(p)
    store.attach_policy("user", ACCT, "alice", p.arn)
    with pytest.raises(Conflict) as err:
        store.delete_user(ACCT, "alice")
    assert err.value.reason == "attached_policies"
    store.detach_policy("user", ACCT, "alice", p.arn)
    store.create_mfa_device(mfa("alice"))
    store.enable_mfa_device(f"arn:aws:iam::{ACCT}:mfa/alice", ACCT, "alice", NOW, 5)
    with pytest.raises(Conflict) as err:
        store.delete_user(ACCT, "alice")
    assert err.value.reason == "mfa_devices"


def test_groups_membership(store: SqlStore) -> None:
    store.create_group(group("devs", "/eng/"))
    store.create_group(group("ops"))
    for n in ("carol", "alice", "bob"):
        store.create_user(user(n))
        store.add_user_to_group(ACCT, "devs", n)
    store.add_user_to_group(ACCT, "DEVS", "alice")  # idempotent, case-insensitive
    store.add_user_to_group(ACCT, "ops", "alice")
    assert [u.name for u in store.list_group_members(ACCT, "devs").items] == [
        "alice", "bob", "carol"]
    assert [g.name for g in store.list_groups_for_user(ACCT, "alice").items] == ["devs", "ops"]
    with pytest.raises(NotFound):
        store.add_user_to_group(ACCT, "nope", "alice")
    with pytest.raises(NotFound):
        store.remove_user_from_group(ACCT, "ops", "bob")
    with pytest.raises(Conflict) as err:
        store.delete_group(ACCT, "devs")
    assert err.value.reason == "group_members"
    store.remove_user_from_group(ACCT, "ops", "alice")
    store.delete_group(ACCT, "ops")
    assert [g.name for g in store.list_groups(ACCT).items] == ["devs"]
    with pytest.raises(AlreadyExists):
        store.create_group(group("Devs"))


def test_roles(store: SqlStore) -> None:
    r = role("Admin", "/svc/", description="d", max_session_duration=7200,
             permissions_boundary=f"arn:aws:iam::{ACCT}:policy/B", tags=(Tag("k", "v"),))
    store.create_role(r)
    assert store.get_role(ACCT, "admin") == r
    assert store.get_role_by_id(r.role_id) == r
    with pytest.raises(AlreadyExists):
        store.create_role(role("ADMIN"))
    updated = store.update_role(ACCT, "Admin", lambda x: dataclasses.replace(
        x, description="new", assume_role_policy="{}", tags=()))
    assert store.get_role(ACCT, "Admin") == updated
    assert updated.description == "new" and updated.tags == ()
    store.put_inline_policy(InlinePolicy(ACCT, "role", "Admin", "p", DOC))
    with pytest.raises(Conflict):
        store.delete_role(ACCT, "Admin")
    store.delete_inline_policy("role", ACCT, "Admin", "p")
    store.delete_role(ACCT, "admin")
    assert store.list_roles(ACCT).items == []


def test_failed_update_leaves_nothing_changed(store: SqlStore) -> None:
    store.create_user(user("alice"))
    before = store.generation()

    def boom(u):  # type: ignore[no-untyped-def]
        raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        store.update_user(ACCT, "alice", boom)
    assert store.generation() == before
