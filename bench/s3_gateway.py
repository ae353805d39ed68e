"""The S3 gateway against its own backend: the same workload direct to SeaweedFS and
through OpenSTS, in one run.

* small objects (4 KiB): GET and PUT req/s with p50/p99, replayed by wrk from requests
  signed up front (botocore's S3 signer), 16 keep-alive connections;
* GET with a single connection, for the latency the gateway adds when nothing queues;
* one 256 MiB PUT and GET each way, streamed by httpx (UNSIGNED-PAYLOAD), MiB/s;
* the gateway's peak RSS (VmHWM) and its CPU time per small request.

Targets (issue 9): small-object throughput >= 70 % of direct, added p50 <= 1 ms,
large-object throughput >= 80 % of direct, memory flat in the object size.

    .venv/bin/python bench/s3_gateway.py [--seconds 5] [--rounds 3] [--data-events all]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _load import LoadResult, run_wrk, write_wrk_script  # noqa: E402

from opensts.sigv4.outbound import sign_headers  # noqa: E402
from tests.conftest import ROOT_KEY, ROOT_SECRET, start_server, stop_server  # noqa: E402
from tests.s3.conftest import (  # noqa: E402
    BACKEND_KEY,
    BACKEND_SECRET,
    gateway_env,
    start_seaweed,
    stop_seaweed,
)

SMALL = 4096
LARGE = 256 * 1024 * 1024
KEYS = 500


def signed_raw(method: str, url: str, credentials: Credentials, body: bytes = b"") -> bytes:
    request = AWSRequest(method=method, url=url, data=body)
    request.context["client_config"] = Config(s3={"payload_signing_enabled": True})
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    parts = urlsplit(url)
    lines = [f"{method} {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def requests_for(endpoint: str, credentials: Credentials, bucket: str,
                 method: str) -> list[bytes]:
    body = b"b" * SMALL if method == "PUT" else b""
    return [signed_raw(method, f"{endpoint}/{bucket}/small-{i:04d}", credentials, body)
            for i in range(KEYS)]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def large_body() -> Iterator[bytes]:
    block = b"L" * (1024 * 1024)
    for _ in range(LARGE // len(block)):
        yield block


def large_put_get(endpoint: str, key_id: str, secret: str, bucket: str) -> tuple[float, float]:
    """(PUT MiB/s, GET MiB/s) of one 256 MiB object, streamed."""
    host = urlsplit(endpoint).netloc
    path = f"/{bucket}/large.bin"
    with httpx.Client(timeout=600) as client:
        headers = sign_headers(
            method="PUT", raw_path=path, raw_query="",
            headers=[("Host", host), ("Content-Length", str(LARGE))],
            access_key_id=key_id, secret_access_key=secret, region="us-east-1",
            service="s3", now=datetime.now(UTC), payload_hash="UNSIGNED-PAYLOAD",
            content_sha256_header=True)
        start = time.perf_counter()
        answer = client.put(endpoint + path, headers=headers, content=large_body())
        put_seconds = time.perf_counter() - start
        if answer.status_code != 200:
            raise RuntimeError(f"large PUT: {answer.status_code} {answer.text[:300]}")
        headers = sign_headers(
            method="GET", raw_path=path, raw_query="", headers=[("Host", host)],
            access_key_id=key_id, secret_access_key=secret, region="us-east-1",
            service="s3", now=datetime.now(UTC),
            payload_hash=hashlib.sha256(b"").hexdigest(), content_sha256_header=True)
        start = time.perf_counter()
        received = 0
        with client.stream("GET", endpoint + path, headers=headers) as streamed:
            if streamed.status_code != 200:
                raise RuntimeError(f"large GET: {streamed.status_code}")
            for chunk in streamed.iter_raw(1024 * 1024):
                received += len(chunk)
        get_seconds = time.perf_counter() - start
        if received != LARGE:
            raise RuntimeError(f"large GET returned {received} bytes")
    mib = LARGE / (1024 * 1024)
    return mib / put_seconds, mib / get_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--data-events", default="all", choices=("none", "write-only", "all"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="opensts-bench-s3-"))
    seaweed = start_seaweed(work / "seaweed")
    gateway = start_server(
        work / "data", extra_env=gateway_env(seaweed, OPENSTS_S3_DATA_EVENTS=args.data_events),
        args=("--s3-backend", seaweed.endpoint))
    try:
        bucket = "bench-bucket"
        boto3.session.Session().client(
            "s3", endpoint_url=gateway.endpoint, region_name="us-east-1",
            aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
            config=Config(s3={"addressing_style": "path"})).create_bucket(Bucket=bucket)
        targets = {
            "direct": (seaweed.endpoint, Credentials(BACKEND_KEY, BACKEND_SECRET)),
            "gateway": (gateway.endpoint, Credentials(ROOT_KEY, ROOT_SECRET)),
        }
        pid = gateway.process.pid
        results: dict[tuple[str, str], list[LoadResult]] = {}
        cpu_per_request: dict[str, list[float]] = {"PUT": [], "GET": []}
        for round_ in range(args.rounds):
            for method in ("PUT", "GET"):
                for name, (endpoint, credentials) in targets.items():
                    # Fresh signatures each round (SigV4's 15-minute window).
                    script = work / f"{name}-{method}.lua"
                    write_wrk_script(script, requests_for(endpoint, credentials, bucket,
                                                          method), budget=10**9)
                    before = cpu_seconds(pid)
                    result = run_wrk(endpoint, script, seconds=args.seconds,
                                     connections=args.connections)
                    if result.non_2xx or result.socket_errors:
                        print(f"  ! {name} {method}: {result.non_2xx} non-2xx, "
                              f"{result.socket_errors} socket errors")
                    if name == "gateway" and result.requests:
                        cpu_per_request[method].append(
                            (cpu_seconds(pid) - before) / result.requests * 1000)
                    results.setdefault((name, method), []).append(result)
                    print(f"round {round_ + 1} {method:4} {name:8} {result.rps:8.0f} req/s  "
                          f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms",
                          flush=True)
        # Unloaded latency: one connection, so p50 is service time, not queueing.
        single: dict[str, LoadResult] = {}
        for name, (endpoint, credentials) in targets.items():
            script = work / f"{name}-GET-1.lua"
            write_wrk_script(script, requests_for(endpoint, credentials, bucket, "GET"),
                             budget=10**9)
            single[name] = run_wrk(endpoint, script, seconds=args.seconds, connections=1)
        rss_small = peak_rss_mib(pid)
        large = {name: large_put_get(endpoint, cred.access_key, cred.secret_key, bucket)
                 for name, (endpoint, cred) in targets.items()}
        rss_after = peak_rss_mib(pid)

        print("\nsmall objects (4 KiB), median round:")
        print(f"{'':12}{'direct':>22}{'gateway':>22}{'ratio':>10}{'added p50':>12}")
        for method in ("GET", "PUT"):
            direct = _median(results[("direct", method)])
            through = _median(results[("gateway", method)])
            print(f"{method:12}{direct.rps:10.0f} req/s p50 {direct.p50_ms:5.2f}"
                  f"{through.rps:10.0f} req/s p50 {through.p50_ms:5.2f}"
                  f"{through.rps / direct.rps:10.0%}{through.p50_ms - direct.p50_ms:9.2f} ms")
            print(f"{'':12}{'p99':>14} {direct.p99_ms:6.2f} ms{'p99':>14} "
                  f"{through.p99_ms:6.2f} ms")
        d1, g1 = single["direct"], single["gateway"]
        print(f"GET, 1 connection: direct p50 {d1.p50_ms:.2f} ms p99 {d1.p99_ms:.2f} ms, "
              f"gateway p50 {g1.p50_ms:.2f} ms p99 {g1.p99_ms:.2f} ms, "
              f"added p50 {g1.p50_ms - d1.p50_ms:.2f} ms")
        print("\n256 MiB object:")
        for index, label in ((0, "PUT"), (1, "GET")):
            d, g = large["direct"][index], large["gateway"][index]
            print(f"{label:12}{d:10.0f} MiB/s{g:16.0f} MiB/s{g / d:10.0%}")
        print(f"\ngateway CPU per small request: GET "
              f"{statistics.median(cpu_per_request['GET']):.2f} ms, PUT "
              f"{statistics.median(cpu_per_request['PUT']):.2f} ms")
        print(f"gateway peak RSS: {rss_small:.0f} MiB after the small-object runs, "
              f"{rss_after:.0f} MiB after 256 MiB PUT+GET (now {rss_mib(pid):.0f} MiB)")
        print(f"data events: {args.data_events}")
    finally:
        stop_server(gateway)
        stop_seaweed(seaweed)
        shutil.rmtree(work, ignore_errors=True)


def _median(runs: list[LoadResult]) -> LoadResult:
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[len(ordered) // 2]


if __name__ == "__main__":
    main()
