"""Run a handler on the event loop when it needs no I/O, and prove it needed none.

The hot path (SigV4 with a cached access key, AssumeRole, GetCallerIdentity) is CPU only
once the store's cache is warm, so the ``asyncio.to_thread`` hop costs more than it saves
(a thread switch and GIL hand-offs per request). Guessing which requests are cache hits
would make correctness depend on the guess; instead:

* :class:`IoGuard` wraps the *real* store, underneath :class:`~opensts.store.cache.CachingStore`.
  Every call that reaches it (a cache miss, a generation check, a pass-through read, any
  write) raises :class:`NeedsIO` *before* it runs while this thread is in an inline attempt.
* :func:`attempt` runs a function with that flag set on the current thread (the event
  loop's; worker threads never see it). :class:`NeedsIO` is a ``BaseException``, so no
  ``except Exception`` in a handler swallows it; the caller then throws the attempt away
  (its audit record and state included) and re-runs the call in a thread from scratch.

So an inline attempt either completes without touching the database, or is abandoned before
its first database statement: no store write can happen twice or half. What an attempt may
leave behind is only what a fresh run recomputes identically: warm in-memory caches (derived
signing keys, parsed policies, opened secrets). Code on the hot path must not change other
shared state before its store call (``services.authn._record_use`` writes first, then marks).
Outbound fetches (JWKS, metadata) are not guarded: operations that may make them are never
run inline (the allowlist is in ``web.aws``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from opensts.directory.store import Store
from opensts.store.cache import CachingStore

T = TypeVar("T")

_state = threading.local()


class NeedsIO(BaseException):
    """Raised inside an inline attempt at the first call that would reach the database."""


def inline_active() -> bool:
    return getattr(_state, "active", False)


def attempt(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` with the database fenced off; raises :class:`NeedsIO` if it was needed."""
    _state.active = True
    try:
        return fn(*args)
    finally:
        _state.active = False


class IoGuard:
    """A store proxy whose every method raises :class:`NeedsIO` during an inline attempt."""

    def __init__(self, store: Any):
        self._guarded = store

    @property
    def guarded(self) -> Any:
        return self._guarded

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._guarded, name)
        if not callable(attr):
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if getattr(_state, "active", False):
                raise NeedsIO(name)
            return attr(*args, **kwargs)

        # Bound methods of the store are stable: look each up once.
        self.__dict__[name] = guarded
        return guarded


class GuardedCachingStore(CachingStore):
    """The server's store: a :class:`CachingStore` over an :class:`IoGuard` of the real one."""

    def __init__(self, store: Store, **options: Any):
        super().__init__(cast(Store, IoGuard(store)), **options)
        self._real = store

    @property
    def uncached(self) -> Store:
        if inline_active():
            raise NeedsIO("uncached")
        return self._real
