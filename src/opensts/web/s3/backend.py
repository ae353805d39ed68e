"""Forward a decided request to the S3 storage behind the gateway, streaming both ways.

What reaches the backend is built, not copied: path-style URL from the bucket and key the
gateway located (each key byte URI-encoded once), the query minus the client's signature
parameters, an allow-list of request headers, and a fresh SigV4 signature with the
backend's own keys (``UNSIGNED-PAYLOAD``: the gateway itself verified the client's payload
as it streamed, see ``sigv4.s3``'s ``BodyDecoder``). Answers stream back with an allow-list
of response headers; errors are re-rendered with the gateway's request id.

Memory per request is bounded by the chunk sizes of the ASGI server and of
``web.s3.http1``, never by the object size.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from opensts.config import Settings
from opensts.s3.errors import S3Error
from opensts.s3.operations import SUBRESOURCES
from opensts.sigv4.canonical import UNSIGNED_PAYLOAD, uri_encode
from opensts.sigv4.outbound import sign_headers
from opensts.sigv4.signing import SigningKeyCache
from opensts.web.s3.http1 import BackendUnavailable, Http1Client, Response

log = logging.getLogger("opensts.s3")

# Request headers a client may pass to the storage (Amazon S3 API Reference, the request
# headers of PutObject, GetObject, CopyObject, UploadPart, CreateMultipartUpload, ...).
# Everything else is dropped: the backend must not see the client's credentials, hop-by-hop
# headers or anything that changes how it authenticates or routes the request.
FORWARD_REQUEST = frozenset(
    {
        "range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since",
        "content-type", "content-disposition", "content-language", "cache-control",
        "expires", "content-md5",
        "x-amz-tagging", "x-amz-storage-class", "x-amz-metadata-directive",
        "x-amz-tagging-directive", "x-amz-website-redirect-location",
        "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context", "x-amz-server-side-encryption-bucket-key-enabled",
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-server-side-encryption-customer-key",
        "x-amz-server-side-encryption-customer-key-md5",
        "x-amz-copy-source-if-match", "x-amz-copy-source-if-none-match",
        "x-amz-copy-source-if-modified-since", "x-amz-copy-source-if-unmodified-since",
        "x-amz-copy-source-range",
        "x-amz-copy-source-server-side-encryption-customer-algorithm",
        "x-amz-copy-source-server-side-encryption-customer-key",
        "x-amz-copy-source-server-side-encryption-customer-key-md5",
        "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
        "x-amz-object-lock-legal-hold", "x-amz-bypass-governance-retention",
        "x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-mfa",
        "x-amz-request-payer", "x-amz-max-parts",
        "x-amz-part-number-marker", "x-amz-object-attributes", "x-amz-delete-marker",
        "x-amz-optional-object-attributes", "x-amz-write-offset-bytes",
    }
)
# Response headers passed back (S3's object and operation response headers).
FORWARD_RESPONSE_PREFIXES = ("x-amz-",)
FORWARD_RESPONSE = frozenset(
    {
        "content-type", "content-length", "content-range", "content-encoding",
        "content-disposition", "content-language", "cache-control", "expires", "etag",
        "last-modified", "accept-ranges", "location",
    }
)
DROP_RESPONSE = frozenset({"x-amz-request-id", "x-amz-id-2"})
# Query parameters that belong to the client's signature (presigned URLs), never forwarded.
SIGNATURE_QUERY = frozenset(
    {
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
        "AWSAccessKeyId", "Signature", "x-id",
    }
)
# Query parameters passed to the storage: S3's sub-resources (the operation identified) and
# the request parameters of S3's operations. Anything else (a parameter only the storage
# understands) is dropped, so it cannot make the storage do what was not decided.
FORWARD_QUERY = SUBRESOURCES | frozenset(
    {
        "list-type", "prefix", "delimiter", "max-keys", "marker", "continuation-token",
        "fetch-owner", "start-after", "encoding-type", "key-marker", "version-id-marker",
        "upload-id-marker", "max-uploads", "partNumber", "max-parts", "part-number-marker",
        "versionId", "response-content-type", "response-content-language",
        "response-expires", "response-cache-control", "response-content-disposition",
        "response-content-encoding", "id", "select-type", "uploadId",
    }
)
ERROR_BODY_LIMIT = 64 * 1024
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False)


@dataclass(frozen=True)
class Prepared:
    method: str
    target: str  # path and query, as on the wire
    headers: list[tuple[str, str]]
    body: AsyncIterator[bytes] | bytes | None


class Backend:
    """The storage: one pooled HTTP/1.1 client, the backend's keys, path-style addressing."""

    def __init__(self, settings: Settings):
        if not settings.s3_backend_url:
            raise ValueError("no S3 backend configured")
        self.url = settings.s3_backend_url
        parts = urlsplit(self.url)
        self.host = parts.netloc
        self.access_key_id = settings.s3_backend_access_key_id or ""
        self._secret = settings.s3_backend_secret_access_key or ""
        self.region = settings.s3_backend_region
        self.keys = SigningKeyCache(max_entries=16)
        tls = None
        if parts.scheme == "https":
            tls = ssl.create_default_context(cafile=settings.ca_bundle)
        self.client = Http1Client(parts.hostname or "", parts.port or (443 if tls else 80),
                                  tls=tls)

    def __repr__(self) -> str:  # the secret never appears in logs
        return f"Backend({self.url!r}, access_key_id={self.access_key_id!r})"

    async def aclose(self) -> None:
        await self.client.aclose()

    def build(
        self,
        method: str,
        bucket: str | None,
        key: str | None,
        query: Sequence[tuple[str, str]],
        headers: Sequence[tuple[str, str]],
        *,
        content: AsyncIterator[bytes] | bytes | None = None,
        payload_hash: str = UNSIGNED_PAYLOAD,
    ) -> Prepared:
        """A signed request for the backend; ``headers`` are already allow-listed."""
        path = "/"
        if bucket:
            path += uri_encode(bucket)
            if key is not None:
                path += "/" + uri_encode(key, keep_slash=True)
        raw_query = "&".join(
            f"{uri_encode(name)}={uri_encode(value)}"
            for name, value in query
            if name in FORWARD_QUERY and name not in SIGNATURE_QUERY
        )
        signed = sign_headers(
            method=method,
            raw_path=path,
            raw_query=raw_query,
            headers=[("Host", self.host), *headers],
            access_key_id=self.access_key_id,
            secret_access_key=self._secret,
            region=self.region,
            service="s3",
            now=datetime.now(UTC),
            payload_hash=payload_hash,
            content_sha256_header=True,
            key_cache=self.keys,
        )
        target = path + (f"?{raw_query}" if raw_query else "")
        return Prepared(method, target, signed, content)

    async def send(self, request: Prepared) -> Response:
        """Send; the response body is left to stream. Connection failures are S3's 503."""
        try:
            return await self.client.request(request.method, request.target, request.headers,
                                             request.body)
        except BackendUnavailable as exc:
            log.warning("S3 backend unavailable: %s", exc)
            raise S3Error("ServiceUnavailable", "Please reduce your request rate.", 503) from None

    async def call(
        self, method: str, bucket: str | None, key: str | None = None,
        query: Sequence[tuple[str, str]] = (), body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
    ) -> tuple[int, Response, bytes]:
        """A small request whose answer fits in memory (bucket creation, tagging reads)."""
        request = self.build(
            method, bucket, key, query,
            [*headers, ("Content-Length", str(len(body)))] if body or method in ("PUT", "POST")
            else headers,
            content=body or None, payload_hash=hashlib.sha256(body).hexdigest(),
        )
        response = await self.send(request)
        try:
            data = await read_limited(response, 4 * 1024 * 1024)
        finally:
            await response.aclose()
        return response.status, response, data


