"""JSON 1.1: the operation is named by ``X-Amz-Target``, so that header must be signed.

Otherwise a captured request (say DescribeOrganization) could be replayed, within its
signature window, as another operation with the same body (say DeleteOrganization).
"""

from __future__ import annotations

from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import Server

TARGET = "AWSOrganizationsV20161128.ListRoots"


def signed(server: Server, *, sign_target: bool) -> dict[str, str]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if sign_target:
        headers["X-Amz-Target"] = TARGET
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers=headers)
    SigV4Auth(Credentials(server.root_key, server.root_secret), "organizations",
              "us-east-1").add_auth(request)
    out = dict(request.headers.items())
    out["X-Amz-Target"] = TARGET  # added after signing when not signed
    return out


def test_unsigned_target_header_is_refused(server: Server) -> None:
    headers = signed(server, sign_target=False)
    assert "x-amz-target" not in headers["Authorization"].lower()
    response = httpx.post(server.endpoint + "/", content=b"{}", headers=headers, timeout=30)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["__type"] == "IncompleteSignatureException"
    assert "'X-Amz-Target' must be a 'SignedHeader'" in body["message"]


def test_signed_target_header_and_boto3_still_work(server: Server,
                                                    organization: dict[str, Any]) -> None:
    headers = signed(server, sign_target=True)
    assert "x-amz-target" in headers["Authorization"].lower()
    response = httpx.post(server.endpoint + "/", content=b"{}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    client = server.client("organizations")
    assert client.list_roots()["Roots"][0]["Id"] == organization["root"]["Id"]
