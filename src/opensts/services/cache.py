"""Directory reads on the authorization hot path, cached for one store generation.

Every committed IAM mutation increases the store's generation counter (on every node, since
the counter lives in the database). A request first reads the counter; while it is unchanged,
access keys, users, roles, parsed identity policies and SCP levels are served from memory,
so authenticating and authorizing a request costs one cheap read instead of several joins.
A change anywhere empties the cache, which keeps every decision exactly as fresh as a direct
read: a policy edit takes effect on the very next request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from opensts.directory.records import AccessKey, ManagedPolicy, Role, User
from opensts.directory.store import Store
from opensts.policy import Policy, PolicyKind, parse_policy

T = TypeVar("T")

MAX_ENTRIES = 20_000
_MISSING = object()


class DirectoryCache:
    def __init__(self, store: Store):
        self.store = store
        self._generation = -1
        self._entries: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def sync(self) -> None:
        """Read the store generation; drop everything cached under an older one."""
        generation = self.store.generation()
        if generation != self._generation:
            with self._lock:
                self._entries = {}
                self._generation = generation

    def get(self, key: tuple[Any, ...], load: Callable[[], T]) -> T:
        """The cached value for ``key``, loading it on a miss. Loader errors are not cached."""
        entries = self._entries
        value = entries.get(key, _MISSING)
        if value is _MISSING:
            value = load()
            if len(entries) >= MAX_ENTRIES:
                entries.clear()
            entries[key] = value
        return value  # type: ignore[return-value]


class HotDirectory:
    """The reads that authenticate and authorize requests, through a DirectoryCache."""

    def __init__(self, store: Store):
        self.store = store
        self.cache = DirectoryCache(store)

    def sync(self) -> None:
        self.cache.sync()

    def access_key(self, access_key_id: str) -> AccessKey | None:
        return self.cache.get(
            ("key", access_key_id), lambda: self.store.find_access_key(access_key_id)
        )

    def user(self, account_id: str, name: str) -> User:
        return self.cache.get(
            ("user", account_id, name.lower()), lambda: self.store.get_user(account_id, name)
        )

    def role(self, account_id: str, name: str) -> Role:
        return self.cache.get(
            ("role", account_id, name.lower()), lambda: self.store.get_role(account_id, name)
        )

    def managed_policy(self, arn: str) -> ManagedPolicy:
        return self.cache.get(("managed", arn), lambda: self.store.get_managed_policy(arn))

    def identity_policies(self, kind: str, account_id: str, name: str) -> list[tuple[str, Policy]]:
        """Parsed identity policies of a user or role (inline, attached, and groups')."""

        def load() -> list[tuple[str, Policy]]:
            rows = (
                self.store.identity_policies_for_role(account_id, name)
                if kind == "role"
                else self.store.identity_policies_for_user(account_id, name)
            )
            return [(source, parse_policy(text, PolicyKind.IDENTITY)) for source, text in rows]

        return self.cache.get(("policies", kind, account_id, name.lower()), load)

    def scp_levels(self, account_id: str) -> list[list[tuple[str, Policy]]]:
        def load() -> list[list[tuple[str, Policy]]]:
            return [
                [(source, parse_policy(text, PolicyKind.SCP)) for source, text in level]
                for level in self.store.scp_levels_for_account(account_id)
            ]

        return self.cache.get(("scps", account_id), load)
