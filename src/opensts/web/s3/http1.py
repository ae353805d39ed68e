"""A small pooled HTTP/1.1 client for the one storage backend (RFC 9112).

Why not httpx: on the gateway's hot path httpx cost ~0.9 ms of CPU per small request
(measured with bench/s3_gateway.py), about ten times the work of writing a request head
and reading a response head on a kept-alive asyncio stream. This client does only what the
gateway needs: one origin, keep-alive with a bounded idle pool, request bodies from bytes
or an async iterator with a known Content-Length, response bodies by Content-Length,
chunked transfer coding or connection close, and HEAD/1xx/204/304 without bodies.
Responses are parsed by llhttp (``httptools.HttpResponseParser``, the parser uvicorn
uses), not by code of our own: a malformed answer is ``BackendUnavailable`` (S3's 503).

A connection goes back to the pool only when its response was read to the end and neither
side asked to close. A request that fails on a reused connection before any response byte
arrived is retried once on a fresh one, but only when its body can be sent again (bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httptools  # type: ignore[import-untyped]  # llhttp; ships no type hints

HEAD_LIMIT = 64 * 1024
READ_SIZE = 256 * 1024
IDLE_SECONDS = 20.0
WRITE_BUFFER = 1024 * 1024


class BackendUnavailable(Exception):
    """The storage could not be reached or broke the exchange."""


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0
    reused: bool = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _Parse:
    """httptools callbacks for one response: the final head, then body pieces as parsed."""

    __slots__ = (
        "complete",
        "head_done",
        "head_only",
        "head_size",
        "headers",
        "keep",
        "parser",
        "pieces",
        "status",
    )

    def __init__(self, head_only: bool):
        self.parser = httptools.HttpResponseParser(self)
        self.head_only = head_only
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False
        self.pieces: list[bytes] = []
        self.head_size = 0
        self.keep = False

    def on_message_begin(self) -> None:
        self.headers = []  # a 1xx head is followed by the real one

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head_done:  # trailers are not forwarded
            self.headers.append((name, value))
            self.head_size += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status >= 200 or status == 101:
            self.status = status
            self.head_done = True
            # Asked here: once the message is complete llhttp has reset its flags.
            self.keep = bool(self.parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        if not self.head_only and not self.complete:
            self.pieces.append(body)

    def on_message_complete(self) -> None:
        if self.head_done:
            self.complete = True

    def feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            raise BackendUnavailable("storage answer unreadable") from None


@dataclass
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    _client: Http1Client
    _connection: _Connection | None
    _parse: _Parse | None
    _until_close: bool  # no length and not chunked: the body ends with the connection
    _keep: bool
    _done: bool = False

    def header(self, name: str) -> str | None:
        key = name.lower().encode("latin-1")
        for k, v in self.headers:
            if k.lower() == key:
                return v.decode("latin-1")
        return None

    async def iter_body(self) -> AsyncIterator[bytes]:
        conn, parse = self._connection, self._parse
        if conn is None or parse is None or self._done:
            return
        reader = conn.reader
        try:
            while True:
                if parse.pieces:
                    pieces, parse.pieces = parse.pieces, []
                    for piece in pieces:
                        yield piece
                if parse.complete:
                    break
                data = await reader.read(READ_SIZE)
                if not data:
                    if self._until_close:
                        self._keep = False
                        break
                    raise BackendUnavailable("storage closed the connection mid-body")
                parse.feed(data)
            self._done = True
        finally:
            if not self._done:
                self._keep = False

    async def read(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for piece in self.iter_body():
            size += len(piece)
            if size > limit:
                raise BackendUnavailable("storage answer too large")
            parts.append(piece)
        return b"".join(parts)

    async def aclose(self) -> None:
        conn, self._connection = self._connection, None
        if conn is None:
            return
        if self._done and self._keep:
            self._client.release(conn)
        else:
            conn.close()


class Http1Client:
    def __init__(self, host: str, port: int, *, tls: ssl.SSLContext | None = None,
                 max_idle: int = 128, connect_timeout: float = 10.0,
                 head_timeout: float = 300.0):
        self.host = host
        self.port = port
        self.tls = tls
        self.max_idle = max_idle
        self.connect_timeout = connect_timeout
        self.head_timeout = head_timeout
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=self.tls,
                                        server_hostname=self.host if self.tls else None,
                                        limit=HEAD_LIMIT),
                self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise BackendUnavailable(f"cannot connect: {type(exc).__name__}") from None
        # A deeper write buffer than asyncio's 64 KiB lets a streamed upload keep reading
        # from the client while the storage takes the previous pieces.
        writer.transport.set_write_buffer_limits(high=WRITE_BUFFER)
        return _Connection(reader, writer)

    def _take(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since < IDLE_SECONDS and not conn.reader.at_eof():
                conn.reused = True
                return conn
            conn.close()
        return None

    def release(self, conn: _Connection) -> None:
        if len(self._idle) >= self.max_idle or conn.reader.at_eof():
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    async def aclose(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    async def request(self, method: str, target: str, headers: Sequence[tuple[str, str]],
                      body: bytes | AsyncIterator[bytes] | None = None) -> Response:
        head = _head(method, target, headers)
        conn = self._take()
        if conn is not None:
            try:
                return await self._exchange(conn, method, head, body)
            except _StaleConnection:
                if not isinstance(body, bytes | type(None)):
                    raise BackendUnavailable("storage closed a kept-alive connection") from None
        conn = await self._connect()
        try:
            return await self._exchange(conn, method, head, body)
        except _StaleConnection:
            raise BackendUnavailable("storage closed the connection") from None

    async def _exchange(self, conn: _Connection, method: str, head: bytes,
                        body: bytes | AsyncIterator[bytes] | None) -> Response:
        writer = conn.writer
        try:
            if isinstance(body, bytes) or body is None:
                writer.write(head + (body or b""))
                await writer.drain()
            else:
                writer.write(head)
                async for piece in body:
                    writer.write(piece)
                    await writer.drain()
                await writer.drain()
        except (OSError, RuntimeError) as exc:
            conn.close()
            if conn.reused and (isinstance(body, bytes) or body is None):
                raise _StaleConnection() from None
            raise BackendUnavailable(f"sending failed: {type(exc).__name__}") from None
        except BaseException:
            conn.close()  # the body failed (a bad signature...): the upload is cut off
            raise
        parse = _Parse(head_only=method == "HEAD")
        reader = conn.reader
        received = 0
        try:
            async with asyncio.timeout(self.head_timeout):
                while not parse.head_done:
                    data = await reader.read(READ_SIZE)
                    if not data:
                        conn.close()
                        if conn.reused and not received:
                            raise _StaleConnection()
                        raise BackendUnavailable("storage closed the connection")
                    received += len(data)
                    parse.feed(data)
                    if (received if not parse.head_done else parse.head_size) > HEAD_LIMIT:
                        raise BackendUnavailable("storage answer head too large")
        except (_StaleConnection, BackendUnavailable):
            conn.close()
            raise
        except (TimeoutError, OSError):
            conn.close()
            raise BackendUnavailable("storage answer unreadable") from None
        except BaseException:
            conn.close()
            raise
        status, headers = parse.status, parse.headers
        length: int | None = None
        chunked = False
        for name, value in headers:
            lower = name.lower()
            if lower == b"content-length":
                length = int(value)  # llhttp accepted it: digits only
            elif lower == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        keep = parse.keep
        no_body = method == "HEAD" or status in (204, 304)
        until_close = not no_body and length is None and not chunked
        response = Response(status, headers, self, conn, parse, until_close, keep)
        if no_body or (parse.complete and not parse.pieces):
            response._done = True
        return response


class _StaleConnection(Exception):
    """A reused connection was already closed by the storage."""


def _head(method: str, target: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError("header with a line break")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
