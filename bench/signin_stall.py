"""How much a wrong-password flood slows everyone else down.

Starts ``opensts serve`` (whichever ``opensts`` package ``PYTHONPATH`` selects, so the same
script measures two checkouts), then ``--parallel`` browsers each post ``--rounds``
wrong-password sign-ins (a new user name each time, so every attempt costs one argon2
check and the per-user back-off never short-cuts it) while a probe thread sends
``GET /health`` and a signed ``GetCallerIdentity`` one after the other. Prints the probes'
worst and median latency idle and under the flood, the sign-ins' own latency and status
codes, and the server's CPU time per sign-in.

    PYTHONPATH=src .venv/bin/python bench/signin_stall.py [--parallel 8] [--rounds 3]

The defaults stay below 30 attempts from one address (the original per-address limit),
so both old and new code hash every attempt.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import boto3
import httpx
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _servers import ACCOUNT_ID, ROOT_KEY, ROOT_SECRET, start_opensts

import opensts

AUTHORIZE = "/v1/authorize?" + urlencode({
    "response_type": "code", "client_id": "arn:aws:signin:::devtools/same-device",
    "state": "s", "code_challenge_method": "SHA-256", "scope": "openid",
    "redirect_uri": "http://127.0.0.1:4000/oauth/callback",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"})


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} in the sign-in page"
    return unescape(match.group(1))


def attacker(endpoint: str, index: int, rounds: int, start: threading.Barrier,
             results: list[tuple[float, int]]) -> None:
    with httpx.Client(base_url=endpoint, timeout=120) as http:
        page = http.get(AUTHORIZE).text
        form = {"flow": hidden(page, "flow"), "csrf": hidden(page, "csrf"),
                "account": ACCOUNT_ID, "password": "wrong-password"}
        start.wait()
        for round_ in range(rounds):
            began = time.perf_counter()
            response = http.post("/v1/signin", data={**form, "username": f"g{index}-{round_}"})
            results.append((time.perf_counter() - began, response.status_code))


def probe(endpoint: str, stop: threading.Event, health: list[float], gci: list[float]) -> None:
    sts = boto3.session.Session().client(
        "sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET, config=Config(retries={"max_attempts": 1}))
    with httpx.Client(base_url=endpoint, timeout=120) as http:
        while not stop.is_set():
            began = time.perf_counter()
            http.get("/health").raise_for_status()
            middle = time.perf_counter()
            sts.get_caller_identity()
            health.append(middle - began)
            gci.append(time.perf_counter() - middle)


def measure(endpoint: str, seconds: float | None, attack: threading.Thread | None
            ) -> tuple[list[float], list[float]]:
    health: list[float] = []
    gci: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=probe, args=(endpoint, stop, health, gci))
    thread.start()
    if attack is not None:
        attack.join()
    else:
        time.sleep(seconds or 1)
    stop.set()
    thread.join()
    return health, gci


def ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"worst {max(values) * 1000:7.1f} ms  median {statistics.median(values) * 1000:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"opensts from {Path(opensts.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="opensts-stall-") as workdir:
        server = start_opensts(Path(workdir), None)
        try:
            endpoint = server.endpoint
            boto3.session.Session().client(
                "sts", endpoint_url=endpoint, region_name="us-east-1",
                aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
            ).get_caller_identity()  # warm up
            idle_cpu = cpu_seconds(server.process.pid)
            idle_health, idle_gci = measure(endpoint, 2.0, None)
            probe_cpu = (cpu_seconds(server.process.pid) - idle_cpu) / max(1, len(idle_health))

            results: list[tuple[float, int]] = []
            start = threading.Barrier(args.parallel + 1)
            attackers = [threading.Thread(target=attacker,
                                          args=(endpoint, i, args.rounds, start, results))
                         for i in range(args.parallel)]
            for thread in attackers:
                thread.start()

            def flood() -> None:
                start.wait()
                for thread in attackers:
                    thread.join()

            attack = threading.Thread(target=flood)
            cpu_before = cpu_seconds(server.process.pid)
            began = time.perf_counter()
            attack.start()
            busy_health, busy_gci = measure(endpoint, None, attack)
            elapsed = time.perf_counter() - began
            cpu = cpu_seconds(server.process.pid) - cpu_before
        finally:
            server.stop()
    attempts = len(results)
    print(f"{args.parallel} parallel browsers x {args.rounds} wrong-password sign-ins "
          f"({attempts} attempts, {elapsed:.1f} s)")
    print(f"  idle   /health           {ms(idle_health)}  ({len(idle_health)} probes)")
    print(f"  idle   GetCallerIdentity {ms(idle_gci)}")
    print(f"  flood  /health           {ms(busy_health)}  ({len(busy_health)} probes)")
    print(f"  flood  GetCallerIdentity {ms(busy_gci)}")
    print(f"  flood  sign-in POST      {ms([t for t, _ in results])}")
    print(f"  sign-in statuses         {dict(sorted(Counter(s for _, s in results).items()))}")
    # The probes' own CPU, as measured idle, is not the sign-ins'.
    signin_cpu = max(0.0, cpu - probe_cpu * len(busy_health))
    print(f"  server CPU               {cpu:.2f} s in the flood; {probe_cpu * 1000:.1f} ms per "
          f"probe pair idle; {signin_cpu / max(1, attempts) * 1000:.0f} ms per sign-in")
    print(f"  load average             {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
