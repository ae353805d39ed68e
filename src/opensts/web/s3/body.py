"""Request bodies that are not streamed through to the storage, and anonymous bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opensts.s3.errors import S3Error

if TYPE_CHECKING:
    from opensts.web.s3.gateway import Call
    from opensts.web.s3.respond import Receive

# Bucket policies (20 KiB), tag sets, Public Access Block, CompleteMultipartUpload (10,000
# parts) and DeleteObjects (1,000 keys of up to 1,024 bytes) all fit; bodies of these
# operations are read whole, so they get their own bound instead of the server's
# max_body_bytes (which object bodies must not be held to).
SMALL_BODY_LIMIT = 4 * 1024 * 1024


def too_big() -> S3Error:
    return S3Error("MaxMessageLengthExceeded", "Your request was too big.", 400)


class PlainBody:
    """An unsigned (anonymous) request's body: only its length is checked here (the
    storage checks Content-MD5); the last byte is held back until the length is right."""

    def __init__(self, headers: Sequence[tuple[str, str]]):
        value = next((v for k, v in headers if k == "content-length"), None)
        self.decoded_length: int | None = (
            int(value) if value is not None and value.strip().isdigit() else None
        )
        self.checksum_headers: dict[str, str] = {}
        self._seen = 0
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        self._seen += len(data)
        if self.decoded_length is not None and self._seen > self.decoded_length:
            raise S3Error("IncompleteBody", "The request body is longer than Content-Length.",
                          400)
        data = self._held + data
        self._held = data[-1:]
        return data[:-1]

    def finish(self) -> bytes:
        if self.decoded_length is not None and self._seen != self.decoded_length:
            raise S3Error(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length "
                "HTTP header",
                400,
            )
        return self._held


async def read_small(call: Call, receive: Receive, decoder: Any,
                     limit: int = SMALL_BODY_LIMIT) -> bytes:
    """The whole (decoded, verified) body of a non-object operation."""
    from opensts.web.s3.gateway import ClientGone

    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        call.bytes_in += len(chunk)
        size += len(chunk)
        if size > limit:
            raise too_big()
        if chunk:
            parts.append(decoder.feed(chunk))
        if not message.get("more_body", False):
            break
    parts.append(decoder.finish())
    return b"".join(parts)
