"""A durable, append-only JSON-lines log with group commit, rotation and compression.

Each event is one line in ``audit/YYYY-MM-DD.jsonl`` under the data dir (``YYYY-MM-DD.w<pid>
.jsonl`` per process under ``opensts serve --workers N``, so workers never share a file or a
lock). A response is not sent before its event is on disk:

* ``write`` (the event loop) encodes the event with orjson and adds it to the batch of the
  current loop turn; the first event of a turn schedules one hand-off, so a turn's events
  wake the writer thread once, not once each;
* the writer thread takes every batch queued since its last flush, appends them with one
  ``write``, one ``fdatasync`` (group commit), and only then resolves the callers' futures,
  with one ``call_soon_threadsafe`` per loop and flush instead of one per event.

Rotation: when the live file of a day would pass ``max_bytes``, and when the writer moves to a
new day, the live file is renamed ``YYYY-MM-DD[.w<pid>].NNNN.jsonl`` and compressed to
``.jsonl.gz`` (gzip, stdlib) by a background thread; the live file is then started afresh, so
the cost of an append never depends on how much log there is. Readers (``opensts audit
tail``) order one process's segments by day, then number, with the live file last, and merge
the processes' streams by ``eventTime``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gzip
import heapq
import json
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
PER_PROCESS_ENV = "OPENSTS_AUDIT_PER_PROCESS"  # set by ``opensts serve --workers N``
MAX_BYTES_ENV = "OPENSTS_AUDIT_MAX_BYTES"
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.w\d+)?(?:\.(\d{4,}))?\.jsonl(\.gz)?$")


def encode(event: dict[str, Any]) -> bytes:
    """One JSON line; the same text ``json.dumps(default=str)`` gives, produced by orjson."""
    try:
        return orjson.dumps(event, default=str, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):  # e.g. an int beyond 64 bits
        return json.dumps(event, separators=(",", ":"), default=str).encode() + b"\n"


_Waiter = tuple[bytes, str, "Future[None] | asyncio.Future[None]"]
_Item = tuple[asyncio.AbstractEventLoop | None, list[_Waiter]]


class AuditLog:
    def __init__(
        self,
        directory: Path,
        *,
        stream: str | None = None,
        max_bytes: int | None = None,
        compress: bool = True,
    ):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if stream is None:
            stream = f".w{os.getpid()}" if os.environ.get(PER_PROCESS_ENV) else ""
        self.stream = stream  # "" or ".w<pid>": this process's part of the file names
        env_max = os.environ.get(MAX_BYTES_ENV)
        self.max_bytes = max_bytes or (int(env_max) if env_max else DEFAULT_MAX_BYTES)
        self.compress = compress
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._batches: dict[asyncio.AbstractEventLoop, list[_Waiter]] = {}
        self._compressor = _Compressor() if compress else None
        if self._compressor is not None:  # segments left uncompressed by a stop mid-way
            for path in sorted(directory.glob(f"*{stream}.[0-9]*.jsonl")):
                if _parse(path.name) and _parse(path.name)[1] == stream:  # type: ignore[index]
                    self._compressor.add(path)
        # Called by the writer thread after each group commit with the number of events it
        # took (those that were waiting: the queue's depth) and the seconds the write and
        # fdatasync took (web.metrics); off the request path, once per flush.
        self.on_flush: Callable[[int, float], None] | None = None
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
        if self._compressor is not None:
            self._compressor.close()

    # The writer thread.

    def _run(self) -> None:
        state = _Live(self)
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                items = [first]
                stop = False
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    items.append(item)
                self._flush(items, state)
                if stop:
                    return
        finally:
            state.close()

    def _flush(self, items: list[_Item], state: _Live) -> None:
        error: OSError | None = None
        count = 0
        started = time.perf_counter()
        try:
            by_day: dict[str, list[bytes]] = {}
            for _, waiters in items:
                count += len(waiters)
                for line, day, _ in waiters:
                    by_day.setdefault(day, []).append(line)
            for day, lines in by_day.items():
                state.append(day, b"".join(lines))
        except OSError as exc:
            error = exc
        elapsed = time.perf_counter() - started
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for loop, waiters in items:
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
        if self.on_flush is not None:  # after the waiters are released
            with contextlib.suppress(Exception):  # metrics never fail the log
                self.on_flush(count, elapsed)


def _resolve(futures: list[asyncio.Future[None]], error: OSError | None) -> None:
    for done in futures:
        if not done.done():
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)


def _day(event: dict[str, Any]) -> str:
    return str(event.get("eventTime", ""))[:10] or datetime.now(UTC).strftime("%Y-%m-%d")


class _Live:
    """The writer thread's open file: one day at a time, rotated by size and by day."""

    def __init__(self, log: AuditLog):
        self.log = log
        self.day: str | None = None
        self.fd: int | None = None
        self.size = 0

    def path(self, day: str) -> Path:
        return self.log.directory / f"{day}{self.log.stream}.jsonl"

    def append(self, day: str, data: bytes) -> None:
        if day != self.day:
            previous = self.day
            self.close()
            if previous is not None and previous < day:
                self.rotate(previous)  # the day is over: its live file becomes a segment
            self.open(day)
        elif self.size and self.size + len(data) > self.log.max_bytes:
            self.close()
            self.rotate(day)
            self.open(day)
        assert self.fd is not None
        os.write(self.fd, data)
        # fdatasync persists the data and the new file size (all an append log needs to be
        # read back), without flushing unrelated inode metadata.
        os.fdatasync(self.fd)
        self.size += len(data)

    def open(self, day: str) -> None:
        self.fd = os.open(self.path(day), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self.fd).st_size
        self.day = day

    def rotate(self, day: str) -> None:
        live = self.path(day)
        if not live.exists() or live.stat().st_size == 0:
            return
        numbers = [
            int(parsed[2])
            for p in self.log.directory.glob(f"{day}{self.log.stream}.[0-9]*.jsonl*")
            if (parsed := _parse(p.name)) and parsed[1] == self.log.stream and parsed[2]
        ]
        target = live.with_name(f"{day}{self.log.stream}.{max(numbers, default=0) + 1:04d}.jsonl")
        os.rename(live, target)
        _fsync_dir(self.log.directory)
        if self.log._compressor is not None:
            self.log._compressor.add(target)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.day = None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Compressor:
    """gzips rotated segments one at a time off the writer thread (never loses a line: the
    ``.gz`` is complete and on disk before the ``.jsonl`` is removed). Level 1: audit JSON
    still shrinks several times, at a fraction of level 6's CPU per event."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="audit-gzip", daemon=True)
        self._thread.start()

    def add(self, path: Path) -> None:
        self._queue.put(path)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while (path := self._queue.get()) is not None:
            # On failure the segment stays .jsonl: still read, compressed at the next start.
            with contextlib.suppress(OSError):
                compress_segment(path)


def compress_segment(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    partial = path.with_name(path.name + ".gz.tmp")
    with path.open("rb") as source:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
            raw.flush()
            os.fsync(raw.fileno())
    os.rename(partial, target)
    _fsync_dir(path.parent)
    path.unlink()
    return target


# Reading (``opensts audit tail``, tests).


class _Segment(NamedTuple):
    day: str
    number: float  # the live file (no number) comes after the day's numbered segments
    path: Path


def _parse(name: str) -> tuple[str, str, str | None, bool] | None:
    match = _NAME.match(name)
    if match is None:
        return None
    return match.group(1), match.group(2) or "", match.group(3), bool(match.group(4))


def streams(directory: Path) -> dict[str, list[Path]]:
    """Each process's files (``""`` for the single-process server), oldest first."""
    found: dict[str, dict[tuple[str, float], Path]] = {}
    for path in directory.iterdir() if directory.is_dir() else ():
        parsed = _parse(path.name)
        if parsed is None:
            continue
        day, stream, number, gz = parsed
        key = (day, float(number) if number else float("inf"))
        segments = found.setdefault(stream, {})
        if key in segments and not gz:
            continue  # both .jsonl and .jsonl.gz: the gzip is complete, read it
        segments[key] = path
    return {s: [segments[k] for k in sorted(segments)] for s, segments in found.items()}


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:  # type: ignore[operator]
        for line in handle:
            if line.strip():
                yield line


