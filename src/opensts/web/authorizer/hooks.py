"""Rebuild the request a gateway is asking about from the shape of its authorization hook.

Pure: no I/O. Each gateway describes the client's request differently
(/work/shared/reference/gateways-sso-cognito.md §2 and the gateways' documentation):

* nginx ``auth_request`` (ngx_http_auth_request_module): the subrequest is a GET without a
  body carrying the client's headers as sent. The original method and URI come in
  ``X-Original-Method`` / ``X-Original-URI`` (``$request_method``, ``$request_uri``), the
  original ``Host`` in ``Host`` (``proxy_set_header Host $http_host``), and, because the
  documented config clears ``Content-Length`` so the hook does not wait for a body that
  never comes, the original length in ``X-Original-Content-Length``.
* Traefik ``forwardAuth``: ``X-Forwarded-Method``, ``-Proto``, ``-Host``, ``-Uri``, ``-For``
  plus the client's headers; with ``forwardBody: true`` the body (the hook URL then says
  ``?body=forwarded`` so an empty body is known to be the body, not a missing one).
* Envoy ``ext_authz`` (HTTP service): the original method, and the original path (with its
  query) appended to ``path_prefix``; the client's headers as sent; with
  ``with_request_body`` the buffered body and ``x-envoy-auth-partial-body: false|true``.

The hook URL names the API and the stage, so the gateway config alone decides which API a
location belongs to: ``/_opensts/authorize/{nginx|traefik|envoy}/{api-id}/{stage}`` (Envoy
appends the original path after it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "/_opensts/authorize/"
HOOKS = ("nginx", "traefik", "envoy")
Headers = tuple[tuple[str, str], ...]

# Headers the gateways add to the hook request (never part of what the client signed,
# unless the client sent them itself, in which case the gateway replaced them anyway).
_NGINX_ADDED = frozenset({"x-original-method", "x-original-uri", "x-original-content-length"})
_TRAEFIK_ADDED = frozenset({
    "x-forwarded-method", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-uri",
})
# RFC 9110 §5.6.2 tchar: a method is a token, case-sensitive (decide_invoke matches it).
_METHOD_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class HookError(Exception):
    """The hook request does not describe an original request (a gateway config error)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Target:
    """What the hook URL names."""

    hook: str
    api_id: str
    stage: str
    rest: str  # Envoy: the original path appended after path_prefix ("" for the others)


@dataclass(frozen=True)
class Original:
    """The client's request, as the gateway received it."""

    method: str
    raw_path: str  # percent-encoding intact (what the client signed)
    raw_query: str
    headers: Headers  # lower-case names; host is the client's Host
    body: bytes | None  # None: the hook did not see the body
    secure: bool | None  # the client used TLS, when the gateway says so


def parse_target(path: str) -> Target | None:
    """``/_opensts/authorize/nginx/api/stage`` -> Target; None for anything else."""
    if not path.startswith(PREFIX):
        return None
    hook, _, rest = path[len(PREFIX):].partition("/")
    api_id, _, rest = rest.partition("/")
    stage, slash, rest = rest.partition("/")
    if hook not in HOOKS or not api_id or not stage:
        return None
    if hook != "envoy" and rest:
        return None
    return Target(hook, api_id, stage, slash + rest if hook == "envoy" else "")


def _split_uri(uri: str) -> tuple[str, str]:
    path, _, query = uri.partition("?")
    if not path.startswith("/"):
        # An absolute-form URI (GET http://host/path) or garbage: not what gateways send.
        raise HookError(f"The original URI must start with '/': {uri[:200]!r}")
    return path, query


def _method(value: str | None, source: str) -> str:
    if not value:
        raise HookError(f"The hook request lacks {source} (see the authorizer's gateway config).")
    method = value.strip()
    if not method or len(method) > 20 or not set(method) <= _METHOD_CHARS:
        raise HookError(f"{source} is not an HTTP method.")
    return method


def _first(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def from_nginx(headers: Sequence[tuple[str, str]]) -> Original:
    uri = _first(headers, "x-original-uri")
    if not uri:
        raise HookError("The hook request lacks X-Original-URI (see the nginx config).")
    path, query = _split_uri(uri)
    method = _method(_first(headers, "x-original-method"), "X-Original-Method")
    length = _first(headers, "x-original-content-length")
    kept = [(k, v) for k, v in headers if k not in _NGINX_ADDED and k != "content-length"]
    if length:
        kept.append(("content-length", length))
    return Original(method, path, query, tuple(kept), None, None)


def from_traefik(headers: Sequence[tuple[str, str]], body: bytes,
                 body_forwarded: bool) -> Original:
    uri = _first(headers, "x-forwarded-uri")
    host = _first(headers, "x-forwarded-host")
    if not uri or not host:
        raise HookError("The hook request lacks X-Forwarded-Uri or X-Forwarded-Host.")
    path, query = _split_uri(uri)
    method = _method(_first(headers, "x-forwarded-method"), "X-Forwarded-Method")
    proto = (_first(headers, "x-forwarded-proto") or "").strip().lower()
    # Host is the hook's own address; the client's is X-Forwarded-Host. Content-Length
    # describes the hook request, which carries the body only with forwardBody.
    kept = [(k, v) for k, v in headers
            if k not in _TRAEFIK_ADDED and k not in ("host", "content-length")]
    kept.append(("host", host))
    if body_forwarded and body:
        kept.append(("content-length", str(len(body))))
    secure = proto == "https" if proto in ("http", "https") else None
    return Original(method, path, query, tuple(kept), body if body_forwarded else None, secure)


def from_envoy(method: str, target: Target, raw_query: str,
               headers: Sequence[tuple[str, str]], body: bytes) -> Original:
    path = target.rest or "/"
    partial = (_first(headers, "x-envoy-auth-partial-body") or "").strip().lower()
    # Envoy marks a buffered body with this header; "true" means it was cut at
    # max_request_bytes, and a part of a body cannot be hashed against the whole's hash.
    seen = partial == "false"
    kept = [(k, v) for k, v in headers if k != "x-envoy-auth-partial-body"]
    return Original(_method(method, "the request method"), path, raw_query, tuple(kept),
                    body if seen else None, None)
