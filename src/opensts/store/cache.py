"""A read-through cache for the authorizer's hot-path reads, invalidated by generation.

Every committed directory mutation moves the store's generation counter (see
``directory.store``), in this process or any other sharing the database. The cache keeps
results of the hot-path reads for one generation: a read first looks at the generation
(one indexed single-row query, or none within ``max_staleness`` seconds of the last look)
and serves from memory while it is unchanged.

With ``max_staleness=0`` (the default) reads are exactly as fresh as uncached ones: the
generation is read before the data, so data cached under generation *g* is at least as new
as *g*, and is dropped as soon as the generation moves. A positive ``max_staleness`` trades
that for fewer queries: a change made by *another process* becomes visible within that many
seconds (changes through this wrapper are visible at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from opensts.directory.store import Store

T = TypeVar("T")

CACHED = frozenset(
    {
        "get_account",
        "get_user",
        "get_user_by_id",
        "get_role",
        "get_role_by_id",
        "get_managed_policy",
        "identity_policies_for_user",
        "identity_policies_for_role",
        "policy_levels_for_account",
        "find_access_key",
        "get_saml_provider",
        "get_oidc_provider",
        "find_organization_for_account",
        "get_org_account",  # the authorizer checks the caller's account is not closed
        "find_bucket",  # every S3 request reads its bucket's owner, policy and settings
        "find_api",  # every authorizer hook request reads its API's routes and policy
    }
)
_PLAIN = frozenset({"close", "drop_schema", "dialect", "generation"})


class CachingStore:
    """Wraps a :class:`Store`; every method not listed in ``CACHED`` passes through."""

    def __init__(
        self,
        store: Store,
        *,
        max_staleness: float = 0.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._store = store
        self._max_staleness = max_staleness
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._generation = -1
        self._checked_at = float("-inf")
        self._checks_begun = 0  # generation checks started, and the newest one applied
        self._check_applied = 0
        self._entries: dict[tuple[Any, ...], Any] = {}
        self.hits = 0
        self.misses = 0

    @property
    def uncached(self) -> Store:
        """The wrapped store, for reads that must see bookkeeping the generation ignores."""
        return self._store

    def _current_generation(self, *, force: bool = False) -> int:
        now = self._clock()
        if force or now - self._checked_at > self._max_staleness or self._max_staleness <= 0:
            with self._lock:
                self._checks_begun += 1
                check = self._checks_begun
            generation = self._store.generation()
            with self._lock:
                # Checks of several threads overlap. Only one begun after the last applied
                # may apply: a slow read of an older generation must not undo a newer one,
                # which would let data read before this process's own write be cached again.
                if check > self._check_applied:
                    self._check_applied = check
                    if generation != self._generation:
                        self._entries.clear()
                        self._generation = generation
                    self._checked_at = now
                return self._generation
        return self._generation

    def _cached(self, name: str, *args: Any) -> Any:
        generation = self._current_generation()
        key = (name, *args)
        with self._lock:
            if generation == self._generation and key in self._entries:
                self.hits += 1
                return _copy(self._entries[key])
        value = getattr(self._store, name)(*args)
        with self._lock:
            self.misses += 1
            if generation == self._generation:
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
                self._entries[key] = value
        return _copy(value)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name in CACHED:
            return lambda *args: self._cached(name, *args)
        reads = ("get_", "find_", "list_")
        if callable(attr) and name not in _PLAIN and not name.startswith(reads):
            return self._mutation(attr)
        return attr

    def _mutation(self, fn: Callable[..., T]) -> Callable[..., T]:
        def run(*args: Any, **kwargs: Any) -> T:
            try:
                return fn(*args, **kwargs)
            finally:
                # Our own writes are visible at once, whatever max_staleness says.
                self._current_generation(force=True)

        return run


def _copy(value: Any) -> Any:
    # Records are frozen; only the outer lists could be changed by a caller.
    if isinstance(value, list):
        return [list(v) if isinstance(v, list) else v for v in value]
    return value
