"""Browser-based uploads (POST Object): the signed policy document and its conditions.

Amazon S3 API Reference, sigv4-authentication-HTTPPOST ("Authenticating Requests in
Browser-Based Uploads Using POST") and sigv4-HTTPPOSTConstructPolicy ("Creating a POST
Policy"): the form carries ``policy`` (base64 JSON), ``x-amz-algorithm``,
``x-amz-credential``, ``x-amz-date``, ``x-amz-signature`` and optionally
``x-amz-security-token``. The string to sign is the base64 policy itself; the signature is
``hex(HMAC(signing key, policy))`` with the key derived from the credential's scope.

The policy must not have expired, every condition must hold (``{"field": "value"}``,
``["eq", "$field", "value"]``, ``["starts-with", "$field", "prefix"]``,
``["content-length-range", min, max]``; ``bucket`` is the target bucket), and every form
field except ``x-amz-signature``, ``file``, ``policy`` and ``x-ignore-*`` must be named by
some condition. Field names are matched case-insensitively.

Pure: the gateway parses the multipart form (fields before the file) and passes them in;
the file's size is checked afterwards with ``PostAuth.check_size``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opensts.s3.errors import S3Error
from opensts.sigv4.request import SIGV4, SignedRequest
from opensts.sigv4.s3 import S3Auth, expired_token, unsupported_mechanism
from opensts.sigv4.signing import SigningKeyCache, derive_signing_key, signature

MAX_POLICY_LENGTH = 64 * 1024  # S3 caps the form fields before the file at 20 KB
_EXEMPT = frozenset({"x-amz-signature", "file", "policy"})
_REQUIRED = ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")


@dataclass(frozen=True)
class PostAuth:
    """A verified POST policy: what the upload may be."""

    auth: S3Auth  # auth_type "POST", payload "unsigned"
    key: str  # the object key, ``${filename}`` replaced
    expiration: datetime
    content_length_range: tuple[int, int] | None

    def check_size(self, size: int) -> None:
        """Refuse a file outside the policy's content-length-range (S3's EntityTooSmall/Large)."""
        if self.content_length_range is None:
            return
        low, high = self.content_length_range
        if size < low:
            raise S3Error(
                "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                400, fields={"ProposedSize": str(size), "MinSizeAllowed": str(low)},
            )
        if size > high:
            raise S3Error(
                "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                400, fields={"ProposedSize": str(size), "MaxSizeAllowed": str(high)},
            )


def _lower(fields: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in fields.items()}


def _missing(name: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check "
        "the order of the fields.",
        400,
        fields={"ArgumentName": name, "ArgumentValue": ""},
    )


def _invalid_argument(message: str) -> S3Error:
    return S3Error("InvalidArgument", message, 400)


def _policy_document(message: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {message}", 400)


def _denied(message: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {message}", 403)


def parse_post(fields: Mapping[str, str]) -> SignedRequest | None:
    """The signature claim of a POST form, or None when the form is not signed (anonymous)."""
    form = _lower(fields)
    if not any(name in form for name in ("x-amz-signature", "x-amz-credential", "policy")):
        if "awsaccesskeyid" in form or "signature" in form:
            raise unsupported_mechanism()  # SigV2 POST
        return None
    for name in _REQUIRED:
        if not form.get(name):
            raise _missing(name)
    if form["x-amz-algorithm"] != SIGV4:
        raise unsupported_mechanism()
    credential = form["x-amz-credential"]
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise _invalid_argument(
            'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/'
            'aws4_request".'
        )
    try:
        moment = datetime.strptime(form["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise _invalid_argument(
            "Invalid x-amz-date value: X-Amz-Date must be in the ISO8601 Long Format "
            "\"yyyyMMdd'T'HHmmss'Z'\""
        ) from None
    access_key_id, date, region, service, terminator = parts
    return SignedRequest(
        access_key_id=access_key_id,
        date=date,
        region=region,
        service=service,
        signed_headers=(),
        signature=form["x-amz-signature"],
        amz_date=moment,
        security_token=form.get("x-amz-security-token") or None,
        presigned=False,
        expires=None,
        algorithm=SIGV4,
        terminator=terminator,
    )


def verify_post(
    signed: SignedRequest,
    fields: Mapping[str, str],
    *,
    bucket: str,
    secret_access_key: str,
    now: datetime,
    key_cache: SigningKeyCache | None = None,
    regions: Collection[str] | None = None,
    filename: str | None = None,
    token_expires_at: float | None = None,
) -> PostAuth:
    """Verify the form's signature and policy for an upload to ``bucket``; raise S3's error.

    ``fields`` are the form fields that came before the file (names as sent);
    ``filename`` is the uploaded file's name, substituted for ``${filename}`` in the key.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    form = _lower(fields)
    if signed.service != "s3":
        raise _invalid_argument(
            f"incorrect service '{signed.service}'. This endpoint belongs to 's3'."
        )
    if signed.terminator != "aws4_request":
        raise _invalid_argument(
            f"incorrect terminal '{signed.terminator}'. This endpoint uses 'aws4_request'."
        )
    if regions is not None and signed.region not in regions:
        expecting = sorted(regions)[0] if regions else ""
        raise S3Error(
            "InvalidArgument", f"the region '{signed.region}' is wrong; expecting '{expecting}'",
            400, fields={"Region": expecting},
        )
    if signed.date != signed.timestamp[:8]:
        raise _invalid_argument(
            f"Invalid credential date \"{signed.date}\". This date is not the same as "
            f"X-Amz-Date: \"{signed.timestamp[:8]}\"."
        )
    policy_b64 = form["policy"]
    if key_cache is not None:
        key = key_cache.get(secret_access_key, signed.date, signed.region, signed.service)
    else:
        key = derive_signing_key(secret_access_key, signed.date, signed.region, signed.service)
    expected = signature(key, policy_b64).encode("ascii")
    if not hmac.compare_digest(expected, signed.signature.encode("utf-8", "surrogateescape")):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            403,
            fields={"AWSAccessKeyId": signed.access_key_id, "StringToSign": policy_b64,
                    "SignatureProvided": signed.signature,
                    "StringToSignBytes": policy_b64.encode().hex(" ")},
        )
    if token_expires_at is not None and now.timestamp() >= token_expires_at:
        raise expired_token()
    expiration, conditions = _parse_policy(policy_b64)
    if now >= expiration:
        raise _denied("Policy expired.")
    length_range = _check_conditions(conditions, form, bucket)
    object_key = form.get("key")
    if not object_key:
        raise _missing("key")
    if filename is not None:
        object_key = object_key.replace("${filename}", filename)
    auth = S3Auth(
        signed=signed,
        auth_type="POST",
        signature_age_ms=max(0, int((now - signed.amz_date).total_seconds() * 1000)),
        content_sha256=None,
        payload="unsigned",
        signing_key=key,
    )
    return PostAuth(auth=auth, key=object_key, expiration=expiration,
                    content_length_range=length_range)


