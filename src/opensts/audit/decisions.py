"""Denied decisions, kept so that a denial can be explained after the fact from its request id
(``opensts policy explain --request-id ID``), the way CloudTrail keeps the ``errorMessage`` of
an AccessDenied and IAM's DecodeAuthorizationMessage keeps the decision behind it.

Layout: JSON lines in ``<data dir>/decisions/denials.jsonl``, rotated to ``denials.1.jsonl`` …
``denials.<keep>.jsonl`` when it would pass ``max_bytes``: at most ``(keep + 1) × max_bytes``
on disk, oldest dropped first. Each line holds the request id, time, principal ARN, action,
resource, the decision's ``to_dict()`` (deciding statements and the per-statement trace) and
its ``explain()`` text. No secrets reach it: decisions carry policy statements and request
context values, never keys, tokens or signatures.

The hot path pays for a queue put only. A writer thread renders the explanation, appends,
and fdatasyncs once per batch, off the event loop. It fails safe: a full queue or a failed
write drops the record (counted in ``dropped``), and never delays or changes a decision.
Several server processes may share a data dir; an advisory lock serialises their appends and
rotations.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from opensts.policy import Decision

log = logging.getLogger(__name__)

CURRENT = "denials.jsonl"
MAX_BYTES = 16 * 1024 * 1024
KEEP = 4
QUEUE_SIZE = 10_000
# One record at most this big: beyond it the per-statement trace is dropped (the deciding
# statements and the rendered explanation stay), then the explanation is cut.
MAX_RECORD = 256 * 1024


class NeedLike(Protocol):
    @property
    def action(self) -> str: ...
    @property
    def resource(self) -> str: ...


@dataclass(frozen=True)
class _Pending:
    request_id: str
    principal: str
    action: str
    resource: str
    time: datetime
    decision: Decision


def decisions_dir(data_dir: Path) -> Path:
    return data_dir / "decisions"


class DecisionLog:
    """A bounded, durable store of denied decisions. Create one per process."""

    def __init__(self, directory: Path, *, max_bytes: int = MAX_BYTES, keep: int = KEEP,
                 queue_size: int = QUEUE_SIZE):
        self.directory = directory
        self.max_bytes = max_bytes
        self.keep = keep
        self.dropped = 0
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._queue: queue.Queue[_Pending | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        self._thread.start()

    @classmethod
    def for_data_dir(cls, data_dir: Path, **kwargs: int) -> DecisionLog:
        """The log ``opensts policy explain --request-id`` reads for this data dir."""
        return cls(decisions_dir(data_dir), **kwargs)

    # -- the hot path -------------------------------------------------------------------

    def record_denial(self, request_id: str, caller_arn: str | None, need: NeedLike,
                      decision: Decision, *, now: datetime | None = None) -> None:
        """Queue a denied decision; returns at once (safe to call on the event loop)."""
        item = _Pending(request_id, caller_arn or "anonymous", need.action, need.resource,
                        now or datetime.now(UTC), decision)
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is written (tests, shutdown)."""
        q = self._queue
        with q.all_tasks_done:
            q.all_tasks_done.wait_for(lambda: not q.unfinished_tasks, timeout)

    def close(self) -> None:
        self.flush()
        try:
            self._queue.put(None, timeout=10)
        except queue.Full:
            return  # the writer is stuck; it is a daemon thread
        self._thread.join(timeout=10)

    # -- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first]
            while len(batch) < 512:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            try:
                lines = [_line(item) for item in batch if item is not None]
                if lines:
                    self._append(b"".join(lines))
            except Exception:  # a lost record must never stop the writer
                log.exception("decision log: could not write %d denials", len(batch))
                self.dropped += sum(1 for item in batch if item is not None)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if stop:
                return

    def _append(self, data: bytes) -> None:
        lock = os.open(self.directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self.directory / CURRENT
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size and size + len(data) > self.max_bytes:
                self._rotate()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, data)
                os.fdatasync(fd)
            finally:
                os.close(fd)
        finally:
            os.close(lock)  # releases the lock

    def _rotate(self) -> None:
        d = self.directory
        (d / f"denials.{self.keep}.jsonl").unlink(missing_ok=True)
        for i in range(self.keep - 1, 0, -1):
            older = d / f"denials.{i}.jsonl"
            if older.exists():
                older.rename(d / f"denials.{i + 1}.jsonl")
        if self.keep:
            (d / CURRENT).rename(d / "denials.1.jsonl")
        else:
            (d / CURRENT).unlink(missing_ok=True)


def _line(item: _Pending) -> bytes:
    decision = item.decision
    record: dict[str, Any] = {
        "requestId": item.request_id,
        "eventTime": item.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "principal": item.principal,
        "action": item.action,
        "resource": item.resource,
        "decision": decision.to_dict(),
        "explanation": decision.explain() if decision._request is not None
        else f"Decision: {decision.decision} — {decision.reason}",
    }
    line = json.dumps(record, separators=(",", ":"), default=str).encode()
    if len(line) > MAX_RECORD:
        record["decision"]["policies"] = None
        record["truncated"] = True
        line = json.dumps(record, separators=(",", ":"), default=str).encode()
    if len(line) > MAX_RECORD:
        record["explanation"] = record["explanation"][: MAX_RECORD // 2] + "\n[truncated]"
        line = json.dumps(record, separators=(",", ":"), default=str).encode()
    return line + b"\n"


def _files(directory: Path) -> Iterator[Path]:
    """Newest first."""
    current = directory / CURRENT
    if current.exists():
        yield current
    rotated = []
    for path in directory.glob("denials.*.jsonl"):
        middle = path.name[len("denials."):-len(".jsonl")]
        if middle.isdigit():
            rotated.append((int(middle), path))
    yield from (path for _, path in sorted(rotated))


def find_denials(directory: Path, request_id: str) -> list[dict[str, Any]]:
    """Every recorded denial of one request (one request may need several authorizations:
    CopyObject's source and destination, DeleteObjects' keys), oldest first."""
    needle = json.dumps(request_id).encode()
    found: list[dict[str, Any]] = []
    for path in _files(directory):
        matches: list[dict[str, Any]] = []
        try:
            with path.open("rb") as handle:
                for raw in handle:
                    if needle not in raw:  # cheap filter before parsing
                        continue
                    try:
                        record = json.loads(raw)
                    except ValueError:
                        continue  # a torn last line after a crash
                    if record.get("requestId") == request_id:
                        matches.append(record)
        except FileNotFoundError:
            continue  # rotated away while reading
        found = matches + found
    return found
