"""Password hashing off the event loop, a few at a time.

An argon2 check costs about a third of a second of CPU by design. Run on the event loop it
stalls every other request (eight parallel wrong passwords held up GetCallerIdentity and
``/health`` for seconds), so checks run in a small pool of their own threads: the loop
stays free, and the AWS endpoint's thread pool is not filled with hashing either.

At most ``WORKERS`` hashes run at once (half the CPUs: the other half keeps serving); at
most ``WAITING`` more wait their turn. Beyond that a check is refused at once with
:class:`Busy` (503, Retry-After) instead of queueing without bound: a flood of sign-ins
then costs the attacker round trips, not the server memory and minutes of latency.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

WORKERS = max(1, (os.cpu_count() or 2) // 2)
WAITING = 16


class Busy(Exception):
    """Too many password checks are running or waiting; try again in ``retry_after`` s."""

    retry_after = 1


class PasswordChecks:
    def __init__(self) -> None:
        # Read when the service is built, so tests can shrink the bounds.
        self.workers = WORKERS
        self.limit = WORKERS + WAITING
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="opensts-password")
        # Admitted checks, released when the hash ends: a request whose client went away
        # keeps its slot until its hash really stops using the CPU.
        self._admitted = 0
        self._lock = threading.Lock()

    @property
    def admitted(self) -> int:
        """Checks running or waiting."""
        return self._admitted

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` in a hashing thread; :class:`Busy` when the queue is full."""
        with self._lock:
            if self._admitted >= self.limit:
                raise Busy
            self._admitted += 1
        future = self._pool.submit(work, *args)
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _: Future[T]) -> None:
        with self._lock:
            self._admitted -= 1
