"""GET /metrics: real boto3 calls move the counters of a real scrape; only allowed peers.

The server runs with ``--access-log --log-format json`` (tests/server/test_access_log.py
reads its log); metrics are parsed with prometheus-client's own parser.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT_KEY, ROOT_SECRET, Server, start_server, stop_server

FAKE_KEY = "AKIAUNKNOWNKEY000001"
WRONG_SECRET = "wrongSECRETwrongSECRETwrongSECRETwrong000"


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ops") / "data"
    running = start_server(data_dir, args=("--access-log", "--log-format", "json"))
    yield running
    stop_server(running)


def server_log(server: Server) -> str:
    return (server.data_dir.parent / f"{server.data_dir.name}-server.log").read_text()


def scrape(server: Server) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        text = response.read().decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return values


def value(values: dict[Any, float], name: str, **labels: str) -> float:
    return values.get((name, frozenset(labels.items())), 0.0)


def test_boto3_calls_move_request_latency_cache_and_audit_metrics(ops: Server) -> None:
    before = scrape(ops)
    sts = ops.client("sts")
    for _ in range(3):
        sts.get_caller_identity()
    with pytest.raises(ClientError):
        ops.client("iam").get_user(UserName="nobody-here")
    after = scrape(ops)
    ok = {"service": "sts", "action": "GetCallerIdentity", "error_code": ""}
    assert value(after, "opensts_requests_total", **ok) - value(
        before, "opensts_requests_total", **ok) == 3
    missing = {"service": "iam", "action": "GetUser", "error_code": "NoSuchEntity"}
    assert value(after, "opensts_requests_total", **missing) - value(
        before, "opensts_requests_total", **missing) == 1
    latency = value(after, "opensts_request_duration_seconds_count", service="sts") - value(
        before, "opensts_request_duration_seconds_count", service="sts")
    assert latency == 3
    assert value(after, "opensts_request_duration_seconds_bucket", service="sts",
                 le="+Inf") >= 3
    # The calls read the root's key through the cache; the audit log group-committed them.
    assert value(after, "opensts_cache_hits_total") > value(before, "opensts_cache_hits_total")
    assert value(after, "opensts_audit_fsync_seconds_count") > value(
        before, "opensts_audit_fsync_seconds_count")
    assert ("opensts_audit_queue_depth", frozenset()) in after


def test_failed_authentications_are_counted_and_audited_with_key_and_reason(
        ops: Server) -> None:
    before = scrape(ops)
    with pytest.raises(ClientError) as unknown:
        ops.client("sts", key=FAKE_KEY, secret=WRONG_SECRET).get_caller_identity()
    assert unknown.value.response["Error"]["Code"] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as mismatch:
        ops.client("iam", key=ROOT_KEY, secret=WRONG_SECRET).list_users()
    assert mismatch.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    session = ops.client("sts").get_session_token()["Credentials"]
    forged = session["SessionToken"][:-8] + ("A" * 8 if session["SessionToken"][-8:] != "A" * 8
                                              else "B" * 8)
    with pytest.raises(ClientError) as tampered:
        ops.client("sts", key=session["AccessKeyId"], secret=session["SecretAccessKey"],
                   token=forged).get_caller_identity()
    assert tampered.value.response["Error"]["Code"] == "InvalidClientTokenId"
    after = scrape(ops)

    def moved(service: str, reason: str) -> float:
        labels = {"service": service, "reason": reason}
        return value(after, "opensts_authentication_failures_total", **labels) - value(
            before, "opensts_authentication_failures_total", **labels)

    assert moved("sts", "unknown_access_key") == 1
    assert moved("iam", "signature_mismatch") == 1
    assert moved("sts", "invalid_session_token") == 1

    events = ops.audit_events()
    failures = {e["additionalEventData"]["authenticationFailure"]["accessKeyId"]: e
                for e in events
                if "authenticationFailure" in (e.get("additionalEventData") or {})}
    event = failures[FAKE_KEY]
    assert event["errorCode"] == "InvalidClientTokenId"
    assert event["errorMessage"] == "The security token included in the request is invalid."
    assert event["userIdentity"] == {"type": "Unknown", "accessKeyId": FAKE_KEY}
    assert event["additionalEventData"]["authenticationFailure"]["reason"] == (
        "unknown_access_key")
    event = failures[ROOT_KEY]
    assert (event["eventName"], event["errorCode"]) == ("ListUsers", "SignatureDoesNotMatch")
    assert event["additionalEventData"]["authenticationFailure"]["reason"] == (
        "signature_mismatch")
    event = failures[session["AccessKeyId"]]
    assert event["additionalEventData"]["authenticationFailure"]["reason"] == (
        "invalid_session_token")
    # Never a secret, the refused token or a signature in the log (GetSessionToken's own
    # event has the issued token in its responseElements, as CloudTrail's does).
    text = "\n".join(p.read_text() for p in (ops.data_dir / "audit").glob("*.jsonl"))
    for secret in (WRONG_SECRET, ROOT_SECRET, session["SecretAccessKey"], forged,
                   "Signature="):
        assert secret not in text
    assert session["SessionToken"] not in json.dumps(event)


def test_access_log_lines_are_json_without_query_strings_or_secrets(ops: Server) -> None:
    ops.client("sts").get_caller_identity()
    scrape(ops)
    # A presigned-style request: its signature and token travel in the query string.
    secret_query = "X-Amz-Signature=deadbeef0123&X-Amz-Security-Token=TOKENSECRET123"
    try:
        urllib.request.urlopen(
            f"{ops.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15&{secret_query}",
            timeout=5)
    except urllib.error.HTTPError as exc:
        assert exc.code == 400
    # The line is written once the answer is sent: wait for it.
    deadline = time.monotonic() + 10
    while '"status":400' not in (log := server_log(ops)) and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]  # all JSON
    access = [line for line in lines if line["logger"] == "opensts.access"]
    calls = [a for a in access if a.get("action") == "GetCallerIdentity"]
    assert calls, access
    for line in calls:
        assert set(line) >= {"time", "peer", "method", "path", "status", "durationMs",
                             "requestId", "service", "action"}
        assert line["peer"] == "127.0.0.1" and line["path"] == "/"
    signed = [a for a in calls if a["status"] == 200][-1]
    assert signed["method"] == "POST" and signed["service"] == "sts"
    assert len(signed["requestId"]) == 36
    unsigned = [a for a in calls if a["status"] == 400][-1]
    assert unsigned["errorCode"] == "IncompleteSignature"
    assert any(a["path"] == "/metrics" and a["status"] == 200 for a in access)
    for leak in ("deadbeef0123", "TOKENSECRET123", "X-Amz-", "Signature=", ROOT_SECRET,
                 "AWS4-HMAC-SHA256", "?"):
        assert leak not in json.dumps(access)
    assert any(line.get("message", "").startswith("OpenSTS listening on http://127.0.0.1:")
               for line in lines)


def _get(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_metrics_refused_to_peers_outside_the_allow_list(tmp_path: Path) -> None:
    # Bound beyond loopback (0.0.0.0) without TLS: a warning. The test reaches it on
    # 127.0.0.1, which OPENSTS_METRICS_ALLOW leaves out; a forwarded header does not help.
    server = start_server(tmp_path / "data", {"OPENSTS_METRICS_ALLOW": "10.0.0.0/8"},
                          args=("--host", "0.0.0.0"))  # noqa: S104 - the warning tested
    try:
        assert _get(f"{server.endpoint}/metrics") == 403
        assert _get(f"{server.endpoint}/metrics", {"X-Forwarded-For": "10.1.2.3"}) == 403
        assert _get(f"{server.endpoint}/health") == 200
    finally:
        stop_server(server)
    log = server_log(server)
    assert "Serving plain HTTP on 0.0.0.0, beyond loopback" in log


def test_metrics_refused_to_a_trusted_proxy(tmp_path: Path) -> None:
    """What a proxy relays is someone else's request, even from an allowed address."""
    server = start_server(tmp_path / "data", {"OPENSTS_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        assert _get(f"{server.endpoint}/metrics", {"X-Forwarded-For": "127.0.0.1"}) == 403
        assert _get(f"{server.endpoint}/metrics") == 403
    finally:
        stop_server(server)
    assert "beyond loopback" not in server_log(server)


def test_workers_share_their_counts_in_one_scrape(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "metrics").mkdir(parents=True)
    stale = data / "metrics" / "counter_99999.db"
    stale.write_bytes(b"left by a previous run")
    server = start_server(data, args=("--workers", "2"))
    try:
        assert not stale.exists()  # emptied at start
        sts = server.client("sts")
        for _ in range(6):
            sts.get_caller_identity()
        # Every worker's share, whichever worker answers the scrape.
        for _ in range(3):
            values = scrape(server)
            assert value(values, "opensts_requests_total", service="sts",
                         action="GetCallerIdentity", error_code="") == 6
    finally:
        stop_server(server)


def test_a_wrong_sign_in_password_is_counted(ops: Server) -> None:
    from tests.signin.helpers import Browser, Client, make_user

    user = make_user(ops.client("iam"), ops.account_id)
    before = scrape(ops)
    browser = Browser(ops.endpoint)
    page = browser.authorize(challenge=Client(ops.endpoint).challenge)
    assert page.status_code == 200, page.text
    refused = browser.sign_in(page.text, user, password="Not-The-Password-1")
    assert "incorrect" in refused.text
    after = scrape(ops)
    labels = {"action": "CheckPassword", "error_code": "IncorrectCredentials"}
    assert value(after, "opensts_signin_failures_total", **labels) - value(
        before, "opensts_signin_failures_total", **labels) == 1
    # The sign-in pages' query strings (PKCE challenge, state) stay out of the access log.
    deadline = time.monotonic() + 10
    while "/v1/signin" not in (log := server_log(ops)) and time.monotonic() < deadline:
        time.sleep(0.05)
    authorize = [json.loads(x) for x in log.splitlines() if '"/v1/authorize"' in x]
    assert authorize and all(a["path"] == "/v1/authorize" for a in authorize)
    assert "code_challenge" not in log
