"""Real S3 client output, captured before it leaves the process: the vectors for the S3 SigV4 tests.

boto3 builds, checksums, chunk-encodes and signs the request exactly as it would for Amazon
S3; a ``before-send`` hook takes the prepared request and stops it there. Nothing is sent.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from opensts.sigv4.chunked import BodyDecoder, body_decoder
from opensts.sigv4.request import SignedRequest
from opensts.sigv4.s3 import S3Auth, parse_s3, verify_s3

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE"
REGION = "us-east-1"
HTTP = "http://127.0.0.1:9000"
HTTPS = "https://127.0.0.1:9443"


@dataclasses.dataclass
class Wire:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def signed(self) -> SignedRequest:
        signed = parse_s3(self.method, self.path, self.query, self.headers)
        assert signed is not None
        return signed

    def verify(self, **overrides: Any) -> S3Auth:
        signed = overrides.pop("signed", None) or self.signed()
        kwargs: dict[str, Any] = {
            "method": self.method,
            "raw_path": self.path,
            "raw_query": self.query,
            "headers": self.headers,
            "secret_access_key": SECRET,
            "now": signed.amz_date,
            "regions": {REGION},
        }
        kwargs.update(overrides)
        return verify_s3(signed, **kwargs)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def decoder(self, auth: S3Auth | None = None) -> BodyDecoder:
        return body_decoder(auth if auth is not None else self.verify(), self.headers)


class _Captured(Exception):
    pass


def _read_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):
        return bytes(body.read())
    return b"".join(bytes(part) for part in body)


def client(endpoint: str = HTTP, *, token: str | None = None, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        aws_session_token=token,
        config=Config(
            s3={"addressing_style": "path"}, retries={"max_attempts": 0},
            **{"signature_version": "s3v4", **config},
        ),
    )


def capture(operation: str, endpoint: str = HTTP, *, token: str | None = None,
            config: dict[str, Any] | None = None, **params: Any) -> Wire:
    """Call ``operation`` with boto3 and return the request it would have sent."""
    s3 = client(endpoint, token=token, **(config or {}))
    seen: dict[str, Any] = {}

    def before_send(request: Any, **_: Any) -> None:
        seen["request"] = request
        raise _Captured

    s3.meta.events.register("before-send.s3.*", before_send)
    with contextlib.suppress(_Captured):
        getattr(s3, operation)(**params)
    request = seen["request"]
    return from_prepared(request.method, request.url, request.headers.items(),
                         _read_body(request.body))


def from_prepared(method: str, url: str, headers: Iterable[tuple[str, Any]],
                  body: bytes) -> Wire:
    parts = urlsplit(url)
    pairs = [(k, v.decode() if isinstance(v, bytes) else str(v)) for k, v in headers]
    if not any(k.lower() == "host" for k, _ in pairs):
        pairs.append(("Host", parts.netloc))
    return Wire(method, parts.path or "/", parts.query, pairs, body)


def presigned(method: str, url: str, extra_headers: Iterable[tuple[str, str]] = ()) -> Wire:
    parts = urlsplit(url)
    return Wire(method, parts.path, parts.query, [("Host", parts.netloc), *extra_headers], b"")


def decode_all(decoder: BodyDecoder, body: bytes, step: int = 7001) -> bytes:
    out = [decoder.feed(body[i : i + step]) for i in range(0, len(body), step)]
    out.append(decoder.finish())
    return b"".join(out)
