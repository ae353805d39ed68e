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
from asyncio.streams import FlowControlMixin
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httptools  # type: ignore[import-untyped]  # llhttp; ships no type hints

HEAD_LIMIT = 64 * 1024
# One read hands at most READ_SIZE bytes on; a connection stops reading its socket while
# more than READ_BUFFER bytes wait, so it holds about that much whatever the object size.
READ_SIZE = 256 * 1024
READ_BUFFER = 1024 * 1024
IDLE_SECONDS = 20.0
WRITE_BUFFER = 1024 * 1024


class BackendUnavailable(Exception):
    """The storage could not be reached or broke the exchange."""


class _Stream(FlowControlMixin, asyncio.Protocol):
    """The storage connection's protocol: received bytes kept as the transport delivered
    them (an ``asyncio.StreamReader`` copies each into its buffer and out again), reading
    paused while more than READ_BUFFER waits; writes flow-controlled as asyncio's streams
    (``FlowControlMixin`` backs ``StreamWriter.drain``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        super().__init__(loop=loop)
        self._event_loop = loop
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._eof = False
        self._waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        if not data:
            return
        self._chunks.append(data)
        self._size += len(data)
        self._wake()
        if self._size > READ_BUFFER and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True  # an error is an early end: the caller sees the body cut short
        self._wake()
        super().connection_lost(exc)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def at_eof(self) -> bool:
        return self._eof and not self._chunks

    async def read(self, limit: int) -> bytes:
        """Up to ``limit`` bytes as they arrived; b"" once the storage closed."""
        while not self._chunks:
            if self._eof:
                return b""
            self._waiter = self._event_loop.create_future()
            await self._waiter
        data = self._chunks.popleft()
        if len(data) > limit:
            self._chunks.appendleft(data[limit:])
            data = data[:limit]
        self._size -= len(data)
        if self._reading_paused and self._size <= READ_BUFFER // 2 and self.transport:
            self._reading_paused = False
            self.transport.resume_reading()
        return data


@dataclass
class _Connection:
    reader: _Stream
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
    # Content-Length bodies: the bytes still to come after what the parser saw with the
    # head; they are counted off the stream as they are, without another copy.
    _left: int | None = None

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
                left = self._left
                if left is not None:
                    while left > 0:
                        data = await reader.read(min(left, READ_SIZE))
                        if not data:
                            raise BackendUnavailable("storage closed the connection mid-body")
                        left -= len(data)
                        yield data
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
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                transport, stream = await loop.create_connection(
                    lambda: _Stream(loop), self.host, self.port, ssl=self.tls,
                    server_hostname=self.host if self.tls else None)
        except (OSError, TimeoutError) as exc:
            raise BackendUnavailable(f"cannot connect: {type(exc).__name__}") from None
        # A deeper write buffer than asyncio's 64 KiB lets a streamed upload keep reading
        # from the client while the storage takes the previous pieces.
        transport.set_write_buffer_limits(high=WRITE_BUFFER)
        reader, writer = stream, asyncio.StreamWriter(transport, stream, None, loop)
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
        if length is not None and not chunked and not no_body and not parse.complete:
            response._left = length - sum(len(piece) for piece in parse.pieces)
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
