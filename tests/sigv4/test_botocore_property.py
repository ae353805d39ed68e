"""Property: whatever botocore's own signers sign, ``verify`` accepts; any mutation is rejected.

botocore (``SigV4Auth`` header form, ``SigV4QueryAuth`` presigned form) signs random requests
(unicode query parameters, percent-encoded paths, extra headers with odd whitespace, bodies,
any region string, optional session token). The request is then taken exactly as it would
arrive on the wire (``AWSRequest.prepare()``, plus the Host header the HTTP client adds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opensts.errors import AwsError
from opensts.sigv4 import SignatureDoesNotMatch, parse_request, verify
from opensts.sigv4.request import format_amz_date, parse_amz_date

HOST = "127.0.0.1:8777"

regions = st.sampled_from(["us-east-1", "eu-west-1", "aws-global", "cn-north-1"]) | st.from_regex(
    r"[a-z]{2}-[a-z]{3,9}-[1-9]", fullmatch=True
)
services = st.sampled_from(["sts", "iam", "execute-api"])
param_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
path_segments = st.lists(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=8,
    ),
    max_size=4,
)
header_names = st.from_regex(r"x-[a-z][a-z0-9-]{0,12}", fullmatch=True).filter(
    lambda n: n not in ("x-amz-date", "x-amz-security-token", "x-amz-content-sha256")
)
header_values = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)
spaced_values = st.builds(
    lambda words, pad: (" " * pad) + ("  ".join(words)) + (" " * pad),
    st.lists(header_values, min_size=1, max_size=3),
    st.integers(0, 2),
)
secrets_ = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    min_size=40,
    max_size=40,
)


@dataclass
class Wire:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


@st.composite
def signed_requests(draw: st.DrawFn) -> tuple[Wire, str, str, bool]:
    presigned = draw(st.booleans())
    method = "GET" if presigned else draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    segments = draw(path_segments)
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    if segments and draw(st.booleans()):
        path += "/"
    # Keys of the X-Amz-* family belong to the presign protocol; a client adding its own
    # would produce a duplicate (rejected as IncompleteSignature, tested elsewhere).
    keys = param_text.filter(lambda k: bool(k) and not k.lower().startswith("x-amz-"))
    params = draw(st.dictionaries(keys, param_text, max_size=5))
    headers = draw(st.dictionaries(header_names, spaced_values, max_size=3))
    body = b"" if presigned else draw(st.binary(max_size=64))
    secret = draw(secrets_)
    token = draw(st.none() | st.text(alphabet="ABCDEFabcdef0123456789+/=", min_size=1))
    region = draw(regions)
    service = draw(services)
    request = AWSRequest(
        method=method,
        url=f"http://{HOST}{path}",
        params=params,
        headers=headers,
        data=body or None,
    )
    credentials = Credentials("AKIAIOSFODNN7EXAMPLE", secret, token)
    if presigned:
        expires = draw(st.integers(1, 604800))
        SigV4QueryAuth(credentials, service, region, expires=expires).add_auth(request)
    else:
        SigV4Auth(credentials, service, region).add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    wire_headers = [("Host", HOST)] + [(k, v) for k, v in prepared.headers.items()]
    raw_body = prepared.body or b""
    if isinstance(raw_body, str):
        raw_body = raw_body.encode("utf-8")
    wire = Wire(method, parts.path, parts.query, wire_headers, raw_body)
    return wire, secret, service, presigned


def _verify(wire: Wire, secret: str, service: str) -> None:
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
        now=signed.amz_date,
        services={service},
    )


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(signed_requests())
def test_botocore_signed_requests_verify(case: tuple[Wire, str, str, bool]) -> None:
    wire, secret, service, presigned = case
    _verify(wire, secret, service)
    signed = parse_request(wire.method, wire.path, wire.query, wire.headers)
    assert signed is not None and signed.presigned is presigned


def _rejects(wire: Wire, secret: str, service: str) -> None:
    """The mutated request must fail with a client error (usually SignatureDoesNotMatch;
    e.g. a garbled X-Amz-Date is an IncompleteSignature), never verify or crash."""
    try:
        _verify(wire, secret, service)
    except AwsError as error:
        assert 400 <= error.status < 500
        return
    raise AssertionError("mutated request verified")


@PROPERTY
@given(signed_requests(), st.data())
def test_any_mutation_is_rejected(case: tuple[Wire, str, str, bool], data: st.DataObject) -> None:
    wire, secret, service, presigned = case
    kind = data.draw(
        st.sampled_from(["secret", "body", "method", "path", "query", "header", "date", "sig"])
    )
    if kind == "secret":
        _rejects(wire, secret[:-1] + ("A" if secret[-1] != "A" else "B"), service)
    elif kind == "body":
        if wire.body:
            index = data.draw(st.integers(0, len(wire.body) - 1))
            body = bytearray(wire.body)
            body[index] ^= 1 << data.draw(st.integers(0, 7))
            wire.body = bytes(body)
        else:
            wire.body = b"x"
        _rejects(wire, secret, service)
    elif kind == "method":
        wire.method = "PATCH"
        _rejects(wire, secret, service)
    elif kind == "path":
        wire.path = wire.path + "z" if wire.path != "/" else "/z"
        _rejects(wire, secret, service)
    elif kind == "query":
        extra = "zz=1"
        wire.query = f"{wire.query}&{extra}" if wire.query else extra
        _rejects(wire, secret, service)
    elif kind == "header":
        signed = parse_request(wire.method, wire.path, wire.query, wire.headers)
        assert signed is not None
        name = data.draw(st.sampled_from(signed.signed_headers))
        wire.headers = [(k, v + "x" if k.lower() == name else v) for k, v in wire.headers]
        _rejects(wire, secret, service)
    elif kind == "date":
        _shift_date(wire, presigned)
        _rejects(wire, secret, service)
    else:
        _flip_signature(wire, presigned)
        _rejects(wire, secret, service)


def _shift_date(wire: Wire, presigned: bool) -> None:
    """Move X-Amz-Date by one second (the scope date may then disagree: still a rejection)."""

    def shifted(value: str) -> str:
        return format_amz_date(parse_amz_date(value) + timedelta(seconds=1))

    if presigned:
        parts = []
        for part in wire.query.split("&"):
            key, _, value = part.partition("=")
            parts.append(f"{key}={shifted(value)}" if key == "X-Amz-Date" else part)
        wire.query = "&".join(parts)
    else:
        wire.headers = [
            (k, shifted(v) if k.lower() == "x-amz-date" else v) for k, v in wire.headers
        ]


def _flip_signature(wire: Wire, presigned: bool) -> None:
    def flip(sig: str) -> str:
        return sig[:-1] + ("0" if sig[-1] != "0" else "1")

    if presigned:
        parts = []
        for part in wire.query.split("&"):
            key, _, value = part.partition("=")
            parts.append(f"{key}={flip(value)}" if key == "X-Amz-Signature" else part)
        wire.query = "&".join(parts)
    else:
        wire.headers = [
            (k, flip(v) if k.lower() == "authorization" else v) for k, v in wire.headers
        ]


def test_rejection_is_an_aws_error() -> None:
    assert issubclass(SignatureDoesNotMatch, AwsError)
