"""Errors of the federated AssumeRole* operations.

Codes and statuses are those of the STS service model (botocore ``sts/2011-06-15``): the wire
code drops the ``Exception`` suffix except for ``ExpiredTokenException``.
"""

from __future__ import annotations

from opensts.errors import SenderError


class InvalidIdentityToken(SenderError):
    """The web identity token or SAML response could not be validated."""

    code = "InvalidIdentityToken"
    status = 400


class IDPRejectedClaim(SenderError):
    """The identity provider reported that authentication failed, or a claim was refused."""

    code = "IDPRejectedClaim"
    status = 403


class ExpiredTokenException(SenderError):
    """The token or SAML response has expired or is not valid yet."""

    code = "ExpiredTokenException"
    status = 400


class IDPCommunicationError(SenderError):
    """The OIDC provider's discovery document or JWKS could not be fetched."""

    code = "IDPCommunicationError"
    status = 400
