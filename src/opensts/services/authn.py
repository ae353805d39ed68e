"""Authenticate a SigV4-signed request: find the secret behind its access key and verify.

Long-term keys (AKIA) are looked up in the store and their secret opened with the master
key. Temporary keys (ASIA) carry everything in their sealed session token, so the hot path
needs no database read: unseal, check the key id and expiry, verify the signature.

Every refusal is noted for the operator (``audit.notes``): the access key id the request
was signed with and why it was refused, which the request's audit event then carries. The
client sees only AWS's error; the secret, signature and token are never noted.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

from opensts.audit.notes import note_auth_failure
from opensts.credentials.tokens import InvalidToken
from opensts.directory.errors import NotFound
from opensts.directory.records import AccessKeyLastUsed
from opensts.errors import AccessDenied, AwsError
from opensts.services.context import Caller
from opensts.services.runtime import Runtime
from opensts.services.session_claims import caller_from_claims
from opensts.sigv4 import DEFAULT_MAX_SKEW, SignedRequest, verify
from opensts.sigv4.errors import (
    ExpiredToken,
    IncompleteSignature,
    InvalidClientTokenId,
    RequestExpired,
    SignatureDoesNotMatch,
    SignatureExpired,
    SignatureNotYetCurrent,
)

# GetAccessKeyLastUsed is approximate on AWS too; recording at most this often per key keeps a
# write off nearly every request.
LAST_USED_GRANULARITY_SECONDS = 300


def authenticate(
    runtime: Runtime,
    signed: SignedRequest,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    now: datetime,
    service: str,
    payload_hash: str | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> Caller:
    caller, secret, _ = resolve_credentials(runtime, signed, now)
    try:
        verify(
            signed,
            method=method,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=headers,
            body=body,
            secret_access_key=secret,
            now=now,
            key_cache=runtime.signing_keys,
            services={service},
            payload_hash=payload_hash,
            max_skew=max_skew,
        )
    except AwsError as error:
        note_auth_failure(signed.access_key_id, verify_failure_reason(error))
        raise
    if not signed.access_key_id.startswith("ASIA"):
        _record_use(runtime, signed.access_key_id, service, signed.region, now)
    return caller


def resolve_credentials(
    runtime: Runtime, signed: SignedRequest, now: datetime
) -> tuple[Caller, str, float | None]:
    """The caller behind a request's access key, its secret (to verify the signature with)
    and, for temporary credentials, when they expire (epoch seconds). The signature is NOT
    checked here: S3 verifies it its own way (``sigv4.s3.verify_s3``), then calls
    :func:`record_use`."""
    try:
        if signed.access_key_id.startswith("ASIA"):
            caller, secret, expires = _temporary(runtime, signed, now)
            return caller, secret, expires
        caller, secret = _long_term(runtime, signed)
        return caller, secret, None
    except _Refused as refused:
        note_auth_failure(signed.access_key_id, refused.reason)
        raise refused.error from None


def verify_failure_reason(error: AwsError) -> str:
    """The reason (``audit.notes.AUTH_FAILURE_REASONS``) a signature check gave ``error``."""
    if isinstance(error, SignatureExpired | SignatureNotYetCurrent):
        return "clock_skew"
    if isinstance(error, SignatureDoesNotMatch):
        return "signature_mismatch"
    if isinstance(error, RequestExpired):
        return "request_expired"
    if isinstance(error, IncompleteSignature):
        return "incomplete_signature"
    # S3's own answers (sigv4.s3) are plain AwsErrors with S3's codes.
    return _S3_REASONS.get((error.code, error.message), _S3_REASONS.get((error.code, ""),
                                                                          "other"))


_S3_REASONS = {
    ("SignatureDoesNotMatch", ""): "signature_mismatch",
    ("RequestTimeTooSkewed", ""): "clock_skew",
    ("ExpiredToken", ""): "expired_token",
    ("AccessDenied", "Request has expired"): "request_expired",
    ("AuthorizationHeaderMalformed", ""): "incomplete_signature",
    ("AuthorizationQueryParametersError", ""): "incomplete_signature",
}


class _Refused(Exception):
    """Raised inside this module: the client's error and the operator's reason."""

    def __init__(self, error: AwsError, reason: str):
        self.error = error
        self.reason = reason


def record_use(runtime: Runtime, signed: SignedRequest, service: str, now: datetime) -> None:
    """GetAccessKeyLastUsed bookkeeping after a long-term key's signature verified."""
    if not signed.access_key_id.startswith("ASIA"):
        _record_use(runtime, signed.access_key_id, service, signed.region, now)


