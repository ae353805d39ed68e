"""Verify a parsed SigV4 / SigV4A claim against the request bytes and the caller's secret.

Order of checks, following the AWS SigV4 specification and the IAM User Guide
"Troubleshoot signed requests for AWS APIs":

1. credential scope: terminator ``aws4_request``, expected service, allowed region, and the
   scope date equal to the ``yyyymmdd`` of X-Amz-Date;
2. time: header-signed requests must fall within ``max_skew`` (15 minutes at AWS) of ``now``;
   presigned requests must not be used after X-Amz-Date + X-Amz-Expires;
3. ``host`` must be a signed header;
4. payload hash: SHA-256 of the body received, or the X-Amz-Content-SHA256 value, which must
   then match the body (``UNSIGNED-PAYLOAD`` only in the presigned form);
5. the signature, compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from opensts.policy.glob import glob
from opensts.sigv4 import canonical as canon
from opensts.sigv4 import sigv4a
from opensts.sigv4.errors import (
    ContentSHA256Mismatch,
    RequestExpired,
    SignatureDoesNotMatch,
    SignatureExpired,
    SignatureNotYetCurrent,
)
from opensts.sigv4.request import SIGV4A, SignedRequest, format_amz_date
from opensts.sigv4.signing import SigningKeyCache, derive_signing_key, signature, string_to_sign

DEFAULT_MAX_SKEW = timedelta(minutes=15)
_SIGNATURE_PARAM = "X-Amz-Signature"
_TOKEN_PARAM = "X-Amz-Security-Token"  # noqa: S105 - a parameter name, not a secret


def verify(
    signed: SignedRequest,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    secret_access_key: str,
    now: datetime,
    key_cache: SigningKeyCache | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    services: Collection[str] | None = None,
    regions: Collection[str] | None = None,
    normalize_path: bool = True,
    allow_unsigned_query_token: bool = False,
    payload_hash: str | None = None,
) -> None:
    """Raise the AWS error for the first check that fails; return None when the request verifies.

    ``raw_path`` and ``raw_query`` are the request target exactly as received (percent-encoding
    intact). ``services`` lists the signing names this endpoint answers to (``{"sts"}``);
    ``regions``, when given, restricts the scope region (by default any region string the
    client signed for is accepted, even ``aws-global``). ``allow_unsigned_query_token``
    accepts a presigned URL whose X-Amz-Security-Token was appended after signing (the
    ``post-sts-header-after`` case of the AWS test suite, used by AWS IoT websockets).
    ``payload_hash``, when given, is the HashedPayload to use instead of hashing ``body``:
    for a verifier that never sees the body (an nginx ``auth_request`` hook) and decides
    itself what the claimed ``x-amz-content-sha256`` is worth.
    """
    _check_scope(signed, services, regions)
    _check_time(signed, now, max_skew)
    if "host" not in signed.signed_headers and ":authority" not in signed.signed_headers:
        raise SignatureDoesNotMatch(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    hashed_payload = payload_hash or _payload_hash(signed, headers, body)
    pairs = canon.query_pairs(raw_query)

    def attempt(exclude: tuple[str, ...]) -> tuple[bool, str, str]:
        creq = build_canonical_request(
            signed,
            method=method,
            raw_path=raw_path,
            query=pairs,
            headers=headers,
            hashed_payload=hashed_payload,
            normalize_path=normalize_path,
            exclude=exclude,
        )
        sts = string_to_sign(
            creq, amz_date=signed.timestamp, scope=signed.scope, algorithm=signed.algorithm
        )
        if signed.algorithm == SIGV4A:
            if key_cache is not None:
                public_key = key_cache.get_v4a_public_key(signed.access_key_id, secret_access_key)
            else:
                public_key = sigv4a.derive_public_key(signed.access_key_id, secret_access_key)
            return sigv4a.signature_matches(public_key, sts, signed.signature), creq, sts
        if key_cache is not None:
            key = key_cache.get(secret_access_key, signed.date, signed.region, signed.service)
        else:
            key = derive_signing_key(secret_access_key, signed.date, signed.region, signed.service)
        expected = signature(key, sts).encode("ascii")
        given = signed.signature.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(expected, given), creq, sts

    exclude: tuple[str, ...] = (_SIGNATURE_PARAM,) if signed.presigned else ()
    ok, creq, sts = attempt(exclude)
    if (
        not ok
        and signed.presigned
        and allow_unsigned_query_token
        and any(key == _TOKEN_PARAM for key, _ in pairs)
    ):
        ok, _, _ = attempt((*exclude, _TOKEN_PARAM))
    if not ok:
        raise SignatureDoesNotMatch(canonical_request=creq, string_to_sign=sts)


def build_canonical_request(
    signed: SignedRequest,
    *,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Sequence[tuple[str, str]],
    hashed_payload: str,
    normalize_path: bool = True,
    exclude: Collection[str] = (),
) -> str:
    """The canonical request the server expects for ``signed`` (``query`` already decoded)."""
    return canon.canonical_request(
        method=method,
        canonical_uri=canon.canonical_uri(raw_path, normalize=normalize_path),
        canonical_query=canon.canonical_query(query, exclude=exclude),
        canonical_headers=canon.canonical_headers(headers, signed.signed_headers),
        signed_headers=signed.signed_headers,
        hashed_payload=hashed_payload,
    )


def _check_scope(
    signed: SignedRequest, services: Collection[str] | None, regions: Collection[str] | None
) -> None:
    if signed.terminator != "aws4_request":
        raise SignatureDoesNotMatch(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{signed.terminator}'."
        )
    if services is not None and signed.service not in services:
        expected = sorted(services)[0] if services else ""
        raise SignatureDoesNotMatch(
            f"Credential should be scoped to correct service: '{expected}'."
        )
    if regions is not None and not region_allowed(signed, regions):
        raise SignatureDoesNotMatch(
            f"Credential should be scoped to a valid region, not '{signed.region}'."
        )
    stamp = signed.timestamp
    if signed.date != stamp[:8]:
        raise SignatureDoesNotMatch(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{signed.date}' != '{stamp[:8]}', from '{stamp}'."
        )


def region_allowed(signed: SignedRequest, regions: Collection[str]) -> bool:
    """Whether the scope's region (or a SigV4A region-set pattern) is one of ``regions``."""
    if signed.region_set is None:
        return signed.region in regions
    # SigV4A region sets may hold wildcards ("*", "us-*"); one allowed region must match.
    # The client writes the patterns: they run through the non-backtracking glob matcher
    # (fnmatch would also compile them to regexes, cached by pattern text, and read "[...]").
    matchers = [glob(pattern) for pattern in signed.region_set]
    return any(m(region) for m in matchers for region in regions)


