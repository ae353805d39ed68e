"""Errors of the sign-in service, in the shapes botocore's ``signin`` model reads.

``AccessDeniedException`` and ``ValidationException`` carry an OAuth 2.0 ``error`` member
(enum ``OAuth2ErrorCode``) next to ``message``; botocore's LoginProvider branches on it
(``TOKEN_EXPIRED``/``USER_CREDENTIALS_CHANGED`` → sign in again,
``INSUFFICIENT_PERMISSIONS`` → permissions message). The model gives AccessDeniedException
no HTTP status, so it is answered with 400, as botocore expects (aws-clients.md §2a).
"""

from __future__ import annotations

from opensts.errors import AwsError


class SigninError(AwsError):
    """An error of ``/v1/token``; ``error`` is the OAuth2ErrorCode botocore reads."""

    code = "AccessDeniedException"
    status = 400
    fault = "Sender"

    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error


class SigninAccessDenied(SigninError):
    code = "AccessDeniedException"


class SigninValidation(SigninError):
    code = "ValidationException"


class TooManyRequests(SigninError):
    code = "TooManyRequestsError"
    status = 429


def token_expired(message: str = "Your session has expired. Please sign in again.") -> SigninError:
    return SigninAccessDenied("TOKEN_EXPIRED", message)


def invalid_grant(message: str) -> SigninError:
    return SigninAccessDenied("invalid_grant", message)


def invalid_request(message: str) -> SigninError:
    return SigninValidation("INVALID_REQUEST", message)


class AuthorizeError(Exception):
    """A problem with a ``/v1/authorize`` request, shown on an error page or redirected.

    ``redirect`` is False when the client or redirect URI cannot be trusted: RFC 6749
    §4.1.2.1 forbids redirecting to an invalid redirect URI, so the user sees the error.
    """

    def __init__(self, error: str, description: str, *, redirect: bool):
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect = redirect
