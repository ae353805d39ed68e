"""Server benchmark: AssumeRole (with a session policy) and GetCallerIdentity over HTTP.

Starts OpenSTS (``opensts serve``, temporary data dir, SQLite), sets up through boto3 a
user with an access key and a role whose trust policy names the user (plus an identity
policy on the role), pre-signs N AssumeRole and N GetCallerIdentity requests with
botocore's SigV4Auth, and replays them with wrk from a separate process, bounded by time
and by a request budget. The same requests then go to an empty ASGI handler on the same
server stack (uvicorn, same options, one process) and to moto's server doing the same
calls. Prints requests/s, p50/p99 latency, the server's CPU per request (utime+stime of the
server process and its children, from /proc, over each run: on a shared machine req/s moves
with other work, CPU per request much less) and the ratios against issue 10's targets:
AssumeRole >= 20% and GetCallerIdentity >= 35% of the empty handler's throughput, >= 6x moto's.

    .venv/bin/python bench/assume_role.py [--seconds 10] [--connections 16] [--no-moto]

Servers run pinned to CPU 0 and wrk to CPU 1 when the machine has two or more CPUs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import LoadError, LoadResult, run_wrk, signed_query_request, write_wrk_script
from _servers import (
    ACCOUNT_ID,
    MOTO_VERSION,
    ROOT_KEY,
    ROOT_SECRET,
    Server,
    ServerError,
    cpu_seconds,
    start_empty,
    start_moto,
    start_opensts,
)

STS_VERSION = "2011-06-15"
OPERATIONS = ("AssumeRole", "GetCallerIdentity")
AIM_EMPTY = {"AssumeRole": 0.20, "GetCallerIdentity": 0.35}
AIM_MOTO = 6.0


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# The session policy narrows the role's identity policy, as a real caller's would.
ROLE_POLICY = doc(
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
     "Resource": "arn:aws:s3:::bench-bucket/*"},
    {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"},
)
SESSION_POLICY = doc(
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bench-bucket/in/*"}
)


@dataclass(frozen=True)
class Caller:
    """Credentials of the benchmark user and the role it assumes, on one server."""

    credentials: Credentials
    role_arn: str


def set_up(endpoint: str, key: str, secret: str) -> Caller:
    """User + access key, role trusting the user, identity policy on the role (boto3)."""
    config = Config(retries={"max_attempts": 1})
    iam = boto3.session.Session().client(
        "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, config=config,
    )
    user = iam.create_user(UserName="bench-user")["User"]
    access = iam.create_access_key(UserName="bench-user")["AccessKey"]
    trust = doc({"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName="bench-role", AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName="bench-role", PolicyName="bench", PolicyDocument=ROLE_POLICY)
    credentials = Credentials(access["AccessKeyId"], access["SecretAccessKey"])
    return Caller(credentials, role["Arn"])


def presign(endpoint: str, caller: Caller, count: int) -> dict[str, list[bytes]]:
    """``count`` signed requests per operation; AssumeRole ones differ by session name."""
    assume = [
        signed_query_request(
            endpoint,
            {
                "Action": "AssumeRole",
                "Version": STS_VERSION,
                "RoleArn": caller.role_arn,
                "RoleSessionName": f"bench-{i}",
                "Policy": SESSION_POLICY,
            },
            caller.credentials,
        )
        for i in range(count)
    ]
    identity = [
        signed_query_request(
            endpoint, {"Action": "GetCallerIdentity", "Version": STS_VERSION}, caller.credentials
        )
        for _ in range(count)
    ]
    return {"AssumeRole": assume, "GetCallerIdentity": identity}


def send_raw(port: int, raw: bytes) -> tuple[int, bytes]:
    """One request over a fresh connection, exactly as wrk will send it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.connect()
    assert connection.sock is not None
    connection.sock.sendall(raw)
    response = http.client.HTTPResponse(connection.sock, method="POST")
    response.begin()
    body = response.read()
    connection.close()
    return response.status, body


def check(server: Server, requests: dict[str, list[bytes]], expect_sts: bool) -> None:
    """Fail fast unless the first and last request of each kind succeed."""
    markers = {"AssumeRole": b"<SessionToken>", "GetCallerIdentity": b"<Arn>"}
    for operation, batch in requests.items():
        for raw in (batch[0], batch[-1]):
            status, body = send_raw(server.port, raw)
            if status != 200 or (expect_sts and markers[operation] not in body):
                raise ServerError(
                    f"{server.name} {operation}: HTTP {status}: {body[:600]!r}\n{server.log_tail()}"
                )


@dataclass(frozen=True)
class Row:
    target: str
    operation: str
    result: LoadResult  # the median round by throughput
    rounds: tuple[float, ...]  # req/s of every round
    cpu_us: float  # server CPU (utime+stime from /proc) per answered request, median round


@dataclass
class Target:
    name: str
    server: Server
    caller: Caller | None  # None: replay OpenSTS's requests (the empty handler)
    expect_sts: bool


