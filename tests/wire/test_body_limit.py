"""One body limit for every route: refused from Content-Length before the body is read,
and while streaming when a chunked body has no Content-Length (413 in each route's shape)."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
from lxml import etree

from tests.conftest import Server

LIMIT = 1_048_576  # Settings.max_body_bytes
GIB = 1 << 30
PATHS = ["/", "/v1/token", "/v1/revoke", "/v1/signin", "/v1/mfa", "/v1/consent",
         "/health", "/v1/nowhere", "/nowhere"]


def connect(server: Server) -> socket.socket:
    parts = urlsplit(server.endpoint)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def read_reply(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    length = int({k.lower(): v for k, v in headers.items()}.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def check_shape(path: str, headers: dict[str, str], body: bytes, *, target: bool = False) -> None:
    assert b"Traceback" not in body
    if path == "/" and target:
        assert json.loads(body)["__type"] == "RequestEntityTooLarge"
    elif path == "/":
        root = etree.fromstring(body)
        assert root.findtext("{*}Error/{*}Code") == "RequestEntityTooLarge"
    elif path in ("/v1/token", "/v1/revoke"):
        assert headers["x-amzn-errortype"] == "ValidationException"
        assert json.loads(body)["error"] == "INVALID_REQUEST"
    elif path.startswith("/v1/"):
        assert headers["content-type"].startswith("text/html")
    else:
        assert "message" in json.loads(body)


@pytest.mark.parametrize("path", PATHS)
def test_declared_gigabyte_is_refused_before_the_body_is_sent(server: Server, path: str) -> None:
    with connect(server) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {GIB}\r\n\r\n".encode())
        status, headers, body = read_reply(sock)  # not one body byte was sent
    assert status == 413, body
    check_shape(path, headers, body)


def test_declared_too_large_json_protocol_answer_is_json(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: "
                     f"AWSOrganizationsV20161128.ListRoots\r\n"
                     f"Content-Length: {LIMIT + 1}\r\n\r\n".encode())
        status, headers, body = read_reply(sock)
    assert status == 413
    check_shape("/", headers, body, target=True)


@pytest.mark.parametrize("path", ["/", "/v1/token", "/v1/revoke", "/v1/signin"])
def test_chunked_body_is_cut_off_at_the_limit(server: Server, path: str) -> None:
    chunk = b"x" * 65536
    with connect(server) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     f"application/x-www-form-urlencoded\r\n"
                     f"Transfer-Encoding: chunked\r\n\r\n".encode())
        sent = 0
        try:
            while sent <= 4 * LIMIT:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed while we were still sending
        status, headers, body = read_reply(sock)
    assert status == 413, body
    check_shape(path, headers, body)


def test_bodies_within_the_limit_still_work(server: Server) -> None:
    import httpx

    response = httpx.post(server.endpoint + "/v1/token", content=b"{" + b" " * 500_000 + b"}",
                          headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