def _record_use(runtime: Runtime, key_id: str, service: str, region: str, now: datetime) -> None:
    stamp = now.timestamp()
    if stamp - runtime.key_last_recorded.get(key_id, 0.0) < LAST_USED_GRANULARITY_SECONDS:
        return
    # The write first: in an inline attempt (services.inline) it raises NeedsIO before
    # anything changed, and the re-run in a thread must still see the mark unset.
    runtime.store.record_access_key_use(key_id, AccessKeyLastUsed(now, service, region))
    runtime.key_last_recorded[key_id] = stamp


def check_session_scope(caller: Caller, service: str, action: str) -> None:
    """What credentials from GetSessionToken and GetFederationToken may call.

    STS API reference: GetSessionToken credentials cannot call IAM unless MFA was included,
    and no STS operation but AssumeRole and GetCallerIdentity; GetFederationToken
    credentials cannot call IAM at all, and no STS operation but GetCallerIdentity. AWS
    answers IAM calls with InvalidClientTokenId (aws/aws-sdk-js#460, cloudyr/aws.iam#15).
    """
    claims = caller.session
    if not claims:
        return
    issued_by = claims.get("op")
    if service == "iam":
        if issued_by == "GetFederationToken" or (
            issued_by == "GetSessionToken" and not claims.get("mfa")
        ):
            if caller.access_key_id:
                note_auth_failure(caller.access_key_id, "session_scope")
            raise InvalidClientTokenId()
    elif service == "sts" and action != "GetCallerIdentity":
        allowed = {"GetSessionToken": {"AssumeRole"}, "GetFederationToken": set()}
        if issued_by in allowed and action not in allowed[issued_by]:
            if action in ("GetSessionToken", "GetFederationToken"):
                return  # the operation answers with its own, more specific message
            raise AccessDenied(f"Credentials from {issued_by} cannot call {action}.")


def _temporary(
    runtime: Runtime, signed: SignedRequest, now: datetime
) -> tuple[Caller, str, float]:
    if not signed.security_token:
        raise _Refused(InvalidClientTokenId(), "missing_session_token")
    try:
        claims = runtime.keyring.unseal(signed.security_token)
    except InvalidToken:
        raise _Refused(InvalidClientTokenId(), "invalid_session_token") from None
    if not hmac.compare_digest(str(claims.get("akid", "")), signed.access_key_id):
        raise _Refused(InvalidClientTokenId(), "session_token_key_mismatch")
    if claims["exp"] <= now.timestamp():
        raise _Refused(ExpiredToken(), "expired_token")
    return caller_from_claims(claims), claims["sk"], float(claims["exp"])


def _long_term(runtime: Runtime, signed: SignedRequest) -> tuple[Caller, str]:
    if signed.security_token:
        # A session token with a long-term key id is not a valid pairing.
        raise _Refused(InvalidClientTokenId(), "session_token_with_long_term_key")
    key = runtime.store.find_access_key(signed.access_key_id)
    if key is None:
        raise _Refused(InvalidClientTokenId(), "unknown_access_key")
    if key.status != "Active":
        raise _Refused(InvalidClientTokenId(), "inactive_access_key")
    secret = runtime.secret_box.open(
        key.sealed_secret, context=b"access-key:" + key.access_key_id.encode()
    ).decode()
    # The owner is the key's user id; a name the owner join found nothing for is a user's
    # key whose user is gone, never the root's.
    if key.user_id is None:
        caller = Caller(
            type="Root",
            account_id=key.account_id,
            arn=f"arn:aws:iam::{key.account_id}:root",
            principal_id=key.account_id,
            access_key_id=key.access_key_id,
        )
    else:
        try:
            if key.user_name is None:
                raise NotFound("user", key.user_id)
            user = runtime.store.get_user(key.account_id, key.user_name)
        except NotFound:
            raise _Refused(InvalidClientTokenId(), "user_deleted") from None
        if user.user_id != key.user_id:
            # A key read before its user was deleted, paired with a new user of that name.
            raise _Refused(InvalidClientTokenId(), "user_deleted")
        caller = Caller(
            type="IAMUser",
            account_id=key.account_id,
            arn=user.arn,
            principal_id=user.user_id,
            access_key_id=key.access_key_id,
            user_name=user.name,
        )
    return caller, secret
