"""Which bucket and key an S3 request names, and whether a request is an S3 request at all.

Amazon S3 User Guide, "Virtual hosting of general purpose buckets" and "Methods for accessing
a bucket": path style ``https://endpoint/bucket/key`` and virtual-hosted style
``https://bucket.endpoint/key``. When the Host names a bucket, the whole path is the key, even
if the path also starts with a bucket name (S3 never looks for a bucket in the path of a
virtual-hosted request).

The key is the raw request path after the bucket, percent-decoded exactly once and never
normalised: ``..``, ``.``, ``//`` and ``%2F`` stay literally in the key, because they are valid
key characters in S3 and the SigV4 canonical URI of an S3 request is not normalised either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_to_bytes

from opensts.s3.errors import S3Error
from opensts.s3.names import invalid_bucket_name, is_valid_bucket_name, validate_key

Style = Literal["path", "virtual"]

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Target:
    """The bucket and key a request names; both None for the service (ListBuckets)."""

    bucket: str | None
    key: str | None
    style: Style


def invalid_uri() -> S3Error:
    return S3Error("InvalidURI", "Couldn't parse the specified URI.", 400)


def decode_once(raw: str) -> str:
    """Percent-decode ``raw`` exactly once into UTF-8 text; a malformed escape or invalid
    UTF-8 is S3's ``InvalidURI`` (S3 refuses such URIs rather than guessing)."""
    if "%" not in raw:
        return raw
    if _BAD_ESCAPE.search(raw):
        raise invalid_uri()
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_uri() from None


def host_name(host: str) -> str:
    """The Host header without its port, lowercased, without a trailing root dot."""
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal: "[::1]:8080"
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    name, _, _port = host.partition(":")
    return name[:-1] if name.endswith(".") else name


def host_bucket(host: str, s3_domain: str | None) -> str | None:
    """The bucket a virtual-hosted Host names (``bucket.<s3_domain>``), else None.

    Raises ``InvalidBucketName`` when the Host is under ``s3_domain`` but the label before
    it is no valid bucket name (``.s3.example``, ``Bad_Name.s3.example``)."""
    if not s3_domain:
        return None
    domain = s3_domain.strip().lower().rstrip(".")
    name = host_name(host)
    if not name.endswith("." + domain):
        return None
    bucket = name[: -len(domain) - 1]
    if not is_valid_bucket_name(bucket):
        raise invalid_bucket_name(bucket)
    return bucket


def locate(host: str, raw_path: str, s3_domain: str | None) -> Target:
    """The bucket and key of a request from its Host header and raw (still percent-encoded)
    path. ``raw_path`` may carry the query; it is ignored here.

    Raises ``InvalidURI`` for a path that is not absolute or does not decode,
    ``InvalidBucketName`` for a bucket that breaks the naming rules and ``KeyTooLongError``."""
    path = raw_path.split("?", 1)[0] or "/"
    if not path.startswith("/"):
        raise invalid_uri()
    bucket = host_bucket(host, s3_domain)
    if bucket is not None:
        return Target(bucket, _key(path[1:]), "virtual")
    if path == "/":
        return Target(None, None, "path")
    raw_bucket, _, raw_key = path[1:].partition("/")
    # The bucket is split off on a literal "/" before decoding, so "%2F" is never a separator.
    bucket = decode_once(raw_bucket)
    if not is_valid_bucket_name(bucket):
        raise invalid_bucket_name(bucket)
    return Target(bucket, _key(raw_key), "path")


def _key(raw_key: str) -> str | None:
    if not raw_key:
        return None  # "/bucket" and "/bucket/" both name the bucket
    key = decode_once(raw_key)
    validate_key(key)
    return key


# --- routing: S3 or STS/IAM/Organizations on the shared endpoint -----------------------------

def signing_service(query: Mapping[str, list[str]], headers: Mapping[str, str]) -> str | None:
    """The service in the request's SigV4 credential scope (header or presigned form), or
    ``"s3"`` for a SigV2 ``AWS AKID:sig`` Authorization (only S3 still speaks SigV2), or None
    for an unsigned request. Malformed scopes give ``""`` (signed, but no service)."""
    auth = _header(headers, "authorization")
    if auth is not None:
        auth = auth.strip()
        if auth.startswith("AWS "):
            return "s3"
        marker = auth.find("Credential=")
        if marker == -1:
            return ""
        credential = auth[marker + len("Credential="):].split(",", 1)[0].strip()
        return _scope_service(credential)
    credentials = query.get("X-Amz-Credential")
    if credentials:
        return _scope_service(credentials[0])
    if query.get("AWSAccessKeyId") and query.get("Signature"):
        return "s3"  # SigV2 presigned URL: S3 answers it (with its own refusal)
    return None


def _scope_service(credential: str) -> str:
    # AKID/yyyymmdd/region/service/aws4_request; the access key id never contains "/".
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else ""


def is_s3_request(method: str, path: str, query: Mapping[str, list[str]],
                  headers: Mapping[str, str], s3_domain: str | None) -> bool:
    """Whether a request on the shared endpoint is for S3 (else STS/IAM/Organizations).

    The rules, first match wins:

    1. Host is a bucket subdomain of ``s3_domain`` (``bucket.<s3_domain>``) -> S3. The bare
       ``s3_domain`` itself decides nothing: it may be the one endpoint of every service.
    2. Signed (Authorization header, or presigned ``X-Amz-Credential``) -> S3 exactly when the
       credential scope's service is ``s3``; SigV2 (``AWS AKID:sig``, ``AWSAccessKeyId=``) is
       S3's. A request signed for ``sts``/``iam``/``organizations`` goes to those services.
    3. Unsigned, path other than ``/`` -> S3 (the query services only serve ``/``).
    4. Unsigned on ``/``: an ``X-Amz-Target`` header, an ``Action`` query parameter or a POST
       (the query protocol's form body) -> not S3; anything else (anonymous ``GET /``,
       S3's ListBuckets) -> S3.
    """
    if s3_domain and _under_domain(_header(headers, "host") or "", s3_domain):
        return True
    service = signing_service(query, headers)
    if service is not None:
        return service == "s3"
    if (path.split("?", 1)[0] or "/") != "/":
        return True
    if _header(headers, "x-amz-target") is not None or "Action" in query:
        return False
    return method.upper() != "POST"


def _under_domain(host: str, s3_domain: str) -> bool:
    return host_name(host).endswith("." + s3_domain.strip().lower().rstrip("."))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for k, v in headers.items():  # plain dicts may keep the client's spelling
        if k.lower() == name:
            return v
    return None
