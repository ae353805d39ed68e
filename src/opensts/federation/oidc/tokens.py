"""Verification of the WebIdentityToken passed to AssumeRoleWithWebIdentity.

STS API reference: the token is an OIDC ID token (or a JWT access token) signed with RS256,
RS384, RS512, ES256, ES384 or ES512, whose timestamps are integers; ``iss`` must be a
registered IAM OIDC provider and ``aud`` one of its client IDs. Signature checks use PyJWT;
time checks use the ``now`` the caller passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from opensts import safejson
from opensts.errors import InvalidParameterValue, ValidationError
from opensts.federation.errors import ExpiredTokenException, InvalidIdentityToken
from opensts.federation.oidc.claims import GOOGLE_PREFIX, provider_specific_keys
from opensts.federation.oidc.jwks import JwksCache, SigningKey
from opensts.federation.oidc.provider import OidcProvider

MAX_TOKEN_CHARS = 20_000
MIN_TOKEN_CHARS = 4
ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})
_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}
TAGS_CLAIM = "https://aws.amazon.com/tags"
SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"
ROLES_CLAIM = "https://aws.amazon.com/roles"
_SOURCE_IDENTITY = re.compile(r"[a-zA-Z_0-9+=,.@-]{2,64}")
_TAG_KEY = re.compile(r"[\w\s.:/=+\-@]{1,128}")
_TAG_VALUE = re.compile(r"[\w\s.:/=+\-@]{0,256}")
MAX_SESSION_TAGS = 50

MSG_AUDIENCE = "Incorrect token audience"
MSG_SOURCE_IDENTITY = (
    'Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"'
)


@dataclass(frozen=True)
class WebIdentity:
    """A verified web identity token, reduced to what STS uses."""

    issuer: str
    provider_arn: str
    provider_prefix: str
    subject: str
    audience: str
    azp: str | None
    amr: tuple[str, ...]
    expires_at: datetime
    claims: Mapping[str, Any] = field(default_factory=dict)
    principal_tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    roles: tuple[str, ...] | None = None

    def authorizes_role(self, role_arn: str) -> bool:
        """The ``https://aws.amazon.com/roles`` rule: absent claim allows any role."""
        return self.roles is None or role_arn in self.roles

    def condition_keys(self) -> dict[str, str | list[str]]:
        """``<provider>:aud/sub/azp/amr``, provider-specific keys and ``aws:FederatedProvider``."""
        prefix = self.provider_prefix
        keys: dict[str, str | list[str]] = {
            f"{prefix}:aud": self.audience,
            f"{prefix}:sub": self.subject,
            "aws:FederatedProvider": self.provider_arn,
        }
        if prefix == GOOGLE_PREFIX:
            # Google: :aud is azp when present, :oaud the token's own aud.
            keys[f"{prefix}:aud"] = self.azp or self.audience
            keys[f"{prefix}:oaud"] = self.audience
        if self.azp is not None:
            keys[f"{prefix}:azp"] = self.azp
        if self.amr:
            keys[f"{prefix}:amr"] = list(self.amr)
        keys.update(provider_specific_keys(prefix, self.claims))
        return keys


def verify_web_identity_token(
    token: str,
    *,
    providers: Callable[[str], OidcProvider | None],
    jwks: JwksCache,
    now: datetime,
    leeway_seconds: int = 300,
) -> WebIdentity:
    """Verify ``token`` and return the identity it carries, or raise the AWS error."""
    if len(token) > MAX_TOKEN_CHARS:
        raise ValidationError(
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_TOKEN_CHARS}"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise ValidationError(
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
            f"constraint: Member must have length greater than or equal to {MIN_TOKEN_CHARS}"
        )
    try:
        safejson.check_compact_jws(token)
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, safejson.JsonInputError) as exc:
        raise InvalidIdentityToken("The token is not a valid JSON Web Token") from exc
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise InvalidIdentityToken(
            "Tokens must be signed using RS256, RS384, RS512, ES256, ES384 or ES512"
        )
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise InvalidIdentityToken("The token has no iss claim")
    provider = providers(issuer)
    if provider is None or provider.url != issuer:
        raise InvalidIdentityToken(f"No OpenIDConnect provider found in your account for {issuer}")

    kid = header.get("kid")
    key = jwks.signing_key(provider.url, kid if isinstance(kid, str) else None)
    _check_key_type(key, algorithm)
    try:
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise InvalidIdentityToken("The token signature is invalid") from exc
    except jwt.PyJWTError as exc:
        raise InvalidIdentityToken("The token could not be verified") from exc

    expires_at = check_times(claims, now, leeway_seconds)
    audience, azp = _audience(claims, provider)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidIdentityToken("The token has no sub claim")
    amr = claims.get("amr", ())
    amr_values = (amr,) if isinstance(amr, str) else tuple(str(v) for v in amr or ())
    tags, transitive = _tags(claims.get(TAGS_CLAIM))
    return WebIdentity(
        issuer=issuer,
        provider_arn=provider.arn,
        provider_prefix=provider.key_prefix,
        subject=subject,
        audience=audience,
        azp=azp,
        amr=amr_values,
        expires_at=expires_at,
        claims=claims,
        principal_tags=tags,
        transitive_tag_keys=transitive,
        source_identity=_source_identity(claims.get(SOURCE_IDENTITY_CLAIM)),
        roles=_roles(claims.get(ROLES_CLAIM)),
    )


