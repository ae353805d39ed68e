"""Independent signers: the AWS Common Runtime (awscrt, what boto3 uses for SigV4A).

``AWS_AUTH_SCHEME_PREFERENCE=sigv4a`` makes boto3 sign STS with SigV4A through awscrt; these
requests must verify. Skipped when awscrt is not installed.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

pytest.importorskip("awscrt")

from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.crt.auth import (
    CrtSigV4AsymAuth,
    CrtSigV4AsymQueryAuth,
    CrtSigV4Auth,
    CrtSigV4QueryAuth,
)

from opensts.sigv4 import (
    SIGV4,
    SIGV4A,
    SignatureDoesNotMatch,
    SigningKeyCache,
    parse_request,
    verify,
)

HOST = "127.0.0.1:8777"
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
BODY = b"Action=GetCallerIdentity&Version=2011-06-15"


@dataclasses.dataclass
class Wire:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


def _header_signed(auth_cls: type, region: str, token: str | None) -> Wire:
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    auth_cls(Credentials(AKID, SECRET, token), "sts", region).add_auth(request)
    prepared = request.prepare()
    headers = list(prepared.headers.items())
    if not any(k.lower() == "host" for k, _ in headers):
        headers.insert(0, ("Host", HOST))
    return Wire("POST", "/", "", headers, prepared.body)


def _presigned(auth_cls: type, region: str, token: str | None) -> Wire:
    # As boto3's generate_presigned_url does: the query serializer puts the operation in the
    # body, which the presigner moves into the query string.
    request = AWSRequest(
        method="GET",
        url=f"http://{HOST}/",
        data={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
    )
    auth_cls(Credentials(AKID, SECRET, token), "sts", region, expires=300).add_auth(request)
    parts = urlsplit(request.prepare().url)
    return Wire("GET", parts.path, parts.query, [("Host", HOST)], b"")


def _verify(wire: Wire, secret: str = SECRET, **kwargs: object) -> None:
    signed = parse_request(wire.method, wire.path, wire.query, wire.headers)
    assert signed is not None
    verify(
        signed,
        method=wire.method,
        raw_path=wire.path,
        raw_query=wire.query,
        headers=wire.headers,
        body=wire.body,
        secret_access_key=secret,
        now=signed.amz_date + timedelta(seconds=1),
        services={"sts"},
        **kwargs,  # type: ignore[arg-type]
    )


CASES = [
    (CrtSigV4Auth, _header_signed, "us-east-1", SIGV4),
    (CrtSigV4QueryAuth, _presigned, "eu-west-1", SIGV4),
    (CrtSigV4AsymAuth, _header_signed, "*", SIGV4A),
    (CrtSigV4AsymQueryAuth, _presigned, "*", SIGV4A),
    (CrtSigV4AsymAuth, _header_signed, "us-east-1,eu-west-1", SIGV4A),
]


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEXAMPLETOKEN"])
@pytest.mark.parametrize(("auth_cls", "build", "region", "algorithm"), CASES)
def test_crt_signed_requests_verify(
    auth_cls: type, build: object, region: str, algorithm: str, token: str | None
) -> None:
    wire = build(auth_cls, region, token)  # type: ignore[operator]
    signed = parse_request(wire.method, wire.path, wire.query, wire.headers)
    assert signed is not None
    assert signed.algorithm == algorithm
    assert signed.security_token == token
    _verify(wire)
    _verify(wire, key_cache=SigningKeyCache())
    with pytest.raises(SignatureDoesNotMatch):
        _verify(wire, secret=SECRET[:-1] + "X")
    tampered = dataclasses.replace(
        wire,
        body=wire.body + b"&x=1" if wire.body else b"x",
    )
    with pytest.raises(SignatureDoesNotMatch):
        _verify(tampered)


def test_sigv4a_region_set_restriction() -> None:
    wire = _header_signed(CrtSigV4AsymAuth, "us-east-1,eu-west-1", None)
    signed = parse_request(wire.method, wire.path, wire.query, wire.headers)
    assert signed is not None and signed.region_set == ("us-east-1", "eu-west-1")
    _verify(wire, regions={"eu-west-1"})
    with pytest.raises(SignatureDoesNotMatch, match="valid region"):
        _verify(wire, regions={"ap-south-1"})
    _verify(_header_signed(CrtSigV4AsymAuth, "*", None), regions={"ap-south-1"})


def test_sigv4a_tampered_region_set_rejected() -> None:
    wire = _header_signed(CrtSigV4AsymAuth, "us-east-1", None)
    wire.headers = [(k, "*" if k.lower() == "x-amz-region-set" else v) for k, v in wire.headers]
    with pytest.raises(SignatureDoesNotMatch):
        _verify(wire)
