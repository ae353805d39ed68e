"""AWS Signature Version 4 (and 4A) request verification: pure, no I/O, ``now`` passed in.

Spec: AWS SigV4 ("Create a signed AWS API request", IAM User Guide) and the official
aws-c-auth signing test suite. Typical use by the web layer::

    signed = parse_request(method, raw_path, raw_query, headers)
    if signed is None:
        raise MissingAuthenticationToken()
    secret = lookup_secret(signed.access_key_id, signed.security_token)  # caller's job
    verify(signed, method=..., raw_path=..., raw_query=..., headers=..., body=...,
           secret_access_key=secret, now=now, key_cache=cache, services={"sts"})
"""

from opensts.sigv4.errors import (
    ContentSHA256Mismatch,
    ExpiredToken,
    IncompleteSignature,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
    SignatureExpired,
    SignatureNotYetCurrent,
)
from opensts.sigv4.request import SIGV4, SIGV4A, SignedRequest, parse_request
from opensts.sigv4.signing import SigningKeyCache
from opensts.sigv4.verify import DEFAULT_MAX_SKEW, verify

__all__ = [
    "DEFAULT_MAX_SKEW",
    "SIGV4",
    "SIGV4A",
    "ContentSHA256Mismatch",
    "ExpiredToken",
    "IncompleteSignature",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "SignatureExpired",
    "SignatureNotYetCurrent",
    "SignedRequest",
    "SigningKeyCache",
    "parse_request",
    "verify",
]
