"""The OIDC issuer's public documents (services/issuer.py): for every issuer path,
``GET /{issuer_path}/.well-known/openid-configuration`` and ``.../jwks.json``.

Unsigned and cacheable for a short while (relying parties cache JWKS; a rotation's new key
is published before it signs anything, a retired key disappears within ``max-age``).
Sign-in's own ``/v1/...`` documents stay sign-in's.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from opensts.services import issuer
from opensts.services.runtime import Runtime
from opensts.web.asgi import Receive, Scope, Send

CONFIGURATION = "/.well-known/openid-configuration"
JWKS = "/.well-known/jwks.json"
_RESERVED = ("v1", "signin", "latest")
MAX_AGE = 60


def issuer_path(path: str) -> tuple[str, str] | None:
    """``(issuer_path, document)`` when ``path`` is one of an issuer's documents."""
    for suffix, document in ((CONFIGURATION, "configuration"), (JWKS, "jwks")):
        if path.endswith(suffix):
            base = path[1:-len(suffix)] if path.startswith("/") else ""
            if (base and issuer.ISSUER_PATH.fullmatch(base)
                    and base.split("/")[0] not in _RESERVED):
                return base, document
    return None


async def serve(runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer an issuer document; False when ``scope`` is not one (the caller routes on)."""
    found = issuer_path(scope["path"])
    if found is None:
        return False
    if scope["method"] not in ("GET", "HEAD"):
        await _send(send, 405, {"message": "Method Not Allowed"}, scope, allow=b"GET, HEAD")
        return True
    base, document = found
    if not runtime.settings.public_url:
        await _send(send, 404, {"message": "Not Found"}, scope)
        return True
    if document == "configuration":
        body = issuer.discovery(runtime, base)
    else:  # a store read when the ring is due for a refresh: off the event loop
        body = await asyncio.to_thread(issuer.jwks, runtime)
    await _send(send, 200, body, scope)
    return True


async def _send(send: Send, status: int, body: dict[str, Any], scope: Scope,
                allow: bytes | None = None) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode())]
    if status == 200:
        headers.append((b"cache-control", f"public, max-age={MAX_AGE}".encode()))
    if allow is not None:
        headers.append((b"allow", allow))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body",
                "body": b"" if scope["method"] == "HEAD" else payload})
