"""X-Forwarded-For / X-Forwarded-Proto count only from the proxies the operator names.

Against the default server (no ``--trusted-proxies``) a loopback client that sends the
headers keeps its own address and scheme: aws:SourceIp, aws:SecureTransport and the
CloudTrail sourceIPAddress. A second server started with ``--trusted-proxies
127.0.0.1/32`` honours them, walking X-Forwarded-For from the right.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server, unique

CLIENT = "203.0.113.9"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": f"{CLIENT}/32"}}},
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
    ],
}


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("proxied") / "data"
    running = start_server(data_dir, args=("--trusted-proxies", "127.0.0.1/32,10.0.0.0/8"))
    yield running
    stop_server(running)


def _user(server: Server) -> tuple[str, str]:
    iam = server.client("iam")
    name = unique("fwd")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(POLICY))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _call(server: Server, headers: dict[str, str],
          call: Callable[[Any], Any]) -> tuple[str, str]:
    """Run ``call`` on an IAM client that adds ``headers``; (outcome, request id)."""
    key, secret = _user(server)
    client = server.client("iam", key=key, secret=secret)

    def add(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    client.meta.events.register("before-sign.iam.*", add)
    try:
        response = call(client)
        return "allowed", response["ResponseMetadata"]["RequestId"]
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["RequestId"]


def _source_ip(server: Server, request_id: str) -> str:
    [event] = [e for e in server.audit_events() if e["requestID"] == request_id]
    return str(event["sourceIPAddress"])


def test_forwarded_for_from_an_untrusted_peer_is_ignored(server: Server) -> None:
    outcome, request_id = _call(server, {"X-Forwarded-For": CLIENT}, lambda c: c.get_user())
    assert outcome == "AccessDenied"  # aws:SourceIp is the real peer, not the header
    assert _source_ip(server, request_id) == "127.0.0.1"


def test_forwarded_proto_from_an_untrusted_peer_is_ignored(server: Server) -> None:
    outcome, _ = _call(server, {"X-Forwarded-Proto": "https"}, lambda c: c.list_users())
    assert outcome == "AccessDenied"  # aws:SecureTransport stays false over plain HTTP


def test_a_trusted_proxy_names_the_client(proxied: Server) -> None:
    outcome, request_id = _call(proxied, {"X-Forwarded-For": CLIENT}, lambda c: c.get_user())
    assert outcome == "allowed"
    assert _source_ip(proxied, request_id) == CLIENT


def test_the_right_most_untrusted_hop_is_the_client(proxied: Server) -> None:
    # The left-most entry is whatever the client claimed; 10.0.0.7 is a trusted proxy.
    chain = f"198.51.100.1, {CLIENT}, 10.0.0.7"
    outcome, request_id = _call(proxied, {"X-Forwarded-For": chain}, lambda c: c.get_user())
    assert outcome == "allowed"
    assert _source_ip(proxied, request_id) == CLIENT
    spoofed = f"{CLIENT}, 198.51.100.1"
    outcome, request_id = _call(proxied, {"X-Forwarded-For": spoofed}, lambda c: c.get_user())
    assert outcome == "AccessDenied"
    assert _source_ip(proxied, request_id) == "198.51.100.1"


def test_an_invalid_forwarded_for_means_the_peer(proxied: Server) -> None:
    outcome, request_id = _call(proxied, {"X-Forwarded-For": f"{CLIENT}, not-an-address"},
                                lambda c: c.get_user())
    assert outcome == "AccessDenied"
    assert _source_ip(proxied, request_id) == "127.0.0.1"


def test_a_trusted_proxy_reports_https(proxied: Server) -> None:
    headers = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"}
    outcome, _ = _call(proxied, headers, lambda c: c.list_users())
    assert outcome == "allowed"
    # The proto hop must match the client's hop: a proxy behind the first one saw http.
    headers = {"X-Forwarded-For": f"{CLIENT}, 10.0.0.7", "X-Forwarded-Proto": "https"}
    outcome, _ = _call(proxied, headers, lambda c: c.list_users())
    assert outcome == "AccessDenied"


def test_trusted_proxies_from_the_environment(tmp_path: Path) -> None:
    from opensts.config import ConfigError, Settings

    settings = Settings.from_env(tmp_path / "d", create=True, env={
        "OPENSTS_TRUSTED_PROXIES": "10.1.0.0/16, ::1, 127.0.0.1"})
    assert settings.trusted_proxies == ("10.1.0.0/16", "::1/128", "127.0.0.1/32")
    with pytest.raises(ConfigError):
        Settings.from_env(tmp_path / "d", create=True,
                          env={"OPENSTS_TRUSTED_PROXIES": "10.1.0.1/16"})


def _resolve(peer: str, trusted: tuple[str, ...], **headers: str) -> tuple[str, bool]:
    from opensts.web.proxy import TrustedProxies

    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    found = TrustedProxies(trusted).resolve(peer, False, raw)
    return found.address, found.secure


def test_resolve_ipv6_and_ipv4_mapped_peers() -> None:
    # An IPv4-mapped peer is its IPv4 address, and is trusted by an IPv4 network.
    assert _resolve("::ffff:10.0.0.7", ("10.0.0.0/8",), x_forwarded_for="2001:db8::5") == (
        "2001:db8::5", False)
    assert _resolve("::1", ("::1/128",), x_forwarded_for="::ffff:203.0.113.9, fd00::2",
                    x_forwarded_proto="https, http") == ("fd00::2", False)
    assert _resolve("::1", ("::1/128", "fd00::/8"), x_forwarded_for="203.0.113.9, fd00::2",
                    x_forwarded_proto="https, http") == ("203.0.113.9", True)
    # Untrusted peer: headers ignored; an address with a port is not an address.
    assert _resolve("2001:db8::1", ("::1/128",), x_forwarded_for="203.0.113.9") == (
        "2001:db8::1", False)
    assert _resolve("::1", ("::1/128",), x_forwarded_for="203.0.113.9:4000") == ("::1", False)
    # Every hop trusted: the left-most is the furthest the chain can name.
    assert _resolve("10.0.0.1", ("10.0.0.0/8",), x_forwarded_for="10.0.0.3, 10.0.0.2") == (
        "10.0.0.3", False)
    # An unknown scheme makes the whole X-Forwarded-Proto header void.
    assert _resolve("10.0.0.1", ("10.0.0.0/8",), x_forwarded_for="203.0.113.9",
                    x_forwarded_proto="HTTPS2") == ("203.0.113.9", False)
