"""Request bodies that are not streamed through to the storage, and anonymous bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opensts.s3.errors import S3Error

if TYPE_CHECKING:
    from opensts.web.asgi import Receive
    from opensts.web.s3.gateway import Call

# Bucket policies (20 KiB), tag sets, Public Access Block, CompleteMultipartUpload (10,000
# parts) and DeleteObjects (1,000 keys of up to 1,024 bytes) all fit; bodies of these
# operations are read whole, so they get their own bound instead of the server's
# max_body_bytes (which object bodies must not be held to).
SMALL_BODY_LIMIT = 4 * 1024 * 1024


class ClientGone(Exception):
    """The client went away mid-body: the storage request is aborted."""


def has_body(call: Call) -> bool:
    length = call.header_map.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in call.header_map.get("transfer-encoding", "").lower()


def too_big() -> S3Error:
    return S3Error("MaxMessageLengthExceeded", "Your request was too big.", 400)


async def read_small(call: Call, receive: Receive, decoder: Any,
                     limit: int = SMALL_BODY_LIMIT) -> bytes:
    """The whole (decoded, verified) body of a non-object operation."""
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
    call.body_read = True
    parts.append(decoder.finish())
    return b"".join(parts)
