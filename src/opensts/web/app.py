"""Assemble the server: runtime (store, keys, audit, authorizer) and the ASGI routes."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from opensts.audit import notes as request_notes
from opensts.audit.decisions import DecisionLog
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
from opensts.services.inline import GuardedCachingStore
from opensts.services.registry import load_operations
from opensts.services.runtime import Runtime
from opensts.sigv4 import SigningKeyCache
from opensts.store import open_store
from opensts.web import proxy
from opensts.web.access_log import AccessLog
from opensts.web.asgi import Receive, Scope, Send
from opensts.web.authorizer import PREFIX as AUTHORIZE_PREFIX
from opensts.web.authorizer.endpoint import AuthorizerHooks
from opensts.web.aws import AwsEndpoint
from opensts.web.issuer import CONFIGURATION, JWKS
from opensts.web.issuer import serve as issuer_documents
from opensts.web.limits import BodyLimit
from opensts.web.metrics import Metrics
from opensts.web.restjson import SERVICE as REST_JSON_SERVICE
from opensts.web.restjson import RestJsonEndpoint

log = logging.getLogger("opensts")
ISSUER_DOCUMENTS = (CONFIGURATION, JWKS)


def build_runtime(settings: Settings) -> tuple[Runtime, FirstStart | None]:
    # Hot-path reads are cached per store generation; writes through this process are
    # visible at once, other nodes' within cache_staleness_seconds (IAM is eventually
    # consistent on AWS too).
    # GuardedCachingStore: a CachingStore whose misses can be fenced off (services.inline);
    # the change journal the --workers processes share lets an IAM write drop only its
    # account's entries in every worker (store/cache.py).
    store = GuardedCachingStore(
        open_store(settings.database_url), max_staleness=settings.cache_staleness_seconds,
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
        # Denials of STS/IAM calls (AssumeRole's trust policy included) for `audit explain`.
        authorizer=Authorizer(store, keyring, DecisionLog.for_data_dir(settings.data_dir)),
        signing_keys=SigningKeyCache(),
        management_account=management,
        extras={"jwks": JwksCache(ca_bundle=settings.ca_bundle)},
        key_refresh_seconds=settings.key_refresh_seconds,
    )
    runtime.refresh_keys()  # marks the ring as freshly loaded
    from opensts.services import issuer

    issuer.ring(runtime, now)  # identity-token keys: made on first start, then cached
    return runtime, first


def first_start_pending(settings: Settings) -> bool:
    """Whether :func:`build_runtime` would make the first start (the store has no account)."""
    store = open_store(settings.database_url)
    try:
        return not store.list_accounts()
    finally:
        store.close()


def create_app() -> OpenStsApp:
    """Factory for worker processes (``opensts serve --workers N``): settings from the env."""
    settings = Settings.from_env(Path(os.environ["OPENSTS_DATA_DIR"]))
    runtime, _ = build_runtime(settings)
    return OpenStsApp(runtime)


class OpenStsApp:
    """Routes: ``/`` the AWS APIs, ``/health`` readiness, ``/metrics`` Prometheus (web.metrics),
    ``/v1/...`` sign-in; else 404. Every request is timed, counted and (``--access-log``)
    logged here, from the notes its handlers leave (audit.notes)."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.proxies = proxy.TrustedProxies(runtime.settings.trusted_proxies)
        self.aws = AwsEndpoint(runtime, load_operations())
        # rest-json services (IAM Access Analyzer) share the operation registry.
        self.rest_json = RestJsonEndpoint(runtime, self.aws.operations)
        self.hooks = AuthorizerHooks(runtime, self.proxies)
        # Imported here so the AWS endpoint does not depend on the sign-in pages.
        from opensts.web.signin import build_signin_app

        self.signin = build_signin_app(runtime)
        # One body limit for every route, enforced before any route reads the body; S3
        # bodies stream (objects of any size) and are bounded by the gateway itself.
        self.bounded = BodyLimit(self._route, runtime.settings.max_body_bytes, self._too_large)
        self.s3: Any = None
        if runtime.settings.s3_backend_url:
            from opensts.web.s3 import S3Gateway

            self.s3 = S3Gateway(runtime)
        self.metrics = Metrics(runtime.store, runtime.settings.metrics_allow, self.proxies)
        runtime.audit.on_flush = self.metrics.audit_flushed
        self.access_log = AccessLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        # The client's address and scheme, from the connection or a trusted proxy (web/proxy.py).
        scope = proxy.apply(scope, self.proxies)
        s3 = self.s3 is not None and self._is_s3(scope)
        path = scope["path"]
        notes = request_notes.begin("s3" if s3 else _route_name(path))
        logging_on = self.access_log.enabled()
        status, request_id = 0, ""

        async def watched(message: MutableMapping[str, Any]) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                if logging_on:
                    request_id = _request_id(message.get("headers", ()))
            await send(message)

        try:
            if s3:
                await self.s3(scope, receive, watched)
            elif path == "/metrics":
                await self.metrics(scope, receive, watched)
            else:
                await self.bounded(scope, receive, watched)
        finally:
            done = time.perf_counter()
            self.metrics.request_done(notes, done - started, done)
            if logging_on:
                self.access_log.write(scope, status, done - started, notes, request_id)

    def _is_s3(self, scope: Scope) -> bool:
        """S3 or STS/IAM/Organizations/sign-in on the one endpoint (s3.addressing's rules);
        ``/health`` and unsigned sign-in paths are never S3."""
        from urllib.parse import parse_qs

        from opensts.s3.addressing import is_s3_request

        path = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        if path == "/health":
            return False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"),
                         keep_blank_values=True)
        s3 = is_s3_request(scope["method"], path, query, headers,
                           self.runtime.settings.s3_domain)
        if s3 and (path == "/metrics" or path.endswith(ISSUER_DOCUMENTS)
                   or path.startswith(("/v1/", "/signin/", "/latest/", AUTHORIZE_PREFIX))):
            # Sign-in's, the HTTP authorizer's and the metrics' own routes, unless the
            # request is signed for S3 or names a bucket host ("v1" is no bucket name; a
            # bucket named "signin", "latest" or "metrics" is reached signed, or
            # virtual-hosted).
            from opensts.s3.addressing import signing_service

            return signing_service(query, headers) == "s3" or _bucket_host(
                headers.get("host", ""), self.runtime.settings.s3_domain)
        return s3

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
        elif self._rest_json(scope):  # Access Analyzer's paths (rest-json)
            await self.rest_json(scope, receive, send)
        elif path.startswith(AUTHORIZE_PREFIX):  # the HTTP authorizer's hooks (issue 11)
            await self.hooks(scope, receive, send)
        elif path == "/health":
            await _json(send, 200, {"status": "ok"})
        elif await issuer_documents(self.runtime, scope, receive, send):
            pass  # an OIDC issuer's discovery document or JWKS (services/issuer.py)
        else:
            # Sign-in seals and opens tokens too: keep its key ring as current as the AWS side's.
            self.runtime.refresh_keys()
            await self.signin(scope, receive, send)  # /v1/... sign-in; 404 for the rest

    def _rest_json(self, scope: Scope) -> bool:
        """Signed for ``access-analyzer``, or unsigned on one of its paths (then answered
        MissingAuthenticationTokenException rather than the sign-in pages' 404)."""
        service = _signed_for(scope)
        if service is not None:
            return service == REST_JSON_SERVICE
        raw = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0]
        return self.rest_json.table.path_known(raw)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.s3 is not None:
                    await self.s3.aclose()  # storage connections, queued denial records
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        self.runtime.audit.close()
        if self.runtime.authorizer.denials is not None:
            self.runtime.authorizer.denials.close()  # queued denial records
        self.hooks.close()
        self.runtime.store.close()


def _route_name(path: str) -> str:
    """The label of a request that writes no audit event (``/metrics``' ``service``)."""
    if path == "/":
        return "aws"
    if path in ("/health", "/metrics"):
        return path[1:]
    if path.startswith(AUTHORIZE_PREFIX):
        return "authorizer"
    if path.startswith(("/v1/", "/signin/", "/latest/")):
        return "signin"
    return "other"


def _signed_for(scope: Scope) -> str | None:
    """The SigV4 credential scope's service of a request (None when unsigned)."""
    from urllib.parse import parse_qs

    from opensts.s3.addressing import signing_service

    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return signing_service(query, headers)


def _request_id(headers: Any) -> str:
    for name, value in headers:
        if name.lower() in (b"x-amzn-requestid", b"x-amz-request-id"):
            return bytes(value).decode("latin-1")
    return ""


def _bucket_host(host: str, s3_domain: str | None) -> bool:
    from opensts.s3.addressing import host_name

    return bool(s3_domain) and host_name(host).endswith("." + (s3_domain or ""))


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
