"""A durable, append-only JSON-lines log with group commit.

Each event is one line in ``audit/YYYY-MM-DD.jsonl`` under the data dir. A writer thread
takes every event queued since its last flush, writes them, fsyncs once and only then
resolves the callers' futures: a response is not sent before its event is on disk, and
concurrent requests share one fsync instead of paying one each.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class AuditLog:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._queue: queue.SimpleQueue[tuple[bytes, str, Future[None]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def submit(self, event: dict[str, Any]) -> Future[None]:
        line = json.dumps(event, separators=(",", ":"), default=str).encode() + b"\n"
        day = event.get("eventTime", "")[:10] or datetime.now(UTC).strftime("%Y-%m-%d")
        done: Future[None] = Future()
        self._queue.put((line, day, done))
        return done

    async def write(self, event: dict[str, Any]) -> None:
        await asyncio.wrap_future(self.submit(event))

    def write_sync(self, event: dict[str, Any]) -> None:
        self.submit(event).result()

    def close(self) -> None:
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

    def _flush(self, batch: list[tuple[bytes, str, Future[None]]], handles: dict[str, int]) -> None:
        try:
            by_day: dict[str, list[bytes]] = {}
            for line, day, _ in batch:
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
            for _, _, done in batch:
                done.set_exception(exc)
            return
        for _, _, done in batch:
            done.set_result(None)


def read_events(directory: Path) -> Iterator[dict[str, Any]]:
    """All events in time order of their files (for ``opensts audit tail`` and tests)."""
    for path in sorted(directory.glob("*.jsonl")):
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)
