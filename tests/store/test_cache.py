"""The generation-keyed read cache serves repeated reads and never serves stale data when
max_staleness is 0, whichever process made the change."""

from __future__ import annotations

import dataclasses
import threading

from opensts.directory.records import InlinePolicy
from opensts.store.cache import CachingStore

from .records import ACCT, DOC, user


def test_repeated_reads_hit_and_own_writes_invalidate(store) -> None:  # type: ignore[no-untyped-def]
    cached = CachingStore(store)
    cached.create_user(user("alice"))
    assert cached.identity_policies_for_user(ACCT, "alice") == []
    assert cached.identity_policies_for_user(ACCT, "alice") == []
    assert (cached.hits, cached.misses) == (1, 1)
    cached.put_inline_policy(InlinePolicy(ACCT, "user", "alice", "p", DOC))
    assert len(cached.identity_policies_for_user(ACCT, "alice")) == 1
    renamed = cached.update_user(ACCT, "alice", lambda u: dataclasses.replace(u, path="/x/"))
    assert cached.get_user(ACCT, "alice") == renamed


def test_changes_by_another_store_are_seen(store_factory) -> None:  # type: ignore[no-untyped-def]
    cached = CachingStore(store_factory())
    other = store_factory()  # another server process on the same database
    other.create_user(user("bob"))
    assert cached.identity_policies_for_user(ACCT, "bob") == []
    other.put_inline_policy(InlinePolicy(ACCT, "user", "bob", "p", DOC))
    assert len(cached.identity_policies_for_user(ACCT, "bob")) == 1


def test_bounded_staleness(store_factory) -> None:  # type: ignore[no-untyped-def]
    now = [0.0]
    cached = CachingStore(store_factory(), max_staleness=5.0, clock=lambda: now[0])
    other = store_factory()
    other.create_user(user("carol"))
    assert cached.identity_policies_for_user(ACCT, "carol") == []
    other.put_inline_policy(InlinePolicy(ACCT, "user", "carol", "p", DOC))
    now[0] = 4.0
    assert cached.identity_policies_for_user(ACCT, "carol") == []  # within the bound
    now[0] = 5.5
    assert len(cached.identity_policies_for_user(ACCT, "carol")) == 1


class _Gated:
    """A store whose reads, in the threads named, pause after reading until released."""

    def __init__(self, store, pauses: dict[str, tuple[threading.Event, threading.Event]]):  # type: ignore[no-untyped-def]
        self._store = store
        self._pauses = pauses  # thread name -> (read done, release)

    def _pause(self, value):  # type: ignore[no-untyped-def]
        pause = self._pauses.get(threading.current_thread().name)
        if pause is not None:
            done, release = pause
            done.set()
            assert release.wait(10)
        return value

    def generation(self) -> int:
        return self._pause(self._store.generation())  # type: ignore[no-any-return]

    def identity_policies_for_user(self, *args):  # type: ignore[no-untyped-def]
        return self._pause(self._store.identity_policies_for_user(*args))

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._store, name)


def test_a_slow_generation_check_never_undoes_a_newer_one(store) -> None:  # type: ignore[no-untyped-def]
    # Reader A read policies before this process's own write; checker B read the generation
    # before it too, but finishes after the write's own check. B must not move the
    # generation back, or A's old read is cached and served as if the write had not happened.
    now = [0.0]
    events = {name: (threading.Event(), threading.Event()) for name in ("A", "B")}
    gated = _Gated(store, events)
    cached = CachingStore(gated, max_staleness=60.0, clock=lambda: now[0])  # type: ignore[arg-type]
    cached.create_user(user("dave"))
    reader = threading.Thread(name="A", target=cached.identity_policies_for_user,
                              args=(ACCT, "dave"))
    reader.start()
    assert events["A"][0].wait(10)  # A holds the pre-write read
    now[0] = 100.0  # past the staleness bound: B's read checks the generation
    checker = threading.Thread(name="B", target=cached.get_user, args=(ACCT, "dave"))
    checker.start()
    assert events["B"][0].wait(10)  # B holds the pre-write generation
    cached.put_inline_policy(InlinePolicy(ACCT, "user", "dave", "p", DOC))
    for name, thread in (("B", checker), ("A", reader)):
        events[name][1].set()
        thread.join(10)
    assert len(cached.identity_policies_for_user(ACCT, "dave")) == 1


# Selective invalidation (issue 10): a write drops only its account's entries, here and in
# the other processes that share the journal; anything unknown still drops everything.

