"""Sign an outgoing request with SigV4 (the gateway re-signs what it forwards to S3 storage).

The inverse of ``verify``: same canonical request, string to sign and key derivation
(AWS SigV4, "Create a signed AWS API request": canonical request, string to sign, signing
key, signature, Authorization header). Pure: the caller passes the clock and the secret.

For S3 (``normalize=False``) the caller passes the path exactly as it goes on the wire,
already URI-encoded once (``canonical.uri_encode(path, keep_slash=True)``); S3's canonical
URI is that same string, never normalised and never encoded a second time. Other services'
paths are normalised and encoded as the signing test suite requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from opensts.sigv4.canonical import (
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_uri,
    query_pairs,
)
from opensts.sigv4.request import format_amz_date
from opensts.sigv4.signing import (
    ALGORITHM,
    SigningKeyCache,
    credential_scope,
    derive_signing_key,
    signature,
    string_to_sign,
)


def sign_headers(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    now: datetime,
    payload_hash: str,
    session_token: str | None = None,
    normalize: bool = False,
    content_sha256_header: bool = False,
    key_cache: SigningKeyCache | None = None,
) -> list[tuple[str, str]]:
    """The headers to send: ``headers`` plus X-Amz-Date, the token, optionally
    X-Amz-Content-Sha256 (S3 requires it) and Authorization. Every header in ``headers``
    (which must include Host) is signed."""
    amz_date = format_amz_date(now)
    out = [(name, value) for name, value in headers]
    out.append(("X-Amz-Date", amz_date))
    if content_sha256_header:
        out.append(("X-Amz-Content-Sha256", payload_hash))
    if session_token:
        out.append(("X-Amz-Security-Token", session_token))
    signed_names = sorted({name.lower() for name, _ in out})
    path = canonical_uri(raw_path, normalize=True) if normalize else (raw_path or "/")
    creq = canonical_request(
        method=method,
        canonical_uri=path,
        canonical_query=canonical_query(query_pairs(raw_query)),
        canonical_headers=canonical_headers(out, signed_names),
        signed_headers=signed_names,
        hashed_payload=payload_hash,
    )
    date = amz_date[:8]
    scope = credential_scope(date, region, service)
    if key_cache is not None:
        key = key_cache.get(secret_access_key, date, region, service)
    else:
        key = derive_signing_key(secret_access_key, date, region, service)
    sig = signature(key, string_to_sign(creq, amz_date=amz_date, scope=scope))
    out.append(
        (
            "Authorization",
            f"{ALGORITHM} Credential={access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(signed_names)}, Signature={sig}",
        )
    )
    return out