def _check_key_type(key: SigningKey, algorithm: str) -> None:
    """The JWK must suit the header's alg (no RSA/EC or curve confusion, RFC 8725 §3.1)."""
    material = key.key
    if key.alg is not None and key.alg != algorithm:
        raise InvalidIdentityToken("The token's algorithm does not match its signing key")
    if algorithm.startswith("RS"):
        ok = isinstance(material, rsa.RSAPublicKey)
    else:
        ok = isinstance(material, ec.EllipticCurvePublicKey) and isinstance(
            material.curve, _CURVES[algorithm]
        )
    if not ok:
        raise InvalidIdentityToken("The token's algorithm does not match its signing key")


def _timestamp(claims: Mapping[str, Any], name: str) -> int | None:
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidIdentityToken(
            "Timestamps in the token must be formatted as either an integer or a long integer"
        )
    return value


def check_times(claims: Mapping[str, Any], now: datetime, leeway: int) -> datetime:
    """``exp`` required and not passed, ``iat``/``nbf`` not beyond ``leeway`` in the future;
    the expiry. Shared by every JWT this server verifies (web identity, its own tokens)."""
    current = int(now.timestamp())
    exp = _timestamp(claims, "exp")
    if exp is None:
        raise InvalidIdentityToken("The token has no exp claim")
    if current >= exp:
        # AWS's exact wording, including the missing space before the second number.
        raise ExpiredTokenException(
            f"Token expired: current date/time {current} must be before the expiration "
            f"date/time{exp}"
        )
    iat = _timestamp(claims, "iat")
    if iat is not None and iat > current + leeway:
        raise InvalidIdentityToken("The token was issued in the future")
    nbf = _timestamp(claims, "nbf")
    if nbf is not None and nbf > current + leeway:
        raise InvalidIdentityToken("The token is not valid yet")
    return datetime.fromtimestamp(exp, UTC)


def _audience(claims: Mapping[str, Any], provider: OidcProvider) -> tuple[str, str | None]:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else [a for a in aud or () if isinstance(a, str)]
    azp = claims.get("azp")
    azp = azp if isinstance(azp, str) else None
    for value in audiences:
        if value in provider.client_ids:
            return value, azp
    if azp is not None and azp in provider.client_ids:
        return azp, azp
    raise InvalidIdentityToken(MSG_AUDIENCE)


def _tags(value: Any) -> tuple[dict[str, str], tuple[str, ...]]:
    """The ``https://aws.amazon.com/tags`` claim (IAM User Guide, "Passing session tags
    using AssumeRoleWithWebIdentity"): each principal tag value is a one-element array."""
    if value is None:
        return {}, ()
    if not isinstance(value, dict):
        raise InvalidIdentityToken("The https://aws.amazon.com/tags claim must be an object")
    principal = value.get("principal_tags", {})
    if not isinstance(principal, dict) or len(principal) > MAX_SESSION_TAGS:
        raise InvalidIdentityToken("The principal_tags in the token are invalid")
    tags: dict[str, str] = {}
    lowered: set[str] = set()
    for key, raw in principal.items():
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str):
            raise InvalidIdentityToken(f"Principal tag {key} must have exactly one value")
        tag_value = values[0]
        if not _TAG_KEY.fullmatch(key) or key.lower().startswith("aws:"):
            raise InvalidIdentityToken(f"Principal tag key {key} is invalid")
        if not _TAG_VALUE.fullmatch(tag_value) or tag_value.lower().startswith("aws:"):
            raise InvalidIdentityToken(f"Principal tag {key} has an invalid value")
        if key.lower() in lowered:
            raise InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        lowered.add(key.lower())
        tags[key] = tag_value
    transitive = value.get("transitive_tag_keys", [])
    if not isinstance(transitive, list) or not all(isinstance(k, str) for k in transitive):
        raise InvalidIdentityToken("The transitive_tag_keys in the token are invalid")
    for key in transitive:
        if key.lower() not in lowered:
            raise InvalidParameterValue(
                "The specified transitive tag key must be included in the requested tags."
            )
    return tags, tuple(dict.fromkeys(transitive))


def _source_identity(value: Any) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not _SOURCE_IDENTITY.fullmatch(value)
        or value.lower().startswith("aws:")
    ):
        raise InvalidIdentityToken(MSG_SOURCE_IDENTITY)
    return value


def _roles(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InvalidIdentityToken("The https://aws.amazon.com/roles claim must be a string or list")
