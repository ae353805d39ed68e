"""Forwarding a decided request to the storage: the body verified as it streams, the
answer streamed back (documents that name the storage itself rewritten first).

Sending starts only once the body decoder released verified bytes, and the decoder holds
back the tail until ``finish()`` verified it, so a failed check (raised into the storage
request, which is then cut off) never leaves a complete object behind.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from opensts.s3.actions import Need
from opensts.s3.bucket_xml import canonical_user_id
from opensts.s3.errors import S3Error
from opensts.sigv4.chunked import body_decoder
from opensts.web.s3.backend import (
    ERROR_BODY_LIMIT,
    backend_error,
    forwarded_headers,
    read_limited,
    response_headers,
)
from opensts.web.s3.body import ClientGone, has_body, read_small
from opensts.web.s3.buckets import check_acl_headers
from opensts.web.s3.http1 import BackendUnavailable
from opensts.web.s3.objects import copy_source_headers

if TYPE_CHECKING:
    from opensts.web.asgi import Receive
    from opensts.web.s3.gateway import Call, S3Gateway

log = logging.getLogger("opensts.s3")

# Operations whose request body is forwarded as a stream (objects, parts); other bodies
# are small XML documents read whole under SMALL_BODY_LIMIT.
STREAMED = frozenset({"PutObject", "UploadPart"})
# Answers rewritten before they go out (small documents, read whole).
REWRITTEN = frozenset({"CompleteMultipartUpload", "ListObjects", "ListObjectsV2",
                       "ListObjectVersions", "ListMultipartUploads", "ListParts"})
LISTING_LIMIT = 16 * 1024 * 1024
_OWNERS = re.compile(rb"<(Owner|Initiator)>.*?</(?:Owner|Initiator)>", re.DOTALL)
# Operations that take x-amz-acl / x-amz-grant-* (refused but for bucket-owner-full-control).
ACL_CHECKED = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "PostObject"})


async def forward(gateway: S3Gateway, call: Call, receive: Receive) -> None:
    """Send the request to the storage and stream its answer back."""
    assert call.target is not None
    bucket, key = call.target.bucket, call.target.key
    out_headers = forwarded_headers(call.headers)
    if "x-amz-copy-source" in call.header_map:
        out_headers += await copy_source_headers(gateway, call)
    if call.operation in ACL_CHECKED:
        check_acl_headers(call)
    content: AsyncIterator[bytes] | bytes | None = None
    if has_body(call):
        decoder = body_decoder(call.auth, call.headers)
        length = decoder.decoded_length
        if length is None:
            raise S3Error("MissingContentLength",
                          "You must provide the Content-Length HTTP header.", 411)
        if call.operation in STREAMED and length > 0:
            content = await _started(_stream(call, receive, decoder))
        else:
            content = await read_small(call, receive, decoder)
        for name, value in decoder.checksum_headers.items():
            out_headers.append((name.lower(), value))
        out_headers.append(("content-length", str(length)))
    elif call.method in ("PUT", "POST"):
        out_headers.append(("content-length", "0"))
    request = gateway.backend.build(call.method, bucket, key, call.query_pairs, out_headers,
                                 content=content)
    response = await gateway.backend.send(request)
    try:
        status = response.status
        if status >= 400 or (300 <= status < 400 and status != 304):
            error = backend_error(status, await read_limited(response, ERROR_BODY_LIMIT)
                                  if call.method != "HEAD" else b"")
            if (status == 404 and error.code in ("NoSuchKey", "NotFound")
                    and call.target.key is not None and not await _may_list(gateway, call)):
                # S3 tells a missing key from a forbidden one only to callers allowed
                # s3:ListBucket on the bucket (API Reference, GetObject "Permissions"):
                # anyone else gets 403, so keys cannot be probed for existence.
                raise S3Error("AccessDenied", "Access Denied", 403) from None
            raise error
        if call.target.key is not None and call.method in ("PUT", "DELETE", "POST"):
            gateway.tags.forget(bucket or "", key or "")
        sent = response.header("content-length")
        call.extra["bytes_out"] = int(sent) if sent and sent.isdigit() else 0
        if not await gateway._audit(call, None):
            raise S3Error("ServiceUnavailable",
                          "The service could not record the request. Please try again.",
                          503)
        if call.operation in REWRITTEN and status == 200:
            document = await read_limited(response, LISTING_LIMIT)
            headers = [(k, v) for k, v in response_headers(response.headers)
                       if k != b"content-length"]
            await call.reply.full(status, _rewrite(gateway, call, document), None, headers)
            return
        await call.reply.start(status, response_headers(response.headers))
        try:
            async for chunk in response.iter_body():
                await call.reply.body(chunk, more=True)
        except BackendUnavailable:
            log.warning("storage broke off an answer (request %s)", call.reply.request_id)
            return  # the answer started: the connection is cut short
        await call.reply.body(b"")
    finally:
        await response.aclose()

def _rewrite(gateway: S3Gateway, call: Call, document: bytes) -> bytes:
    """What the storage says about itself, said about the gateway: its URL in
    CompleteMultipartUpload's <Location>, its own user as <Owner>/<Initiator> of
    listings (S3 names the bucket owner's canonical user; BucketOwnerEnforced)."""
    if call.operation == "CompleteMultipartUpload":
        public = f"{'https' if call.meta.secure else 'http'}://{call.meta.host}"
        return document.replace(gateway.backend.url.encode(), public.encode())
    if call.bucket is None:
        return document
    owner = canonical_user_id(call.bucket.account_id).encode()
    return _OWNERS.sub(lambda m: b"<%s><ID>%s</ID></%s>" % (m[1], owner, m[1]), document)

async def _stream(call: Call, receive: Receive, decoder: Any) -> AsyncIterator[bytes]:
    """The decoded body; the decoder holds back the tail until ``finish`` verified it,
    so a failure here (raised into the storage request) aborts the upload before it is
    complete."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        call.bytes_in += len(chunk)
        if chunk:
            out = decoder.feed(chunk)
            if out:
                yield out
        if not message.get("more_body", False):
            break
    call.body_read = True
    tail = decoder.finish()
    if tail:
        yield tail


async def _started(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``stream`` with its first piece already read: the storage request starts only once
    the decoder released verified bytes. (A storage may keep an empty object when a request
    ends before its first body byte; SeaweedFS does. A body cut off later is discarded.)"""
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        first = b""

    async def chained() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for piece in stream:
            yield piece

    return chained()


async def _may_list(gateway: S3Gateway, call: Call) -> bool:
    """Whether the caller may s3:ListBucket the request's bucket (decided like any Need)."""
    bucket = (call.target.bucket if call.target else None) or ""
    need = Need("s3:ListBucket", f"arn:aws:s3:::{bucket}", bucket, None)
    contexts = gateway._contexts(call, [need])
    decisions = await asyncio.to_thread(gateway._decide, call, [need], contexts, True)
    return decisions is not None and bool(decisions[0].allowed)
