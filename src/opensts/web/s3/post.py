"""Browser-based uploads: POST Object (API_PostObject; sigv4-authentication-HTTPPOST).

The body is ``multipart/form-data``: form fields, then the ``file`` part (fields after it
are ignored, as S3 does). The fields carry the signature and the policy document, which
``sigv4.post_policy`` verifies; the policy's conditions bound the upload. The file's size is
known only at its end while the storage needs a Content-Length, so the file is spooled to a
private temporary file in the data dir first (bounded by the policy's
``content-length-range`` or 5 GiB), checked, then streamed to the storage as a PutObject.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from python_multipart.multipart import MultipartParser, parse_options_header

from opensts.s3 import actions as s3_actions
from opensts.s3 import conditions as s3_conditions
from opensts.s3.addressing import Target
from opensts.s3.errors import S3Error, invalid_argument, no_such_bucket
from opensts.services.authn import record_use, resolve_credentials
from opensts.sigv4.errors import ExpiredToken, InvalidClientTokenId
from opensts.sigv4.post_policy import parse_post, verify_post
from opensts.web.s3.backend import backend_error, read_limited
from opensts.web.s3.body import ClientGone
from opensts.web.s3.buckets import check_acl_headers
from opensts.web.s3.objects import check_key
from opensts.wire.xml import text

if TYPE_CHECKING:
    from opensts.web.asgi import Receive
    from opensts.web.s3.gateway import Call, S3Gateway

FIELDS_LIMIT = 64 * 1024  # S3 caps what precedes the file at 20 KB
MAX_FILE = 5 * 1024 * 1024 * 1024
# Form fields that become request headers of the stored object (API_PostObject).
HEADER_FIELDS = ("content-type", "cache-control", "content-disposition", "content-encoding",
                 "expires", "x-amz-storage-class", "x-amz-server-side-encryption",
                 "x-amz-website-redirect-location")
NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


def malformed_post() -> S3Error:
    return S3Error("MalformedPOSTRequest", "The body of your POST request is not well-formed "
                   "multipart/form-data.", 400)


class _Form:
    """Push-parser state: fields until the file part, then the file into a spool."""

    def __init__(self, spool: Any, limit: int):
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_started = False
        self.file_done = False
        self.size = 0
        self.limit = limit
        self.spool = spool
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._value = bytearray()
        self._field_bytes = 0
        self._name: str | None = None
        self._in_file = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_header_field": self._header_field,
            "on_header_value": self._header_value_cb, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._value = bytearray()
        self._name = None
        self._in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._name = name
        if name.lower() == "file" and not self.file_done:
            self._in_file = True
            self.file_started = True
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", "replace") if filename else None
            content_type = self._headers.get(b"content-type")
            if content_type and "content-type" not in {k.lower() for k in self.fields}:
                self.fields.setdefault("_file_content_type", content_type.decode("latin-1"))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if self._in_file:
            self.size += len(piece)
            if self.size > self.limit:
                raise _TooLarge()
            self.spool.write(piece)
        elif not self.file_done:
            self._field_bytes += len(piece)
            if self._field_bytes > FIELDS_LIMIT:
                raise S3Error("MaxPostPreDataLengthExceeded",
                              "Your POST request fields preceeding the upload file were too "
                              "large.", 400)
            self._value += piece

    def _part_end(self) -> None:
        if self._in_file:
            self.file_done = True
            self._in_file = False
        elif self._name is not None and not self.file_done:
            self.fields[self._name] = self._value.decode("utf-8", "replace")


class _TooLarge(Exception):
    pass


async def serve(gateway: S3Gateway, call: Call, receive: Receive) -> None:
    assert call.target is not None
    bucket_name = call.target.bucket or ""
    content_type, options = parse_options_header(call.header_map.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise malformed_post()
    spool_dir = gateway.settings.data_dir / "tmp"
    spool_dir.mkdir(mode=0o700, exist_ok=True)
    spool = tempfile.NamedTemporaryFile(dir=spool_dir, delete=False)  # noqa: SIM115
    try:
        form = _Form(spool, MAX_FILE)
        parser = MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone()
                chunk = message.get("body", b"")
                call.bytes_in += len(chunk)
                if chunk and not form.file_done:
                    # The parser writes the file part to the spool: off the event loop.
                    await asyncio.to_thread(parser.write, chunk)
                if not message.get("more_body", False):
                    break
            call.body_read = True
        except _TooLarge:
            raise S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum "
                          "allowed size", 400) from None
        except S3Error:
            raise
        except ClientGone:
            raise
        except Exception:
            raise malformed_post() from None
        spool.flush()
        if not form.file_done:
            raise invalid_argument("POST requires exactly one file upload per request.",
                                   "file", "0")
        await _store(gateway, call, form, spool.name, bucket_name)
    finally:
        spool.close()
        os.unlink(spool.name)


async def _store(gateway: S3Gateway, call: Call, form: _Form, path: str,
                 bucket_name: str) -> None:
    fields = form.fields
    lower = {k.lower(): v for k, v in fields.items() if not k.startswith("_")}
    signed = parse_post(fields)
    key: str
    if signed is not None:
        post_auth = await asyncio.to_thread(_verify, gateway, call, signed, fields,
                                            bucket_name, form.filename)
        call.auth = post_auth.auth
        key = post_auth.key
        post_auth.check_size(form.size)
    else:
        key = lower.get("key", "")
        if not key:
            raise invalid_argument("Bucket POST must contain a field named 'key'.  If it is "
                                   "specified, please check the order of the fields.",
                                   "key", "")
        key = key.replace("${filename}", form.filename or "")
    check_key(key)
    call.target = Target(bucket_name, key, call.target.style if call.target else "path")
    call.bucket = await asyncio.to_thread(gateway.runtime.store.find_bucket, bucket_name)
    if call.bucket is None:
        raise no_such_bucket(bucket_name)
    if "acl" in lower:
        call.header_map["x-amz-acl"] = lower["acl"]
    check_acl_headers(call)
    body_keys: dict[str, str | list[str]] = {}
    tagging_header: str | None = None
    if "tagging" in lower:
        from opensts.s3.bucket_xml import parse_tagging

        tags = parse_tagging(lower["tagging"].encode())
        body_keys = s3_conditions.tag_conditions((t.key, t.value) for t in tags)
        tagging_header = urlencode([(t.key, t.value) for t in tags])
    needs = s3_actions.needs("PostObject", call.target, {}, lower)
    base = gateway.gateway_context(call)
    contexts = []
    for need in needs:
        ctx = dict(base)
        ctx.update(s3_conditions.condition_context("PostObject", need, {}, lower,
                                                   body=body_keys))
        contexts.append(ctx)
    decisions = await asyncio.to_thread(gateway._decide, call, needs, contexts, True)
    assert decisions is not None
    from opensts.services.s3.authorize import s3_access_denied

    for need, decision in zip(needs, decisions, strict=True):
        if not decision.allowed:
            gateway._record_denial(call, need, decision)
            raise s3_access_denied(call.caller, need, decision)
    headers: list[tuple[str, str]] = [("content-length", str(form.size))]
    for name in HEADER_FIELDS:
        if name in lower:
            headers.append((name, lower[name]))
    if "content-type" not in lower and "_file_content_type" in fields:
        headers.append(("content-type", fields["_file_content_type"]))
    headers += [(k, v) for k, v in lower.items() if k.startswith("x-amz-meta-")]
    if tagging_header is not None:
        headers.append(("x-amz-tagging", tagging_header))
    request = gateway.backend.build("PUT", bucket_name, key, [], headers,
                                    content=_file_chunks(path))
    response = await gateway.backend.send(request)
    try:
        answer = await read_limited(response, 64 * 1024)
        if response.status >= 300:
            raise backend_error(response.status, answer)
        etag = response.header("etag") or ""
    finally:
        await response.aclose()
    if not await gateway._audit(call, None):
        raise S3Error("ServiceUnavailable",
                      "The service could not record the request. Please try again.", 503)
    await _answer(call, lower, bucket_name, key, etag)


def _verify(gateway: S3Gateway, call: Call, signed: Any, fields: dict[str, str],
            bucket: str, filename: str | None) -> Any:
    gateway.runtime.refresh_keys()
    from opensts.web.s3.gateway import _unknown_credentials

    try:
        caller, secret, expires = resolve_credentials(gateway.runtime, signed, call.now)
    except InvalidClientTokenId:
        raise _unknown_credentials(signed) from None
    except ExpiredToken:
        raise S3Error("ExpiredToken", "The provided token has expired.", 400) from None
    call.caller = caller
    verified = verify_post(signed, {k: v for k, v in fields.items() if not k.startswith("_")},
                           bucket=bucket, secret_access_key=secret, now=call.now,
                           key_cache=gateway.runtime.signing_keys,
                           regions={gateway.settings.s3_region}, filename=filename,
                           token_expires_at=expires)
    record_use(gateway.runtime, signed, "s3", call.now)
    return verified


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        while True:
            chunk = await asyncio.to_thread(handle.read, 1024 * 1024)
            if not chunk:
                return
            yield chunk
    finally:
        handle.close()


async def _answer(call: Call, lower: dict[str, str], bucket: str, key: str,
                  etag: str) -> None:
    """success_action_redirect (303), else success_action_status 200/201/204 (default 204)."""
    location = f"/{quote(bucket)}/{quote(key)}"
    redirect = lower.get("success_action_redirect") or lower.get("redirect")
    if redirect:
        sep = "&" if "?" in redirect else "?"
        target = redirect + sep + urlencode({"bucket": bucket, "key": key, "etag": etag})
        await call.reply.full(303, b"", None, [(b"location", target.encode("latin-1")),
                                               (b"etag", etag.encode("latin-1"))])
        return
    status = lower.get("success_action_status", "204")
    if status == "201":
        payload = (f'<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse xmlns="{NAMESPACE}">'
                   f"<Location>{text(location)}</Location><Bucket>{text(bucket)}</Bucket>"
                   f"<Key>{text(key)}</Key><ETag>{text(etag)}</ETag></PostResponse>").encode()
        await call.reply.full(201, payload, b"application/xml",
                              [(b"etag", etag.encode("latin-1")),
                               (b"location", location.encode("latin-1"))])
        return
    code = 200 if status == "200" else 204
    await call.reply.full(code, b"", None, [(b"etag", etag.encode("latin-1")),
                                            (b"location", location.encode("latin-1"))])
