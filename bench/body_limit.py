"""What large and malformed bodies cost the server: RSS and answer times (prints; no asserts).

Usage: python bench/body_limit.py [--mb 100]
Run it with PYTHONPATH pointing at the source tree to measure (the original or a branch).

* RSS (VmRSS, VmHWM from /proc/<pid>/status) of the server before and after a 100 MB body
  to /v1/token, sent with Content-Length and chunked (no Content-Length).
* Whether a declared 1 GiB Content-Length is answered before any body byte is sent.
* The slowest answer among malformed bodies up to the 1 MiB limit (deep JSON, wide JSON,
  lone surrogates) on ``/``, /v1/token and /v1/revoke, and whether any was a 5xx.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import Server, start_server, stop_server

MIB = 1 << 20


def rss_kib(pid: int) -> tuple[int, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def connect(server: Server) -> socket.socket:
    host, port = server.endpoint.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=120)


def status_of(sock: socket.socket, timeout: float) -> int | None:
    """The status of the answer, or None if none came within ``timeout``."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(65536)
    except (TimeoutError, OSError):
        return None
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None


def send_body(server: Server, path: str, size: int, *, chunked: bool) -> tuple[float, int | None]:
    """Send ``size`` bytes to ``path``; seconds until the answer and its status."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    piece = b"x" * MIB
    start = time.perf_counter()
    with connect(server) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"{framing}\r\n\r\n".encode())
        try:
            for _ in range(size // MIB):
                sock.sendall(b"%x\r\n%s\r\n" % (MIB, piece) if chunked else piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the whole body was sent
        status = status_of(sock, 120)
    return time.perf_counter() - start, status


def declared_gib(server: Server, path: str) -> tuple[float, int | None]:
    start = time.perf_counter()
    with connect(server) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {1 << 30}\r\n\r\n"
                     .encode())
        status = status_of(sock, 5)
    return time.perf_counter() - start, status


def request(server: Server, path: str, body: bytes, headers: str = "") -> tuple[float, int | None]:
    start = time.perf_counter()
    with connect(server) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status = status_of(sock, 120)
    return time.perf_counter() - start, status


def malformed_bodies() -> dict[str, bytes]:
    budget = MIB - 16
    return {
        "deep [ x 1000": b"[" * 1000 + b"]" * 1000,
        "deep {\"a\": x 1000": b'{"a":' * 1000 + b"1" + b"}" * 1000,
        "deep [ to 1 MiB": b"[" * budget,
        "wide [[],...] 1 MiB": b"[" + b"[]," * (budget // 3 - 1) + b"[]]",
        "surrogate escapes": b'{"a":"' + b"\\udcff" * (budget // 6 - 2) + b'"}',
        "nested strings": b'{"a":"' + b"[" * (budget - 8) + b'"}',
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the large body in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        pid = server.process.pid
        try:
            rss, hwm = rss_kib(pid)
            print(f"server RSS at start            {rss / 1024:8.1f} MiB (peak {hwm / 1024:.1f})")
            for chunked in (False, True):
                seconds, status = send_body(server, "/v1/token", args.mb * MIB, chunked=chunked)
                rss, hwm = rss_kib(pid)
                how = "chunked" if chunked else "Content-Length"
                print(f"{args.mb} MB to /v1/token ({how:<14}) answered {status} in "
                      f"{seconds:6.2f} s; RSS {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f})")
            for path in ("/", "/v1/token", "/v1/signin"):
                seconds, status = declared_gib(server, path)
                verdict = (f"answered before the body: {status} in {seconds * 1000:.0f} ms"
                           if status else "no answer within 5 s (waiting for the body)")
                print(f"Content-Length 1 GiB to {path:<10} {verdict}")
            target = "X-Amz-Target: AWSOrganizationsV20161128.ListRoots\r\n"
            worst = (0.0, "")
            errors = 0
            for name, body in malformed_bodies().items():
                for path, headers in (("/", target), ("/v1/token", ""), ("/v1/revoke", "")):
                    seconds, status = request(server, path, body, headers)
                    if status is None or status >= 500:
                        errors += 1
                        print(f"  {name} on {path}: {status}")
                    if seconds > worst[0]:
                        worst = (seconds, f"{name} on {path} ({status})")
            print(f"malformed bodies: {errors} answers 5xx or none; slowest "
                  f"{worst[0] * 1000:.0f} ms: {worst[1]}")
            rss, hwm = rss_kib(pid)
            print(f"server RSS at end              {rss / 1024:8.1f} MiB (peak {hwm / 1024:.1f})")
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()
