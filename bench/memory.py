"""Server memory under sustained load: RSS at the start and the end of ``--minutes`` of wrk.

Starts ``opensts serve`` (SQLite, durable audit as configured: rotation at
``OPENSTS_AUDIT_MAX_BYTES``), creates the principals of assume_role.py, then keeps wrk
(1 thread, ``--connections``) on it for ``--minutes``, alternating AssumeRole (with a session
policy) and GetCallerIdentity in ``--chunk``-second runs, with fresh signatures every few
minutes. Between runs it samples the server's VmRSS (``/proc/<pid>/status``, the server
process and its children) and prints a line per sample. "start" is the first sample after
a 20-second warm-up (imports done, caches and pools filled); "end" the last.

    PYTHONPATH=src .venv/bin/python bench/memory.py [--minutes 10] [--pin]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import run_wrk, write_wrk_script
from _servers import ROOT_KEY, ROOT_SECRET, cpu_seconds, start_opensts
from assume_role import presign, set_up


def rss_kib(pid: int) -> int:
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines()
                      if line.startswith("VmRSS:"))
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pending.extend(int(child) for child in task.read_text().split())
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--chunk", type=float, default=15.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--signed", type=int, default=1000)
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--rotate-mb", type=int, default=64,
                        help="OPENSTS_AUDIT_MAX_BYTES for the server, in MB (rotations "
                        "and compression happen during the run)")
    args = parser.parse_args()
    pin = args.pin and (os.cpu_count() or 1) >= 2
    server_cpu, load_cpu = (0, 1) if pin else (None, None)
    work = Path(tempfile.mkdtemp(prefix="opensts-memory-"))
    server = start_opensts(work, server_cpu,
                           extra_env={"OPENSTS_AUDIT_MAX_BYTES": str(args.rotate_mb << 20)})
    try:
        caller = set_up(server.endpoint, ROOT_KEY, ROOT_SECRET)
        pid = server.process.pid
        print(f"opensts serve pid {pid}; {args.minutes:g} min of wrk x {args.connections}; "
              f"RSS sampled between {args.chunk:g} s runs")
        print(f"{'elapsed s':>9} {'RSS MiB':>8} {'requests':>9} {'CPU us/req':>10}  operation")
        started = time.monotonic()
        signed_at = -1e9
        total = 0
        samples: list[tuple[float, int]] = []
        run = 0
        while time.monotonic() - started < args.minutes * 60:
            if time.monotonic() - signed_at > 300:  # SigV4 allows 15 minutes of skew
                requests = presign(server.endpoint, caller, args.signed)
                for operation, batch in requests.items():
                    write_wrk_script(work / f"{operation}.lua", batch, 10_000_000)
                signed_at = time.monotonic()
            operation = ("AssumeRole", "GetCallerIdentity")[run % 2]
            run += 1
            before = cpu_seconds(pid)
            result = run_wrk(server.endpoint, work / f"{operation}.lua", seconds=args.chunk,
                             connections=args.connections, cpu=load_cpu)
            cpu_us = (cpu_seconds(pid) - before) / max(1, result.requests) * 1e6
            total += result.requests
            elapsed = time.monotonic() - started
            rss = rss_kib(pid)
            if elapsed >= 20:
                samples.append((elapsed, rss))
            print(f"{elapsed:>9.0f} {rss / 1024:>8.1f} {total:>9} {cpu_us:>10.0f}  {operation}"
                  + ("" if result.non_2xx == 0 else f"  ({result.non_2xx} non-2xx)"),
                  flush=True)
        if samples:
            (t0, r0), (t1, r1) = samples[0], samples[-1]
            peak = max(r for _, r in samples)
            print(f"\nRSS start {r0 / 1024:.1f} MiB (at {t0:.0f} s), end {r1 / 1024:.1f} MiB "
                  f"(at {t1:.0f} s), peak {peak / 1024:.1f} MiB; {total} requests")
        files = sorted(p.name for p in (work / "data" / "audit").iterdir())
        more = " ..." if len(files) > 6 else ""
        print(f"audit files: {len(files)}: {', '.join(files[:6])}{more}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
