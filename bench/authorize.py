"""HTTP authorizer benchmark: the nginx auth_request hook, and nginx with and without it.

Starts OpenSTS (``opensts serve``, temporary data dir, SQLite, ``--trusted-proxies``
127.0.0.1), an IAM user whose policy allows ``execute-api:Invoke`` on a declared API, and
the empty ASGI handler (bench/empty_app.py) as the API's upstream. Pre-signs N distinct
requests (``GET /orders/{i}``, botocore's SigV4Auth, service execute-api) and replays them
with wrk, four ways:

* ``hook``: straight to ``/_opensts/authorize/nginx/bench/prod`` as nginx's subrequest
  (X-Original-Method/-URI, Host, X-Forwarded-For): one decision per request, audit included;
* ``empty``: the same bytes to the empty ASGI handler (same uvicorn options, same core);
* ``nginx+hook``: Debian's nginx with the README's auth_request config → the empty handler;
* ``nginx``: the same nginx without auth_request → the empty handler.

OpenSTS and the empty handler share CPU 0 (``--pin``); nginx and wrk run on CPU 1. Prints
requests/s, p50/p99, server CPU per request (utime+stime from /proc/<pid>/stat) and the
ratios against the targets: hook >= 25% of the empty handler, nginx+hook >= 60% of nginx.

    .venv/bin/python bench/authorize.py [--seconds 5] [--rounds 3] [--pin]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _load import LoadError, LoadResult, run_wrk, write_wrk_script
from _servers import ROOT_KEY, ROOT_SECRET, Server, ServerError, free_port, start_empty
from _servers import start_opensts as _start_opensts

API, STAGE = "bench", "prod"
HOOK_PATH = f"/_opensts/authorize/nginx/{API}/{STAGE}"
AIM_EMPTY = 0.25
AIM_NGINX = 0.60
SCENARIOS = ("hook", "empty", "nginx+hook", "nginx")


def set_up(server: Server) -> Credentials:
    """A user allowed to invoke the API, and the API itself (stored as `opensts api` does)."""
    import boto3
    from botocore.config import Config

    from opensts.directory.records import Api
    from opensts.store import open_store

    iam = boto3.session.Session().client(
        "iam", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
        config=Config(retries={"max_attempts": 1}))
    iam.create_user(UserName="bench-caller")
    iam.put_user_policy(UserName="bench-caller", PolicyName="invoke", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
                       "Resource": f"arn:aws:execute-api:*:*:{API}/{STAGE}/GET/orders/*"}]}))
    key = iam.create_access_key(UserName="bench-caller")["AccessKey"]
    data = Path(server.log).parent / "data"
    store = open_store(f"sqlite:///{(data / 'opensts.db').resolve()}", aws_managed=False)
    try:
        store.put_api(Api(api_id=API, account_id="123456789012", name=API, stages=(STAGE,),
                          created=datetime.now(UTC)))
    finally:
        store.close()
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def signed(host: str, path: str, creds: Credentials) -> list[tuple[str, str]]:
    request = AWSRequest(method="GET", url=f"http://{host}{path}")
    SigV4Auth(creds, "execute-api", "us-east-1").add_auth(request)
    return [("Host", host), *request.headers.items()]


def raw(target: str, headers: list[tuple[str, str]]) -> bytes:
    return ("\r\n".join([f"GET {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers)])
            + "\r\n\r\n").encode()


def presign(creds: Credentials, count: int, nginx_host: str, plain_host: str
            ) -> dict[str, list[bytes]]:
    """Fresh signatures (API Gateway allows 5 minutes of skew): per scenario, ``count``."""
    hook, through, plain = [], [], []
    for i in range(count):
        path = f"/orders/{i}"
        headers = signed("api.bench:8080", path, creds)
        hook.append(raw(HOOK_PATH, [*headers, ("X-Original-Method", "GET"),
                                    ("X-Original-URI", path), ("X-Forwarded-For", "10.0.0.1")]))
        through.append(raw(path, signed(nginx_host, path, creds)))
        plain.append(raw(path, signed(plain_host, path, creds)))
    return {"hook": hook, "empty": hook, "nginx+hook": through, "nginx": plain}


def nginx_conf(workdir: Path, hooked: int, plain: int, opensts: int, upstream: int) -> str:
    from tests.authorizer.gateways import nginx_config

    # The tests' (README's) config for the hooked server; a second server block without
    # auth_request is the baseline. Same upstream keepalive in both.
    text = nginx_config(listen=hooked, opensts=f"127.0.0.1:{opensts}", api_id=API,
                        stage=STAGE, upstream_port=upstream, workdir=workdir)
    baseline = f"""  server {{
    listen 127.0.0.1:{plain};
    location / {{
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://api;
    }}
  }}
}}
"""
    return text[: text.rstrip().rfind("}")] + baseline


@dataclass
class Nginx:
    process: subprocess.Popen[bytes]
    hooked: int
    plain: int

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_nginx(workdir: Path, opensts: int, upstream: int, cpu: int | None) -> Nginx:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    hooked, plain = free_port(), free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_conf(workdir, hooked, plain, opensts, upstream))
    command = [binary, "-p", str(workdir), "-c", str(conf)]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    log = (workdir / "nginx.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not (workdir / "nginx.pid").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise ServerError(f"nginx did not start: {(workdir / 'nginx.log').read_text()}")
        time.sleep(0.05)
    time.sleep(0.3)
    return Nginx(process, hooked, plain)


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its threads (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    scenario: str
    result: LoadResult
    cpu_us: float  # server CPU per request (OpenSTS + upstream), microseconds
    rounds: tuple[float, ...]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--signed", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=500_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pin", action="store_true",
                        help="OpenSTS and the upstream on CPU 0; nginx and wrk on CPU 1")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None or not (shutil.which("nginx") or Path("/usr/sbin/nginx")
                                           .exists()):
        print("wrk and nginx are needed: scripts/install-test-tools", file=sys.stderr)
        return 2
    pin = args.pin and (os.cpu_count() or 1) >= 2
    server_cpu, load_cpu = (0, 1) if pin else (None, None)
    workdir = Path(tempfile.mkdtemp(prefix="opensts-bench-authz-"))
    servers: list[Server] = []
    nginx: Nginx | None = None
    results: dict[str, list[tuple[LoadResult, float]]] = {}
    try:
        opensts = _start_opensts(workdir, server_cpu,
                                 {"OPENSTS_TRUSTED_PROXIES": "127.0.0.1/32"})
        servers.append(opensts)
        empty = start_empty(workdir, server_cpu)
        servers.append(empty)
        creds = set_up(opensts)
        nginx = start_nginx(workdir, opensts.port, empty.port, load_cpu)
        targets = {"hook": opensts.endpoint, "empty": empty.endpoint,
                   "nginx+hook": f"http://127.0.0.1:{nginx.hooked}",
                   "nginx": f"http://127.0.0.1:{nginx.plain}"}
        measured = {"hook": [opensts], "empty": [empty], "nginx+hook": [opensts, empty],
                    "nginx": [empty]}
        print(f"authorizer benchmark: {os.cpu_count()} CPUs, wrk 1 thread x "
              f"{args.connections} connections, {args.rounds} rounds of {args.seconds:g} s"
              + ("; OpenSTS + upstream on CPU 0, nginx + wrk on CPU 1" if pin else ""))
        for round_no in range(args.rounds):
            batches = presign(creds, args.signed, f"127.0.0.1:{nginx.hooked}",
                              f"127.0.0.1:{nginx.plain}")
            for scenario in SCENARIOS:
                script = workdir / f"{scenario.replace('+', '-')}.lua"
                write_wrk_script(script, batches[scenario], args.budget)
                if round_no == 0 and args.warmup > 0:
                    run_wrk(targets[scenario], script, seconds=args.warmup,
                            connections=args.connections, cpu=load_cpu)
                before = sum(cpu_seconds(s.process.pid) for s in measured[scenario])
                result = run_wrk(targets[scenario], script, seconds=args.seconds,
                                 connections=args.connections, cpu=load_cpu)
                used = sum(cpu_seconds(s.process.pid) for s in measured[scenario]) - before
                results.setdefault(scenario, []).append((result, used))
            print(f"  round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    except (ServerError, LoadError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if nginx is not None:
            nginx.stop()
        for server in servers:
            server.stop()
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = []
    for scenario, runs in results.items():
        ordered = sorted(runs, key=lambda run: run[0].rps)
        result, used = ordered[len(ordered) // 2]
        cpu_us = used / result.requests * 1e6 if result.requests else 0.0
        rows.append(Row(scenario, result, cpu_us, tuple(r.rps for r, _ in runs)))
    print(f"{'scenario':<11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>11} "
          f"{'non-2xx':>8} {'sock err':>8}  rounds req/s")
    for row in rows:
        r = row.result
        print(f"{row.scenario:<11} {r.rps:>9.1f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
              f"{row.cpu_us:>11.0f} {r.non_2xx:>8} {r.socket_errors:>8}  "
              + " ".join(f"{x:.0f}" for x in row.rounds))
    rps = {row.scenario: row.result.rps for row in rows}
    for row in rows:
        if row.result.non_2xx or row.result.socket_errors:
            print(f"WARNING: {row.scenario}: {row.result.non_2xx} non-2xx, "
                  f"{row.result.socket_errors} socket errors: its rate is not comparable")
    print()
    for ours, base, aim in (("hook", "empty", AIM_EMPTY), ("nginx+hook", "nginx", AIM_NGINX)):
        if rps.get(ours) and rps.get(base):
            ratio = rps[ours] / rps[base]
            print(f"{ours:<11} / {base:<6} = {ratio:6.1%}   (target >= {aim:.0%}: "
                  f"{'met' if ratio >= aim else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