def median_round(results: list[tuple[LoadResult, float]]) -> tuple[LoadResult, float]:
    return sorted(results, key=lambda r: r[0].rps)[len(results) // 2]


def print_header() -> None:
    print(f"{'target':<9} {'operation':<18} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'CPU us/req':>10} {'requests':>9} {'non-2xx':>8} {'sock err':>8}  rounds req/s",
          flush=True)


def print_row(row: Row) -> None:
    r = row.result
    rounds = " ".join(f"{rps:.0f}" for rps in row.rounds)
    print(f"{row.target:<9} {row.operation:<18} {r.rps:>9.1f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
          f"{row.cpu_us:>10.0f} {r.requests:>9} {r.non_2xx:>8} {r.socket_errors:>8}  {rounds}",
          flush=True)


def verdict(ratio: float, aim: float) -> str:
    return "met" if ratio >= aim else "MISSED"


def report_ratios(rows: list[Row]) -> dict[str, float]:
    rps = {(row.target, row.operation): row.result.rps for row in rows}
    cpu = {(row.target, row.operation): row.cpu_us for row in rows}
    ratios: dict[str, float] = {}
    print()
    for operation in OPERATIONS:
        ours = rps.get(("opensts", operation))
        if not ours:
            continue
        empty = rps.get(("empty", operation))
        if empty:
            ratio = ours / empty
            ratios[f"{operation}/empty"] = ratio
            goal = AIM_EMPTY[operation]
            aim = f"   (target >= {goal:.0%}: {verdict(ratio, goal)})"
            print(f"{operation:<18} OpenSTS / empty handler = {ratio:6.1%}{aim}")
            if cpu.get(("opensts", operation)) and cpu.get(("empty", operation)):
                by_cpu = cpu[("empty", operation)] / cpu[("opensts", operation)]
                ratios[f"{operation}/empty-cpu"] = by_cpu
                print(f"{operation:<18} by CPU per request      = {by_cpu:6.1%}")
        moto = rps.get(("moto", operation))
        if moto:
            ratio = ours / moto
            ratios[f"{operation}/moto"] = ratio
            print(f"{operation:<18} OpenSTS / moto          = {ratio:6.1f}x   "
                  f"(target >= {AIM_MOTO:.0f}x: {verdict(ratio, AIM_MOTO)})")
            if cpu.get(("opensts", operation)) and cpu.get(("moto", operation)):
                by_cpu = cpu[("moto", operation)] / cpu[("opensts", operation)]
                ratios[f"{operation}/moto-cpu"] = by_cpu
                print(f"{operation:<18} by CPU per request      = {by_cpu:6.1f}x")
    for operation in OPERATIONS:
        ours, base = cpu.get(("opensts", operation)), cpu.get(("base", operation))
        if ours and base:
            ratios[f"{operation}/base-cpu"] = ours / base
            print(f"{operation:<18} OpenSTS / base CPU per request = {ours / base:5.2f}  "
                  f"(req/s {rps[('opensts', operation)] / rps[('base', operation)]:.2f}x)")
    return ratios


def describe_machine(workdir: Path) -> str:
    fs = subprocess.run(["df", "-T", str(workdir)], capture_output=True, text=True).stdout
    fs_type = fs.splitlines()[-1].split()[1] if fs.count("\n") >= 2 else "?"
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, data dir on {fs_type}, "
        f"{(wrk.split(' [')[0] if wrk else 'wrk ?')}"
    )


def start_targets(names: list[str], args: argparse.Namespace, workdir: Path) -> list[Target]:
    """Start every server and create its principals; all stay up, idle, between runs."""
    targets: list[Target] = []
    try:
        for name in names:
            if name == "opensts":
                server = start_opensts(workdir, args.server_cpu, extra_env=args.server_env)
                targets.append(Target(name, server, None, True))
                targets[-1].caller = set_up(server.endpoint, ROOT_KEY, ROOT_SECRET)
            elif name == "base":  # the same server from another source tree (--base-src)
                if args.base_src is None:
                    raise ServerError("the base target needs --base-src")
                path = os.pathsep.join([str(args.base_src / "src"), str(args.base_src)])
                server = start_opensts(workdir / "base", args.server_cpu,
                                       extra_env={**args.base_env, "PYTHONPATH": path})
                server.name = "base"
                targets.append(Target(name, server, None, True))
                targets[-1].caller = set_up(server.endpoint, ROOT_KEY, ROOT_SECRET)
            elif name == "empty":
                targets.append(Target(name, start_empty(workdir, args.server_cpu), None, False))
            elif name == "moto":
                server = start_moto(workdir, args.moto_venv, args.server_cpu)
                targets.append(Target(name, server, None, True))
                # moto takes any key for the set-up; its STS then answers as the created user.
                targets[-1].caller = set_up(server.endpoint, "AKIAIOSFODNN7EXAMPLE", "moto" * 10)
            else:
                raise ServerError(f"unknown target {name!r}")
    except BaseException:
        for target in targets:
            target.server.stop()
        raise
    return targets


Signed = dict[str, dict[str, list[bytes]]]  # target -> operation -> raw requests


