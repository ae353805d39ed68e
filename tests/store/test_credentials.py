"""Access keys, MFA (with compare-and-swap under concurrency), login profiles, used tokens,
signing keys; atomicity of multi-statement mutations; reopening (migrations)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest

from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded
from opensts.directory.records import AccessKeyLastUsed, LoginProfile, SigningKey
from opensts.store import SqlStore

from .records import ACCT, NOW, access_key, mfa, policy, user


def _race(n: int, fn) -> list[object]:  # type: ignore[no-untyped-def]
    """Run ``fn(i)`` in ``n`` threads released together; returns results or exceptions."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_access_keys_for_user_and_root(store: SqlStore) -> None:
    alice = user("alice")
    store.create_user(alice)
    k1 = access_key("alice", alice.user_id)
    store.create_access_key(k1)
    assert store.find_access_key(k1.access_key_id) == k1
    assert store.find_access_key("AKIANOTTHERE0000000") is None
    root_key = access_key(None, None)
    store.create_access_key(root_key)
    found = store.find_access_key(root_key.access_key_id)
    assert found is not None and found.is_root and found.sealed_secret == b"sealed\x00secret"
    assert store.list_access_keys(ACCT, None) == [root_key]
    store.create_access_key(access_key("alice", alice.user_id))
    with pytest.raises(QuotaExceeded) as err:
        store.create_access_key(access_key("alice", alice.user_id))
    assert (err.value.quota, err.value.limit) == ("AccessKeysPerUser", 2)
    store.set_access_key_status(ACCT, "alice", k1.access_key_id, "Inactive")
    assert store.find_access_key(k1.access_key_id).status == "Inactive"  # type: ignore[union-attr]
    with pytest.raises(NotFound):  # a key is addressed through its owner
        store.set_access_key_status(ACCT, None, k1.access_key_id, "Active")
    used = AccessKeyLastUsed(NOW, "sts", "us-east-1")
    store.record_access_key_use(k1.access_key_id, used)
    assert store.find_access_key(k1.access_key_id).last_used == used  # type: ignore[union-attr]
    store.delete_access_key(ACCT, "alice", k1.access_key_id)
    assert store.find_access_key(k1.access_key_id) is None
    with pytest.raises(NotFound):
        store.delete_access_key(ACCT, "alice", k1.access_key_id)
    with pytest.raises(NotFound):
        store.create_access_key(access_key("bob", "AIDAXXXXXXXXXXXXXXXXX"))


def test_concurrent_access_key_creation_respects_quota(store: SqlStore) -> None:
    alice = user("alice")
    store.create_user(alice)
    results = _race(4, lambda i: store.create_access_key(access_key("alice", alice.user_id)))
    assert sum(r is None for r in results) == 2
    assert all(isinstance(r, QuotaExceeded) for r in results if r is not None)
    assert len(store.list_access_keys(ACCT, "alice")) == 2


def test_concurrent_duplicate_insert_one_wins(store: SqlStore) -> None:
    results = _race(4, lambda i: store.create_user(user("Dup" if i % 2 else "dup")))
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, AlreadyExists) for r in results if r is not None)


def test_mfa_lifecycle(store: SqlStore) -> None:
    store.create_user(user("alice"))
    dev = mfa("alice-phone")
    store.create_mfa_device(dev)
    with pytest.raises(AlreadyExists):
        store.create_mfa_device(mfa("ALICE-phone"))
    assert store.get_mfa_device(dev.serial) == dev
    assert not store.use_mfa_code(dev.serial, 100)  # not enabled yet
    store.enable_mfa_device(dev.serial, ACCT, "alice", NOW, 100)
    got = store.get_mfa_device(dev.serial)
    assert got.user_name == "alice" and got.enabled == NOW and got.last_time_step == 100
    with pytest.raises(Conflict):
        store.enable_mfa_device(dev.serial, ACCT, "alice", NOW, 101)
    assert [d.serial for d in store.list_mfa_devices_for_user(ACCT, "alice")] == [dev.serial]
    assert [d.serial for d in store.list_virtual_mfa_devices(ACCT, assigned=True).items] == [
        dev.serial]
    assert store.list_virtual_mfa_devices(ACCT, assigned=False).items == []
    assert not store.use_mfa_code(dev.serial, 100)  # replay of the enabling code
    assert store.use_mfa_code(dev.serial, 101)
    assert not store.use_mfa_code(dev.serial, 101)
    assert not store.use_mfa_code(dev.serial, 99)
    with pytest.raises(Conflict) as err:
        store.delete_mfa_device(dev.serial)
    assert err.value.reason == "mfa_in_use"
    store.deactivate_mfa_device(dev.serial, ACCT, "alice")
    with pytest.raises(NotFound):
        store.deactivate_mfa_device(dev.serial, ACCT, "alice")
    store.delete_mfa_device(dev.serial)
    assert store.find_mfa_device(dev.serial) is None


