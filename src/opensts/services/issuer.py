"""OpenSTS as an OpenID issuer: signing and verifying its own JWTs, and its keys.

Issuers are paths on this server's public URL (``Settings.public_url``, the one sign-in
uses): ``{public_url}/{issuer_path}``, e.g. ``oidc/123456789012`` (an account's outbound
web identity federation) or ``cognito-identity``. Each serves OpenID Connect Discovery 1.0
at ``/{issuer_path}/.well-known/openid-configuration`` and its keys at
``/.well-known/jwks.json`` (web/issuer.py).

Keys (credentials/identity_keys.py) are generated on first use, one primary per algorithm
(RS256, ES384), sealed at rest with ``b"identity-token-key:" + kid`` like the session-token
keys, and re-read every ``OPENSTS_KEY_REFRESH_SECONDS`` so a rotation made with
``opensts keys rotate --kind identity-token`` reaches every node. Retired keys (``opensts
keys retire``) leave the JWKS at once and their tokens stop verifying.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jwt

from opensts import safejson
from opensts.credentials import identity_keys as ik
from opensts.credentials.at_rest import SecretBox
from opensts.directory.records import IdentityTokenKey
from opensts.directory.store import Store
from opensts.federation.errors import InvalidIdentityToken
from opensts.federation.oidc.tokens import check_times

if TYPE_CHECKING:
    from opensts.services.runtime import Runtime

CONTEXT = b"identity-token-key:"
LEEWAY_SECONDS = 60
MAX_TOKEN_CHARS = 20_000
# An issuer path: one to three segments of unreserved characters, never "." or "..".
ISSUER_PATH = re.compile(r"(?!\.{1,2}(?:/|$))[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127}"
                         r"(?:/(?!\.{1,2}(?:/|$))[A-Za-z0-9._~-]{1,128}){0,2}")
_EXTRA = "identity_keys"


def issuer_url(runtime: Runtime, path: str) -> str:
    """``{public_url}/{path}``: the ``iss`` of tokens issued under ``path``."""
    base = runtime.settings.public_url
    if not base:
        raise RuntimeError("the issuer needs a public URL (OPENSTS_PUBLIC_URL)")
    if not ISSUER_PATH.fullmatch(path):
        raise ValueError(f"not an issuer path: {path!r}")
    return f"{base}/{path}"


# -- keys ----------------------------------------------------------------------------------
def add_identity_key(store: Store, box: SecretBox, algorithm: str, now: datetime) -> str:
    """Generate a key of ``algorithm`` and make it that algorithm's primary; older keys
    keep verifying until retired."""
    kid, der = ik.generate(algorithm)
    sealed = box.seal(der, context=CONTEXT + kid.encode())
    store.add_identity_token_key(IdentityTokenKey(kid, algorithm, sealed, now, primary=True))
    return kid


def load_ring(store: Store, box: SecretBox, now: datetime) -> ik.IdentityKeyRing:
    """Every stored key, opened; a missing primary of an algorithm is generated first."""
    rows = store.list_identity_token_keys()
    missing = [alg for alg in ik.ALGORITHMS
               if not any(r.primary and r.algorithm == alg for r in rows)]
    for algorithm in missing:
        add_identity_key(store, box, algorithm, now)
    if missing:
        rows = store.list_identity_token_keys()
    return ik.IdentityKeyRing(
        ik.load(r.key_id, r.algorithm, box.open(r.sealed_key, context=CONTEXT + r.key_id.encode()),
                r.created, r.primary)
        for r in rows if r.algorithm in ik.ALGORITHMS)


def ring(runtime: Runtime, now: datetime) -> ik.IdentityKeyRing:
    """The current key ring: loaded once, re-read every ``key_refresh_seconds``."""
    cached = runtime.extras.get(_EXTRA)
    monotonic = time.monotonic()
    if cached is not None and monotonic - cached[1] < runtime.key_refresh_seconds:
        return cached[0]  # type: ignore[no-any-return]
    from opensts.services.inline import NeedsIO, inline_active

    if inline_active():
        raise NeedsIO("identity keys")
    rows = runtime.store.list_identity_token_keys()
    current: ik.IdentityKeyRing | None = cached[0] if cached is not None else None
    if (current is None or {r.key_id for r in rows} != current.key_ids
            or {r.algorithm: r.key_id for r in rows if r.primary} != current.primaries()):
        current = load_ring(runtime.store, runtime.secret_box, now)
    runtime.extras[_EXTRA] = (current, monotonic)
    return current


# -- tokens --------------------------------------------------------------------------------
def sign_token(runtime: Runtime, *, issuer_path: str, claims: Mapping[str, Any],
               algorithm: str = "RS256", now: datetime | None = None) -> str:
    """A JWT over ``claims`` (aud, sub, exp, ... are the caller's) with ``iss`` = this
    issuer and ``iat`` (unless given), signed by the primary key of ``algorithm``."""
    if algorithm not in ik.ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {algorithm!r}")
    when = now or _utcnow()
    key = ring(runtime, when).primary(algorithm)
    payload = {"iss": issuer_url(runtime, issuer_path), **dict(claims)}
    payload.setdefault("iat", int(when.timestamp()))
    return jwt.encode(payload, key.private_key, algorithm=algorithm,
                      headers={"kid": key.kid, "typ": "JWT"})


def verify_own_token(runtime: Runtime, token: str, *, issuer_path: str,
                     audience: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Strictly verify a token this server issued under ``issuer_path``.

    The header's ``alg`` must be RS256 or ES384 and equal to its key's, the ``kid`` a
    published key, the signature valid; ``exp`` required, ``iat``/``nbf`` not in the future
    beyond the leeway; ``iss`` this issuer; ``aud`` (when ``audience`` is given) must
    contain it. Failures raise InvalidIdentityToken (ExpiredTokenException once expired).
    """
    when = now or _utcnow()
    if not isinstance(token, str) or not 4 <= len(token) <= MAX_TOKEN_CHARS:
        raise InvalidIdentityToken("The token is not a valid JSON Web Token")
    try:
        safejson.check_compact_jws(token)
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, safejson.JsonInputError) as exc:
        raise InvalidIdentityToken("The token is not a valid JSON Web Token") from exc
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ik.ALGORITHMS:
        raise InvalidIdentityToken("Tokens must be signed using RS256 or ES384")
    key = ring(runtime, when).get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidIdentityToken("The token's signing key is not published by its issuer")
    if key.algorithm != algorithm:
        raise InvalidIdentityToken("The token's algorithm does not match its signing key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key.private_key.public_key(), algorithms=[algorithm],
            options={"verify_signature": True, "verify_exp": False, "verify_nbf": False,
                     "verify_iat": False, "verify_aud": False, "verify_iss": False})
    except jwt.InvalidSignatureError as exc:
        raise InvalidIdentityToken("The token signature is invalid") from exc
    except jwt.PyJWTError as exc:
        raise InvalidIdentityToken("The token could not be verified") from exc
    check_times(claims, when, LEEWAY_SECONDS)
    if claims.get("iss") != issuer_url(runtime, issuer_path):
        raise InvalidIdentityToken("The token was not issued by this issuer")
    if audience is not None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if audience not in audiences:
            raise InvalidIdentityToken("Incorrect token audience")
    return claims


# -- discovery -----------------------------------------------------------------------------
def discovery(runtime: Runtime, issuer_path: str) -> dict[str, Any]:
    """The OpenID Provider Metadata (Discovery 1.0 §3) of an issuer."""
    issuer = issuer_url(runtime, issuer_path)
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ik.ALGORITHMS),
        "claims_supported": ["aud", "exp", "iat", "iss", "jti", "nbf", "sub"],
        "scopes_supported": ["openid"],
    }


def jwks(runtime: Runtime) -> dict[str, Any]:
    """The public keys of every non-retired identity-token key."""
    return ring(runtime, _utcnow()).jwks()


def _utcnow() -> datetime:
    from opensts.services.bootstrap import utcnow

    return utcnow()
