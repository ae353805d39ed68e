"""Browser POST uploads: forms made by botocore's generate_presigned_post, and forged ones."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from opensts.s3.errors import S3Error
from opensts.sigv4.post_policy import PostAuth, parse_post, verify_post
from opensts.sigv4.signing import SigningKeyCache, derive_signing_key, signature
from tests.s3.sigv4_wire import SECRET, TOKEN, client


def presigned_post(key: str = "uploads/${filename}", token: str | None = None,
                   fields: dict[str, str] | None = None,
                   conditions: list[Any] | None = None, expires: int = 600) -> dict[str, str]:
    post = client(token=token).generate_presigned_post(
        "bk", key, Fields=fields, Conditions=conditions, ExpiresIn=expires)
    return dict(post["fields"])


def verify(form: dict[str, str], **kwargs: Any) -> PostAuth:
    signed = parse_post(form)
    assert signed is not None
    options: dict[str, Any] = {"bucket": "bk", "secret_access_key": SECRET,
                               "now": signed.amz_date + timedelta(seconds=5),
                               "regions": {"us-east-1"}, "filename": "cat.png"}
    options.update(kwargs)
    return verify_post(signed, form, **options)


def error_of(form: dict[str, str], **kwargs: Any) -> S3Error:
    with pytest.raises(S3Error) as info:
        verify(form, **kwargs)
    return info.value


def resign(form: dict[str, str], document: dict[str, Any]) -> dict[str, str]:
    """The form with a different policy, properly signed (a client that wrote its own)."""
    policy = base64.b64encode(json.dumps(document).encode()).decode()
    date, region, service = form["x-amz-credential"].split("/")[1:4]
    key = derive_signing_key(SECRET, date, region, service)
    return {**form, "policy": policy, "x-amz-signature": signature(key, policy)}


def document_of(form: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(form["policy"])))


@pytest.mark.parametrize("token", [None, TOKEN])
def test_botocore_presigned_post_verifies(token: str | None) -> None:
    form = presigned_post(
        token=token,
        fields={"acl": "private", "Content-Type": "image/png"},
        conditions=[{"acl": "private"}, ["starts-with", "$Content-Type", "image/"],
                    ["content-length-range", 1, 1000]],
    )
    post = verify(form, key_cache=SigningKeyCache())
    assert post.key == "uploads/cat.png"
    assert post.auth.auth_type == "POST" and post.auth.payload == "unsigned"
    assert post.auth.signature_age_ms == 5000
    assert post.auth.signed.security_token == token
    assert post.content_length_range == (1, 1000)
    post.check_size(1000)
    with pytest.raises(S3Error) as info:
        post.check_size(1001)
    assert info.value.code == "EntityTooLarge" and info.value.fields["MaxSizeAllowed"] == "1000"
    with pytest.raises(S3Error) as info:
        post.check_size(0)
    assert info.value.code == "EntityTooSmall"


def test_exact_key() -> None:
    assert verify(presigned_post(key="fixed.txt"), filename="x").key == "fixed.txt"


def test_wrong_secret() -> None:
    error = error_of(presigned_post(), secret_access_key=SECRET[:-1] + "Z")
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    assert SECRET not in repr(error.fields)


def test_tampered_policy() -> None:
    form = presigned_post()
    document = document_of(form)
    document["conditions"].append(["content-length-range", 0, 10**12])
    forged = {**form, "policy": base64.b64encode(json.dumps(document).encode()).decode()}
    assert error_of(forged).code == "SignatureDoesNotMatch"


def test_expired_policy() -> None:
    form = presigned_post(expires=60)
    signed = parse_post(form)
    assert signed is not None
    error = error_of(form, now=signed.amz_date + timedelta(seconds=61))
    assert (error.code, error.status, error.message) == (
        "AccessDenied", 403, "Invalid according to Policy: Policy expired.")


def test_token_expiry() -> None:
    form = presigned_post(token=TOKEN)
    signed = parse_post(form)
    assert signed is not None
    assert error_of(form, token_expires_at=signed.amz_date.timestamp()).code == "ExpiredToken"


def test_condition_failures() -> None:
    form = presigned_post(fields={"acl": "private"}, conditions=[{"acl": "private"}])
    # The field changed, the policy did not: the signature (over the policy) still verifies
    # and the condition fails.
    error = error_of({**form, "acl": "public-read"})
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "private"]')
    error = error_of(form, bucket="other")
    assert error.message == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "bk"]')
    error = error_of({**form, "key": "elsewhere/cat.png"})
    assert error.message == ('Invalid according to Policy: Policy Condition failed: '
                             '["starts-with", "$key", "uploads/"]')


def test_extra_field_is_refused() -> None:
    form = presigned_post()
    error = error_of({**form, "x-amz-meta-owner": "mallory"})
    assert error.message == "Invalid according to Policy: Extra input fields: x-amz-meta-owner"
    verify({**form, "x-ignore-tracking": "1", "file": "", "X-Amz-Signature": form[
        "x-amz-signature"]})


def test_missing_fields() -> None:
    form = presigned_post()
    for name in ("policy", "x-amz-credential", "x-amz-date", "x-amz-algorithm"):
        with pytest.raises(S3Error) as info:
            parse_post({k: v for k, v in form.items() if k != name})
        assert info.value.code == "InvalidArgument"
        assert f"'{name}'" in info.value.message
    assert parse_post({"key": "k", "acl": "public-read"}) is None
    with pytest.raises(S3Error) as info:
        parse_post({"key": "k", "AWSAccessKeyId": "AKID", "signature": "x"})
    assert info.value.code == "InvalidRequest"


def test_wrong_region() -> None:
    error = error_of(presigned_post(), regions={"eu-west-1"})
    assert error.code == "InvalidArgument" and error.fields["Region"] == "eu-west-1"


@pytest.mark.parametrize(("document", "message"), [
    ({"conditions": []}, "Invalid Policy: Policy missing expiration."),
    ({"expiration": "soon", "conditions": []}, "Invalid Policy: Invalid 'expiration' value: "
                                                "'soon'"),
    ({"expiration": "2099-01-01T00:00:00Z"}, "Invalid Policy: Policy missing conditions."),
    ({"expiration": "2099-01-01T00:00:00Z", "conditions": {}},
     "Invalid Policy: Invalid 'conditions' value: must be a List."),
    ({"expiration": "2099-01-01T00:00:00Z", "conditions": [["nope", "$key", "x"]]},
     "Invalid Policy: Invalid Condition: unknown operation 'nope'."),
    ({"expiration": "2099-01-01T00:00:00Z", "conditions": [{"a": "1", "b": "2"}]},
     "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one "
     "property specified."),
    ({"expiration": "2099-01-01T00:00:00Z", "conditions": [7]},
     "Invalid Policy: Invalid condition test: must be a List or Object."),
])
def test_malformed_policy_documents(document: dict[str, Any], message: str) -> None:
    error = error_of(resign(presigned_post(), document))
    assert (error.code, error.status, error.message) == ("InvalidPolicyDocument", 400, message)


def test_self_written_policy_with_eq_and_content_type_list() -> None:
    form = presigned_post(key="k.txt")
    document = document_of(form)
    document["conditions"] += [["eq", "$Content-Type", "text/plain"],
                               ["starts-with", "$success_action_status", ""]]
    signed_form = resign({**form, "Content-Type": "text/plain", "success_action_status": "201"},
                         document)
    verify(signed_form)
    document["conditions"][-2] = ["starts-with", "$Content-Type", "text/"]
    verify(resign({**signed_form, "Content-Type": "text/plain, text/html"}, document))
    bad = resign({**signed_form, "Content-Type": "text/plain, image/png"}, document)
    assert error_of(bad).code == "AccessDenied"
