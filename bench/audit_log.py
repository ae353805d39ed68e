"""The audit log alone: CPU per event of build + encode + group-committed durable write.

Each variant runs in its own process, importing ``opensts`` from the source tree it names
(``--base-src`` for a baseline, this checkout otherwise), with an asyncio loop on which
``--concurrency`` tasks each build an AssumeRole-shaped CloudTrail event
(``audit.events.build_event``) and ``await audit.write(event)`` in a loop, as the server's
requests do. It prints wall time and CPU (``time.process_time``: every thread of the process,
so the writer thread and fdatasync's syscall time are in) per event, and fdatasyncs per
event. Variants run interleaved, ``--rounds`` times; the median is reported.

``--existing-mb N`` first fills the audit directory with N MB of older events: the live file
of today (just under the rotation size when the log rotates) and the rest as past segments,
so "audit cost flat as the log grows" can be read off two runs (``--existing-mb 0`` and
``--existing-mb 1024``) or off ``--grow`` (both, same run).

    PYTHONPATH=src .venv/bin/python bench/audit_log.py [--events 20000] [--base-src DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def child(directory: Path, events: int, concurrency: int) -> dict[str, float]:
    import asyncio
    from datetime import UTC, datetime

    from opensts.audit import log as audit_log
    from opensts.audit.events import build_event
    from opensts.services.context import AuditRecord, Caller, RequestMeta

    syncs = 0
    real = os.fdatasync

    def counting(fd: int) -> None:
        nonlocal syncs
        syncs += 1
        real(fd)

    os.fdatasync = counting  # type: ignore[assignment]
    caller = Caller("IAMUser", "123456789012", "arn:aws:iam::123456789012:user/bench-user",
                    "AIDAEXAMPLEBENCHUSER1", "AKIAEXAMPLEBENCHKEY01", "bench-user")
    log = audit_log.AuditLog(directory)

    async def one(i: int) -> None:
        meta = RequestMeta(f"req-{i}", datetime.now(UTC), "127.0.0.1", "Boto3/1.44.5 md/x",
                           "us-east-1", "127.0.0.1:8777")
        record = AuditRecord(
            request_parameters={"roleArn": "arn:aws:iam::123456789012:role/bench-role",
                                "roleSessionName": f"bench-{i}",
                                "policy": '{"Version":"2012-10-17","Statement":[{"Effect":'
                                          '"Allow","Action":"s3:GetObject","Resource":'
                                          '"arn:aws:s3:::bench-bucket/in/*"}]}'},
            response_elements={"credentials": {"accessKeyId": "ASIAEXAMPLEKEY000001",
                                               "sessionToken": "x" * 40,
                                               "expiration": "Dec 4, 2026, 3:00:00 AM"},
                               "assumedRoleUser": {"assumedRoleId": f"AROAEXAMPLE:bench-{i}",
                                                   "arn": "arn:aws:sts::123456789012:"
                                                          f"assumed-role/bench-role/bench-{i}"},
                               "packedPolicySize": 6},
            resources=[{"accountId": "123456789012", "type": "AWS::IAM::Role",
                        "ARN": "arn:aws:iam::123456789012:role/bench-role"}],
        )
        event = build_event(service="sts", action="AssumeRole", meta=meta, caller=caller,
                            record=record, read_only=True, recipient_account="123456789012")
        await log.write(event)

    async def worker(start: int, count: int) -> None:
        for i in range(start, start + count):
            await one(i)

    async def run() -> None:
        share = events // concurrency
        await asyncio.gather(*(worker(k * share, share) for k in range(concurrency)))

    asyncio.run(run())  # warm-up: imports, first file open
    syncs = 0
    wall, cpu = time.perf_counter(), time.process_time()
    asyncio.run(run())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = (events // concurrency) * concurrency
    log.close()
    return {"wall_us": wall / done * 1e6, "cpu_us": cpu / done * 1e6, "syncs": syncs / done}


def fill(directory: Path, megabytes: int, rotate_at: int) -> None:
    """``megabytes`` of past events: today's live file up to 64 MB under ``rotate_at`` (so
    the run itself does not rotate), the rest as an older day's compressed segments (gzip
    members of one compressed chunk, concatenated: what the log writes, made quickly)."""
    directory.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"eventVersion": "1.08", "eventTime": "2026-12-03T00:00:00Z",
                       "eventName": "AssumeRole", "padding": "p" * 1400}).encode() + b"\n"
    chunk = line * max(1, (1 << 20) // len(line))
    total = megabytes << 20
    today = time.strftime("%Y-%m-%d", time.gmtime())
    live = min(total, rotate_at - (64 << 20)) if rotate_at else total
    with open(directory / f"{today}.jsonl", "wb") as out:
        written = 0
        while written < live:
            out.write(chunk)
            written += len(chunk)
    rest, number = total - live, 1
    while rest > 0:
        size = min(rest, rotate_at or rest)
        packed = gzip.compress(chunk, compresslevel=1)
        with open(directory / f"2026-12-03.{number:04d}.jsonl.gz", "wb") as out:
            written = 0
            while written < size:
                out.write(packed)
                written += len(chunk)
        rest -= size
        number += 1


def split(args: argparse.Namespace) -> int:
    """CPU per event with the writers in 1 process, and spread over ``--processes`` N."""
    work = Path(tempfile.mkdtemp(prefix="opensts-audit-bench-"))
    results: dict[int, list[tuple[float, float, float]]] = {}
    try:
        for round_no in range(args.rounds):
            for n in (1, args.processes):
                directory = work / f"{n}-{round_no}" / "audit"
                env = {**os.environ, "OPENSTS_AUDIT_PER_PROCESS": "1",
                       "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
                # Each process as loaded as the lone one (N cores, N times the load).
                each, writers = args.events, args.concurrency
                children = [subprocess.Popen(
                    [sys.executable, __file__, "--child", str(directory), "--events", str(each),
                     "--concurrency", str(writers)], env=env, stdout=subprocess.PIPE, text=True)
                    for _ in range(n)]
                outs = [json.loads(c.communicate()[0].splitlines()[-1]) for c in children]
                cpu = statistics.mean(o["cpu_us"] for o in outs)  # each child: its own events
                syncs = statistics.mean(o["syncs"] for o in outs)
                files = len(list(directory.iterdir()))
                results.setdefault(n, []).append((cpu, syncs, files))
        print(f"{args.events} events and {args.concurrency} writers per process, one directory, "
              f"median of {args.rounds}")
        print(f"{'processes':>9} {'CPU us/event':>13} {'fdatasync/event':>16} {'files':>6}"
              "   CPU per round")
        for n, runs in results.items():
            print(f"{n:>9} {statistics.median(r[0] for r in runs):>13.1f} "
                  f"{statistics.median(r[1] for r in runs):>16.3f} {runs[0][2]:>6}   "
                  + " ".join(f"{r[0]:.1f}" for r in runs))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base-src", type=Path, help="a baseline source tree (with src/)")
    parser.add_argument("--existing-mb", type=int, default=0)
    parser.add_argument("--grow", action="store_true",
                        help="compare --existing-mb 0 with --existing-mb (this tree only)")
    parser.add_argument("--rotate-mb", type=int, default=256,
                        help="OPENSTS_AUDIT_MAX_BYTES for the children, in MB")
    parser.add_argument("--processes", type=int, default=0,
                        help="also run the same events and writers split over N processes "
                        "writing one directory (one file each, as --workers N does)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.events, args.concurrency)))
        return 0
    if args.processes:
        return split(args)
    variants: list[tuple[str, Path, int]] = []
    if args.base_src:
        variants.append(("base", args.base_src, args.existing_mb))
    if args.grow:
        variants.append(("0 MB", REPO, 0))
    variants.append((f"{args.existing_mb} MB" if args.grow else "this", REPO, args.existing_mb))
    work = Path(tempfile.mkdtemp(prefix="opensts-audit-bench-"))
    results: dict[str, list[dict[str, float]]] = {}
    try:
        for label, _tree, existing in variants:  # prefilled once, reused every round
            directory = work / label.replace(" ", "") / "audit"
            if existing:
                fill(directory, existing, args.rotate_mb << 20)
        for _ in range(args.rounds):
            for label, tree, _existing in variants:
                directory = work / label.replace(" ", "") / "audit"
                env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}",
                       "OPENSTS_AUDIT_MAX_BYTES": str(args.rotate_mb << 20)}
                done = subprocess.run(
                    [sys.executable, __file__, "--child", str(directory), "--events",
                     str(args.events), "--concurrency", str(args.concurrency)],
                    env=env, capture_output=True, text=True, check=True,
                )
                results.setdefault(label, []).append(json.loads(done.stdout.splitlines()[-1]))
        print(f"{args.events} events, {args.concurrency} writers, median of {args.rounds}")
        print(f"{'variant':<10} {'wall us/event':>14} {'CPU us/event':>13} {'fdatasync/event':>16}"
              "   CPU per round")
        for label, runs in results.items():
            cpu = statistics.median(r["cpu_us"] for r in runs)
            wall = statistics.median(r["wall_us"] for r in runs)
            syncs = statistics.median(r["syncs"] for r in runs)
            print(f"{label:<10} {wall:>14.1f} {cpu:>13.1f} {syncs:>16.3f}   "
                  + " ".join(f"{r['cpu_us']:.1f}" for r in runs))
        for label, *_ in variants:
            files = [p for p in (work / label.replace(" ", "") / "audit").iterdir()]
            raw = sum(p.stat().st_size for p in files)
            print(f"  {label}: {len(files)} files, {raw / 2**20:.0f} MB on disk")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