def _parse_policy(policy_b64: str) -> tuple[datetime, list[Any]]:
    if len(policy_b64) > MAX_POLICY_LENGTH:
        raise _policy_document("Policy document too large.")
    try:
        text = base64.b64decode(policy_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _policy_document("invalid Base64 encoding.") from None
    if not text.strip():
        raise _policy_document("Expecting '{' but found End-of-Input")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise _policy_document("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise _policy_document("Invalid JSON.")
    raw_expiration = document.get("expiration")
    if raw_expiration is None:
        raise _policy_document("Policy missing expiration.")
    expiration = _parse_time(raw_expiration)
    if expiration is None:
        raise _policy_document(f"Invalid 'expiration' value: '{raw_expiration}'")
    conditions = document.get("conditions")
    if conditions is None:
        raise _policy_document("Policy missing conditions.")
    if not isinstance(conditions, list):
        raise _policy_document("Invalid 'conditions' value: must be a List.")
    return expiration, conditions


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def _render(condition: object) -> str:
    return json.dumps(condition, separators=(", ", ": "), ensure_ascii=False)


def _check_conditions(
    conditions: list[Any], form: dict[str, str], bucket: str
) -> tuple[int, int] | None:
    """Check each condition against the form; return the content-length-range, if any."""
    covered: set[str] = set()
    length_range: tuple[int, int] | None = None

    def value_of(name: str) -> str | None:
        return bucket if name == "bucket" else form.get(name)

    for condition in conditions:
        if isinstance(condition, dict):
            if len(condition) != 1:
                raise _policy_document(
                    "Invalid Simple-Condition: Simple-Conditions must have exactly one "
                    "property specified."
                )
            ((name, expected),) = condition.items()
            if not isinstance(expected, str):
                raise _policy_document("Invalid Simple-Condition: value must be a string.")
            op, field = "eq", name.lower()
            shown: object = ["eq", f"${name}", expected]
        elif isinstance(condition, list):
            if not condition or not isinstance(condition[0], str):
                raise _policy_document("Invalid Condition: missing operation identifier.")
            op = condition[0].lower()
            shown = condition
            if op == "content-length-range":
                if len(condition) != 3 or not all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 0
                    for v in condition[1:]
                ):
                    raise _policy_document("Invalid content-length-range: wrong number of "
                                           "arguments.")
                length_range = (condition[1], condition[2])
                continue
            if op not in ("eq", "starts-with"):
                raise _policy_document(f"Invalid Condition: unknown operation '{condition[0]}'.")
            if (
                len(condition) != 3
                or not isinstance(condition[1], str)
                or not isinstance(condition[2], str)
            ):
                raise _policy_document(f"Invalid {condition[0]}: wrong number of arguments.")
            field = condition[1].lower().removeprefix("$")
            expected = condition[2]
        else:
            raise _policy_document("Invalid condition test: must be a List or Object.")
        covered.add(field)
        actual = value_of(field)
        if not _holds(op, field, actual, expected):
            raise _denied(f"Policy Condition failed: {_render(shown)}")
    extra = sorted(
        name for name in form
        if name not in _EXEMPT and not name.startswith("x-ignore-") and name not in covered
    )
    if extra:
        raise _denied(f"Extra input fields: {extra[0]}")
    return length_range


def _holds(op: str, field: str, actual: str | None, expected: str) -> bool:
    if op == "eq":
        return actual is not None and hmac.compare_digest(
            actual.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
        )
    value = actual or ""
    if field == "content-type":
        # Content-Type may list several values; each must start with the prefix.
        return all(part.strip().startswith(expected) for part in value.split(","))
    return value.startswith(expected)
