"""Envoy's ext_authz HTTP-service wire format, sent by hand (Envoy is not installable here),
and malformed hook requests, which get a 4xx in API Gateway's shape, never a 500.

What Envoy sends (ext_authz.proto, envoyproxy/envoy@008b93a264b8): the original method;
``path_prefix`` + the original path and query; the client's headers (Host, Authorization,
the allowed_headers); with ``with_request_body`` the buffered body and
``x-envoy-auth-partial-body: false`` (``true`` when cut at max_request_bytes).
"""

from __future__ import annotations

import json

import pytest

from tests.authorizer.conftest import event_for
from tests.authorizer.gateways import declare
from tests.authorizer.world import allow, doc, send, sign, user
from tests.conftest import Server

API = "envoy1"


@pytest.fixture(scope="module")
def api(hook_server: Server) -> str:
    declare(hook_server, API, hook_server.account_id)
    return API


def envoy(server: Server, request: object, *, body: bytes | None, partial: bool = False,
          tamper: str | None = None) -> tuple[int, dict[str, str], bytes]:
    from botocore.awsrequest import AWSRequest

    assert isinstance(request, AWSRequest)
    netloc, target = request.url.split("://", 1)[1].split("/", 1)
    headers = {"Host": netloc, **dict(request.headers)}  # Envoy sends the client's Host
    if body is not None:
        headers["x-envoy-auth-partial-body"] = "true" if partial else "false"
    path = f"{server.endpoint}/_opensts/authorize/envoy/{API}/prod/{tamper or target}"
    reply = send(request.method, path, headers, body or b"")
    return reply.status, reply.headers, reply.body


def test_envoy_get_and_buffered_body(hook_server: Server, api: str) -> None:
    arn, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
    status, headers, _ = envoy(hook_server, sign("GET", "http://api.internal:8443/orders/42?x=1",
                                                 creds), body=None)
    assert status == 200
    assert headers["x-opensts-principal-arn"] == arn
    assert headers["x-opensts-body-verified"] == "false"
    body = b'{"qty":3}'
    request = sign("POST", "http://api.internal/orders", creds, body=body)
    status, headers, _ = envoy(hook_server, request, body=body)
    assert status == 200
    assert headers["x-opensts-body-verified"] == "true"
    event = event_for(hook_server, headers["x-opensts-request-id"])
    assert event["requestParameters"] == {"apiId": API, "stage": "prod", "httpMethod": "POST",
                                          "resourcePath": "/orders", "hook": "envoy"}
    # A partial body (cut at max_request_bytes) cannot be hashed: the claim is used.
    request = sign("POST", "http://api.internal/orders", creds, body=body, claim_hash=True)
    status, headers, _ = envoy(hook_server, request, body=body[:4], partial=True)
    assert status == 200
    assert headers["x-opensts-body-verified"] == "false"


def test_envoy_tampered_path(hook_server: Server, api: str) -> None:
    _, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
    status, headers, body = envoy(hook_server, sign("GET", "http://api.internal/orders/42", creds),
                                  body=None, tamper="orders/43")
    assert status == 403
    assert headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert "\n'GET\n/orders/43\n" in json.loads(body)["message"]


def test_path_normalised_as_api_gateway_signs(hook_server: Server, api: str) -> None:
    """Standard SigV4 (not S3's): the client signs the normalised, twice-encoded path."""
    _, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
    request = sign("GET", "http://api.internal/files/a%20b/report.txt", creds)
    status, headers, _ = envoy(hook_server, request, body=None)
    assert status == 200
    assert headers["x-opensts-resource"].endswith("/prod/GET/files/a b/report.txt") or \
        headers["x-opensts-resource"].endswith("/prod/GET/files/a%20b/report.txt")


@pytest.mark.parametrize("path, headers, status, message", [
    ("/_opensts/authorize/nginx/envoy1/prod", {}, 400, "X-Original-URI"),
    ("/_opensts/authorize/nginx/envoy1/prod", {"X-Original-URI": "/x"}, 400,
     "X-Original-Method"),
    ("/_opensts/authorize/nginx/envoy1/prod",
     {"X-Original-URI": "http://evil/x", "X-Original-Method": "GET"}, 400, "must start"),
    ("/_opensts/authorize/nginx/envoy1/prod",
     {"X-Original-URI": "/x", "X-Original-Method": "G\tET"}, 400, "not an HTTP method"),
    ("/_opensts/authorize/traefik/envoy1/prod", {"X-Forwarded-Uri": "/x"}, 400,
     "X-Forwarded-Host"),
    ("/_opensts/authorize/zzz/envoy1/prod", {}, 403, "Missing Authentication Token"),
    ("/_opensts/authorize/nginx/unknown-api/prod",
     {"X-Original-URI": "/x", "X-Original-Method": "GET"}, 403, "Missing Authentication Token"),
    ("/_opensts/authorize/nginx/envoy1/nostage",
     {"X-Original-URI": "/x", "X-Original-Method": "GET"}, 403, "Missing Authentication Token"),
    ("/_opensts/authorize/nginx/envoy1/prod",
     {"X-Original-URI": "/x", "X-Original-Method": "GET",
      "Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/execute-api/"
                       "aws4_request"}, 403, "requires 'Signature'"),
    ("/_opensts/authorize/nginx/envoy1/prod",
     {"X-Original-URI": "/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%ZZ",
      "X-Original-Method": "GET"}, 403, "must include"),
])
def test_malformed_hook_requests(hook_server: Server, api: str, path: str,
                                 headers: dict[str, str], status: int, message: str) -> None:
    reply = send("GET", f"{hook_server.endpoint}{path}", {"Host": "api.internal", **headers})
    assert reply.status == status, reply.body
    assert message in reply.body.decode()
    assert reply.headers["content-type"] == "application/json"


def test_wrong_service_and_unknown_key(hook_server: Server, api: str) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    _, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
    request = AWSRequest(method="GET", url="http://api.internal/orders")
    SigV4Auth(creds, "sts", "us-east-1").add_auth(request)
    status, _, body = envoy(hook_server, request, body=None)
    assert status == 403
    assert "execute-api" in json.loads(body)["message"]
    request = sign("GET", "http://api.internal/orders", Credentials("AKIANOSUCHKEY0000000", "x"))
    status, headers, body = envoy(hook_server, request, body=None)
    assert status == 403
    assert headers["x-amzn-errortype"] == "UnrecognizedClientException"
    assert json.loads(body) == {"message": "The security token included in the request is "
                                           "invalid."}


def test_body_over_the_limit_is_413(hook_server: Server, api: str) -> None:
    reply = send("POST", f"{hook_server.endpoint}/_opensts/authorize/envoy/{API}/prod/o",
                 {"Host": "api.internal", "x-envoy-auth-partial-body": "false"},
                 b"x" * (1_048_576 + 1))
    assert reply.status == 413
    assert json.loads(reply.body)["message"].startswith("Request Too Long")
