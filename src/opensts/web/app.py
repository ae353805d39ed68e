"""Assemble the server: runtime (store, keys, audit, authorizer) and the ASGI routes."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from opensts.audit.log import AuditLog
from opensts.config import Settings
from opensts.credentials.at_rest import SecretBox
from opensts.federation.oidc import JwksCache
from opensts.services.authz import Authorizer
from opensts.services.bootstrap import (
    FirstStart,
    ensure_management_account,
    load_keyring,
    utcnow,
)
from opensts.services.registry import load_operations
from opensts.services.runtime import Runtime
from opensts.sigv4 import SigningKeyCache
from opensts.store import open_store
from opensts.store.cache import CachingStore
from opensts.web import proxy
from opensts.web.authorizer import PREFIX as AUTHORIZE_PREFIX
from opensts.web.authorizer.endpoint import AuthorizerHooks
from opensts.web.aws import AwsEndpoint, Receive, Scope, Send
from opensts.web.limits import BodyLimit

log = logging.getLogger("opensts")


def build_runtime(settings: Settings) -> tuple[Runtime, FirstStart | None]:
    # Hot-path reads are cached per store generation; writes through this process are
    # visible at once, other nodes' within cache_staleness_seconds (IAM is eventually
    # consistent on AWS too).
    store = CachingStore(
        open_store(settings.database_url), max_staleness=settings.cache_staleness_seconds,
        # perf-ops (issue 10): the change journal the --workers processes share, so an IAM
        # write drops only its account's entries in every worker (store/cache.py).
        journal=settings.data_dir / "cache" / "journal",
    )
    box = SecretBox(settings.master_key)
    now = utcnow()
    management, first = ensure_management_account(store, box, settings, now)
    keyring = load_keyring(store, box, now)
    runtime = Runtime(
        settings=settings,
        store=store,
        secret_box=box,
        keyring=keyring,
        audit=AuditLog(settings.data_dir / "audit"),
        authorizer=Authorizer(store, keyring),
        signing_keys=SigningKeyCache(),
        management_account=management,
        extras={"jwks": JwksCache(ca_bundle=settings.ca_bundle)},
        key_refresh_seconds=settings.key_refresh_seconds,
    )
    runtime.refresh_keys()  # marks the ring as freshly loaded
    return runtime, first


def create_app() -> OpenStsApp:
    """Factory for worker processes (``opensts serve --workers N``): settings from the env."""
    settings = Settings.from_env(Path(os.environ["OPENSTS_DATA_DIR"]))
    runtime, _ = build_runtime(settings)
    return OpenStsApp(runtime)


class OpenStsApp:
    """Routes: ``/`` the AWS APIs, ``/health`` readiness, ``/v1/...`` sign-in; else 404."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.proxies = proxy.TrustedProxies(runtime.settings.trusted_proxies)
        self.aws = AwsEndpoint(runtime, load_operations())
        self.hooks = AuthorizerHooks(runtime, self.proxies)
        # Imported here so the AWS endpoint does not depend on the sign-in pages.
        from opensts.web.signin import build_signin_app

        self.signin = build_signin_app(runtime)
        # One body limit for every route, enforced before any route reads the body.
        self.bounded = BodyLimit(self._route, runtime.settings.max_body_bytes, self._too_large)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        # The client's address and scheme, from the connection or a trusted proxy (web/proxy.py).
        scope = proxy.apply(scope, self.proxies)
        await self.bounded(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The 413 in the shape of the route that was asked for."""
        path = scope["path"]
        limit = self.runtime.settings.max_body_bytes
        if path == "/":
            await self.aws.too_large(scope, receive, send)
        elif path.startswith(AUTHORIZE_PREFIX):
            await self.hooks.too_large(scope, receive, send)
        elif path.startswith(("/v1/", "/signin/")):
            from opensts.web.signin.routes import too_large

            await too_large(path, limit)(scope, receive, send)
        else:
            await _json(send, 413, {"message": f"The request body exceeds {limit} bytes."})

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path == "/":
            await self.aws(scope, receive, send)
        elif path.startswith(AUTHORIZE_PREFIX):  # the HTTP authorizer's hooks (issue 11)
            await self.hooks(scope, receive, send)
        elif path == "/health":
            await _json(send, 200, {"status": "ok"})
        else:
            # Sign-in seals and opens tokens too: keep its key ring as current as the AWS side's.
            self.runtime.refresh_keys()
            await self.signin(scope, receive, send)  # /v1/... sign-in; 404 for the rest

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        self.runtime.audit.close()
        self.hooks.close()
        self.runtime.store.close()


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
