"""S3's flavour of SigV4: verify the header or presigned form of a request without its body.

Amazon S3 API Reference, "Authenticating Requests (AWS Signature Version 4)":
sig-v4-header-based-auth (Authorization header), sigv4-query-string-auth (presigned URLs)
and sigv4-streaming (chunked payloads). Where S3 differs from the other services:

* the path is neither normalised nor encoded twice: the canonical URI is the path as
  received, URI-encoded once (``canonical.s3_canonical_uri``);
* header form: ``x-amz-content-sha256`` is required and *is* the hashed payload, whatever
  the body turns out to be. Whether the body matches it is checked while the body streams
  (``opensts.sigv4.chunked.BodyDecoder``), so nothing here needs the body;
* presigned form: the payload is always ``UNSIGNED-PAYLOAD``, ``X-Amz-Expires`` must be
  between 1 and 604800 seconds, and a URL signed with temporary credentials dies with them;
* S3's own error codes: ``RequestTimeTooSkewed``, ``AuthorizationHeaderMalformed`` /
  ``AuthorizationQueryParametersError``, ``AccessDenied`` "Request has expired", and a
  ``SignatureDoesNotMatch`` that carries the string to sign and the canonical request
  (never anything secret);
* every ``x-amz-*`` header present must be signed ("There were headers present in the
  request which were not signed").

Where the answers come from. Seen in S3's own XML answers quoted in public issue threads:
SignatureDoesNotMatch and its AWSAccessKeyId / StringToSign / SignatureProvided /
StringToSignBytes / CanonicalRequest(Bytes) elements (minio/minio#2986, s3tools/s3cmd#1053);
RequestTimeTooSkewed with RequestTime / ServerTime / MaxAllowedSkewMilliseconds
(minio/minio-py#285); "Request has expired" with X-Amz-Expires / Expires / ServerTime
(aws/aws-sdk-php#1333); "the region 'x' is wrong; expecting 'y'" with Region
(s3fs-fuse/s3fs-fuse#1186); the X-Amz-Expires week limit (aws/aws-cli#5464); the
x-amz-content-sha256 InvalidArgument (versity/versitygw#1352); ExpiredToken "The provided
token has expired." (aws/aws-sdk-js#1099); "There were headers present in the request which
were not signed". Taken from an S3-compatible server that compares itself with S3
(versitygw's s3err): the other AuthorizationQueryParametersError and
AuthorizationHeaderMalformed texts and "Missing required header for this request:
x-amz-content-sha256". Not verified: the answer to X-Amz-Expires=0 and to SigV4A chunks.

Typical use by the gateway::

    signed = parse_s3(method, raw_path, raw_query, headers)      # None: anonymous
    secret, token_expiry = lookup(signed.access_key_id, signed.security_token)
    auth = verify_s3(signed, method=..., raw_path=..., raw_query=..., headers=...,
                     secret_access_key=secret, now=now, token_expires_at=token_expiry,
                     regions={"us-east-1"})
    decoder = body_decoder(auth, headers)   # opensts.sigv4.chunked
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opensts.s3.errors import S3Error
from opensts.sigv4 import canonical as canon
from opensts.sigv4 import sigv4a
from opensts.sigv4.errors import IncompleteSignature
from opensts.sigv4.request import SIGV4, SIGV4A, SignedRequest, parse_request
from opensts.sigv4.signing import SigningKeyCache, derive_signing_key, signature, string_to_sign
from opensts.sigv4.verify import DEFAULT_MAX_SKEW, region_allowed

UNSIGNED = canon.UNSIGNED_PAYLOAD
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_ECDSA = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
STREAMING_ECDSA_TRAILER = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
PAYLOAD_KINDS = {
    UNSIGNED: "unsigned",
    STREAMING_SIGNED: "streaming-signed",
    STREAMING_SIGNED_TRAILER: "streaming-signed-trailer",
    STREAMING_UNSIGNED_TRAILER: "streaming-unsigned-trailer",
}
MAX_PRESIGN_EXPIRES = 604800
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_DIGITS = re.compile(r"-?[0-9]+")
_QUERY_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_PRESIGN_MARKERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_CREDENTIAL_SHAPE = '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'


@dataclass(frozen=True)
class S3Auth:
    """What a verified S3 request's signature says about its body (and policy context)."""

    signed: SignedRequest
    auth_type: str  # s3:authType: "REST-HEADER" | "REST-QUERY-STRING" | "POST"
    signature_age_ms: int | None  # s3:signatureAge (presigned and POST only)
    content_sha256: str | None  # the x-amz-content-sha256 value as sent
    payload: str  # "sha256" | "unsigned" | "streaming-signed" | "streaming-signed-trailer" | ...
    signing_key: bytes  # seeds the chunk-signature chain; never logged

    def __repr__(self) -> str:  # keep the signing key out of logs and tracebacks
        return (
            f"S3Auth(access_key_id={self.signed.access_key_id!r}, auth_type={self.auth_type!r}, "
            f"payload={self.payload!r})"
        )


