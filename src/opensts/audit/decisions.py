"""Denied decisions, kept so that a denial can be explained after the fact from its request id
(``opensts audit explain ID``, also ``opensts policy explain --request-id ID``), the way
CloudTrail keeps the ``errorMessage`` of an AccessDenied and IAM's DecodeAuthorizationMessage
keeps the decision behind it.

Two kinds of record: a policy decision (``record_denial``: identity denials, and trust-policy
denials of AssumeRole / AssumeRoleWithSAML / AssumeRoleWithWebIdentity with the trust policy
that was evaluated), and a refusal no policy decided (``record_refusal``: an assertion or
token that did not verify, a role that does not exist, a failed MFA code), kept with its
reason. Either may carry ``details``: which side refused (``refusedBy``: identity, boundary,
session, scp, rcp, trust, resource, federation, sts), the accounts involved, the operation.
The records are for the operator, who owns every account of the server: they are never
filtered by account (the encoded messages principals get are; see services.authz).

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
from collections.abc import Iterator, Mapping
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
    decision: Decision | None
    reason: str = ""
    details: Mapping[str, Any] | None = None


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
                      decision: Decision, *, now: datetime | None = None,
                      details: Mapping[str, Any] | None = None) -> None:
        """Queue a denied decision; returns at once (safe to call on the event loop).
        ``details`` are JSON-able facts the decision does not hold (see the module doc)."""
        self._put(_Pending(request_id, caller_arn or "anonymous", need.action, need.resource,
                           now or datetime.now(UTC), decision, decision.reason, details))

    def record_refusal(self, request_id: str, principal: str | None, action: str,
                       resource: str, reason: str, *, now: datetime | None = None,
                       details: Mapping[str, Any] | None = None) -> None:
        """Queue a denial that no policy decided (an assertion that did not verify, a role
        that does not exist), with the reason the caller was not told."""
        self._put(_Pending(request_id, principal or "anonymous", action, resource,
                           now or datetime.now(UTC), None, reason, details))

    def _put(self, item: _Pending) -> None:
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
    }
    if item.details:
        record.update(item.details)
    if decision is None:
        record["decision"] = {"decision": "denied", "allowed": False, "reason": item.reason}
        record["explanation"] = f"Decision: denied — {item.reason}"
    else:
        record["decision"] = decision.to_dict()
        record["explanation"] = (decision.explain() if decision._request is not None
                                 else f"Decision: {decision.decision} — {decision.reason}")
        if record["decision"].get("policies") and record.get("refusedBy"):
            # Records that say which side refused (STS/IAM) get a line per reason too.
            record["reasons"] = reasons(record["decision"], record["refusedBy"], item.action)
    line = json.dumps(record, separators=(",", ":"), default=str).encode()
    if len(line) > MAX_RECORD:
        if decision is not None:
            record["decision"]["policies"] = None
        record.pop("trustPolicy", None)
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


# The policy types on each side of a request: the caller's account decides the first, the
# resource's account (the role's, for a trust policy) the second.
CALLER_SIDE = frozenset({"identity", "boundary", "session", "scp"})
RESOURCE_SIDE = frozenset({"resource", "rcp"})


def reasons(decision: Mapping[str, Any], refused_by: str | None = None,
            action: str = "the action") -> list[str]:
    """Why, in a line each: the deciding Deny statements of an explicit deny, else the
    statements that named the action but did not apply (a failing condition, a principal
    not named, a resource not covered) in the policies of the side that refused
    (``refused_by``; every policy when None), else that none of them names the action."""
    lines: list[str] = []
    if decision.get("decision") == "explicitDeny":
        for m in decision.get("matchedStatements") or ():
            if m.get("effect") == "Deny":
                sid = f" (Sid {m['sid']})" if m.get("sid") else ""
                lines.append(f"{_noun(m['sourcePolicyType'], refused_by)} "
                             f"{m['sourcePolicyId']} Statement[{m['statementIndex']}]{sid} "
                             "explicitly denies")
        return lines
    side = _side_types(refused_by)
    for group in decision.get("policies") or ():
        if side is not None and group.get("type") not in side:
            continue
        for st in group.get("statements") or ():
            if st.get("effect") != "Allow" or st.get("matched") or not st["action"]["matched"]:
                continue
            why = _why_not(st)
            sid = f" (Sid {st['sid']})" if st.get("sid") else ""
            lines.append(f"{_noun(group['type'], refused_by)} {group['source']} "
                         f"Statement[{st['statement']}]{sid} does not apply: {why}")
    if not lines and side is not None:
        names = [f"{_noun(g['type'], refused_by)} {g['source']}"
                 for g in decision.get("policies") or () if g.get("type") in side]
        lines.append(f"no Allow statement for {action} in "
                     + (", ".join(names) if names else f"any {refused_by} policy"))
    return lines


def _side_types(refused_by: str | None) -> frozenset[str] | None:
    if refused_by in ("trust", "resource", "rcp"):
        return RESOURCE_SIDE if refused_by != "rcp" else frozenset({"rcp"})
    if refused_by in CALLER_SIDE:
        return frozenset({refused_by})
    return None


def _noun(policy_type: str, refused_by: str | None) -> str:
    if policy_type == "resource" and refused_by == "trust":
        return "trust policy of"
    return {"identity": "identity policy", "boundary": "permissions boundary",
            "session": "session policy", "scp": "SCP", "rcp": "RCP",
            "resource": "resource policy of"}.get(policy_type, policy_type)


def _why_not(st: Mapping[str, Any]) -> str:
    res = st.get("resource")
    if res is not None and not res["matched"]:
        return f"{res['element']} does not cover the resource"
    pr = st.get("principal")
    if pr is not None and not pr["matched"]:
        return f"{pr['element']} does not name the caller"
    failed = []
    for c in st.get("conditions") or ():
        if not c["matched"]:
            got = "missing" if c["requestValue"] is None else repr(c["requestValue"])
            failed.append(f"condition {c['operator']} {c['key']} failed (request value {got}, "
                          f"policy values {c['policyValues']})")
    return "; ".join(failed) or "it did not match"
