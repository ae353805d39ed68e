"""``GET /metrics``: the server's counters in Prometheus text format (prometheus-client).

What is measured, and where it comes from (each update costs a lock and an addition):

* ``opensts_requests_total{service,action,error_code}``: API calls, one per request that
  wrote an audit event, labelled from that event (``audit.notes``); ``error_code`` is ""
  for a success. Labels are bounded: operations are the registry's, codes are AWS's.
* ``opensts_request_duration_seconds{service}``: every HTTP request, from its first byte
  received to its last sent; ``service`` is the API's, else the route (``health``, ...).
* ``opensts_authentication_failures_total{service,reason}``: requests refused for their
  credentials (``audit.notes.AUTH_FAILURE_REASONS``).
* ``opensts_signin_failures_total{action,error_code}``: refused sign-in steps: wrong
  passwords (:func:`signin_failure`) and the sign-in API's errors (from its audit events).
* ``opensts_audit_queue_depth`` and ``opensts_audit_fsync_seconds``: the events each group
  commit of the audit log took, and the time its write and fdatasync took.
* ``opensts_cache_hits_total`` / ``opensts_cache_misses_total``: the hot-path store cache
  (``store.cache``); the hit ratio is ``hits / (hits + misses)``. Copied from the cache's
  own counters at most once a second and at each scrape, so a read costs nothing more.

Under ``opensts serve --workers N`` every worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (``<data dir>/metrics``, emptied at start by ``opensts serve``
before prometheus-client is imported, which reads it then) and a scrape of any
worker adds them up (prometheus-client's multiprocess mode).

Access: operational data, so only peers in ``OPENSTS_METRICS_ALLOW`` (default loopback) get
it, judged by the TCP peer, never X-Forwarded-For; a peer that is a trusted proxy is refused
too, since what it relays is someone else's request. Others get 403.
"""

from __future__ import annotations

import ipaddress
import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from opensts.audit.notes import RequestNotes
from opensts.web import proxy
from opensts.web.asgi import Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0)
FSYNC_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                 0.25, 1.0)
SYNC_SECONDS = 1.0  # how stale the cache counters of a worker may be in a scrape
MAX_LABEL = 64

_active: Metrics | None = None


def signin_failure(action: str, error_code: str = "IncorrectCredentials") -> None:
    """Count a refused sign-in step that writes no audit event (a wrong password)."""
    if _active is not None:
        _active.signin_failures.labels(action, error_code).inc()


class Metrics:
    def __init__(self, store: Any, allow: tuple[str, ...], proxies: proxy.TrustedProxies):
        global _active
        self.store = store  # a store.cache.CachingStore (its hits/misses), or anything
        self.allow = tuple(ipaddress.ip_network(n) for n in allow)
        self.proxies = proxies
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV)
        # Our own registry: several apps in one process (tests) must not collide in the
        # global one. In multiprocess mode the values live in files; a scrape reads those.
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "opensts_requests", "API calls by service, action and error code ('' = success)",
            ["service", "action", "error_code"], registry=registry)
        self.duration = Histogram(
            "opensts_request_duration_seconds", "HTTP request latency by service",
            ["service"], buckets=LATENCY_BUCKETS, registry=registry)
        self.auth_failures = Counter(
            "opensts_authentication_failures", "Requests refused for their credentials",
            ["service", "reason"], registry=registry)
        self.signin_failures = Counter(
            "opensts_signin_failures", "Refused sign-in steps", ["action", "error_code"],
            registry=registry)
        self.audit_queue = Gauge(
            "opensts_audit_queue_depth", "Audit events taken by the last group commit",
            multiprocess_mode="livesum", registry=registry)
        self.audit_fsync = Histogram(
            "opensts_audit_fsync_seconds", "Audit log group commit (write + fdatasync) time",
            buckets=FSYNC_BUCKETS, registry=registry)
        self.cache_hits = Counter("opensts_cache_hits", "Hot-path store cache hits",
                                  registry=registry)
        self.cache_misses = Counter("opensts_cache_misses", "Hot-path store cache misses",
                                    registry=registry)
        self._timers: dict[str, Any] = {}
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._copied = (0, 0)
        self._synced_at = 0.0
        _active = self

    # -- updates ---------------------------------------------------------------------------

    def audit_flushed(self, events: int, seconds: float) -> None:
        """``AuditLog.on_flush``: in the audit writer thread, once per group commit."""
        self.audit_queue.set(events)
        self.audit_fsync.observe(seconds)

    def request_done(self, notes: RequestNotes, seconds: float, now: float) -> None:
        """At the end of every HTTP request, from what its notes say."""
        service = notes.service
        label = service or notes.route or "other"
        # The labelled children, kept: ``labels()`` would cost as much again as the update.
        timer = self._timers.get(label)
        if timer is None:
            timer = self._timers[label] = self.duration.labels(label)
        timer.observe(seconds)
        if service is not None:
            key = (service, notes.action[:MAX_LABEL], notes.error_code[:MAX_LABEL])
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = self.requests.labels(*key)
            counter.inc()
            action, code = key[1], key[2]
            if service == "signin" and code:
                self.signin_failures.labels(action, code).inc()
        if notes.auth_failure is not None:
            self.auth_failures.labels(service or notes.route, notes.auth_failure).inc()
        if now - self._synced_at > SYNC_SECONDS:
            self.sync()

    def sync(self) -> None:
        """Copy the cache's counters (plain integers, bumped under its own lock)."""
        self._synced_at = time.perf_counter()
        hits, misses = getattr(self.store, "hits", 0), getattr(self.store, "misses", 0)
        old_hits, old_misses = self._copied
        self._copied = (hits, misses)
        if hits > old_hits:
            self.cache_hits.inc(hits - old_hits)
        if misses > old_misses:
            self.cache_misses.inc(misses - old_misses)

    # -- the endpoint ----------------------------------------------------------------------

    def allowed(self, scope: Scope) -> bool:
        """Whether the connection's own peer may read the metrics."""
        peer = scope.get("opensts.peer")
        if peer is None:
            client = scope.get("client")
            peer = client[0] if client else None
        address = proxy.parse_address(peer) if isinstance(peer, str) else None
        if address is None or self.proxies.trusts(address):
            return False
        return any(address in network for network in self.allow)

    def exposition(self) -> bytes:
        self.sync()
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            _multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry)
        return generate_latest(self.registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.allowed(scope):
            await _answer(send, 403, b"Forbidden\n", b"text/plain; charset=utf-8")
        elif scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, b"Method Not Allowed\n", b"text/plain; charset=utf-8",
                          [(b"allow", b"GET, HEAD")])
        else:
            body = self.exposition()
            await _answer(send, 200, b"" if scope["method"] == "HEAD" else body,
                          CONTENT_TYPE_LATEST.encode(), length=len(body))


async def _answer(send: Send, status: int, body: bytes, content_type: bytes,
                  extra: list[tuple[bytes, bytes]] | None = None,
                  length: int | None = None) -> None:
    headers = [(b"content-type", content_type),
               (b"content-length", str(len(body) if length is None else length).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
