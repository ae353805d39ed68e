"""Malformed input is a clean 400 in the protocol's shape, never a 500: JSON nested far too
deep (parsed before SigV4), lone surrogates (``"\\udcff"``) in JSON strings, invalid UTF-8
in percent-encoded query parameters."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree

from tests.conftest import Server

TARGET = "AWSOrganizationsV20161128."
DEEP = [b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000, b"[" * 100_000,
        b'{"a":' * 40 + b"1" + b"}" * 40]


def post(server: Server, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(server.endpoint + path, content=body, headers=headers, timeout=30)


def signed_org(server: Server, action: str, body: bytes) -> httpx.Response:
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers={
        "X-Amz-Target": TARGET + action, "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(server.root_key, server.root_secret), "organizations",
              "us-east-1").add_auth(request)
    return post(server, "/", body, dict(request.headers.items()))


@pytest.mark.parametrize("body", DEEP, ids=["list-1000", "object-1000", "open-100k", "obj-40"])
def test_deep_json_on_the_aws_endpoint(server: Server, body: bytes) -> None:
    for response in (
        post(server, "/", body, {"X-Amz-Target": TARGET + "ListRoots"}),  # before SigV4
        signed_org(server, "ListRoots", body),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["__type"] == "SerializationException"


@pytest.mark.parametrize("body", DEEP, ids=["list-1000", "object-1000", "open-100k", "obj-40"])
@pytest.mark.parametrize("path", ["/v1/token", "/v1/revoke"])
def test_deep_json_on_the_token_endpoints(server: Server, path: str, body: bytes) -> None:
    response = post(server, path, body, {"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["x-amzn-ErrorType"] == "ValidationException"
    assert response.json()["error"] == "INVALID_REQUEST"


@pytest.mark.parametrize("action,body", [
    ("DescribeAccount", b'{"AccountId":"\\udcff"}'),
    ("CreateOrganizationalUnit", b'{"ParentId":"r-abcd","Name":"ou\\udcff"}'),
    ("ListRoots", b'{"\\udcff":1}'),
    ("DescribeAccount", b'{"AccountId":"\\ud800\\ud800"}'),
])
def test_lone_surrogate_in_json_is_refused(server: Server, action: str, body: bytes,
                                           organization: dict[str, Any]) -> None:
    response = signed_org(server, action, body)
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == "SerializationException"


def test_surrogate_pairs_are_fine(server: Server, organization: dict[str, Any]) -> None:
    response = signed_org(server, "DescribeAccount", b'{"AccountId":"\\ud83d\\ude00"}')
    # A valid character, just not an existing account: decoded, then answered as such.
    assert response.status_code == 400, response.text
    assert response.json()["__type"] not in ("SerializationException", "InternalFailure")


def test_lone_surrogate_on_the_token_endpoint(server: Server) -> None:
    body = b'{"clientId":"\\udcff","grantType":"refresh_token","refreshToken":"x"}'
    response = post(server, "/v1/token", body, {"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "ValidationException"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


DPOP_HEADER = b64(b'{"typ":"dpop+jwt","alg":"ES256"}')
RS256_HEADER = b64(b'{"alg":"RS256"}')
EMPTY = b64(b"{}")


@pytest.mark.parametrize("segment", [b"[" * 1000 + b"]" * 1000,
                                     b'{"iss":"https://idp\\udcff.example","a":"\\udcff"}'])
def test_malformed_jwt_segments(server: Server, iam: Any, segment: bytes) -> None:
    # A DPoP proof whose header or claims is deep or has a lone surrogate.
    for proof in (f"{b64(segment)}.{EMPTY}.c2ln", f"{DPOP_HEADER}.{b64(segment)}.c2ln"):
        response = httpx.post(server.endpoint + "/v1/token", json={
            "clientId": "arn:aws:signin:::devtools/same-device", "grantType": "refresh_token",
            "refreshToken": "x"}, headers={"DPoP": proof}, timeout=30)
        assert response.status_code == 400, response.text
        assert response.headers["x-amzn-ErrorType"] == "ValidationException"
    # A web identity token (AssumeRoleWithWebIdentity is unsigned), for a role that exists.
    name = f"wi-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"}}]}))
    token = f"{RS256_HEADER}.{b64(segment)}.c2lnbmF0dXJl"
    response = httpx.post(server.endpoint + "/", data={
        "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
        "RoleArn": f"arn:aws:iam::{server.account_id}:role/{name}", "RoleSessionName": "session",
        "WebIdentityToken": token}, timeout=30)
    assert response.status_code == 400, response.text
    assert etree.fromstring(response.content).findtext("{*}Error/{*}Code") == \
        "InvalidIdentityToken", response.text


def test_deep_condition_in_a_session_policy(iam: Any) -> None:
    import botocore.exceptions

    for depth in (40, 1000):
        deep = "[" * depth + '"x"' + "]" * depth
        text = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*",'
                f'"Resource":"*","Condition":{{"StringEquals":{{"a:b":{deep}}}}}}}]}}')
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            iam.create_policy(PolicyName=f"deep{depth}", PolicyDocument=text)
        assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocument"


@pytest.mark.parametrize("query", [
    "Action=GetCallerIdentity&Version=2011-06-15&X=%ff",
    "Action=CreateUser&Version=2010-05-08&UserName=%ed%b3%bf",  # UTF-8 of a lone surrogate
    "Action=Get%ffCallerIdentity&Version=2011-06-15",
    "Action=GetCallerIdentity&Version=2011-06-15&%c3=1",
])
def test_invalid_utf8_in_query_parameters(server: Server, query: str) -> None:
    for response in (
        httpx.get(f"{server.endpoint}/?{query}", timeout=30),
        httpx.post(server.endpoint + "/", content=query.encode(), timeout=30,
                   headers={"Content-Type": "application/x-www-form-urlencoded"}),
    ):
        assert response.status_code == 400, response.text
        root = etree.fromstring(response.content)
        assert root.findtext("{*}Error/{*}Code") == "MalformedQueryString"


def test_signed_dpop_proof_with_a_lone_surrogate_jti(server: Server) -> None:
    # Well signed, so it gets as far as recording the jti (a database write).
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64(numbers.x.to_bytes(32, "big")),
           "y": b64(numbers.y.to_bytes(32, "big"))}
    proof = jwt.encode({"htm": "POST", "htu": server.endpoint + "/v1/token",
                        "iat": int(time.time()), "jti": "\udcff"}, key, algorithm="ES256",
                       headers={"typ": "dpop+jwt", "jwk": jwk})
    response = httpx.post(server.endpoint + "/v1/token", json={
        "clientId": "arn:aws:signin:::devtools/same-device", "grantType": "refresh_token",
        "refreshToken": "x"}, headers={"DPoP": proof}, timeout=30)
    assert response.status_code == 400, response.text
    assert response.headers["x-amzn-ErrorType"] == "ValidationException"
