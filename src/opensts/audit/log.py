"""A durable, append-only JSON-lines log with group commit.

Each event is one line in ``audit/YYYY-MM-DD.jsonl`` under the data dir. A response is not
sent before its event is on disk:

* ``write`` (the event loop) encodes the event with orjson and adds it to the batch of the
  current loop turn; the first event of a turn schedules one hand-off, so a turn's events
  wake the writer thread once, not once each;
* the writer thread takes every batch queued since its last flush, appends them with one
  ``write`` and one ``fdatasync`` (group commit), and only then resolves the callers'
  futures, with one ``call_soon_threadsafe`` per loop and flush instead of one per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


def encode(event: dict[str, Any]) -> bytes:
    """One JSON line; the same text ``json.dumps(default=str)`` gives, produced by orjson."""
    try:
        return orjson.dumps(event, default=str, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):  # e.g. an int beyond 64 bits
        return json.dumps(event, separators=(",", ":"), default=str).encode() + b"\n"


_Waiter = tuple[bytes, str, "Future[None] | asyncio.Future[None]"]
_Item = tuple[asyncio.AbstractEventLoop | None, list[_Waiter]]


def _day(event: dict[str, Any]) -> str:
    return str(event.get("eventTime", ""))[:10] or datetime.now(UTC).strftime("%Y-%m-%d")


def _resolve(futures: list[asyncio.Future[None]], error: OSError | None) -> None:
    for done in futures:
        if not done.done():
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)


class AuditLog:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._batches: dict[asyncio.AbstractEventLoop, list[_Waiter]] = {}
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def submit(self, event: dict[str, Any]) -> Future[None]:
        """Queue ``event`` from any thread; the future resolves once it is on disk."""
        done: Future[None] = Future()
        self._queue.put((None, [(encode(event), _day(event), done)]))
        return done

    async def write(self, event: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        batch = self._batches.get(loop)
        if batch is None:
            batch = self._batches[loop] = []
            loop.call_soon(self._hand_off, loop)
        batch.append((encode(event), _day(event), done))
        await done

    def _hand_off(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._batches.pop(loop, None)
        if batch:
            self._queue.put((loop, batch))

    def write_sync(self, event: dict[str, Any]) -> None:
        self.submit(event).result()

    def close(self) -> None:
        for loop in list(self._batches):
            self._hand_off(loop)
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        handles: dict[str, int] = {}
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                self._flush(batch, handles)
                if stop:
                    return
        finally:
            for fd in handles.values():
                os.close(fd)

    def _flush(self, batch: list[_Item], handles: dict[str, int]) -> None:
        error: OSError | None = None
        try:
            by_day: dict[str, list[bytes]] = {}
            for _, waiters in batch:
                for line, day, _ in waiters:
                    by_day.setdefault(day, []).append(line)
            for day, lines in by_day.items():
                fd = handles.get(day)
                if fd is None:
                    for old in handles.values():
                        os.close(old)
                    handles.clear()
                    path = self.directory / f"{day}.jsonl"
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                    handles[day] = fd
                os.write(fd, b"".join(lines))
                # fdatasync persists the data and the new file size (all an append log
                # needs to be read back), without flushing unrelated inode metadata.
                os.fdatasync(fd)
        except OSError as exc:
            error = exc
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for loop, waiters in batch:
            if loop is None:
                for _, _, done in waiters:
                    if error is None:
                        done.set_result(None)  # type: ignore[arg-type]
                    else:
                        done.set_exception(error)
            else:
                by_loop.setdefault(loop, []).extend(w[2] for w in waiters)  # type: ignore[misc]
        for loop, futures in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, futures, error)


def read_events(directory: Path) -> Iterator[dict[str, Any]]:
    """All events in time order of their files (for ``opensts audit tail`` and tests)."""
    for path in sorted(directory.glob("*.jsonl")):
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)
