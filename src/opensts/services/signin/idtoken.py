"""The ``idToken`` of the authorization-code response: an OpenID Connect ID token.

The AWS CLI decodes its payload without verifying it and uses ``sub`` as the profile's
``login_session``; ``sub`` must be the session's ARN (six colon-separated parts, the
account in the fifth). We still sign it (ES256, OpenID Connect Core §2 requires a signed ID
token) with a P-256 key derived from the master key, so every node signs with the same key
without storing one, and publish the public half as a JWKS.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from opensts.services.signin.rfc9449 import jwk_thumbprint

_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
ID_TOKEN_SECONDS = 900


def derive_key(master_key: bytes, purpose: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF-SHA256 of the master key, one output per ``purpose``."""
    return HKDF(hashes.SHA256(), length, salt=None, info=b"opensts/signin/" + purpose).derive(
        master_key
    )


def signing_key(master_key: bytes) -> ec.EllipticCurvePrivateKey:
    # 48 bytes reduced mod n: FIPS 186-5 A.2.1 (extra random bits make the bias negligible).
    seed = int.from_bytes(derive_key(master_key, b"id-token-key", 48), "big")
    return ec.derive_private_key(seed % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def _b64(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x), "y": _b64(numbers.y)}
    return {**jwk, "kid": jwk_thumbprint(jwk), "use": "sig", "alg": "ES256"}


def build(
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: str,
    subject: str,
    audience: str,
    now: int,
    auth_time: int,
    amr: list[str],
    extra: dict[str, Any] | None = None,
) -> str:
    jwk = public_jwk(key)
    claims = {
        "iss": issuer, "sub": subject, "aud": audience, "iat": now,
        "exp": now + ID_TOKEN_SECONDS, "auth_time": auth_time, "amr": amr,
        **(extra or {}),
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": jwk["kid"]})


def jwks(key: ec.EllipticCurvePrivateKey) -> str:
    return json.dumps({"keys": [public_jwk(key)]})
