"""The generation-keyed read cache serves repeated reads and never serves stale data when
max_staleness is 0, whichever process made the change."""

from __future__ import annotations

import dataclasses

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
