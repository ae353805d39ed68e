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
