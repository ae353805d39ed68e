"""RFC 9449: OAuth 2.0 Demonstrating Proof of Possession (DPoP) proofs.

botocore signs one proof per ``CreateOAuth2Token`` call with the ES256 key it keeps in the
login cache: header ``{"typ":"dpop+jwt","alg":"ES256","jwk":{EC P-256 public key}}``,
claims ``htm``, ``htu``, ``iat``, ``jti`` (no ``ath``, no nonce). Checks follow §4.3:
one well-formed JWT, ``typ`` dpop+jwt, an asymmetric ``alg`` we support (ES256 only), a
public ``jwk`` with no private members, a valid signature by that key, ``htm`` and ``htu``
matching the request (``htu`` compared without query and fragment), ``iat`` within an
acceptable window. The caller records ``jti`` to refuse replays (§11.1) and binds tokens
to the key's RFC 7638 thumbprint (§5, ``jkt``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from jwt.algorithms import ECAlgorithm

from opensts import safejson

MAX_PROOF_CHARS = 4096
# §11.1: proofs are only accepted for a short time; clocks of laptops drift a little.
MAX_AGE_SECONDS = 300
MAX_FUTURE_SECONDS = 60
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class InvalidProof(Exception):
    """The DPoP proof is missing or fails a §4.3 check (message says which, for logs)."""


@dataclass(frozen=True)
class Proof:
    jkt: str  # RFC 7638 thumbprint of the proof's public key
    jti: str
    iat: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 over the required members in lexicographic order, no spaces."""
    if jwk.get("kty") != "EC":
        raise InvalidProof("only EC keys are supported")
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def normalize_htu(url: str) -> str:
    """§4.3 item 9: compare the URI without query and fragment; scheme and host are
    case-insensitive (RFC 3986 §6.2.2.1)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def verify_proof(proof: str | None, *, method: str, url: str, now: datetime) -> Proof:
    if not proof:
        raise InvalidProof("missing DPoP header")
    if len(proof) > MAX_PROOF_CHARS or proof.count(".") != 2:
        raise InvalidProof("malformed proof")
    try:
        safejson.check_compact_jws(proof)
        header = jwt.get_unverified_header(proof)
    except (jwt.PyJWTError, safejson.JsonInputError):
        raise InvalidProof("malformed proof header") from None
    if header.get("typ") != "dpop+jwt":
        raise InvalidProof("typ must be dpop+jwt")
    if header.get("alg") != "ES256":
        raise InvalidProof("alg must be ES256")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise InvalidProof("jwk must be an EC P-256 public key")
    if PRIVATE_MEMBERS & set(jwk):
        raise InvalidProof("jwk must not contain private key members")
    try:
        key = ECAlgorithm.from_jwk(json.dumps(jwk))
        claims = jwt.decode(
            proof,
            key=key,  # type: ignore[arg-type]
            algorithms=["ES256"],
            # Time checks are ours, against the injected ``now``.
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                     "verify_aud": False, "verify_iss": False},
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidProof("bad signature or key") from None
    if hasattr(key, "private_numbers"):
        raise InvalidProof("jwk must be a public key")
    htm, htu, iat, jti = (claims.get(k) for k in ("htm", "htu", "iat", "jti"))
    if htm != method:
        raise InvalidProof("htm does not match the request method")
    if not isinstance(htu, str) or normalize_htu(htu) != normalize_htu(url):
        raise InvalidProof("htu does not match the request URI")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise InvalidProof("iat must be an integer")
    age = int(now.timestamp()) - iat
    if age > MAX_AGE_SECONDS or age < -MAX_FUTURE_SECONDS:
        raise InvalidProof("iat outside the acceptable window")
    if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
        raise InvalidProof("jti must be a string of 1-256 characters")
    return Proof(jkt=jwk_thumbprint(jwk), jti=jti, iat=iat)
