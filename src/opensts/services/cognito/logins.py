"""Verifying a request's ``Logins`` against an identity pool.

A login is ``provider name -> token``. The name says which of the pool's providers vouches:

* an IAM OIDC provider of ``OpenIdConnectProviderARNs``, by its name (the ARN after
  ``oidc-provider/``): the token is verified exactly as AssumeRoleWithWebIdentity verifies
  it (``federation.oidc``: signature by the provider's JWKS, ``iss``, ``aud`` among the
  provider's client ids, ``exp``/``nbf``/``iat``, algorithm allow-list);
* ``accounts.google.com`` / ``appleid.apple.com`` of ``SupportedLoginProviders``: OpenID
  Connect ID tokens with ``aud`` = the configured app id, verified the same way;
* an IAM SAML provider of ``SamlProviderARNs``, by its ARN: the base64 SAML response is
  verified exactly as AssumeRoleWithSAML verifies it (signature, audience, Recipient,
  conditions, one use per operation: the same response may serve one GetId and one
  GetCredentialsForIdentity); its attributes are the claims of role mapping rules, and
  the roles its Role attribute pairs with the provider are its ``cognito:roles``;
* ``cognito-identity.amazonaws.com``: an OpenID token this server issued for the pool
  (developer-authenticated identities), verified by ``services.issuer``.

Anything else (a provider the pool does not name, the social providers whose tokens are
opaque, Cognito user pools) is refused: fail closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opensts.directory.errors import NotFound
from opensts.errors import AwsError
from opensts.federation.oidc import JwksCache, OidcProvider, verify_web_identity_token
from opensts.federation.saml import verify_saml_response
from opensts.services import issuer
from opensts.services.cognito import common as c
from opensts.services.cognito.pools import oidc_provider_name
from opensts.services.context import CallContext
from opensts.store._cognito import IdentityPoolRow

OIDC_PUBLIC = {"accounts.google.com": "https://accounts.google.com",
               "appleid.apple.com": "https://appleid.apple.com"}
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"  # how CloudTrail shows Cognito's login tokens


@dataclass(frozen=True)
class VerifiedLogin:
    provider: str  # the Logins key
    subject: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    own_token: bool = False  # a cognito-identity.amazonaws.com token of this server


def audit_logins(logins: Mapping[str, str]) -> dict[str, str]:
    return {name: HIDDEN for name in logins}


def _oidc_providers(ctx: CallContext, pool: IdentityPoolRow) -> dict[str, OidcProvider]:
    found: dict[str, OidcProvider] = {}
    for arn in pool.config.get("OpenIdConnectProviderARNs") or []:
        try:
            stored = ctx.runtime.store.get_oidc_provider(arn)
        except (NotFound, ValueError):  # deleted since: the pool no longer trusts it
            continue
        found[oidc_provider_name(arn)] = OidcProvider(
            url=stored.url, arn=stored.arn, client_ids=tuple(stored.client_ids),
            thumbprints=tuple(stored.thumbprints))
    for name, app_id in (pool.config.get("SupportedLoginProviders") or {}).items():
        if name in OIDC_PUBLIC:
            url = OIDC_PUBLIC[name]
            found[name] = OidcProvider(url=url, arn=name, client_ids=(app_id,), thumbprints=())
    return found


def _refusal(error: AwsError) -> AwsError:
    """The verifier's STS error as Cognito answers it: NotAuthorizedException."""
    message = error.message
    if error.code == "ExpiredTokenException" or "expired" in message.lower():
        return c.not_authorized(f"Invalid login token. Token expired: {message}")
    return c.not_authorized(f"Invalid login token. {message}")


def _only(provider: OidcProvider) -> Callable[[str], OidcProvider | None]:
    """The verifier's provider lookup: this provider for its own issuer, nothing else."""
    return lambda issuer: provider if issuer == provider.url else None


def verify_logins(ctx: CallContext, pool: IdentityPoolRow,
                  logins: Mapping[str, str], operation: str = "") -> list[VerifiedLogin]:
    providers = _oidc_providers(ctx, pool)
    jwks: JwksCache = ctx.runtime.extras["jwks"]
    verified = []
    for name, token in logins.items():
        if name == c.COGNITO_PRINCIPAL:
            verified.append(_own_token(ctx, pool, token))
            continue
        if name in (pool.config.get("SamlProviderARNs") or []):
            verified.append(_saml(ctx, name, token, operation))
            continue
        provider = providers.get(name)
        if provider is None:
            raise c.not_authorized("Token is not from a supported provider of this "
                                   "identity pool.")
        try:
            identity = verify_web_identity_token(
                token, providers=_only(provider), jwks=jwks, now=ctx.meta.now)
        except AwsError as error:
            if "No OpenIDConnect provider found" in error.message:
                raise c.not_authorized(
                    "Invalid login token. Issuer doesn't match providerName") from None
            raise _refusal(error) from None
        verified.append(VerifiedLogin(name, identity.subject, dict(identity.claims)))
    return verified


def _own_token(ctx: CallContext, pool: IdentityPoolRow, token: str) -> VerifiedLogin:
    try:
        claims = issuer.verify_own_token(ctx.runtime, token, issuer_path="cognito-identity",
                                         audience=pool.pool_id,
                                         now=ctx.meta.now)
    except AwsError as error:
        raise _refusal(error) from None
    subject = claims.get("sub")
    if not isinstance(subject, str):
        raise c.not_authorized("Invalid login token.")
    return VerifiedLogin(c.COGNITO_PRINCIPAL, subject, claims, own_token=True)


def _saml(ctx: CallContext, arn: str, assertion: str, operation: str) -> VerifiedLogin:
    from datetime import timedelta

    from opensts.services.sts.federated import _saml_metadata

    store = ctx.runtime.store
    try:
        provider = store.get_saml_provider(arn)
    except (NotFound, ValueError):
        raise c.not_authorized("Token is not from a supported provider of this "
                               "identity pool.") from None
    keys = [ctx.runtime.secret_box.open(
        key.sealed_pem, context=b"saml-key:" + provider.arn.encode() + b"#"
        + key.key_id.encode()) for key in provider.private_keys]
    now = ctx.meta.now
    try:
        identity = verify_saml_response(
            assertion, provider_arn=provider.arn, provider_name=provider.name,
            account_id=provider.account_id, metadata=_saml_metadata(provider.metadata),
            decryption_keys=keys, now=now,
            seen=lambda assertion_id: not store.add_used_token(
                f"cognito:{operation}:saml:{provider.arn}:{assertion_id}",
                now + timedelta(days=1)),
            require_encryption=provider.assertion_encryption_mode == "Required")
    except AwsError as error:
        raise c.not_authorized(f"Invalid login token. {error.message}") from None
    claims: dict[str, Any] = {k: list(v) for k, v in identity.attributes.items()}
    claims["cognito:roles"] = [r for r, p in identity.role_pairs if p == provider.arn]
    return VerifiedLogin(arn, identity.subject, claims)
