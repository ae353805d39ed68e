"""Self-contained session tokens: claims sealed with AES-256-GCM under a rotating key ring.

A token carries every claim the server needs to authenticate later requests made with the
temporary credentials (secret key, principal, policies, tags, expiry, ...), so checking one
needs no database read. AWS only promises the token is opaque ("typical token size is less
than 4096 bytes, but that can vary", STS API reference, Credentials), so the format is ours:

    token  = base64url_nopad(header || nonce || ciphertext_with_tag)
    header = version (1 byte, 0x01) || len(key_id) (1 byte) || key_id (ASCII)
    nonce  = 12 random bytes (96-bit, NIST SP 800-38D §8.2.2)
    ciphertext = AES-256-GCM(key[key_id], nonce, zlib(compact JSON of claims), aad=header)

The header is authenticated as associated data, so a token cannot be replayed under a
different key id or version. Every failure raises the same opaque ``InvalidToken``.
Rotation: ``seal`` always uses the primary key; ``unseal`` uses the key the header names, so
tokens sealed before a rotation stay valid while their old key remains in the ring.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from opensts.credentials.errors import InvalidToken

__all__ = ["MAX_TOKEN_CHARS", "InvalidToken", "KeyRing", "SessionClaims"]

SessionClaims = dict[str, Any]

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# Bounds applied before any crypto so oversized garbage costs nothing. The largest
# legitimate claim set (2048-char session policy, 50 tags of 128+256 chars) compresses far
# below this.
MAX_TOKEN_CHARS = 65536
MAX_CLAIMS_BYTES = 1 << 20
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")


class KeyRing:
    """The set of token-sealing keys: one primary for sealing, all usable for unsealing."""

    def __init__(self, keys: Sequence[tuple[str, bytes]], primary: str):
        ciphers: dict[str, AESGCM] = {}
        for key_id, material in keys:
            if not _KEY_ID.fullmatch(key_id):
                raise ValueError(f"invalid key id: {key_id!r}")
            if len(material) != KEY_BYTES:
                raise ValueError(f"key {key_id!r} must be {KEY_BYTES} bytes")
            if key_id in ciphers:
                raise ValueError(f"duplicate key id: {key_id!r}")
            ciphers[key_id] = AESGCM(material)
        if primary not in ciphers:
            raise ValueError(f"primary key {primary!r} is not in the ring")
        self._ciphers = ciphers
        self._primary = primary

    @property
    def primary(self) -> str:
        return self._primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={list(self._ciphers)!r}, primary={self._primary!r})"

    @staticmethod
    def generate_key() -> tuple[str, bytes]:
        """A new (key id, 256-bit key) pair; the id is random, short and URL-safe."""
        return secrets.token_hex(4), secrets.token_bytes(KEY_BYTES)

    def seal(self, claims: Mapping[str, Any]) -> str:
        """Seal JSON-serialisable ``claims`` under the primary key.

        Values must be JSON types (str, int, float, bool, None, list, dict); a TypeError
        from ``json`` signals a programming error in the caller, not bad client input.
        """
        plaintext = zlib.compress(
            json.dumps(dict(claims), separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
            9,
        )
        key_id = self._primary.encode("ascii")
        header = bytes([VERSION, len(key_id)]) + key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self._primary].encrypt(nonce, plaintext, header)
        return base64.urlsafe_b64encode(header + nonce + sealed).rstrip(b"=").decode("ascii")

    def unseal(self, token: str) -> SessionClaims:
        """The claims sealed in ``token``; raises ``InvalidToken`` for anything else."""
        try:
            return self._unseal(token)
        except InvalidToken:
            raise
        except Exception:
            # Any unexpected failure on attacker-controlled bytes is still just "invalid".
            raise InvalidToken() from None

    def _unseal(self, token: str) -> SessionClaims:
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_CHARS
            or not _TOKEN_CHARS.fullmatch(token)
        ):
            raise InvalidToken()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise InvalidToken() from None
        if len(raw) < 2 or raw[0] != VERSION:
            raise InvalidToken()
        id_len = raw[1]
        header_len = 2 + id_len
        if len(raw) < header_len + NONCE_BYTES + TAG_BYTES:
            raise InvalidToken()
        header = raw[:header_len]
        cipher = self._ciphers.get(header[2:].decode("ascii", "replace"))
        if cipher is None:
            raise InvalidToken()
        nonce = raw[header_len : header_len + NONCE_BYTES]
        try:
            plaintext = cipher.decrypt(nonce, raw[header_len + NONCE_BYTES :], header)
        except InvalidTag:
            raise InvalidToken() from None
        inflater = zlib.decompressobj()
        data = inflater.decompress(plaintext, MAX_CLAIMS_BYTES)
        if inflater.unconsumed_tail or inflater.unused_data or not inflater.eof:
            raise InvalidToken()
        claims = json.loads(data.decode("utf-8"))
        if not isinstance(claims, dict):
            raise InvalidToken()
        return claims
