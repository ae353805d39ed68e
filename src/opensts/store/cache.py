"""A read-through cache for the authorizer's hot-path reads, invalidated by generation.

Every committed directory mutation moves the store's generation counter (see
``directory.store``), in this process or any other sharing the database. The cache keeps
results of the hot-path reads: a read first looks at the generation (one indexed single-row
query, or none within ``max_staleness`` seconds of the last look) and serves from memory
while it is unchanged.

With ``max_staleness=0`` (the default) reads are exactly as fresh as uncached ones: the
generation is read before the data, so data cached under generation *g* is at least as new
as *g*, and is invalidated as soon as the generation moves. A positive ``max_staleness``
trades that for fewer queries: a change made by *another process* becomes visible within
that many seconds (changes through this wrapper are visible at once).

What a move of the generation invalidates. Every cached entry is tagged with the account
its result belongs to (or as global). When the generation moves from *g* to *g'*, the cache
drops only the entries of the accounts whose data changed, and the global ones, if it knows
the change of *every* generation in between; otherwise it drops everything, as before. It
knows a generation's change when an IAM mutation of one account ran through a
``CachingStore`` of this node, and the generation moved by exactly one across it (no other
commit can have been in between: such writers take one lock per node, ``journal``'s
``flock``, around the write and the two generation reads). The change is noted in this
process and appended to ``journal``, a small file the ``--workers`` processes of one data
dir share, which every process reads when its generation moves. A change by another node,
by a writer outside ``CachingStore`` (the CLI), by a mutation that is not in ``SCOPED`` (for
example Organizations policies, which reach every member account), or not yet in the
journal, is unknown: the whole cache goes, exactly as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
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
        "get_identity_pool",  # every public cognito-identity call reads its pool
        "find_setting",  # GetWebIdentityToken reads whether its account enabled it
        "get_org_unit",  # ... and the OUs above its account (the ou_path claim)
    }
)
# IAM mutations whose change is confined to the one account their arguments name, and
# which move the generation exactly once whenever they return (one ``_write`` each).
SCOPED = frozenset(
    {
        "create_user", "update_user", "delete_user",
        "create_group", "update_group", "delete_group",
        "add_user_to_group", "remove_user_from_group",
        "create_role", "update_role", "delete_role",
        "create_policy", "update_policy", "delete_policy", "create_policy_version",
        "set_default_policy_version", "delete_policy_version",
        "attach_policy", "detach_policy", "put_inline_policy", "delete_inline_policy",
        "create_access_key", "set_access_key_status", "delete_access_key",
        "create_login_profile", "update_login_profile", "delete_login_profile",
    }
)
_PLAIN = frozenset({"close", "drop_schema", "dialect", "generation"})
_ACCOUNT = re.compile(r"\d{12}")
GLOBAL = ""  # the tag of entries not confined to one account: dropped on every move
_KNOWN_KEEP = 4096  # generations whose change is remembered
_JOURNAL_MAX = 1 << 20  # bytes; the journal is emptied past this (readers then drop all)


def _account_of(value: Any) -> str | None:
    if isinstance(value, str):
        if _ACCOUNT.fullmatch(value):
            return value
        if value.startswith("arn:"):
            parts = value.split(":", 5)
            if len(parts) > 4 and _ACCOUNT.fullmatch(parts[4]):
                return parts[4]
        return None
    account = getattr(value, "account_id", None)
    return account if isinstance(account, str) and _ACCOUNT.fullmatch(account) else None


def write_account(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The one account a scoped mutation's arguments name, else None (then: unknown)."""
    found = {a for a in map(_account_of, (*args, *kwargs.values())) if a is not None}
    return found.pop() if len(found) == 1 else None


def read_tag(name: str, args: tuple[Any, ...], value: Any) -> str:
    """The account a cached read's result belongs to, or GLOBAL."""
    if name in ("find_bucket", "find_api", "get_identity_pool"):
        return GLOBAL
    if args and isinstance(args[0], str) and _ACCOUNT.fullmatch(args[0]):
        return args[0]
    for candidate in (value, args[0] if args else None):
        account = _account_of(candidate) if candidate is not None else None
        if account is not None:
            return account
    return GLOBAL