OTHER = "210987654321"


def _account(store, account_id: str) -> None:  # type: ignore[no-untyped-def]
    from opensts.directory.records import Account

    store.create_account(Account(account_id, f"acct-{account_id}", f"{account_id}@example.com"))


def test_a_write_drops_only_its_accounts_entries(store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cached = CachingStore(store, journal=tmp_path / "journal")
    _account(cached, OTHER)
    cached.create_user(user("alice"))
    cached.create_user(dataclasses.replace(user("zed"), account_id=OTHER,
                                           arn=f"arn:aws:iam::{OTHER}:user/zed"))
    assert cached.identity_policies_for_user(ACCT, "alice") == []
    assert cached.identity_policies_for_user(OTHER, "zed") == []
    misses = cached.misses
    cached.put_inline_policy(InlinePolicy(ACCT, "user", "alice", "p", DOC))
    assert cached.partial_clears >= 1
    assert cached.identity_policies_for_user(OTHER, "zed") == []  # kept: another account
    assert cached.misses == misses
    assert len(cached.identity_policies_for_user(ACCT, "alice")) == 1  # dropped and re-read
    assert cached.misses == misses + 1


def test_other_workers_drop_only_the_written_account(store_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal = tmp_path / "journal"
    writer = CachingStore(store_factory(), journal=journal)
    reader = CachingStore(store_factory(), journal=journal)  # another --workers process
    _account(writer, OTHER)
    writer.create_user(user("bob"))
    writer.create_user(dataclasses.replace(user("yan"), account_id=OTHER,
                                           arn=f"arn:aws:iam::{OTHER}:user/yan"))
    assert reader.identity_policies_for_user(ACCT, "bob") == []
    assert reader.identity_policies_for_user(OTHER, "yan") == []
    misses, clears = reader.misses, reader.full_clears
    writer.put_inline_policy(InlinePolicy(ACCT, "user", "bob", "p", DOC))
    assert len(reader.identity_policies_for_user(ACCT, "bob")) == 1  # seen at once
    assert reader.identity_policies_for_user(OTHER, "yan") == []
    assert (reader.misses, reader.full_clears) == (misses + 1, clears)


def test_unknown_changes_still_drop_everything(store_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal = tmp_path / "journal"
    reader = CachingStore(store_factory(), journal=journal)
    outside = store_factory()  # a writer without the journal (another node, the CLI)
    outside.create_user(user("carl"))
    assert reader.identity_policies_for_user(ACCT, "carl") == []
    clears = reader.full_clears
    outside.put_inline_policy(InlinePolicy(ACCT, "user", "carl", "p", DOC))
    assert len(reader.identity_policies_for_user(ACCT, "carl")) == 1
    assert reader.full_clears == clears + 1
    # A mutation outside SCOPED (here an account, which Organizations also reach) through
    # the journal: unknown as well.
    writer = CachingStore(store_factory(), journal=journal)
    _account(writer, OTHER)
    assert reader.identity_policies_for_user(ACCT, "carl") != []
    assert reader.full_clears == clears + 2


def test_a_journal_emptied_or_behind_means_unknown(store_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal = tmp_path / "journal"
    writer = CachingStore(store_factory(), journal=journal)
    writer.create_user(user("dora"))
    reader = CachingStore(store_factory(), journal=journal)
    assert reader.identity_policies_for_user(ACCT, "dora") == []
    journal.write_bytes(b"")  # emptied (past its size limit) before the reader caught up
    writer.put_inline_policy(InlinePolicy(ACCT, "user", "dora", "p", DOC))
    clears = reader.full_clears
    journal.write_bytes(b"")
    assert len(reader.identity_policies_for_user(ACCT, "dora")) == 1
    assert reader.full_clears == clears + 1


def test_write_account() -> None:
    from opensts.store.cache import read_tag, write_account

    assert write_account(("user", ACCT, "alice", "arn:aws:iam::aws:policy/ReadOnly"), {}) == ACCT
    assert write_account((f"arn:aws:iam::{ACCT}:policy/p",), {}) == ACCT
    assert write_account((user("x"),), {}) == ACCT
    assert write_account(("user", ACCT, OTHER), {}) is None  # two accounts: unknown
    assert write_account(("x",), {}) is None
    assert read_tag("find_bucket", ("b",), None) == ""
    assert read_tag("get_managed_policy", ("arn:aws:iam::aws:policy/ReadOnly",), None) == ""