def requests_for(targets: list[Target], args: argparse.Namespace) -> Signed:
    """Fresh signatures for one round (SigV4 allows 15 minutes of clock skew)."""
    signed: Signed = {}
    for target in targets:
        if target.caller is not None:
            signed[target.name] = presign(target.server.endpoint, target.caller, args.signed)
    for target in targets:
        if target.caller is None:
            # The very bytes OpenSTS is sent (their Host names OpenSTS's port: unread here).
            signed[target.name] = signed.get("opensts") or presign(
                target.server.endpoint,
                Caller(Credentials(ROOT_KEY, ROOT_SECRET),
                       f"arn:aws:iam::{ACCOUNT_ID}:role/bench-role"),
                args.signed,
            )
        check(target.server, signed[target.name], target.expect_sts)
    return signed


def run_rounds(targets: list[Target], args: argparse.Namespace, workdir: Path) -> list[Row]:
    results: dict[tuple[str, str], list[tuple[LoadResult, float]]] = {}
    for round_no in range(args.rounds):
        signed = requests_for(targets, args)
        for target in targets:
            for operation in OPERATIONS:
                script = workdir / f"{target.name}-{operation}.lua"
                connections = (args.base_connections or args.connections) if (
                    target.name == "base") else args.connections
                write_wrk_script(script, signed[target.name][operation], args.budget)
                if round_no == 0 and args.warmup > 0:
                    run_wrk(target.server.endpoint, script, seconds=args.warmup,
                            connections=connections, cpu=args.load_cpu)
                before = cpu_seconds(target.server.process.pid)
                result = run_wrk(target.server.endpoint, script, seconds=args.seconds,
                                 connections=connections, cpu=args.load_cpu)
                used = cpu_seconds(target.server.process.pid) - before
                cpu_us = used / result.requests * 1e6 if result.requests else 0.0
                results.setdefault((target.name, operation), []).append((result, cpu_us))
        print(f"  round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    rows = []
    for (name, operation), runs in results.items():
        result, cpu_us = median_round(runs)
        rows.append(Row(name, operation, result, tuple(r.rps for r, _ in runs), cpu_us))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per run (default 5)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds; the median round is reported (default 3)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured first run (s)")
    parser.add_argument("--budget", type=int, default=500_000,
                        help="request budget per run (default 500000)")
    parser.add_argument("--signed", type=int, default=1000,
                        help="pre-signed requests per operation (default 1000)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--targets", default="opensts,empty,moto",
                        help="comma-separated subset of opensts,empty,moto,base")
    parser.add_argument("--base-src", type=Path,
                        help="a source tree (with src/) for the 'base' target: the same "
                        "server at another commit, measured in the same run")
    parser.add_argument("--workers", type=int, default=1,
                        help="opensts serve --workers N for the opensts target")
    parser.add_argument("--base-connections", type=int,
                        help="wrk connections for the base target (default --connections)")
    parser.add_argument("--base-workers", type=int, default=1,
                        help="opensts serve --workers N for the base target")
    parser.add_argument("--pin", action="store_true",
                        help="pin servers to CPU 0 and wrk to CPU 1 (on a quiet machine)")
    parser.add_argument("--moto-venv", type=Path, default=Path(tempfile.gettempdir())
                        / f"opensts-bench-moto-{MOTO_VERSION}")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk (or scripts/install-test-tools)",
              file=sys.stderr)
        return 2
    pin = args.pin and (os.cpu_count() or 1) >= 2
    args.server_cpu = 0 if pin else None
    args.load_cpu = 1 if pin else None
    args.server_env = {"OPENSTS_BENCH_WORKERS": str(args.workers)} if args.workers > 1 else {}
    args.base_env = ({"OPENSTS_BENCH_WORKERS": str(args.base_workers)}
                     if args.base_workers > 1 else {})

    workdir = Path(tempfile.mkdtemp(prefix="opensts-bench-"))
    print(f"OpenSTS server benchmark: {describe_machine(workdir)}")
    print(f"wrk 1 thread x {args.connections} connections; {args.rounds} interleaved rounds of "
          f"{args.seconds:g} s per scenario (+{args.warmup:g} s warm-up), budget {args.budget} "
          f"requests per run, {args.signed} pre-signed requests per operation"
          + ("; servers on CPU 0, wrk on CPU 1" if pin else ""))
    started = time.monotonic()
    targets: list[Target] = []
    try:
        targets = start_targets(args.targets.split(","), args, workdir)
        rows = run_rounds(targets, args, workdir)
    except (ServerError, LoadError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    except ClientError as exc:  # the boto3 set-up calls
        print(f"benchmark set-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        for target in targets:
            target.server.stop()
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_header()
    for row in rows:
        print_row(row)
    for row in rows:
        if row.result.non_2xx or row.result.socket_errors:
            print(f"WARNING: {row.target} {row.operation}: {row.result.non_2xx} non-2xx answers "
                  f"and {row.result.socket_errors} socket errors; its rate is not comparable")
    ratios = report_ratios(rows)
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "rows": [{"target": r.target, "operation": r.operation, **asdict(r.result),
                      "rps": r.result.rps, "rounds": r.rounds, "cpu_us": r.cpu_us} for r in rows],
            "ratios": ratios,
            "moto_version": MOTO_VERSION,
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
