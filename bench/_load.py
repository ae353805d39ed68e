"""Load generation: pre-signed raw HTTP requests replayed by wrk in its own process.

wrk (Debian package ``wrk``) runs with a generated Lua script that cycles through a fixed
set of requests signed up front, so neither signing nor Python on the client side is in
the measurement. The script stops each run after a request budget or a duration, whichever
comes first, and prints one JSON line of results from wrk's ``done`` hook.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FORM = "application/x-www-form-urlencoded; charset=utf-8"


class LoadError(Exception):
    """The load generator is missing or failed."""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def signed_query_request(
    endpoint: str,
    params: dict[str, str],
    credentials: Credentials,
    *,
    service: str = "sts",
    region: str = "us-east-1",
) -> bytes:
    """One AWS query-protocol POST signed with botocore's SigV4Auth, as raw HTTP/1.1 bytes."""
    body = urlencode(params)
    request = AWSRequest(
        method="POST", url=f"{endpoint}/", data=body, headers={"Content-Type": FORM}
    )
    SigV4Auth(credentials, service, region).add_auth(request)
    host = urlsplit(endpoint).netloc  # botocore signs the URL's host:port
    lines = ["POST / HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _lua_string(raw: bytes) -> str:
    # A quoted literal with escapes: Lua's long brackets would turn CRLF into LF.
    return '"' + "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte not in (0x22, 0x5C) else f"\\{byte:03d}"
        for byte in raw
    ) + '"'


def write_wrk_script(path: Path, requests: Sequence[bytes], budget: int) -> None:
    """A wrk script that cycles through ``requests`` and stops after ``budget`` responses."""
    if not requests:
        raise LoadError("no requests to replay")
    table = ",\n".join(_lua_string(raw) for raw in requests)
    path.write_text(
        f"local requests = {{\n{table}\n}}\n"
        f"local budget = {int(budget)}\n"
        """
local i = 0
local seen = 0
-- At the budget, interrupt wrk itself: its SIGINT handler ends the run early and still
-- reports the true elapsed time (thread:stop alone would leave wrk sleeping until -d).
local function interrupt()
  local stat = io.open("/proc/self/stat"):read("*l")
  -- popen, not os.execute: system() ignores SIGINT in wrk while the child runs.
  io.popen("kill -INT " .. stat:match("^(%d+)")):close()
end
function request()
  i = i % #requests + 1
  return requests[i]
end
function response(status, headers, body)
  seen = seen + 1
  if seen == budget then interrupt() end
end
function done(summary, latency, reqs)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""
    )


def run_wrk(
    url: str,
    script: Path,
    *,
    seconds: float,
    connections: int,
    cpu: int | None = None,
) -> LoadResult:
    """Run one wrk thread with ``connections`` keep-alive connections; optionally pinned."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise LoadError("wrk is missing: apt-get install -y wrk (or scripts/install-test-tools)")
    command = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise LoadError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            data = json.loads(line)
            break
    else:
        raise LoadError(f"wrk printed no result: {done.stdout}")
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non_2xx=data["status"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
    )