async def read_limited(response: Response, limit: int) -> bytes:
    try:
        return await response.read(limit)
    except BackendUnavailable:
        raise S3Error("InternalError", "The storage answered unreadably.", 500) from None


def response_headers(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        lower = name.lower().decode("latin-1")
        if lower in DROP_RESPONSE:
            continue
        if lower in FORWARD_RESPONSE or lower.startswith(FORWARD_RESPONSE_PREFIXES):
            out.append((lower.encode("latin-1"), value))
    return out


def backend_error(status: int, body: bytes) -> S3Error:
    """The backend's ``<Error>`` as an S3Error (code and message kept, its ids dropped)."""
    code, message, fields = "", "", {}
    if body:
        with contextlib.suppress(etree.XMLSyntaxError, ValueError):
            root = etree.fromstring(body, _PARSER)
            for child in root:
                if not isinstance(child.tag, str):
                    continue
                text = (child.text or "").strip()
                if child.tag == "Code":
                    code = text
                elif child.tag == "Message":
                    message = text
                elif child.tag in ("BucketName", "Key", "ArgumentName", "ArgumentValue",
                                   "UploadId", "PartNumber", "ETag", "Condition"):
                    fields[child.tag] = text
    if not code:
        code, message = _STATUS_CODES.get(status, ("InternalError", "We encountered an "
                                                   "internal error. Please try again."))
    return S3Error(code, message, status if status >= 400 else 500, fields=fields)


# HEAD answers carry no body: their code comes from the status, as S3's SDKs read it.
_STATUS_CODES = {
    304: ("NotModified", "Not Modified"),
    400: ("BadRequest", "Bad Request"),
    403: ("AccessDenied", "Access Denied"),
    404: ("NotFound", "Not Found"),
    405: ("MethodNotAllowed", "The specified method is not allowed against this resource."),
    409: ("Conflict", "Conflict"),
    412: ("PreconditionFailed", "At least one of the pre-conditions you specified did not "
          "hold"),
    416: ("InvalidRange", "The requested range is not satisfiable"),
    501: ("NotImplemented", "A header you provided implies functionality that is not "
          "implemented."),
    503: ("ServiceUnavailable", "Please reduce your request rate."),
}


def forwarded_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The client's headers the backend may see (allow-list plus user metadata)."""
    out = []
    for name, value in headers:
        if name in FORWARD_REQUEST or name.startswith("x-amz-meta-"):
            out.append((name, value))
        elif name == "content-encoding":
            # aws-chunked is the client-to-gateway framing, decoded here; keep the rest.
            kept = [p.strip() for p in value.split(",") if p.strip().lower() != "aws-chunked"]
            if kept:
                out.append((name, ", ".join(kept)))
    return out