def _check_time(signed: SignedRequest, now: datetime, max_skew: timedelta) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    minutes = f"{int(max_skew.total_seconds() // 60)} min."
    if signed.amz_date > now + max_skew:
        raise SignatureNotYetCurrent(
            f"Signature not yet current: {signed.timestamp} is still later than "
            f"{format_amz_date(now + max_skew)} ({format_amz_date(now)} + {minutes})"
        )
    if signed.presigned and signed.expires is not None:
        if now > signed.amz_date + timedelta(seconds=signed.expires):
            raise RequestExpired()
        return
    if signed.amz_date < now - max_skew:
        raise SignatureExpired(
            f"Signature expired: {signed.timestamp} is now earlier than "
            f"{format_amz_date(now - max_skew)} ({format_amz_date(now)} - {minutes})"
        )


def _payload_hash(signed: SignedRequest, headers: Sequence[tuple[str, str]], body: bytes) -> str:
    computed = canon.payload_hash(body)
    claimed = [value.strip() for name, value in headers if name.lower() == "x-amz-content-sha256"]
    if not claimed:
        return computed
    value = claimed[0]
    if value == canon.UNSIGNED_PAYLOAD:
        if signed.presigned:
            return value
        raise ContentSHA256Mismatch()
    if value.lower() != computed:
        raise ContentSHA256Mismatch()
    return value
