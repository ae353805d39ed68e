"""Debian's nginx with auth_request in front of an echo upstream, OpenSTS deciding.

Callers: requests-style raw HTTP signed with botocore's SigV4Auth / SigV4QueryAuth.
Scenarios of issue 11: identity handed to the upstream, API Gateway's 403 bodies,
cross-account invocation through the API's resource policy, a session policy narrowing a
role to GET, ABAC on a path parameter, revoked sessions, presigned calls, tampering,
replay after expiry, client-sent identity headers stripped, source IP from the trusted
gateway only, custom actions on routes, audit events and explain-by-request-id.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials

from opensts.directory.records import Route
from tests.authorizer.conftest import denial_for, event_for, hook_port
from tests.authorizer.gateways import Gateway, declare, nginx_binary, start_nginx
from tests.authorizer.world import (
    CLIENT_IP,
    allow,
    doc,
    invoke_arn,
    new_account,
    presign,
    role_session,
    send,
    send_signed,
    sign,
    user,
)
from tests.conftest import BIN, Server

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx not installed")

API = "orders1"


@pytest.fixture(scope="module")
def nginx(hook_server: Server, echo: int, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Gateway]:
    declare(hook_server, API, hook_server.account_id)
    gateway = start_nginx(tmp_path_factory.mktemp("nginx"), opensts_port=hook_port(hook_server),
                          api_id=API, stage="prod", upstream_port=echo)
    yield gateway
    gateway.stop()


def caller(server: Server, *statements: dict[str, Any]) -> tuple[str, Credentials]:
    return user(server, doc(*statements) if statements else None)


def test_allowed_call_reaches_upstream_with_identity(hook_server: Server, nginx: Gateway) -> None:
    arn, creds = caller(hook_server, allow("execute-api:Invoke",
                                           invoke_arn(hook_server.account_id, API, "prod/GET/*")))
    reply = send_signed(sign("GET", f"{nginx.url}/orders/42?expand=items", creds))
    assert reply.status == 200, reply.body
    seen = reply.seen
    assert reply.json()["path"] == "/orders/42?expand=items"
    assert seen["x-opensts-principal-arn"] == arn
    assert seen["x-opensts-account"] == hook_server.account_id
    assert seen["x-opensts-user-id"].startswith("AIDA")
    assert seen["x-opensts-body-verified"] == "false"  # nginx never shows the body
    assert seen["x-opensts-resource"] == invoke_arn(hook_server.account_id, API,
                                                     "prod/GET/orders/42")
    assert "x-opensts-session-name" not in seen
    event = event_for(hook_server, seen["x-opensts-request-id"])
    assert event["eventSource"] == "execute-api.amazonaws.com"
    assert event["eventName"] == "Invoke"
    assert event["userIdentity"]["arn"] == arn
    assert "errorCode" not in event
    assert event["requestParameters"]["hook"] == "nginx"


def test_denied_is_api_gateway_shaped_recorded_and_explainable(hook_server: Server,
                                                               nginx: Gateway) -> None:
    arn, creds = caller(hook_server, allow("execute-api:Invoke",
                                           invoke_arn(hook_server.account_id, API, "prod/GET/*")))
    reply = send_signed(sign("DELETE", f"{nginx.url}/orders/42", creds))
    assert reply.status == 403
    resource = invoke_arn(hook_server.account_id, API, "prod/DELETE/orders/42")
    masked = resource.replace(hook_server.account_id, "********" + hook_server.account_id[-4:])
    message = json.loads(reply.body)["Message"]
    assert message.startswith(f"User: {arn} is not authorized to perform: execute-api:Invoke "
                              f"on resource: ")
    assert message.endswith((resource, masked))
    assert reply.headers["x-amzn-errortype"] == "AccessDeniedException"
    request_id = reply.headers["x-amzn-requestid"]
    event = event_for(hook_server, request_id)
    assert event["errorCode"] == "AccessDenied"
    assert event["userIdentity"]["arn"] == arn
    record = denial_for(hook_server.data_dir, request_id)
    assert record["action"] == "execute-api:Invoke" and record["resource"] == resource
    explained = subprocess.run(
        [str(BIN / "opensts"), "policy", "explain", "--request-id", request_id,
         "--data-dir", str(hook_server.data_dir)], capture_output=True, text=True, timeout=60)
    assert explained.returncode in (0, 1), explained.stderr  # 1: the decision was a deny
    assert "execute-api:Invoke" in explained.stdout, explained.stdout


def test_unsigned_is_missing_authentication_token(nginx: Gateway) -> None:
    reply = send("GET", f"{nginx.url}/orders/1")
    assert reply.status == 403
    assert json.loads(reply.body) == {"message": "Missing Authentication Token"}
    assert reply.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_tampered_uri_echoes_the_expected_canonical_request(hook_server: Server,
                                                           nginx: Gateway) -> None:
    _, creds = caller(hook_server, allow("execute-api:Invoke", "*"))
    request = sign("GET", f"{nginx.url}/orders/1", creds)
    request.url = f"{nginx.url}/orders/2"
    reply = send_signed(request)
    assert reply.status == 403
    message = json.loads(reply.body)["message"]
    assert message.startswith("The request signature we calculated does not match")
    assert "The Canonical String for this request should have been\n'GET\n/orders/2\n" in message
    assert "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in message
    assert "/us-east-1/execute-api/aws4_request\n" in message
    assert reply.headers["x-amzn-errortype"] == "InvalidSignatureException"


def test_replay_within_skew_passes_after_it_is_refused(hook_server: Server,
                                                      nginx: Gateway) -> None:
    _, creds = caller(hook_server, allow("execute-api:Invoke", "*"))
    request = sign("GET", f"{nginx.url}/orders/7", creds)
    assert send_signed(request).status == 200
    assert send_signed(request).status == 200  # SigV4 has no nonce: as on AWS
    old = datetime.now(UTC) - timedelta(minutes=6)
    stale = sign("GET", f"{nginx.url}/orders/7", creds, at=old)
    reply = send_signed(stale)
    assert reply.status == 403
    message = json.loads(reply.body)["message"]
    assert message.startswith(f"Signature expired: {old.strftime('%Y%m%dT%H%M%SZ')} is now "
                              "earlier than ")
    assert message.endswith(" - 5 min.)")


def test_presigned_until_expiry(hook_server: Server, nginx: Gateway) -> None:
    _, creds = caller(hook_server, allow("execute-api:Invoke", "*"))
    url = presign("GET", f"{nginx.url}/orders/9?x=1", creds, expires=2)
    assert send("GET", url).status == 200
    time.sleep(3.1)
    reply = send("GET", url)
    assert reply.status == 403
    assert reply.headers["x-amzn-errortype"] == "InvalidSignatureException"


def test_injected_identity_headers_are_replaced(hook_server: Server, nginx: Gateway) -> None:
    arn, creds = caller(hook_server, allow("execute-api:Invoke", "*"))
    forged = {"X-OpenSTS-Principal-Arn": "arn:aws:iam::999999999999:root",
              "X-OpenSTS-Session-Tags": '{"team":"admins"}',
              "X-OpenSTS-Body-Verified": "true"}
    reply = send_signed(sign("GET", f"{nginx.url}/orders/3", creds), extra=forged)
    assert reply.status == 200
    seen = reply.seen
    assert seen["x-opensts-principal-arn"] == arn
    assert "x-opensts-session-tags" not in seen
    assert seen["x-opensts-body-verified"] == "false"


def test_session_identity_headers(hook_server: Server, nginx: Gateway) -> None:
    arn, creds, _ = role_session(
        hook_server, doc(allow("execute-api:Invoke", "*")), tags={"team": "blue", "env": "a=b+c d"},
        source_identity="alice@example.com", name="alice-session")
    reply = send_signed(sign("GET", f"{nginx.url}/orders/5", creds))
    assert reply.status == 200, reply.body
    seen = reply.seen
    assert seen["x-opensts-principal-arn"] == arn
    assert seen["x-opensts-session-name"] == "alice-session"
    assert seen["x-opensts-source-identity"] == "alice@example.com"
    assert json.loads(seen["x-opensts-session-tags"]) == {"team": "blue", "env": "a=b+c d"}
    assert seen["x-opensts-user-id"].endswith(":alice-session")


def test_session_policy_narrows_role_to_get(hook_server: Server, nginx: Gateway) -> None:
    _, creds, _ = role_session(
        hook_server, doc(allow("execute-api:Invoke", "*")),
        session_policy=doc(allow("execute-api:Invoke",
                                 invoke_arn(hook_server.account_id, API, "*/GET/*"))))
    assert send_signed(sign("GET", f"{nginx.url}/orders/5", creds)).status == 200
    reply = send_signed(sign("POST", f"{nginx.url}/orders", creds, body=b"{}",
                             headers={"Content-Type": "application/json"}, claim_hash=True))
    assert reply.status == 403
    assert "is not authorized to perform: execute-api:Invoke" in json.loads(reply.body)["Message"]


def test_abac_on_path_parameter(hook_server: Server, nginx: Gateway) -> None:
    policy = doc(allow("execute-api:Invoke", invoke_arn(
        hook_server.account_id, API, "prod/GET/teams/${aws:PrincipalTag/team}/*")))
    _, creds, _ = role_session(hook_server, policy, tags={"team": "blue"})
    assert send_signed(sign("GET", f"{nginx.url}/teams/blue/reports", creds)).status == 200
    assert send_signed(sign("GET", f"{nginx.url}/teams/red/reports", creds)).status == 403


def test_revoked_session(hook_server: Server, nginx: Gateway) -> None:
    _, creds, role = role_session(hook_server, doc(allow("execute-api:Invoke", "*")))
    assert send_signed(sign("GET", f"{nginx.url}/orders/1", creds)).status == 200
    # The IAM console's "Revoke active sessions": deny sessions issued before now.
    cutoff = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    hook_server.client("iam").put_role_policy(
        RoleName=role, PolicyName="AWSRevokeOlderSessions", PolicyDocument=doc(
            {"Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}}}))
    reply = send_signed(sign("GET", f"{nginx.url}/orders/1", creds))
    assert reply.status == 403
    assert "with an explicit deny" in json.loads(reply.body)["Message"]


def test_cross_account_needs_the_resource_policy(hook_server: Server, nginx: Gateway,
                                                 tmp_path: Path, echo: int) -> None:
    other = new_account(hook_server)
    api_id = f"x{uuid.uuid4().hex[:8]}"
    arn, creds = caller(hook_server, allow("execute-api:Invoke", "*"))
    declare(hook_server, api_id, other)
    gateway = start_nginx(tmp_path / "nginx", opensts_port=hook_port(hook_server),
                          api_id=api_id, stage="prod", upstream_port=echo)
    try:
        reply = send_signed(sign("GET", f"{gateway.url}/items", creds))
        assert reply.status == 403  # identity policy alone: not across accounts
        declare(hook_server, api_id, other, policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "execute-api:Invoke",
             "Resource": invoke_arn(other, api_id, "prod/GET/*")}))
        reply = send_signed(sign("GET", f"{gateway.url}/items", creds))
        assert reply.status == 200, reply.body
        assert reply.seen["x-opensts-account"] == hook_server.account_id
        # CloudTrail-style: the call is logged for the API's account and the caller's.
        event = event_for(hook_server, reply.seen["x-opensts-request-id"])
        copies = [e for e in hook_server.audit_events()
                  if e.get("sharedEventID") == event["sharedEventID"]]
        assert {e["recipientAccountId"] for e in copies} == {other, hook_server.account_id}
        owner = next(e for e in copies if e["recipientAccountId"] == other)
        assert owner["userIdentity"]["type"] == "AWSAccount"
        _, no_identity = caller(hook_server)
        assert send_signed(sign("GET", f"{gateway.url}/items", no_identity)).status == 403
    finally:
        gateway.stop()


def test_anonymous_only_where_resource_policy_allows_star(hook_server: Server, echo: int,
                                                          tmp_path: Path) -> None:
    api_id = f"p{uuid.uuid4().hex[:8]}"
    declare(hook_server, api_id, hook_server.account_id, policy=doc(
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
         "Resource": invoke_arn(hook_server.account_id, api_id, "prod/GET/public/*")}))
    gateway = start_nginx(tmp_path / "nginx", opensts_port=hook_port(hook_server),
                          api_id=api_id, stage="prod", upstream_port=echo)
    try:
        reply = send("GET", f"{gateway.url}/public/page",
                     {"X-OpenSTS-Principal-Arn": "arn:aws:iam::123456789012:root"})
        assert reply.status == 200
        assert "x-opensts-principal-arn" not in reply.seen  # stripped, no identity
        reply = send("GET", f"{gateway.url}/private/page")
        assert reply.status == 403
        assert json.loads(reply.body)["Message"].startswith("User: anonymous is not authorized")
    finally:
        gateway.stop()


def test_source_ip_from_trusted_gateway_only(hook_server: Server, nginx: Gateway) -> None:
    policy = doc(allow("execute-api:Invoke", "*",
                       Condition={"IpAddress": {"aws:SourceIp": f"{CLIENT_IP}/32"}}))
    _, creds = caller(hook_server, json.loads(policy)["Statement"][0])
    reply = send_signed(sign("GET", f"{nginx.url}/orders/1", creds), source=CLIENT_IP,
                        extra={"X-Forwarded-For": "10.9.9.9"})
    assert reply.status == 200, reply.body
    assert reply.seen["x-opensts-source-ip"] == CLIENT_IP  # nginx's $remote_addr, not forged
    # The same request straight to the hook from an untrusted peer, claiming to be a
    # gateway: its X-Forwarded-For is ignored and the address is unknown (fail closed).
    request = sign("GET", "http://api.example/orders/1", creds)
    headers = dict(request.headers)
    headers.update({"X-Original-Method": "GET", "X-Original-URI": "/orders/1",
                    "X-Forwarded-For": CLIENT_IP, "Host": "api.example"})
    reply = send("GET", f"{hook_server.endpoint}/_opensts/authorize/nginx/{API}/prod", headers,
                 source=CLIENT_IP)
    assert reply.status == 403
    assert "x-opensts-source-ip" not in reply.headers
    event = event_for(hook_server, reply.headers["x-amzn-requestid"])
    assert event["sourceIPAddress"] is None
    assert event["additionalEventData"]["sourceIpKnown"] is False


def test_custom_action_on_a_route(hook_server: Server, echo: int, tmp_path: Path) -> None:
    api_id = f"c{uuid.uuid4().hex[:8]}"
    account = hook_server.account_id
    declare(hook_server, api_id, account, routes=(
        Route(method="GET", path="/orders/{id}", action="orders:GetOrder",
              resource=f"arn:aws:orders:us-east-1:{account}:order/{{id}}"),))
    _, creds = caller(hook_server, allow("orders:GetOrder", f"arn:aws:orders:us-east-1:"
                                                            f"{account}:order/42"))
    gateway = start_nginx(tmp_path / "nginx", opensts_port=hook_port(hook_server),
                          api_id=api_id, stage="prod", upstream_port=echo)
    try:
        reply = send_signed(sign("GET", f"{gateway.url}/orders/42", creds))
        assert reply.status == 200, reply.body
        assert reply.seen["x-opensts-action"] == "orders:GetOrder"
        event = event_for(hook_server, reply.seen["x-opensts-request-id"])
        assert event["eventSource"] == "orders.amazonaws.com"
        assert event["eventName"] == "GetOrder"
        reply = send_signed(sign("GET", f"{gateway.url}/orders/43", creds))
        assert reply.status == 403
        assert "orders:GetOrder" in json.loads(reply.body)["Message"]
        reply = send_signed(sign("GET", f"{gateway.url}/nothing/here", creds))
        assert json.loads(reply.body) == {"message": "Missing Authentication Token"}
    finally:
        gateway.stop()


def test_readme_nginx_config_is_the_tested_one() -> None:
    from tests.authorizer.gateways import IDENTITY, nginx_config
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    section = readme.split("## HTTP authorizer", 1)[1].split("\n## ", 1)[0]
    block = section.split("```nginx\n", 1)[1].split("```", 1)[0]
    generated = nginx_config(listen=80, opensts="opensts.internal:8080", api_id="orders",
                             stage="prod", upstream_port=9000, workdir=Path("/w"))
    directives = ("auth_request", "proxy_", "error_page", "add_header", "return", "internal",
                  "default_type", "upstream")
    wanted = {line.strip() for line in generated.splitlines()
              if line.strip().startswith(directives) and "_temp_path" not in line}
    have = {line.split("  #")[0].strip() for line in block.splitlines()}
    assert wanted <= have, wanted - have
    traefik = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert all(header in traefik for header in IDENTITY)
