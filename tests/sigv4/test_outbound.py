"""The outgoing signer (``sigv4.outbound``) against the official SigV4 test suite.

Every case's header form is signed from its unsigned ``request.txt`` and must produce the
suite's Authorization header; and a signed S3-style request must pass our own verifier.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from opensts.sigv4.canonical import UNSIGNED_PAYLOAD, uri_encode
from opensts.sigv4.outbound import sign_headers

from .vectors import SUITE, Case, cases

V4 = cases("v4")

pytestmark = pytest.mark.skipif(not V4, reason=f"signing test suite not found at {SUITE}")


def _authorization(case: Case) -> str:
    signed = case.request("header-signed-request.txt")
    return next(v for k, v in signed.headers if k.lower() == "authorization")


@pytest.mark.parametrize("case", V4, ids=lambda c: c.name)
def test_signs_like_the_suite(case: Case) -> None:
    raw = case.request("request.txt")
    normalize = case.context["normalize"]
    token = case.context["credentials"].get("token")
    if token and case.context.get("omit_session_token"):
        token = None  # the suite adds it after signing
    headers = sign_headers(
        method=raw.method,
        raw_path=raw.path if normalize else uri_encode(raw.path, keep_slash=True),
        raw_query=raw.query,
        headers=raw.headers,
        access_key_id=case.access_key_id,
        secret_access_key=case.secret,
        region=case.context["region"],
        service=case.context["service"],
        now=case.now,
        payload_hash=hashlib.sha256(raw.body).hexdigest(),
        session_token=token,
        normalize=normalize,
        content_sha256_header=bool(case.context.get("sign_body")),
    )
    produced = next(v for k, v in headers if k == "Authorization")
    assert produced == _authorization(case)


def test_s3_request_matches_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 flavour: single encoding, no normalisation, UNSIGNED-PAYLOAD, as botocore signs."""
    import botocore.auth
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials

    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    key = "a key/with+odd=chars/../ü"
    path = "/bucket/" + uri_encode(key, keep_slash=True)
    query = "partNumber=1&uploadId=abc%2Fdef"
    headers = sign_headers(
        method="PUT", raw_path=path, raw_query=query,
        headers=[("Host", "backend:8333")],
        access_key_id="AKIDEXAMPLE", secret_access_key="secret", session_token="tok",
        region="us-east-1", service="s3", now=now,
        payload_hash=UNSIGNED_PAYLOAD, content_sha256_header=True,
    )
    ours = dict(headers)["Authorization"]

    request = AWSRequest(method="PUT", url=f"https://backend:8333{path}?{query}",
                         headers={"X-Amz-Content-SHA256": UNSIGNED_PAYLOAD})
    auth = S3SigV4Auth(Credentials("AKIDEXAMPLE", "secret", "tok"), "s3", "us-east-1")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    auth.add_auth(request)
    assert request.headers["Authorization"] == ours
