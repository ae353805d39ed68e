"""Answers the gateway sends itself: S3 XML documents and errors, each with the request ids.

Amazon S3 API Reference, "Common response headers": every answer carries
``x-amz-request-id`` and ``x-amz-id-2``; error bodies are S3's ``<Error>`` document
(``opensts.s3.errors.error_xml``), empty for HEAD requests.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from opensts.errors import AwsError
from opensts.s3.errors import error_xml
from opensts.web.asgi import Send


def new_request_id() -> str:
    """S3's shape: 16 upper-case hex digits."""
    return secrets.token_hex(8).upper()


def new_host_id() -> str:
    return base64.b64encode(secrets.token_bytes(48)).decode()


@dataclass
class Reply:
    """The one answer of one request: remembers whether it started (an error after the
    start can only cut the connection) and how many body bytes went out."""

    send: Send
    request_id: str
    host_id: str
    head: bool = False  # HEAD: headers only
    started: bool = False
    status: int = 0
    bytes_out: int = 0
    extra_headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def ids(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-amz-request-id", self.request_id.encode()),
            (b"x-amz-id-2", self.host_id.encode()),
        ]

    async def start(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self.started = True
        self.status = status
        await self.send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, *self.ids(), *self.extra_headers],
            }
        )

    async def body(self, data: bytes, more: bool = False) -> None:
        if self.head:
            data = b""
        self.bytes_out += len(data)
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def full(
        self, status: int, payload: bytes = b"", content_type: bytes | None = b"application/xml",
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        out = list(headers)
        if content_type is not None and payload:
            out.append((b"content-type", content_type))
        out.append((b"content-length", str(len(payload)).encode()))
        await self.start(status, out)
        await self.body(payload)

    async def xml(self, payload: bytes, status: int = 200,
                  headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        await self.full(status, payload, b"application/xml", headers)

    async def error(self, error: AwsError, resource: str) -> None:
        payload = error_xml(error, resource=resource, request_id=self.request_id,
                            host_id=self.host_id)
        if self.head:
            # HEAD has no body: clients read the code from the status alone.
            await self.start(error.status, [(b"content-type", b"application/xml")])
            await self.body(b"")
            return
        await self.full(error.status, payload)
