"""The audit log rotates by size and by day, compresses what it rotated, keeps one file per
worker process, and ``audit tail`` reads across all of it in time order."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import threading
import time
from pathlib import Path

from click.testing import CliRunner

from opensts.audit import log as audit_log
from opensts.audit.log import AuditLog, read_events, tail_events
from opensts.cli.main import cli


def event(n: int, day: str = "2026-12-04", second: int = 0) -> dict[str, object]:
    return {"eventVersion": "1.08", "eventTime": f"{day}T00:00:{second:02d}Z",
            "eventSource": "sts.amazonaws.com", "eventName": f"Call{n}", "requestID": str(n),
            "padding": "x" * 200}


def wait_compressed(directory: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while any(p.name.split(".")[-2].isdigit() for p in directory.glob("*.[0-9]*.jsonl")):
        assert time.monotonic() < deadline, sorted(p.name for p in directory.iterdir())
        time.sleep(0.02)


def test_rotates_by_size_compresses_and_reads_back_in_order(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    log = AuditLog(directory, max_bytes=2000)
    for n in range(40):
        log.write_sync(event(n, second=n))
    log.close()
    names = sorted(p.name for p in directory.iterdir())
    segments = [n for n in names if n.endswith(".jsonl.gz")]
    assert len(segments) >= 3 and "2026-12-04.jsonl" in names
    assert not any(n.endswith(".tmp") for n in names)
    for name in segments:  # complete gzip files, each under the size limit uncompressed
        assert len(gzip.decompress((directory / name).read_bytes())) <= 2000
    assert oct((directory / segments[0]).stat().st_mode & 0o777) == "0o600"
    assert [e["requestID"] for e in read_events(directory)] == [str(n) for n in range(40)]
    assert [e["requestID"] for e in tail_events(directory, 5)] == ["35", "36", "37", "38", "39"]
    assert [e["requestID"] for e in tail_events(directory, 100)] == [str(n) for n in range(40)]


def test_rotates_when_the_day_changes(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    log = AuditLog(directory)
    log.write_sync(event(1, "2026-12-03"))
    log.write_sync(event(2, "2026-12-04"))
    log.close()
    wait_compressed(directory)
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["2026-12-03.0001.jsonl.gz", "2026-12-04.jsonl"]
    assert [e["requestID"] for e in read_events(directory)] == ["1", "2"]


def test_async_writes_of_one_loop_turn_share_one_fdatasync(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    syncs = []
    real = os.fdatasync
    monkeypatch.setattr(audit_log.os, "fdatasync", lambda fd: (syncs.append(fd), real(fd)))
    log = AuditLog(tmp_path / "audit")

    async def many() -> None:
        await asyncio.gather(*(log.write(event(n)) for n in range(50)))

    asyncio.run(many())
    log.close()
    assert len(list(read_events(tmp_path / "audit"))) == 50
    assert len(syncs) == 1  # one turn's events: one hand-off, one group commit


def test_an_event_is_on_disk_when_write_returns(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit")

    async def one() -> None:
        await log.write(event(7))
        assert [e["requestID"] for e in read_events(tmp_path / "audit")] == ["7"]

    asyncio.run(one())
    log.close()


def test_workers_write_their_own_files_and_tail_merges_them(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    one, two = AuditLog(directory, stream=".w101"), AuditLog(directory, stream=".w202")
    for n in range(10):
        (one if n % 2 else two).write_sync(event(n, second=n))
    one.close()
    two.close()
    assert sorted(p.name for p in directory.iterdir()) == [
        "2026-12-04.w101.jsonl", "2026-12-04.w202.jsonl"]
    assert [e["requestID"] for e in read_events(directory)] == [str(n) for n in range(10)]
    result = CliRunner().invoke(cli, ["audit", "tail", "--data-dir", str(tmp_path), "-n", "3",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["requestID"] for line in result.output.splitlines()] == [
        "7", "8", "9"]


def test_per_process_files_under_workers(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(audit_log.PER_PROCESS_ENV, "1")
    log = AuditLog(tmp_path / "audit")
    log.write_sync(event(1))
    log.close()
    assert [p.name for p in (tmp_path / "audit").iterdir()] == [
        f"2026-12-04.w{os.getpid()}.jsonl"]


def test_follow_reads_across_a_rotation(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    log = AuditLog(directory, max_bytes=1500)
    log.write_sync(event(0))
    stop = threading.Event()
    seen: list[str] = []

    def follow() -> None:
        for e in audit_log.follow_events(directory, interval=0.02, stop=stop):
            seen.append(str(e["requestID"]))

    reader = threading.Thread(target=follow)
    reader.start()
    time.sleep(0.2)
    for n in range(1, 20):
        log.write_sync(event(n, second=n))
        time.sleep(0.01)
    deadline = time.monotonic() + 10
    while len(seen) < 19 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    reader.join(5)
    log.close()
    assert seen == [str(n) for n in range(1, 20)]
