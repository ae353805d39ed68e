"""SigV4A (``AWS4-ECDSA-P256-SHA256``) key derivation and signature check.

The signing key is an ECDSA P-256 key derived deterministically from the access key id and
secret (aws-c-auth ``source/key_derivation.c``): NIST SP 800-108 HMAC-SHA256 KDF in counter
mode, keyed with ``"AWS4A" + secret``, over the fixed input

    0x00000001 || "AWS4-ECDSA-P256-SHA256" || 0x00 || access_key_id || counter || 0x00000100

for counter = 1, 2, ... until the 256-bit output c satisfies c <= n - 2 (n the P-256 group
order); the private scalar is c + 1. The signature is a DER-encoded ECDSA signature over
SHA-256 of the string to sign, hex-encoded.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "AWS4-ECDSA-P256-SHA256"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def derive_private_key(access_key_id: str, secret_access_key: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key a SigV4A client derives from its credentials."""
    kdf_key = ("AWS4A" + secret_access_key).encode("utf-8")
    label = ALGORITHM.encode("ascii")
    context = access_key_id.encode("utf-8")
    for counter in range(1, 255):
        fixed_input = (
            (1).to_bytes(4, "big")
            + label
            + b"\x00"
            + context
            + bytes([counter])
            + (256).to_bytes(4, "big")
        )
        candidate = int.from_bytes(hmac.new(kdf_key, fixed_input, hashlib.sha256).digest(), "big")
        if candidate <= _P256_ORDER - 2:
            return ec.derive_private_key(candidate + 1, ec.SECP256R1())
    # 254 consecutive rejections have probability ~2^-8000; treat as an internal fault.
    raise RuntimeError("SigV4A key derivation did not converge")


def derive_public_key(access_key_id: str, secret_access_key: str) -> ec.EllipticCurvePublicKey:
    return derive_private_key(access_key_id, secret_access_key).public_key()


def signature_matches(
    public_key: ec.EllipticCurvePublicKey, string_to_sign: str, signature_hex: str
) -> bool:
    """Whether ``signature_hex`` is a valid DER ECDSA-SHA256 signature of ``string_to_sign``."""
    try:
        der = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    try:
        public_key.verify(der, string_to_sign.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(private_key: ec.EllipticCurvePrivateKey, string_to_sign: str) -> str:
    """Hex DER signature; used by tests and tools that act as a SigV4A client."""
    return private_key.sign(string_to_sign.encode("utf-8"), ec.ECDSA(hashes.SHA256())).hex()
