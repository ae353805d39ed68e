"""Canonical request construction for AWS Signature Version 4.

Implements "Create a canonical request" of the AWS SigV4 specification (IAM User Guide,
"Elements of an AWS API request signature" / create-signed-request):

    HTTPMethod \\n CanonicalURI \\n CanonicalQueryString \\n CanonicalHeaders \\n
    SignedHeaders \\n HashedPayload

with the rules the official test suite (aws-c-auth ``aws-signing-test-suite/v4``) pins down:

* URI: for every service except S3 the path is normalized (RFC 3986 §5.2.4 dot-segment
  removal, and consecutive slashes collapsed) and then URI-encoded once more, which
  double-encodes the already percent-encoded path received on the wire.
* Query: every parameter (except ``X-Amz-Signature`` in the presigned form) is decoded and
  re-encoded per RFC 3986 (only ``A-Za-z0-9-_.~`` left bare, UTF-8, upper-case hex), then
  sorted by encoded key and, for repeated keys, by encoded value.
* Headers: names lower-cased; values trimmed, inner whitespace runs collapsed to one space;
  repeated headers joined with ``,`` in the order received.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from urllib.parse import quote, unquote_to_bytes

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# RFC 3986 unreserved characters; urllib.parse.quote always leaves "_.-~" and alphanumerics.
_QUERY_SAFE = ""
_PATH_SAFE = "/"


def uri_encode(value: str | bytes, *, keep_slash: bool = False) -> str:
    """URI-encode per SigV4: unreserved characters bare, everything else ``%XX`` upper-case."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    return quote(value, safe=_PATH_SAFE if keep_slash else _QUERY_SAFE)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 dot-segment removal, plus collapsing of empty segments.

    AWS services other than S3 also drop consecutive slashes (test suite
    ``get-slashes-normalized``: ``//example//`` -> ``/example/``).
    """
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and out else ""
    return lead + "/".join(out) + trail


def canonical_uri(raw_path: str, *, normalize: bool = True) -> str:
    """The CanonicalURI of ``raw_path`` (the request-target path exactly as received)."""
    if raw_path == "/" or not raw_path:
        return "/"  # the query APIs' path: nothing to normalise or encode
    path = raw_path
    if normalize:
        path = remove_dot_segments(path)
    return uri_encode(path, keep_slash=True)


def s3_canonical_uri(raw_path: str) -> str:
    """S3's CanonicalURI: no normalisation, every path segment URI-encoded exactly once.

    The path on the wire is already percent-encoded by the client; each segment is decoded
    and encoded again with SigV4's rules, which gives back what the SDKs sign (botocore
    signs its own wire path, ``quote(key, safe="/~")``) while a client that left a
    character such as ``=`` bare still gets it encoded. Splitting on the literal ``/``
    first keeps an encoded ``%2F`` inside its segment. A path encoded twice stays encoded
    twice, so it cannot pass for the once-encoded path that was signed.
    """
    path = raw_path or "/"
    return "/".join(uri_encode(unquote_to_bytes(segment)) for segment in path.split("/"))


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Split a raw query string into decoded (key, value) pairs, keeping order and repeats.

    ``+`` decodes to a space, as in form encoding: SigV4 signers encode a literal plus as
    ``%2B`` (it is not unreserved), while botocore's ``AWSRequest.prepare`` puts query
    ``params`` on the wire with ``urlencode``, i.e. spaces as ``+``, after signing them as
    ``%20``. A parameter without ``=`` has an empty value (``?uploads`` is ``uploads=``).
    """
    pairs: list[tuple[str, str]] = []
    if not raw_query:
        return pairs
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((_decode(key), _decode(value)))
    return pairs


def _decode(component: str) -> str:
    return unquote_to_bytes(component.replace("+", " ")).decode("utf-8", "surrogateescape")


def canonical_query(pairs: Iterable[tuple[str, str]], *, exclude: Iterable[str] = ()) -> str:
    """The CanonicalQueryString of decoded ``pairs``, leaving out keys in ``exclude``."""
    skip = set(exclude)
    encoded = sorted(
        (uri_encode(key), uri_encode(value)) for key, value in pairs if key not in skip
    )
    return "&".join(f"{key}={value}" for key, value in encoded)


def trim_header_value(value: str) -> str:
    """Trimall: strip, and collapse every run of whitespace (folded lines too) to one space."""
    return " ".join(value.split())


def canonical_headers(headers: Sequence[tuple[str, str]], signed_headers: Sequence[str]) -> str:
    """CanonicalHeaders for the ``signed_headers`` (lower-case names) found in ``headers``.

    Every line ends with ``\\n``; a signed header the request lacks yields an empty value,
    so the signature simply fails to match instead of being silently skipped.
    """
    values: dict[str, list[str]] = {name: [] for name in signed_headers}
    for name, value in headers:
        bucket = values.get(name.lower())
        if bucket is not None:
            bucket.append(trim_header_value(value))
    return "".join(f"{name}:{','.join(values[name])}\n" for name in signed_headers)


def payload_hash(body: bytes) -> str:
    """Hex SHA-256 of the request body (the HashedPayload when no header overrides it)."""
    return hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256


def canonical_request(
    *,
    method: str,
    canonical_uri: str,
    canonical_query: str,
    canonical_headers: str,
    signed_headers: Sequence[str],
    hashed_payload: str,
) -> str:
    """Assemble the six canonical-request lines."""
    return "\n".join(
        (
            method.upper(),
            canonical_uri,
            canonical_query,
            canonical_headers,
            ";".join(signed_headers),
            hashed_payload,
        )
    )
