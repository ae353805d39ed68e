"""Self-contained session tokens: claims sealed with AES-256-GCM under a rotating key ring.

A token carries every claim the server needs to authenticate later requests made with the
temporary credentials (secret key, principal, policies, tags, expiry, ...), so checking one
needs no database read. AWS only promises the token is opaque ("typical token size is less
than 4096 bytes, but that can vary", STS API reference, Credentials), so the format is ours:

    token  = base64url_nopad(header || nonce || ciphertext_with_tag)
    header = version (1 byte) || len(key_id) (1 byte) || key_id (ASCII)
    nonce  = 12 random bytes (96-bit, NIST SP 800-38D §8.2.2)
    ciphertext = AES-256-GCM(key[key_id], nonce, body, aad=header)
    body   = version 0x01: zlib(compact JSON of claims); version 0x02: compact JSON of claims

zlib only where it pays (the choice, measured 2026-12-04 on the bench's claim set: 503
bytes of JSON with a one-statement session policy). Compressing costs 40-60 µs at any
level, nearly all of it deflate's fixed set-up (window and hash tables), which was about a
tenth of an AssumeRole's CPU once the rest was made fast; it shrinks that token from 722 to
478 characters. Claims of at most ``COMPRESS_ABOVE`` bytes are therefore sealed as version
2, uncompressed: such a token stays under ~1,450 characters, well inside AWS's "typically
less than 4096". Larger claim sets (long session policies, many tags) are still compressed
(version 1), so no token grows past what it was; ``unseal`` reads both versions, so tokens
from earlier releases stay valid (a node of an earlier release does not read version 2:
upgrade every node before relying on tokens from the new one).

The header is authenticated as associated data, so a token cannot be replayed under a
different key id or version. Every failure raises the same opaque ``InvalidToken``.
Rotation: ``seal`` always uses the primary key; ``unseal`` uses the key the header names, so
tokens sealed before a rotation stay valid while their old key remains in the ring.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from opensts.credentials.errors import InvalidToken

__all__ = ["MAX_TOKEN_CHARS", "InvalidToken", "KeyRing", "SessionClaims"]

SessionClaims = dict[str, Any]

VERSION = 1  # zlib-compressed claims
VERSION_PLAIN = 2  # uncompressed claims (small claim sets; see the module docstring)
COMPRESS_ABOVE = 1024
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

        Values must be JSON types (str, int within 64 bits, finite float, bool, None, list,
        dict with str keys; orjson); a TypeError signals a programming error in the caller,
        not bad client input. The server's claims are strings, small ints, lists and dicts.
        """
        plaintext = orjson.dumps(dict(claims))
        version = VERSION_PLAIN
        if len(plaintext) > COMPRESS_ABOVE:
            plaintext, version = zlib.compress(plaintext, 9), VERSION
        key_id = self._primary.encode("ascii")
        header = bytes([version, len(key_id)]) + key_id
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
        if len(raw) < 2 or raw[0] not in (VERSION, VERSION_PLAIN):
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
        if raw[0] == VERSION_PLAIN:
            data = plaintext
        else:
            inflater = zlib.decompressobj()
            data = inflater.decompress(plaintext, MAX_CLAIMS_BYTES)
            if inflater.unconsumed_tail or inflater.unused_data or not inflater.eof:
                raise InvalidToken()
        claims = orjson.loads(data)
        if not isinstance(claims, dict):
            raise InvalidToken()
        return claims
