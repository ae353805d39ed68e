"""Identity-token signing keys (pure): the JWT keys OpenSTS signs its OIDC tokens with.

Two algorithms, as GetWebIdentityToken offers them: RS256 (RSA 2048, RFC 7518 §3.3) and
ES384 (ECDSA P-384 with SHA-384, RFC 7518 §3.4). A key's id is the RFC 7638 thumbprint of
its public JWK, so a relying party's JWKS lookup by ``kid`` cannot be confused between keys.
At most one key per algorithm is primary (signs new tokens); the others only verify, until
they are retired (deleted), which is what rotation relies on: tokens signed before a
rotation stay verifiable while their key is published.

The private key is stored as PKCS #8 DER, sealed by the caller (``SecretBox``, context
``b"identity-token-key:" + kid``); nothing here does I/O or reads a clock.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ALGORITHMS = ("RS256", "ES384")
RSA_BITS = 2048
_ES384_COORD = 48


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int, length: int | None = None) -> str:
    size = length or max(1, (value.bit_length() + 7) // 8)
    return _b64(value.to_bytes(size, "big"))


def public_jwk_members(key: PrivateKey) -> dict[str, str]:
    """The required members of the public JWK (RFC 7638 §3.2), nothing else."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"e": _int(numbers.e), "kty": "RSA", "n": _int(numbers.n)}
    point = public.public_numbers()
    return {"crv": "P-384", "kty": "EC", "x": _int(point.x, _ES384_COORD),
            "y": _int(point.y, _ES384_COORD)}


def thumbprint(members: dict[str, str]) -> str:
    """RFC 7638: SHA-256 of the required members, lexicographic, no whitespace."""
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class IdentityKey:
    """An opened identity-token key."""

    kid: str
    algorithm: str
    private_key: PrivateKey
    created: datetime
    primary: bool = False

    def public_jwk(self) -> dict[str, str]:
        members = public_jwk_members(self.private_key)
        return {**members, "kid": self.kid, "use": "sig", "alg": self.algorithm}


def generate(algorithm: str) -> tuple[str, bytes]:
    """A fresh key of ``algorithm``: ``(kid, PKCS #8 DER of the private key)``."""
    key: PrivateKey
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    elif algorithm == "ES384":
        key = ec.generate_private_key(ec.SECP384R1())
    else:
        raise ValueError(f"unsupported identity-token algorithm {algorithm!r}")
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return thumbprint(public_jwk_members(key)), der


def load(kid: str, algorithm: str, der: bytes, created: datetime,
         primary: bool) -> IdentityKey:
    """Open a stored key; its material must match its algorithm and its kid (fail closed)."""
    key = serialization.load_der_private_key(der, password=None)
    if algorithm == "RS256":
        ok = isinstance(key, rsa.RSAPrivateKey) and key.key_size >= RSA_BITS
    elif algorithm == "ES384":
        ok = isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1)
    else:
        ok = False
    if not ok:
        raise ValueError(f"identity-token key {kid} is not a {algorithm} key")
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    if thumbprint(public_jwk_members(key)) != kid:
        raise ValueError(f"identity-token key {kid} does not match its id")
    return IdentityKey(kid, algorithm, key, created, primary)


class IdentityKeyRing:
    """The published keys: one primary per algorithm signs, every key verifies."""

    def __init__(self, keys: Iterable[IdentityKey]):
        self.keys: dict[str, IdentityKey] = {k.kid: k for k in keys}
        self._primary = {k.algorithm: k for k in self.keys.values() if k.primary}

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self.keys)

    def primary(self, algorithm: str) -> IdentityKey:
        try:
            return self._primary[algorithm]
        except KeyError:
            raise LookupError(f"no primary {algorithm} identity-token key") from None

    def primaries(self) -> dict[str, str]:
        return {alg: key.kid for alg, key in self._primary.items()}

    def get(self, kid: str) -> IdentityKey | None:
        return self.keys.get(kid)

    def jwks(self) -> dict[str, Any]:
        ordered = sorted(self.keys.values(), key=lambda k: (not k.primary, k.created, k.kid))
        return {"keys": [k.public_jwk() for k in ordered]}
