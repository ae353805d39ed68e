"""The TLS version of each connection in the ASGI scope (the ASGI TLS extension).

uvicorn does not fill ``scope["extensions"]["tls"]``; S3's ``s3:TlsVersion`` condition key
needs the negotiated version, so ``opensts serve --tls-cert`` runs this subclass of uvicorn's
httptools protocol, which adds ``{"tls": {"tls_version": 0x0304, ...}}`` (ASGI TLS
extension: the version as the TLS protocol number).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class TlsScopeProtocol(HttpToolsProtocol):
    def on_message_begin(self) -> None:
        super().on_message_begin()
        ssl_object = self.transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        cipher = ssl_object.cipher()
        scope: Any = self.scope
        scope["extensions"] = {
            "tls": {
                "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""),
                "cipher_suite": cipher[0] if cipher else None,
                "server_cert": None,
                "client_cert_chain": [],
                "client_cert_name": None,
                "client_cert_error": None,
            }
        }


def tls_version(scope: Mapping[str, Any]) -> str | None:
    """``"1.3"``/``"1.2"`` for the connection the request came on (s3:TlsVersion is numeric)."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    number = tls.get("tls_version")
    if not isinstance(number, int) or number < 0x0301:
        return None
    return f"1.{number - 0x0301}"
