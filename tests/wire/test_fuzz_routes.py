"""Every route, fed malformed requests, answers without a 5xx or a stack trace.

Hypothesis picks a route (``/``, ``/health``, every ``/v1/...`` route of
web/signin/__init__.py, static files, an unknown path), a method, a query string, headers
(content types, X-Amz-Target, DPoP, Authorization, cookies) and a body: random bytes,
invalid UTF-8, deep JSON, JSON with lone surrogates, forms (some carrying a real flow and
CSRF token so the sign-in pages get past their first check). Declared lengths larger than
the body are covered by tests/wire/test_body_limit.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opensts.cli.login import pkce_pair
from tests.conftest import Server, start_server, stop_server
from tests.signin.helpers import LOOPBACK, SAME, hidden

ROUTES = ["/", "/health", "/v1/authorize", "/v1/signin", "/v1/mfa", "/v1/password",
          "/v1/another", "/v1/signout", "/v1/choose", "/v1/consent",
          "/v1/sessions/confirmation", "/v1/token", "/v1/revoke",
          "/v1/.well-known/jwks.json", "/signin/static/style.css", "/signin/static/..%2f..",
          "/nowhere"]
FIELDS = ["flow", "csrf", "account", "username", "password", "code", "choice", "decision",
          "new_password", "confirm_password", "clientId", "grantType", "refreshToken",
          "Action", "Version", "client_id", "redirect_uri", "state", "code_challenge",
          "code_challenge_method", "response_type"]
# Depths around the bound (32) and around Python's recursion limit (1,000).
DEPTHS = st.one_of(st.integers(min_value=1, max_value=3000),
                   st.sampled_from([32, 33, 990, 1000, 1500, 50_000]))
DEEP = DEPTHS.map(lambda n: "[" * n + "]" * n)
TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "\udcff", "\ud800x", "%ff", "%ed%b3%bf", "a" * 5000, "0:", "1:x",
                     "allow", "123456789012", SAME, LOOPBACK, "S256", "code",
                     "refresh_token", "authorization_code", "GetCallerIdentity",
                     "2011-06-15", "2010-05-08", "null", "{}", "[]"]),
    DEEP,
)


def encode_form(fields: dict[str, str]) -> bytes:
    # Lone surrogates cannot be UTF-8-encoded: send them as their (invalid) escapes.
    return urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()}).encode()


JSON_BODIES = st.one_of(
    DEEP.map(str.encode),
    DEPTHS.map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.sampled_from([b'{"clientId":"\\udcff"}', b'{"\\ud800":1}', b'{"a":"\\udcff\\udcff"}',
                     b'{"grantType":"refresh_token","clientId":"' + SAME.encode() +
                     b'","refreshToken":"\\udcff"}', b"{", b"null", b"[]", b"1e999999",
                     b'"\\u0000"', b"\xff\xfe{}", b'{"a":NaN}']),
)
BODIES = st.one_of(st.binary(max_size=300), JSON_BODIES,
                   st.dictionaries(st.sampled_from(FIELDS), TEXT, max_size=6).map(encode_form))
HEADERS = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                     "application/x-amz-json-1.1", "multipart/form-data",
                                     "multipart/form-data; boundary=x", "text/plain", "\x7f"]),
    "X-Amz-Target": st.sampled_from(["AWSOrganizationsV20161128.ListRoots", "x", ".", "",
                                     "AWSOrganizationsV20161128.",
                                     "AWSOrganizationsV20161128.\u00c3\u00a9"]),
    "DPoP": st.one_of(st.text(alphabet="abcXYZ019-_.", max_size=200),
                      st.sampled_from(["a.b.c", "W1tbW1tbW1tbW1tbW1tb.e30.c2ln", "...."])),
    "Authorization": st.sampled_from(["AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=x",
                                      "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/"
                                      "organizations/aws4_request, SignedHeaders=host, "
                                      "Signature=00", "Bearer x", ""]),
    "Cookie": st.sampled_from(["opensts-browser=" + "a" * 20, "opensts-sessions=%ff",
                               "a=b; c", "opensts-browser=\x7f"]),
    "X-Amz-Date": st.sampled_from(["20260101T000000Z", "nonsense", ""]),
    "Transfer-Encoding": st.just("chunked"),
})


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(Path(tmp_path_factory.mktemp("fuzz-routes")) / "data")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def real_flow(fuzz_server: Server) -> dict[str, str]:
    """A genuine flow, CSRF token and browser cookie, so forms pass their first check."""
    _, challenge = pkce_pair()
    page = httpx.get(fuzz_server.endpoint + "/v1/authorize?" + urlencode({
        "response_type": "code", "client_id": SAME, "state": "s", "redirect_uri": LOOPBACK,
        "code_challenge_method": "S256", "code_challenge": challenge}), timeout=30)
    assert page.status_code == 200, page.text
    cookie = re.search(r"opensts-browser=([^;]+)", page.headers["set-cookie"])
    assert cookie
    return {"flow": hidden(page.text, "flow"), "csrf": hidden(page.text, "csrf"),
            "cookie": f"opensts-browser={cookie.group(1)}"}


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    route=st.sampled_from(ROUTES),
    method=st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "OPTIONS"]),
    query=st.one_of(st.just(""), st.dictionaries(st.sampled_from(FIELDS), TEXT, max_size=4)
                    .map(lambda q: encode_form(q).decode()[:8000]),  # httpx's URL limit
                    st.sampled_from(["%ff", "a=%ed%b3%bf", "Action=%ff&Version=2011-06-15",
                                     "&&&==", "code=%00&state=%ff"])),
    headers=HEADERS,
    body=BODIES,
    with_flow=st.booleans(),
    extra=st.dictionaries(st.sampled_from(FIELDS), TEXT, max_size=4),
)
def test_every_route_answers_malformed_requests_without_a_5xx(
    fuzz_server: Server, real_flow: dict[str, str], route: str, method: str, query: str,
    headers: dict[str, str], body: bytes, with_flow: bool, extra: dict[str, str],
) -> None:
    headers = dict(headers)
    if with_flow and route.startswith("/v1/"):
        # A form with a real flow and CSRF token, plus random fields.
        body = encode_form({"flow": real_flow["flow"], "csrf": real_flow["csrf"], **extra})
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Cookie"] = real_flow["cookie"]
        method = "POST"
    content: Any = body
    if headers.pop("Transfer-Encoding", None):
        content = iter([body[: len(body) // 2], body[len(body) // 2:]])  # chunked, no length
    url = fuzz_server.endpoint + quote(route, safe="/.%") + (f"?{query}" if query else "")
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]  # bytes as sent
    response = httpx.request(method, url, content=content, headers=raw, timeout=60)
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert b"Traceback" not in response.content
    assert b'File "' not in response.content