def _events(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        try:
            for line in _lines(path):
                yield json.loads(line)
        except FileNotFoundError:  # compressed and removed meanwhile: read its .gz
            gz = path.with_name(path.name + ".gz")
            if gz.exists():
                yield from (json.loads(line) for line in _lines(gz))


def _by_time(event: dict[str, Any]) -> str:
    return str(event.get("eventTime", ""))


def read_events(directory: Path) -> Iterator[dict[str, Any]]:
    """All events: each process's files in order, the processes merged by ``eventTime``."""
    return heapq.merge(*(_events(paths) for paths in streams(directory).values()), key=_by_time)


def tail_events(directory: Path, count: int) -> list[dict[str, Any]]:
    """The latest ``count`` events, reading only as many of the newest files as it takes."""
    merged: list[list[dict[str, Any]]] = []
    for paths in streams(directory).values():
        kept: collections.deque[bytes] = collections.deque(maxlen=count)
        for path in reversed(paths):
            if len(kept) >= count:
                break
            try:
                lines = collections.deque(_lines(path), maxlen=count)
            except FileNotFoundError:
                gz = path.with_name(path.name + ".gz")
                lines = collections.deque(_lines(gz) if gz.exists() else (), maxlen=count)
            kept.extendleft(reversed(lines))
        merged.append([json.loads(line) for line in list(kept)[-count:]] if count else [])
    events = list(heapq.merge(*merged, key=_by_time))
    return events[-count:] if count > 0 else []


def follow_events(
    directory: Path, *, interval: float = 0.5, stop: threading.Event | None = None
) -> Iterator[dict[str, Any]]:
    """Events written from now on (``audit tail --follow``), across rotations and processes.

    Polls every live file and reads what was appended; a live file renamed by rotation is
    finished through its open handle before the new one is read.
    """
    handles: dict[str, tuple[Path, Any, int]] = {}  # stream -> (live path, file, inode)

    def live_files() -> dict[str, Path]:
        latest: dict[str, Path] = {}
        for stream, paths in streams(directory).items():
            if paths and _parse(paths[-1].name) and not _parse(paths[-1].name)[2]:  # type: ignore[index]
                latest[stream] = paths[-1]
        return latest

    for stream, path in live_files().items():  # start at the current end
        handle = path.open("rb")
        handle.seek(0, os.SEEK_END)
        handles[stream] = (path, handle, os.fstat(handle.fileno()).st_ino)
    try:
        while stop is None or not stop.is_set():
            fresh: list[dict[str, Any]] = []
            for stream, path in live_files().items():
                current = handles.get(stream)
                if current is not None and (current[0] != path or _inode(path) != current[2]):
                    fresh.extend(json.loads(x) for x in current[1].read().splitlines() if x)
                    current[1].close()
                    current = None
                if current is None:
                    handle = path.open("rb")
                    current = handles[stream] = (path, handle, os.fstat(handle.fileno()).st_ino)
                data = current[1].read()
                if data and not data.endswith(b"\n"):  # a line being written: next time
                    cut = data.rfind(b"\n") + 1
                    current[1].seek(cut - len(data), os.SEEK_CUR)
                    data = data[:cut]
                fresh.extend(json.loads(x) for x in data.splitlines() if x.strip())
            yield from sorted(fresh, key=_by_time)
            if stop is not None:
                stop.wait(interval)
            else:
                threading.Event().wait(interval)
    finally:
        for _, handle, _ in handles.values():
            handle.close()


def _inode(path: Path) -> int:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return -1
