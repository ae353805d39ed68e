"""Bounded HTTPS fetches of OpenID Provider metadata and JWKS documents.

OpenID Connect Discovery 1.0 §4: the configuration lives at the issuer with any trailing "/"
removed plus ``/.well-known/openid-configuration``. Every fetch has a total deadline and a
size cap, follows no redirect and trusts the system CAs plus ``OPENSTS_CA_BUNDLE``.
"""

from __future__ import annotations

import os
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx

from opensts import safejson
from opensts.federation.errors import IDPCommunicationError, InvalidIdentityToken

CA_BUNDLE_ENV = "OPENSTS_CA_BUNDLE"
KEY_ERROR = (
    "Couldn't retrieve verification key from your identity provider, "
    "please reference AssumeRoleWithWebIdentity documentation for requirements"
)


@dataclass(frozen=True)
class FetchResult:
    """A JSON document and the response's Cache-Control header."""

    document: dict[str, Any]
    cache_control: str | None


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """System trust store plus an optional extra PEM bundle (argument, else the env var)."""
    context = ssl.create_default_context()
    bundle = ca_bundle if ca_bundle is not None else os.environ.get(CA_BUNDLE_ENV)
    if bundle:
        context.load_verify_locations(cafile=bundle)
    return context


class Fetcher:
    """Fetches small JSON documents over HTTPS with a total time and size budget."""

    def __init__(
        self,
        *,
        ca_bundle: str | None = None,
        timeout_seconds: float = 5.0,
        max_bytes: int = 256 * 1024,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self._client = httpx.Client(
            verify=tls_context(ca_bundle),
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "OpenSTS"},
        )

    def close(self) -> None:
        self._client.close()

    def fetch_json(self, url: str) -> FetchResult:
        if not url.startswith("https://"):
            raise InvalidIdentityToken(KEY_ERROR)
        deadline = time.monotonic() + self.timeout_seconds
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise IDPCommunicationError(KEY_ERROR)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > self.max_bytes:
                        raise InvalidIdentityToken(KEY_ERROR)
                    if time.monotonic() > deadline:
                        raise IDPCommunicationError(KEY_ERROR)
                cache_control = response.headers.get("Cache-Control")
        except httpx.HTTPError as exc:
            # Connection refused, DNS, TLS verification and timeouts all land here.
            raise IDPCommunicationError(KEY_ERROR) from exc
        try:
            document = safejson.loads(bytes(body))
        except safejson.JsonInputError as exc:
            raise InvalidIdentityToken(KEY_ERROR) from exc
        if not isinstance(document, dict):
            raise InvalidIdentityToken(KEY_ERROR)
        return FetchResult(document, cache_control)