def test_concurrent_mfa_code_use_exactly_one_wins(store: SqlStore) -> None:
    store.create_user(user("alice"))
    dev = mfa("d")
    store.create_mfa_device(dev)
    store.enable_mfa_device(dev.serial, ACCT, "alice", NOW, 1)
    for step in (2, 3, 4):
        results = _race(4, lambda i, step=step: store.use_mfa_code(dev.serial, step))
        assert sorted(results) == [False, False, False, True]  # type: ignore[type-var]


def test_login_profile(store: SqlStore) -> None:
    store.create_user(user("alice"))
    lp = LoginProfile(ACCT, "alice", "$argon2id$hash", NOW, True)
    store.create_login_profile(lp)
    with pytest.raises(AlreadyExists):
        store.create_login_profile(lp)
    assert store.get_login_profile(ACCT, "ALICE") == lp
    new = store.update_login_profile(ACCT, "alice", lambda p: dataclasses.replace(
        p, password_hash="h2", password_reset_required=False))
    assert store.get_login_profile(ACCT, "alice") == new
    with pytest.raises(Conflict) as err:
        store.delete_user(ACCT, "alice")
    assert err.value.reason == "login_profile"
    store.delete_login_profile(ACCT, "alice")
    with pytest.raises(NotFound):
        store.get_login_profile(ACCT, "alice")


def test_used_tokens_and_purge(store: SqlStore) -> None:
    assert store.add_used_token("id-1", NOW + timedelta(minutes=5))
    assert not store.add_used_token("id-1", NOW + timedelta(minutes=5))
    results = _race(4, lambda i: store.add_used_token("id-2", NOW + timedelta(minutes=5)))
    assert sorted(results) == [False, False, False, True]  # type: ignore[type-var]
    assert store.purge_expired(NOW + timedelta(minutes=6)) == 2
    assert store.add_used_token("id-1", NOW + timedelta(minutes=10))


def test_signing_keys(store: SqlStore) -> None:
    store.add_signing_key(SigningKey("k1", b"\x01sealed", NOW, primary=True))
    store.add_signing_key(SigningKey("k2", b"\x02sealed", NOW + timedelta(seconds=1), primary=True))
    keys = store.list_signing_keys()
    assert [(k.key_id, k.primary) for k in keys] == [("k1", False), ("k2", True)]
    store.set_primary_signing_key("k1")
    assert [k.primary for k in store.list_signing_keys()] == [True, False]
    with pytest.raises(NotFound):
        store.set_primary_signing_key("nope")
    store.delete_signing_key("k2")
    assert [k.key_id for k in store.list_signing_keys()] == ["k1"]
    with pytest.raises(AlreadyExists):
        store.add_signing_key(SigningKey("k1", b"", NOW))


def test_failing_multi_statement_mutation_leaves_nothing(store: SqlStore) -> None:
    # create_policy writes the policy row, then its first version. A version row that
    # cannot be written (its policy id collides with an existing policy's id) must undo
    # the policy row too.
    p = policy("First")
    store.create_policy(p)
    before = store.generation()
    clash = dataclasses.replace(policy("Second"), policy_id=p.policy_id)
    with pytest.raises(AlreadyExists):
        store.create_policy(clash)
    assert store.generation() == before
    assert [x.name for x in store.list_policies(ACCT).items] == ["First"]
    # signing key rotation: the old primary keeps its flag when the insert fails
    store.add_signing_key(SigningKey("k1", b"x", NOW, primary=True))
    with pytest.raises(AlreadyExists):
        store.add_signing_key(SigningKey("k1", b"y", NOW, primary=True))
    assert [k.primary for k in store.list_signing_keys()] == [True]


def test_generation_moves_on_every_mutation(store: SqlStore) -> None:
    g0 = store.generation()
    store.create_user(user("alice"))
    g1 = store.generation()
    store.update_user(ACCT, "alice", lambda u: u)
    assert g0 < g1 < store.generation()


def test_reopen_keeps_data_and_runs_no_migration_twice(store_factory) -> None:  # type: ignore[no-untyped-def]
    first = store_factory()
    first.create_user(user("alice"))
    second = store_factory()
    assert second.get_user(ACCT, "alice").name == "alice"
