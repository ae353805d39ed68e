"""DeleteObjects, decided per key (API_DeleteObjects; S3 User Guide, "Deleting multiple
objects"): each key needs ``s3:DeleteObject`` (``s3:DeleteObjectVersion`` with a version
id); only the allowed keys are forwarded, the refused ones come back as ``<Error>`` entries
with ``AccessDenied`` beside the storage's own results. At most 1,000 keys per request.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import TYPE_CHECKING

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from opensts.s3.actions import delete_object_needs
from opensts.s3.errors import S3Error, malformed_xml, no_such_bucket
from opensts.sigv4.chunked import body_decoder
from opensts.web.s3.backend import backend_error
from opensts.web.s3.body import read_small
from opensts.web.s3.objects import check_key
from opensts.wire.xml import text

if TYPE_CHECKING:
    from opensts.web.asgi import Receive
    from opensts.web.s3.gateway import Call, S3Gateway

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_KEYS = 1000
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False, remove_comments=True, remove_pis=True)


def parse_delete(body: bytes) -> tuple[bool, list[tuple[str, str | None]]]:
    """(quiet, [(key, version id)]) from a ``<Delete>`` document."""
    if not body.strip():
        raise malformed_xml()
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        raise malformed_xml() from None
    if etree.QName(root).localname != "Delete":
        raise malformed_xml()
    quiet = False
    objects: list[tuple[str, str | None]] = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "Quiet":
            quiet = (child.text or "").strip().lower() == "true"
        elif name == "Object":
            key: str | None = None
            version: str | None = None
            for part in child:
                if not isinstance(part.tag, str):
                    continue
                part_name = etree.QName(part).localname
                if part_name == "Key":
                    key = part.text or ""
                elif part_name == "VersionId":
                    version = part.text or None
            if not key:
                raise malformed_xml()
            objects.append((key, version))
        else:
            raise malformed_xml()
    if not objects or len(objects) > MAX_KEYS:
        raise malformed_xml()
    return quiet, objects


def render_delete(quiet: bool, objects: list[tuple[str, str | None]]) -> bytes:
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<Delete xmlns="{NAMESPACE}">']
    if quiet:
        parts.append("<Quiet>true</Quiet>")
    for key, version in objects:
        parts.append(f"<Object><Key>{text(key)}</Key>")
        if version:
            parts.append(f"<VersionId>{text(version)}</VersionId>")
        parts.append("</Object>")
    parts.append("</Delete>")
    return "".join(parts).encode()


async def serve(gateway: S3Gateway, call: Call, receive: Receive) -> None:
    assert call.target is not None
    bucket = call.target.bucket or ""
    if call.bucket is None:
        raise no_such_bucket(bucket)
    decoder = body_decoder(call.auth, call.headers)
    quiet, objects = parse_delete(await read_small(call, receive, decoder))
    allowed: list[tuple[str, str | None]] = []
    refused: list[tuple[str, str | None]] = []
    plans = []
    for key, version in objects:
        check_key(key)
        plans.append((key, version, delete_object_needs(bucket, key, version,
                                                        call.header_map)))
    # Every key's authorizations in one trip off the event loop.
    needs = [need for _, _, key_needs in plans for need in key_needs]
    contexts = gateway._contexts(call, needs)
    decisions = await asyncio.to_thread(gateway._decide, call, needs, contexts, False)
    if decisions is None:  # a policy reads object tags: decide key by key, with them
        for key, version, key_needs in plans:
            try:
                await gateway.authorize(call, needs=key_needs)
            except S3Error as denied:
                if denied.code != "AccessDenied":
                    raise
                refused.append((key, version))
                continue
            allowed.append((key, version))
    else:
        index = 0
        for key, version, key_needs in plans:
            verdicts = decisions[index:index + len(key_needs)]
            index += len(key_needs)
            denied_at = next((i for i, d in enumerate(verdicts) if not d.allowed), None)
            if denied_at is None:
                allowed.append((key, version))
                continue
            gateway._record_denial(call, key_needs[denied_at], verdicts[denied_at])
            refused.append((key, version))
    deleted_xml = b""
    if allowed:
        body = render_delete(quiet, allowed)
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - S3 asks
        status, _, answer = await gateway.backend.call(
            "POST", bucket, None, [("delete", "")], body=body,
            headers=[("Content-MD5", md5), ("Content-Type", "application/xml")])
        if status >= 300:
            raise backend_error(status, answer)
        for key, _ in allowed:
            gateway.tags.forget(bucket, key)
        deleted_xml = _inner(answer)
    parts = [b'<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="',
             NAMESPACE.encode(), b'">', deleted_xml]
    for key, version in refused:
        entry = f"<Error><Key>{text(key)}</Key>"
        if version:
            entry += f"<VersionId>{text(version)}</VersionId>"
        entry += "<Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        parts.append(entry.encode())
    parts.append(b"</DeleteResult>")
    call.extra["refused_keys"] = len(refused)
    if not await gateway._audit(call, None):
        raise S3Error("ServiceUnavailable",
                      "The service could not record the request. Please try again.", 503)
    await call.reply.xml(b"".join(parts))


def _inner(answer: bytes) -> bytes:
    """The storage's ``<Deleted>``/``<Error>`` entries, re-serialised without its ids."""
    try:
        root = etree.fromstring(answer, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        raise S3Error("InternalError", "The storage answered DeleteObjects unreadably.",
                      500) from None
    out: list[bytes] = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name not in ("Deleted", "Error"):
            continue
        fields: list[str] = []
        for part in child:
            if isinstance(part.tag, str):
                fields.append(f"<{etree.QName(part).localname}>{text(part.text or '')}"
                              f"</{etree.QName(part).localname}>")
        out.append(f"<{name}>{''.join(fields)}</{name}>".encode())
    return b"".join(out)