class Journal:
    """Appended lines ``<generation> <account>``; shared by the processes of one data dir."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._offset = os.fstat(self._fd).st_size  # older lines describe older generations
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._thread_lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def append(self, generation: int, account: str) -> None:
        """Under ``exclusive``."""
        if os.fstat(self._fd).st_size > _JOURNAL_MAX:
            os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{generation} {account}\n".encode())

    def read_new(self) -> list[tuple[int, str]]:
        size = os.fstat(self._fd).st_size
        if size < self._offset:  # emptied: whatever was in between is unknown, not wrong
            self._offset = 0
        if size == self._offset:
            return []
        data = os.pread(self._fd, size - self._offset, self._offset)
        cut = data.rfind(b"\n") + 1  # a line being appended: next time
        self._offset += cut
        out = []
        for line in data[:cut].split(b"\n"):
            generation, _, account = line.partition(b" ")
            if generation.isdigit():
                out.append((int(generation), account.decode()))
        return out

    def close(self) -> None:
        os.close(self._fd)


class CachingStore:
    """Wraps a :class:`Store`; every method not listed in ``CACHED`` passes through."""

    def __init__(
        self,
        store: Store,
        *,
        max_staleness: float = 0.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        journal: Path | None = None,
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
        self._tagged: dict[str, set[tuple[Any, ...]]] = {}
        self._known: dict[int, str] = {}  # generation -> the account its commit changed
        self._journal = Journal(journal) if journal is not None else None
        self._write_lock = threading.Lock()  # without a journal: this process's writers
        self.hits = 0
        self.misses = 0
        self.full_clears = 0
        self.partial_clears = 0

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
                        self._invalidate(self._generation, generation)
                        self._generation = generation
                    self._checked_at = now
                return self._generation
        return self._generation

    def _invalidate(self, old: int, new: int) -> None:
        """Under ``_lock``: drop what changed from generation ``old`` to ``new``."""
        if self._journal is not None:
            for generation, noted in self._journal.read_new():
                self._known[generation] = noted
        changed: set[str] = set()
        if old >= 0 and 0 < new - old <= _KNOWN_KEEP:
            for generation in range(old + 1, new + 1):
                account = self._known.get(generation)
                if account is None:
                    changed = set()
                    break
                changed.add(account)
        if not changed:
            self._entries.clear()
            self._tagged.clear()
            self.full_clears += 1 if self._generation >= 0 else 0
        else:
            for tag in (*changed, GLOBAL):
                for key in self._tagged.pop(tag, ()):
                    self._entries.pop(key, None)
            self.partial_clears += 1
        if len(self._known) > 2 * _KNOWN_KEEP:
            self._known = {g: a for g, a in self._known.items() if g > new - _KNOWN_KEEP}

    def _cached(self, name: str, *args: Any) -> Any:
        generation = self._current_generation()
        key = (name, *args)
        with self._lock:
            if generation == self._generation and key in self._entries:
                self.hits += 1
                return _copy(self._entries[key])
        value = getattr(self._store, name)(*args)
        tag = read_tag(name, args, value)
        with self._lock:
            self.misses += 1
            if generation == self._generation:
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
                    self._tagged.clear()
                self._entries[key] = value
                self._tagged.setdefault(tag, set()).add(key)
        return _copy(value)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name in CACHED:
            return lambda *args: self._cached(name, *args)
        reads = ("get_", "find_", "list_")
        if callable(attr) and name not in _PLAIN and not name.startswith(reads):
            return self._mutation(name, attr)
        return attr

    def _mutation(self, name: str, fn: Callable[..., T]) -> Callable[..., T]:
        def run(*args: Any, **kwargs: Any) -> T:
            account = write_account(args, kwargs) if name in SCOPED else None
            try:
                if account is None:
                    return fn(*args, **kwargs)
                return self._scoped(account, fn, args, kwargs)
            finally:
                # Our own writes are visible at once, whatever max_staleness says.
                self._current_generation(force=True)

        return run

    def _scoped(
        self, account: str, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        lock = self._journal.exclusive() if self._journal is not None else self._write_lock
        with lock:
            before = self._store.generation()
            result = fn(*args, **kwargs)
            after = self._store.generation()
            if after == before + 1:  # our commit, and nobody else's, made ``after``
                with self._lock:
                    self._known[after] = account
                if self._journal is not None:
                    self._journal.append(after, account)
        return result

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
        self._store.close()


def _copy(value: Any) -> Any:
    # Records are frozen; only the outer lists could be changed by a caller.
    if isinstance(value, list):
        return [list(v) if isinstance(v, list) else v for v in value]
    return value
