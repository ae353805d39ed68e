"""Authentication errors answered by AWS query services (STS, IAM) for SigV4 requests.

Codes, statuses and message texts follow what AWS returns on the wire:

* AWS General Reference, "Common Errors" (IncompleteSignature 400, MissingAuthenticationToken
  403, RequestExpired 400, InvalidClientTokenId 403, ExpiredToken 403, SignatureDoesNotMatch 403).
* IAM User Guide, "Troubleshoot signed requests for AWS APIs" (signature-v4-troubleshooting)
  for the credential-scope and clock-skew message texts.
* Observed STS output: clock skew is answered as ``SignatureDoesNotMatch`` with the text
  ``Signature expired: <x-amz-date> is now earlier than <now - 15 min> (<now> - 15 min.)``
  (aws/aws-cli#6676 on GetCallerIdentity, devsecops/bootcamp#101 on AssumeRole).
"""

from __future__ import annotations

from opensts.errors import SenderError

SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class IncompleteSignature(SenderError):
    """The request's signature is structurally incomplete or malformed."""

    code = "IncompleteSignature"
    status = 400


class SignatureDoesNotMatch(SenderError):
    """The signature (or its scope or time window) does not verify.

    ``canonical_request`` and ``string_to_sign`` hold what the server computed, for
    operator-side debugging; they are never part of ``message`` and contain no secret.
    """

    code = "SignatureDoesNotMatch"
    status = 403

    def __init__(
        self,
        message: str = SIGNATURE_MISMATCH_MESSAGE,
        *,
        canonical_request: str | None = None,
        string_to_sign: str | None = None,
    ):
        super().__init__(message)
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


class SignatureExpired(SignatureDoesNotMatch):
    """X-Amz-Date is further in the past than the allowed clock skew."""


class SignatureNotYetCurrent(SignatureDoesNotMatch):
    """X-Amz-Date is further in the future than the allowed clock skew."""


class MissingAuthenticationToken(SenderError):
    """A request that needs authentication carries no signature at all."""

    code = "MissingAuthenticationToken"
    status = 403

    def __init__(self, message: str = "Request is missing Authentication Token"):
        super().__init__(message)


class RequestExpired(SenderError):
    """A presigned request used after X-Amz-Date + X-Amz-Expires."""

    code = "RequestExpired"
    status = 400

    def __init__(self, message: str = "Request has expired."):
        super().__init__(message)


class InvalidClientTokenId(SenderError):
    """Unknown access key id, or a session token that does not verify."""

    code = "InvalidClientTokenId"
    status = 403

    def __init__(self, message: str = "The security token included in the request is invalid."):
        super().__init__(message)


class ExpiredToken(SenderError):
    """A session token that verified but is past its expiration."""

    code = "ExpiredToken"
    status = 403

    def __init__(self, message: str = "The security token included in the request is expired"):
        super().__init__(message)


class ContentSHA256Mismatch(SenderError):
    """The X-Amz-Content-SHA256 header does not match the body received."""

    code = "XAmzContentSHA256Mismatch"
    status = 400

    def __init__(
        self,
        message: str = (
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        ),
    ):
        super().__init__(message)
