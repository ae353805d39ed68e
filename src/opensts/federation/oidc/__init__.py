"""OpenID Connect tokens for AssumeRoleWithWebIdentity.

OpenID Connect Core 1.0 §3.1.3.7 (ID token validation), Discovery 1.0 §4 (provider
configuration), RFC 7517 (JWK Sets), RFC 7519/8725 (JWT and its best practices), applied as
the STS API reference and IAM User Guide describe.
"""

from opensts.federation.oidc.jwks import JwksCache
from opensts.federation.oidc.provider import OidcProvider, provider_arn, provider_key_prefix
from opensts.federation.oidc.tokens import WebIdentity, verify_web_identity_token

__all__ = [
    "JwksCache",
    "OidcProvider",
    "WebIdentity",
    "provider_arn",
    "provider_key_prefix",
    "verify_web_identity_token",
]