# ---- S3's answers --------------------------------------------------------------------------


def header_malformed(detail: str, **fields: str) -> S3Error:
    return S3Error(
        "AuthorizationHeaderMalformed",
        f"The authorization header is malformed; {detail}",
        400,
        fields=fields,
    )


def query_error(message: str, **fields: str) -> S3Error:
    return S3Error("AuthorizationQueryParametersError", message, 400, fields=fields)


def signature_mismatch(
    signed: SignedRequest, string_to_sign_: str, canonical_request: str | None = None
) -> S3Error:
    """S3's SignatureDoesNotMatch with its debugging elements (no secret is among them)."""
    fields = {
        "AWSAccessKeyId": signed.access_key_id,
        "StringToSign": string_to_sign_,
        "SignatureProvided": signed.signature,
        "StringToSignBytes": _hex_bytes(string_to_sign_),
    }
    if canonical_request is not None:
        fields["CanonicalRequest"] = canonical_request
        fields["CanonicalRequestBytes"] = _hex_bytes(canonical_request)
    return S3Error("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403, fields=fields)


def _hex_bytes(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").hex(" ")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unsupported_mechanism() -> S3Error:
    return S3Error(
        "InvalidRequest",
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256.",
        400,
    )


def expired_token() -> S3Error:
    return S3Error("ExpiredToken", "The provided token has expired.", 400)


# ---- parsing -------------------------------------------------------------------------------


def parse_s3(
    method: str, raw_path: str, raw_query: str, headers: Sequence[tuple[str, str]]
) -> SignedRequest | None:
    """The signature claim of an S3 request, or None when it carries none (anonymous).

    Wraps ``parse_request`` and answers malformed claims as S3 does:
    ``AuthorizationQueryParametersError`` for the presigned form and
    ``AuthorizationHeaderMalformed`` for the header form (messages per the S3 answers
    quoted in the module docstring; the rest keep the STS wording, marked in the tests).
    """
    params: dict[str, list[str]] = {}
    for key, value in canon.query_pairs(raw_query):
        params.setdefault(key, []).append(value)
    has_auth = any(name.lower() == "authorization" for name, _ in headers)
    presigned = any(marker in params for marker in _PRESIGN_MARKERS)
    if not presigned and not has_auth and "AWSAccessKeyId" in params and "Signature" in params:
        # A SigV2 presigned URL (boto3's default presigner for S3 without s3v4): refused as
        # S3 refuses SigV2 where only SigV4 is accepted, never taken for anonymous.
        raise unsupported_mechanism()
    if presigned and not has_auth:
        _precheck_query(params)
    elif has_auth and not presigned:
        _precheck_header(headers)
    try:
        return parse_request(method, raw_path, raw_query, headers)
    except IncompleteSignature as exc:
        if presigned and not has_auth:
            raise query_error(exc.message) from None
        if has_auth and not presigned:
            raise S3Error("AuthorizationHeaderMalformed", exc.message, 400) from None
        raise S3Error("InvalidArgument", exc.message, 400) from None


def _precheck_query(params: dict[str, list[str]]) -> None:
    if any(not params.get(name, [""])[0] for name in _QUERY_REQUIRED):
        raise query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters."
        )
    algorithm = params["X-Amz-Algorithm"][0]
    if algorithm not in (SIGV4, SIGV4A):
        raise query_error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    raw = params["X-Amz-Expires"][0]
    if not _DIGITS.fullmatch(raw):
        raise query_error("X-Amz-Expires should be a number")
    # int() refuses more than 4300 digits; anything past 12 digits is too large anyway.
    value = int(raw) if len(raw) <= 12 else (-1 if raw.startswith("-") else MAX_PRESIGN_EXPIRES + 1)
    if value < 0:
        raise query_error("X-Amz-Expires must be non-negative")
    if value == 0:
        # S3's answer for 0 is not documented; a URL valid for no time at all is refused.
        raise query_error("X-Amz-Expires must be non-negative")
    if value > MAX_PRESIGN_EXPIRES:
        raise query_error(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds"
        )
    parts = params["X-Amz-Credential"][0].split("/")
    if algorithm == SIGV4 and (len(parts) != 5 or not all(parts)):
        raise query_error(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            f"expecting {_CREDENTIAL_SHAPE}."
        )


def _precheck_header(headers: Sequence[tuple[str, str]]) -> None:
    value = next(v for k, v in headers if k.lower() == "authorization").strip()
    algorithm, _, rest = value.partition(" ")
    if algorithm not in (SIGV4, SIGV4A):
        raise unsupported_mechanism()
    fields = {}
    for part in rest.split(","):
        key, _, val = part.strip().partition("=")
        fields[key.strip()] = val.strip()
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise header_malformed(f"missing {name}.")
    parts = fields["Credential"].split("/")
    if algorithm == SIGV4 and (len(parts) != 5 or not all(parts)):
        raise header_malformed(f"the Credential is mal-formed; expecting {_CREDENTIAL_SHAPE}.")


# ---- verification --------------------------------------------------------------------------


def verify_s3(
    signed: SignedRequest,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    secret_access_key: str,
    now: datetime,
    key_cache: SigningKeyCache | None = None,
    token_expires_at: float | None = None,
    regions: Collection[str] | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> S3Auth:
    """Verify ``signed`` (from ``parse_s3``) the way S3 does; the body is not needed.

    ``token_expires_at`` is the expiry (Unix seconds) of the session token the request
    was signed with, if any: a request made after it is refused even when its presigned
    X-Amz-Expires is later. ``regions`` lists the regions this endpoint answers for (the
    first one is named in S3's "expecting '...'" message).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    _check_scope(signed, regions)
    _check_time(signed, now, max_skew)
    if token_expires_at is not None and now.timestamp() >= token_expires_at:
        raise expired_token()
    if "host" not in signed.signed_headers and ":authority" not in signed.signed_headers:
        raise S3Error(
            "AccessDenied", "There were headers present in the request which were not signed",
            403, fields={"HeadersNotSigned": "host"},
        )
    _check_unsigned_amz_headers(signed, headers)
    content_sha256, payload, hashed = _payload(signed, headers, raw_query)
    pairs = canon.query_pairs(raw_query)
    creq = canon.canonical_request(
        method=method,
        canonical_uri=canon.s3_canonical_uri(raw_path),
        canonical_query=canon.canonical_query(
            pairs, exclude=("X-Amz-Signature",) if signed.presigned else ()
        ),
        canonical_headers=canon.canonical_headers(headers, signed.signed_headers),
        signed_headers=signed.signed_headers,
        hashed_payload=hashed,
    )
    sts = string_to_sign(
        creq, amz_date=signed.timestamp, scope=signed.scope, algorithm=signed.algorithm
    )
    key = b""
    if signed.algorithm == SIGV4A:
        if key_cache is not None:
            public_key = key_cache.get_v4a_public_key(signed.access_key_id, secret_access_key)
        else:
            public_key = sigv4a.derive_public_key(signed.access_key_id, secret_access_key)
        ok = sigv4a.signature_matches(public_key, sts, signed.signature)
    else:
        if key_cache is not None:
            key = key_cache.get(secret_access_key, signed.date, signed.region, signed.service)
        else:
            key = derive_signing_key(secret_access_key, signed.date, signed.region, signed.service)
        expected = signature(key, sts).encode("ascii")
        ok = hmac.compare_digest(expected, signed.signature.encode("utf-8", "surrogateescape"))
    if not ok:
        raise signature_mismatch(signed, sts, creq)
    age = None
    if signed.presigned:
        age = max(0, int((now - signed.amz_date).total_seconds() * 1000))
    return S3Auth(
        signed=signed,
        auth_type="REST-QUERY-STRING" if signed.presigned else "REST-HEADER",
        signature_age_ms=age,
        content_sha256=content_sha256,
        payload=payload,
        signing_key=key,
    )


def _check_scope(signed: SignedRequest, regions: Collection[str] | None) -> None:
    def bad(detail: str, **fields: str) -> S3Error:
        if signed.presigned:
            return query_error(f"Error parsing the X-Amz-Credential parameter; {detail}", **fields)
        return header_malformed(detail, **fields)

    if signed.service != "s3":
        raise bad(f"incorrect service '{signed.service}'. This endpoint belongs to 's3'.")
    if signed.terminator != "aws4_request":
        raise bad(f"incorrect terminal '{signed.terminator}'. This endpoint uses 'aws4_request'.")
    if regions is not None and not region_allowed(signed, regions):
        expecting = sorted(regions)[0] if regions else ""
        raise bad(
            f"the region '{signed.region}' is wrong; expecting '{expecting}'", Region=expecting
        )
    if signed.date != signed.timestamp[:8]:
        if signed.presigned:
            raise query_error(
                f"Invalid credential date \"{signed.date}\". This date is not the same as "
                f"X-Amz-Date: \"{signed.timestamp[:8]}\"."
            )
        raise header_malformed("Invalid credential date. Date is not the same as X-Amz-Date.")


def _check_time(signed: SignedRequest, now: datetime, max_skew: timedelta) -> None:
    if signed.presigned:
        assert signed.expires is not None  # parse_s3 requires X-Amz-Expires
        expires_at = signed.amz_date + timedelta(seconds=signed.expires)
        if signed.amz_date > now + max_skew:
            raise S3Error(
                "AccessDenied", "Request is not yet valid", 403,
                fields={"X-Amz-Date": signed.timestamp, "Expires": _iso(expires_at),
                        "ServerTime": _iso(now)},
            )
        if now > expires_at:
            raise S3Error(
                "AccessDenied", "Request has expired", 403,
                fields={"X-Amz-Expires": str(signed.expires), "Expires": _iso(expires_at),
                        "ServerTime": _iso(now)},
            )
        return
    if abs(now - signed.amz_date) > max_skew:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            403,
            fields={"RequestTime": signed.timestamp, "ServerTime": _iso(now),
                    "MaxAllowedSkewMilliseconds": str(int(max_skew.total_seconds() * 1000))},
        )


# Headers a client may send without signing (hop-by-hop, or never signed by the SDKs).
_NEVER_SIGNED = frozenset({"x-amz-signature"})


def _check_unsigned_amz_headers(signed: SignedRequest, headers: Sequence[tuple[str, str]]) -> None:
    signed_set = set(signed.signed_headers)
    missing = sorted(
        {
            name.lower()
            for name, _ in headers
            if name.lower().startswith("x-amz-")
            and name.lower() not in signed_set
            and name.lower() not in _NEVER_SIGNED
        }
    )
    if missing:
        raise S3Error(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            403,
            fields={"HeadersNotSigned": ", ".join(missing)},
        )


def content_sha256_invalid(value: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
        400,
        fields={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value},
    )


def classify_content_sha256(value: str) -> str:
    """The payload kind of an ``x-amz-content-sha256`` value, or S3's error for it."""
    if value in PAYLOAD_KINDS:
        return PAYLOAD_KINDS[value]
    if _HEX64.fullmatch(value):
        return "sha256"
    if value in (STREAMING_ECDSA, STREAMING_ECDSA_TRAILER):
        # SigV4A chunk signatures are ECDSA: each chunk would need its own verification
        # against the derived public key; no SDK sends them by default. Refused clearly.
        raise S3Error(
            "NotImplemented",
            f"x-amz-content-sha256 {value} (SigV4A chunk signatures) is not supported by "
            "this endpoint",
            501,
        )
    raise content_sha256_invalid(value)


def _payload(
    signed: SignedRequest, headers: Sequence[tuple[str, str]], raw_query: str
) -> tuple[str | None, str, str]:
    """(header value as sent, payload kind, HashedPayload of the canonical request)."""
    values = [v.strip() for k, v in headers if k.lower() == "x-amz-content-sha256"]
    if signed.presigned:
        # The presigned form always signs UNSIGNED-PAYLOAD (sigv4-query-string-auth), except
        # that a client may put its own value in the query (the JS SDK's
        # X-Amz-Content-Sha256=UNSIGNED-PAYLOAD); a header value is then also honoured.
        query_value = next(
            (v for k, v in canon.query_pairs(raw_query) if k.lower() == "x-amz-content-sha256"),
            None,
        )
        claimed = values[0] if values else query_value
        if claimed is None or claimed == UNSIGNED:
            return claimed, "unsigned", UNSIGNED
        kind = classify_content_sha256(claimed)
        if kind != "sha256":
            raise content_sha256_invalid(claimed)
        return claimed, kind, claimed
    if not values:
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400
        )
    value = values[0]
    kind = classify_content_sha256(value)
    return value, kind, value
