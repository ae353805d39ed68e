"""Server benchmark: GetWebIdentityToken (RS256 and ES384) beside AssumeRole, same run.

Starts OpenSTS (``opensts serve``, temporary data dir, SQLite), sets up through boto3 the
user and role of bench/assume_role.py, gives the user sts:GetWebIdentityToken and enables
outbound identity federation, pre-signs N requests per operation with botocore's SigV4Auth
and replays them with wrk in interleaved rounds. Prints requests/s, p50/p99 latency and the
server's CPU per request (utime+stime from /proc), and each GetWebIdentityToken rate as a
share of AssumeRole's (issue 15's target: >= 60 %).

    .venv/bin/python bench/web_identity_token.py [--seconds 5] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import LoadResult, run_wrk, signed_query_request, write_wrk_script
from _servers import ROOT_KEY, ROOT_SECRET, Server, ServerError, cpu_seconds, start_opensts
from assume_role import SESSION_POLICY, STS_VERSION, send_raw, set_up

AIM = 0.60
OPERATIONS = ("AssumeRole", "GetWebIdentityToken RS256", "GetWebIdentityToken ES384")


def check_status(server: Server, raw: bytes, marker: bytes) -> None:
    status, body = send_raw(server.port, raw)
    if status != 200 or marker not in body:
        raise ServerError(f"HTTP {status}: {body[:600]!r}\n{server.log_tail()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--signed", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=500_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (scripts/install-test-tools)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="opensts-bench-wit-"))
    server = start_opensts(workdir, None)
    try:
        caller = set_up(server.endpoint, ROOT_KEY, ROOT_SECRET)
        iam = boto3.session.Session().client(
            "iam", endpoint_url=server.endpoint, region_name="us-east-1",
            aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET)
        iam.put_user_policy(UserName="bench-user", PolicyName="wit", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {
                    "sts:IdentityTokenAudience": "https://api.example.com"}}}]}))
        iam.enable_outbound_web_identity_federation()
        results: dict[str, list[tuple[LoadResult, float]]] = {}
        for round_no in range(args.rounds):
            batches = {
                "AssumeRole": [signed_query_request(server.endpoint, {
                    "Action": "AssumeRole", "Version": STS_VERSION, "RoleArn": caller.role_arn,
                    "RoleSessionName": f"bench-{i}", "Policy": SESSION_POLICY},
                    caller.credentials) for i in range(args.signed)],
                **{f"GetWebIdentityToken {alg}": [signed_query_request(server.endpoint, {
                    "Action": "GetWebIdentityToken", "Version": STS_VERSION,
                    "Audience.member.1": "https://api.example.com", "SigningAlgorithm": alg,
                    "DurationSeconds": "300"}, caller.credentials)
                    for _ in range(args.signed)] for alg in ("RS256", "ES384")},
            }
            for operation in OPERATIONS:
                batch = batches[operation]
                marker = b"<SessionToken>" if operation == "AssumeRole" else b"<WebIdentityToken>"
                check_status(server, batch[0], marker)
                script = workdir / f"{operation.replace(' ', '-')}.lua"
                write_wrk_script(script, batch, args.budget)
                if round_no == 0 and args.warmup > 0:
                    run_wrk(server.endpoint, script, seconds=args.warmup,
                            connections=args.connections, cpu=None)
                before = cpu_seconds(server.process.pid)
                result = run_wrk(server.endpoint, script, seconds=args.seconds,
                                 connections=args.connections, cpu=None)
                used = cpu_seconds(server.process.pid) - before
                results.setdefault(operation, []).append(
                    (result, used / result.requests * 1e6 if result.requests else 0.0))
            print(f"  round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'operation':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>10} "
          f"{'non-2xx':>8}  rounds req/s")
    medians = {}
    for operation in OPERATIONS:
        runs = sorted(results[operation], key=lambda r: r[0].rps)
        result, cpu_us = runs[len(runs) // 2]
        medians[operation] = (result, cpu_us)
        rounds = " ".join(f"{r.rps:.0f}" for r, _ in results[operation])
        print(f"{operation:<26} {result.rps:>9.1f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f} "
              f"{cpu_us:>10.0f} {result.non_2xx:>8}  {rounds}")
    base, base_cpu = medians["AssumeRole"]
    print()
    for operation in OPERATIONS[1:]:
        result, cpu_us = medians[operation]
        ratio = result.rps / base.rps if base.rps else 0.0
        verdict = "met" if ratio >= AIM else "MISSED"
        print(f"{operation:<26} / AssumeRole = {ratio:6.1%} req/s, "
              f"{base_cpu / cpu_us if cpu_us else 0:6.1%} by CPU   (target >= {AIM:.0%}: "
              f"{verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
