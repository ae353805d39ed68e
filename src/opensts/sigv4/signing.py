"""String to sign, signing-key derivation and signature for AWS SigV4 (HMAC-SHA256).

Per the AWS SigV4 specification ("Create a string to sign", "Derive a signing key",
"Calculate the signature"):

    StringToSign = "AWS4-HMAC-SHA256" \\n RequestDateTime \\n CredentialScope \\n
                   hex(SHA256(CanonicalRequest))
    kDate    = HMAC("AWS4" + secret, yyyymmdd)
    kRegion  = HMAC(kDate, region)
    kService = HMAC(kRegion, service)
    kSigning = HMAC(kService, "aws4_request")
    Signature = hex(HMAC(kSigning, StringToSign))
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"


def credential_scope(date: str, region: str, service: str) -> str:
    return f"{date}/{region}/{service}/{TERMINATOR}"


def string_to_sign(
    canonical_request: str, *, amz_date: str, scope: str, algorithm: str = ALGORITHM
) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{algorithm}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    k_date = _hmac(("AWS4" + secret_access_key).encode("utf-8"), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, TERMINATOR)


def signature(signing_key: bytes, string_to_sign: str) -> str:
    return hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class SigningKeyCache:
    """Bounded LRU of derived signing keys, keyed by (secret digest, date, region, service).

    A derived key is valid for one day, region and service, so caching saves four HMACs per
    request for busy callers; SigV4A public keys (derived from access key id and secret)
    are cached alongside. The secret itself is never stored: slots hold its SHA-256 digest.
    A lock makes it safe to share between threads.
    """

    def __init__(self, max_entries: int = 4096):
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, bytes, str, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, secret_access_key: str, date: str, region: str, service: str) -> bytes:
        digest = hashlib.sha256(secret_access_key.encode("utf-8")).digest()
        key: bytes = self._lookup(
            ("v4", digest, date, region, service),
            lambda: derive_signing_key(secret_access_key, date, region, service),
        )
        return key

    def get_v4a_public_key(self, access_key_id: str, secret_access_key: str) -> Any:
        """The SigV4A P-256 public key of these credentials (an ``EllipticCurvePublicKey``)."""
        from opensts.sigv4.sigv4a import derive_public_key

        digest = hashlib.sha256(secret_access_key.encode("utf-8")).digest()
        return self._lookup(
            ("v4a", digest, access_key_id, "", ""),
            lambda: derive_public_key(access_key_id, secret_access_key),
        )

    def _lookup(self, slot: tuple[str, bytes, str, str, str], derive: Callable[[], Any]) -> Any:
        with self._lock:
            value = self._entries.get(slot)
            if value is not None:
                self._entries.move_to_end(slot)
                return value
        value = derive()
        with self._lock:
            self._entries[slot] = value
            self._entries.move_to_end(slot)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
