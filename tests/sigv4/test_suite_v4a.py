"""The official AWS SigV4A test suite: key derivation, canonical forms and ECDSA verification."""

from __future__ import annotations

import hashlib
import json

import pytest

from opensts.sigv4 import SIGV4A, SignatureDoesNotMatch, parse_request, verify
from opensts.sigv4.canonical import query_pairs
from opensts.sigv4.signing import string_to_sign
from opensts.sigv4.sigv4a import derive_private_key, sign, signature_matches
from opensts.sigv4.verify import build_canonical_request

from .vectors import SUITE, Case, cases

# Two cases in the suite carry only a request (no expected output); nothing to check there.
V4A = [case for case in cases("v4a") if (case.directory / "header-signed-request.txt").exists()]
FORMS = ("header", "query")

pytestmark = pytest.mark.skipif(not V4A, reason=f"signing test suite not found at {SUITE}")


def _ids(case: Case) -> str:
    return case.name


def test_suite_is_complete() -> None:
    assert len(V4A) == 38


def test_key_derivation_matches_published_public_key() -> None:
    case = V4A[0]
    published = json.loads(case.read("public-key.json"))
    numbers = derive_private_key(case.access_key_id, case.secret).public_key().public_numbers()
    assert f"{numbers.x:064x}" == published["X"]
    assert f"{numbers.y:064x}" == published["Y"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", V4A, ids=_ids)
def test_canonical_forms_and_published_signature(case: Case, form: str) -> None:
    raw = case.request(f"{form}-signed-request.txt")
    signed = parse_request(raw.method, raw.path, raw.query, raw.headers)
    assert signed is not None
    assert signed.algorithm == SIGV4A
    assert signed.region_set == (case.context["region"],)
    exclude = ["X-Amz-Signature"] if form == "query" else []
    if form == "query" and case.context.get("omit_session_token"):
        exclude.append("X-Amz-Security-Token")
    creq = build_canonical_request(
        signed,
        method=raw.method,
        raw_path=raw.path,
        query=query_pairs(raw.query),
        headers=raw.headers,
        hashed_payload=hashlib.sha256(raw.body).hexdigest(),
        normalize_path=case.context["normalize"],
        exclude=exclude,
    )
    assert creq == case.read(f"{form}-canonical-request.txt")
    sts = string_to_sign(creq, amz_date=signed.timestamp, scope=signed.scope, algorithm=SIGV4A)
    assert sts == case.read(f"{form}-string-to-sign.txt")
    public_key = derive_private_key(case.access_key_id, case.secret).public_key()
    # ECDSA is randomized: the suite's signature file and its signed request differ, and
    # both must verify.
    assert signature_matches(public_key, sts, case.read(f"{form}-signature.txt").strip())
    assert signature_matches(public_key, sts, signed.signature)
    assert not signature_matches(public_key, sts + "x", signed.signature)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", V4A, ids=_ids)
def test_verify_accepts_and_rejects(case: Case, form: str) -> None:
    raw = case.request(f"{form}-signed-request.txt")
    signed = parse_request(raw.method, raw.path, raw.query, raw.headers)
    assert signed is not None
    common = dict(
        method=raw.method,
        raw_path=raw.path,
        raw_query=raw.query,
        headers=raw.headers,
        body=raw.body,
        now=case.now,
        normalize_path=case.context["normalize"],
        allow_unsigned_query_token=bool(case.context.get("omit_session_token")),
    )
    verify(signed, secret_access_key=case.secret, regions={"us-east-1"}, **common)
    with pytest.raises(SignatureDoesNotMatch):
        verify(signed, secret_access_key=case.secret + "x", **common)
    with pytest.raises(SignatureDoesNotMatch, match="valid region"):
        verify(signed, secret_access_key=case.secret, regions={"eu-west-1"}, **common)


def test_sign_round_trip() -> None:
    key = derive_private_key("AKIDEXAMPLE", "secret")
    assert signature_matches(key.public_key(), "hello", sign(key, "hello"))
    assert not signature_matches(key.public_key(), "hello", "zz")
