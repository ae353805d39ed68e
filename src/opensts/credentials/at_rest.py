"""Secrets at rest: AES-256-GCM sealing bound to a context, and a masking ``Secret`` type.

Secret access keys, MFA seeds and token-sealing keys are stored sealed under one master key:

    blob = version (1 byte, 0x01) || nonce (12 random bytes) || AES-256-GCM ciphertext+tag
    aad  = version || context

The context (e.g. ``b"access-key:" + access_key_id``, see docs/architecture.md) binds a
blob to its row: a blob copied to another row, or opened with another master key, fails
with the opaque ``SecretBoxError``.
"""

from __future__ import annotations

import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from opensts.credentials.errors import SecretBoxError

__all__ = ["Secret", "SecretBox", "SecretBoxError"]

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


class SecretBox:
    """Seal and open small secrets under a 256-bit master key."""

    def __init__(self, master_key: bytes):
        if not isinstance(master_key, bytes | bytearray) or len(master_key) != KEY_BYTES:
            raise ValueError(f"master key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(bytes(master_key))

    def __repr__(self) -> str:
        return "SecretBox(<master key hidden>)"

    @staticmethod
    def generate_key() -> bytes:
        return secrets.token_bytes(KEY_BYTES)

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        version = bytes([VERSION])
        nonce = secrets.token_bytes(NONCE_BYTES)
        return version + nonce + self._aead.encrypt(nonce, plaintext, version + context)

    def open(self, blob: bytes, *, context: bytes) -> bytes:
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[0] != VERSION:
            raise SecretBoxError()
        nonce = blob[1 : 1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[1 + NONCE_BYTES :], blob[:1] + context)
        except InvalidTag:
            raise SecretBoxError() from None


class Secret:
    """A string that will not show itself in logs, reprs, f-strings or tracebacks.

    ``reveal()`` is the only way to the value; equality is constant-time.
    """

    __slots__ = ("_value",)
    _MASK = "**********"

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{self._MASK}')"

    def __str__(self) -> str:
        return self._MASK

    def __format__(self, spec: str) -> str:
        return format(self._MASK, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode("utf-8"), other._value.encode("utf-8"))

    __hash__ = None  # type: ignore[assignment]  # equality on secrets must not leak via hashing

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)
