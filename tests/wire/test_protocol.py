"""The AWS query protocol on the wire: envelopes, unsigned and malformed requests."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree

from tests.conftest import ACCOUNT_ID, Server

NS = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/"}


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def error_code(body: bytes) -> tuple[str, str, str]:
    root = etree.fromstring(body)
    error = root.find("sts:Error", NS)
    assert error is not None, body
    return (
        error.findtext("sts:Type", namespaces=NS) or "",
        error.findtext("sts:Code", namespaces=NS) or "",
        error.findtext("sts:Message", namespaces=NS) or "",
    )


def test_unsigned_call_is_missing_authentication_token(server: Server) -> None:
    status, body = http(
        "POST",
        server.endpoint + "/",
        b"Action=GetCallerIdentity&Version=2011-06-15",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 403
    assert error_code(body)[:2] == ("Sender", "MissingAuthenticationToken")


def test_unknown_action_and_version(server: Server) -> None:
    status, body = http(
        "POST",
        server.endpoint + "/",
        b"Action=Nope&Version=2011-06-15",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 400
    assert error_code(body)[1] == "InvalidAction"


def test_oversized_body_is_refused_before_parsing(server: Server) -> None:
    # The declared length alone is enough to refuse: the body is never read or parsed.
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(server.endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 2000000\r\n\r\nAction=GetCallerIdentity"
        )
        reply = b""
        while b"</ErrorResponse>" not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert error_code(body)[1] == "RequestEntityTooLarge"


def test_presigned_get_caller_identity(server: Server) -> None:
    # The EKS-style token pattern: a presigned GET with Action in the query string.
    request = AWSRequest(
        method="GET",
        url=server.endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15",
    )
    SigV4QueryAuth(
        Credentials(server.root_key, server.root_secret), "sts", "us-east-1", 60
    ).add_auth(request)
    status, body = http("GET", request.url)
    assert status == 200, body
    root = etree.fromstring(body)
    assert root.tag == "{https://sts.amazonaws.com/doc/2011-06-15/}GetCallerIdentityResponse"
    assert root.findtext("sts:GetCallerIdentityResult/sts:Account", namespaces=NS) == ACCOUNT_ID
    assert root.findtext("sts:ResponseMetadata/sts:RequestId", namespaces=NS)


def test_unknown_access_key_is_invalid_client_token_id(server: Server) -> None:
    sts = server.client("sts", "AKIAUNKNOWNUNKNOWN01", "x" * 40)
    with pytest.raises(Exception) as denied:
        sts.get_caller_identity()
    response: Any = denied.value.response  # type: ignore[attr-defined]
    assert response["Error"]["Code"] == "InvalidClientTokenId"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_any_signing_region_is_accepted(server: Server) -> None:
    for region in ("eu-west-1", "ap-southeast-2", "aws-global"):
        identity = server.client("sts", region=region).get_caller_identity()
        assert identity["Account"] == ACCOUNT_ID


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("NoSuchService.Op", b"{}", "UnknownOperationException"),
        ("AWSOrganizationsV20161128.NoSuchOperation", b"{}", "InvalidAction"),
        ("AWSOrganizationsV20161128.ListAccounts", b"{not json", "SerializationException"),
        ("AWSOrganizationsV20161128.ListAccounts", b"[1, 2]", "SerializationException"),
    ],
)
def test_json_protocol_errors_are_client_errors(
    server: Server, target: str, body: bytes, code: str
) -> None:
    import json

    status, payload = http(
        "POST",
        server.endpoint + "/",
        body,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    assert status == 400
    assert json.loads(payload)["__type"] == code
