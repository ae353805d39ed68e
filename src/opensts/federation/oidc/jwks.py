"""A thread-safe cache of each issuer's signing keys (RFC 7517 JWK Sets).

Keys are found through discovery (``jwks_uri``), kept for the JWKS response's
``Cache-Control: max-age`` clamped to [min_ttl, max_ttl] (default one hour), and fetched again
early when a token names an unknown ``kid`` — at most once per ``refetch_interval`` per issuer,
so a stream of bogus kids cannot turn the STS into a traffic amplifier.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from opensts.federation.errors import InvalidIdentityToken
from opensts.federation.oidc.discovery import KEY_ERROR, Fetcher, discovery_url

# A practical bound seen on AWS ("~100 keys in a JWKS").
MAX_KEYS = 100
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SigningKey:
    """A public verification key from a JWKS, with the ``alg`` the JWK declares (if any)."""

    kid: str | None
    alg: str | None
    key: Any


@dataclass
class _Entry:
    keys: dict[str, SigningKey]
    anonymous: list[SigningKey]
    fetched_at: float
    expires_at: float


class JwksCache:
    """Signing keys per issuer, fetched on demand.

    ``clock`` is a monotonic seconds source (injectable for tests); ``transport`` lets tests
    route httpx without a network.
    """

    def __init__(
        self,
        *,
        ca_bundle: str | None = None,
        timeout_seconds: float = 5.0,
        max_bytes: int = 256 * 1024,
        default_ttl: float = 3600.0,
        min_ttl: float = 60.0,
        max_ttl: float = 86400.0,
        refetch_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._fetcher = Fetcher(
            ca_bundle=ca_bundle,
            timeout_seconds=timeout_seconds,
            max_bytes=max_bytes,
            transport=transport,
        )
        self.default_ttl = default_ttl
        self.min_ttl = min_ttl
        self.max_ttl = max_ttl
        self.refetch_interval = refetch_interval
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.fetch_count = 0

    def close(self) -> None:
        self._fetcher.close()

    def _lock(self, issuer: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(issuer, threading.Lock())

    def signing_key(self, issuer: str, kid: str | None) -> SigningKey:
        """The key ``kid`` of ``issuer``; refetches once (rate-limited) when it is unknown.

        Raises ``IDPCommunicationError`` when the IdP cannot be reached and
        ``InvalidIdentityToken`` when no matching key exists.
        """
        with self._lock(issuer):
            now = self._clock()
            entry = self._entries.get(issuer)
            if entry is None or now >= entry.expires_at:
                entry = self._refresh(issuer, now)
            key = self._pick(entry, kid)
            if key is None and now - entry.fetched_at >= self.refetch_interval:
                entry = self._refresh(issuer, now)
                key = self._pick(entry, kid)
            if key is None:
                raise InvalidIdentityToken(
                    "The key used to sign the token was not found in the provider's JWKS"
                )
            return key

    @staticmethod
    def _pick(entry: _Entry, kid: str | None) -> SigningKey | None:
        if kid is not None:
            return entry.keys.get(kid)
        # RFC 7515 §4.1.4: without a kid the key must be unambiguous.
        candidates = list(entry.keys.values()) + entry.anonymous
        return candidates[0] if len(candidates) == 1 else None

    def _refresh(self, issuer: str, now: float) -> _Entry:
        self.fetch_count += 1
        config = self._fetcher.fetch_json(discovery_url(issuer)).document
        jwks_uri = config.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise InvalidIdentityToken(KEY_ERROR)
        result = self._fetcher.fetch_json(jwks_uri)
        keys, anonymous = _parse_jwks(result.document)
        entry = _Entry(keys, anonymous, now, now + self._ttl(result.cache_control))
        self._entries[issuer] = entry
        return entry

    def _ttl(self, cache_control: str | None) -> float:
        if not cache_control:
            return self.default_ttl
        if _NO_CACHE.search(cache_control):
            return self.min_ttl
        match = _MAX_AGE.search(cache_control)
        if match is None:
            return self.default_ttl
        return min(max(float(match.group(1)), self.min_ttl), self.max_ttl)


def _parse_jwks(document: dict[str, object]) -> tuple[dict[str, SigningKey], list[SigningKey]]:
    raw = document.get("keys")
    if not isinstance(raw, list) or len(raw) > MAX_KEYS:
        raise InvalidIdentityToken(KEY_ERROR)
    keys: dict[str, SigningKey] = {}
    anonymous: list[SigningKey] = []
    for item in raw:
        if not isinstance(item, dict) or item.get("kty") not in ("RSA", "EC"):
            continue
        if item.get("use", "sig") != "sig":
            continue
        public = {k: v for k, v in item.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        try:
            material = jwt.PyJWK(public).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
            continue
        kid = item.get("kid")
        alg = item.get("alg")
        key = SigningKey(
            kid if isinstance(kid, str) else None, alg if isinstance(alg, str) else None, material
        )
        if isinstance(kid, str):
            keys.setdefault(kid, key)
        else:
            anonymous.append(key)
    if not keys and not anonymous:
        raise InvalidIdentityToken(KEY_ERROR)
    return keys, anonymous
