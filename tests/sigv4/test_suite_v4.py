"""The official AWS SigV4 test suite: canonical request, string to sign, signature, verify.

Each case is checked in both forms (Authorization header and presigned query), from two
directions: the server's canonical request / string to sign / signature must equal the
suite's files, and ``parse_request`` + ``verify`` must accept the suite's signed request.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from opensts.sigv4 import SignatureDoesNotMatch, parse_request, verify
from opensts.sigv4.canonical import query_pairs
from opensts.sigv4.request import SIGV4
from opensts.sigv4.signing import derive_signing_key, signature, string_to_sign
from opensts.sigv4.verify import build_canonical_request

from .vectors import SUITE, Case, cases

V4 = cases("v4")
FORMS = ("header", "query")

pytestmark = pytest.mark.skipif(not V4, reason=f"signing test suite not found at {SUITE}")


def _ids(case: Case) -> str:
    return case.name


def test_suite_is_complete() -> None:
    assert len(V4) == 38


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", V4, ids=_ids)
def test_canonical_request_string_to_sign_and_signature(case: Case, form: str) -> None:
    signed_request = case.request(f"{form}-signed-request.txt")
    signed = parse_request(
        signed_request.method, signed_request.path, signed_request.query, signed_request.headers
    )
    assert signed is not None
    assert signed.algorithm == SIGV4
    assert signed.presigned is (form == "query")
    assert signed.access_key_id == case.access_key_id
    assert signed.region == case.context["region"]
    assert signed.service == case.context["service"]

    # The query part of the canonical request for the presigned form excludes the signature
    # and, when the suite appended the token after signing, the token too.
    exclude = ["X-Amz-Signature"] if form == "query" else []
    if form == "query" and case.context.get("omit_session_token"):
        exclude.append("X-Amz-Security-Token")
    hashed = hashlib.sha256(signed_request.body).hexdigest()
    creq = build_canonical_request(
        signed,
        method=signed_request.method,
        raw_path=signed_request.path,
        query=query_pairs(signed_request.query),
        headers=signed_request.headers,
        hashed_payload=hashed,
        normalize_path=case.context["normalize"],
        exclude=exclude,
    )
    assert creq == case.read(f"{form}-canonical-request.txt")

    sts = string_to_sign(creq, amz_date=signed.timestamp, scope=signed.scope)
    assert sts == case.read(f"{form}-string-to-sign.txt")

    key = derive_signing_key(case.secret, signed.date, signed.region, signed.service)
    expected = case.read(f"{form}-signature.txt").strip()
    assert signature(key, sts) == expected
    assert signed.signature == expected


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", V4, ids=_ids)
def test_verify_accepts_signed_request(case: Case, form: str) -> None:
    raw = case.request(f"{form}-signed-request.txt")
    signed = parse_request(raw.method, raw.path, raw.query, raw.headers)
    assert signed is not None
    token = case.context["credentials"].get("token")
    if token is not None:
        assert signed.security_token == token
    verify(
        signed,
        method=raw.method,
        raw_path=raw.path,
        raw_query=raw.query,
        headers=raw.headers,
        body=raw.body,
        secret_access_key=case.secret,
        now=case.now,
        services={case.context["service"]},
        normalize_path=case.context["normalize"],
        allow_unsigned_query_token=bool(case.context.get("omit_session_token")),
    )


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", V4, ids=_ids)
def test_verify_rejects_wrong_secret(case: Case, form: str) -> None:
    raw = case.request(f"{form}-signed-request.txt")
    signed = parse_request(raw.method, raw.path, raw.query, raw.headers)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch) as caught:
        verify(
            signed,
            method=raw.method,
            raw_path=raw.path,
            raw_query=raw.query,
            headers=raw.headers,
            body=raw.body,
            secret_access_key=case.secret[:-1] + "X",
            now=case.now,
            normalize_path=case.context["normalize"],
        )
    assert caught.value.status == 403
    assert caught.value.canonical_request is not None


@pytest.mark.parametrize("case", V4, ids=_ids)
def test_verify_rejects_tampered_signature_byte(case: Case) -> None:
    raw = case.request("header-signed-request.txt")
    signed = parse_request(raw.method, raw.path, raw.query, raw.headers)
    assert signed is not None
    flipped = ("0" if signed.signature[0] != "0" else "1") + signed.signature[1:]
    with pytest.raises(SignatureDoesNotMatch):
        verify(
            dataclasses.replace(signed, signature=flipped),
            method=raw.method,
            raw_path=raw.path,
            raw_query=raw.query,
            headers=raw.headers,
            body=raw.body,
            secret_access_key=case.secret,
            now=case.now,
            normalize_path=case.context["normalize"],
        )


def test_unsigned_query_token_rejected_by_default() -> None:
    case = next(c for c in V4 if c.name == "post-sts-header-after")
    raw = case.request("query-signed-request.txt")
    signed = parse_request(raw.method, raw.path, raw.query, raw.headers)
    assert signed is not None and signed.security_token is not None
    with pytest.raises(SignatureDoesNotMatch):
        verify(
            signed,
            method=raw.method,
            raw_path=raw.path,
            raw_query=raw.query,
            headers=raw.headers,
            body=raw.body,
            secret_access_key=case.secret,
            now=case.now,
        )


def test_unnormalized_case_fails_when_normalized() -> None:
    """The ``normalize`` flag matters: S3-style raw paths sign differently."""
    case = next(c for c in V4 if c.name == "get-relative-relative-unnormalized")
    raw = case.request("header-signed-request.txt")
    signed = parse_request(raw.method, raw.path, raw.query, raw.headers)
    assert signed is not None
    with pytest.raises(SignatureDoesNotMatch):
        verify(
            signed,
            method=raw.method,
            raw_path=raw.path,
            raw_query=raw.query,
            headers=raw.headers,
            body=raw.body,
            secret_access_key=case.secret,
            now=case.now,
            normalize_path=True,
        )
