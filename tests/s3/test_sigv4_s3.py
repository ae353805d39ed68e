"""S3's SigV4: header and presigned forms as boto3 (botocore's s3v4 signer) and awscrt sign them.

Error codes, statuses, messages and extra elements are S3's; the module docstring of
``opensts.sigv4.s3`` says where each answer was seen.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.crt.auth import (
    CrtS3SigV4AsymAuth,
    CrtS3SigV4AsymQueryAuth,
    CrtS3SigV4Auth,
    CrtS3SigV4QueryAuth,
)

from opensts.s3.errors import S3Error
from opensts.sigv4.errors import IncompleteSignature
from opensts.sigv4.request import SIGV4A, parse_request
from opensts.sigv4.s3 import parse_s3
from opensts.sigv4.signing import SigningKeyCache
from tests.s3.sigv4_wire import (
    AKID,
    HTTP,
    HTTPS,
    SECRET,
    TOKEN,
    Wire,
    capture,
    client,
    from_prepared,
    presigned,
)

KEYS = ["plain.txt", "a b/ü+x=y&z.txt", "dir/../up/./x", "//double//slash", "%41 percent",
        "tilde~*'()!$,;:@"]


def s3_error(fn: Any, *args: Any, **kwargs: Any) -> S3Error:
    with pytest.raises(S3Error) as info:
        fn(*args, **kwargs)
    return info.value


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("endpoint", [HTTP, HTTPS])
def test_boto3_header_signed_requests_verify(endpoint: str, key: str) -> None:
    for operation, params in (
        ("get_object", {"Bucket": "bk", "Key": key}),
        ("put_object", {"Bucket": "bk", "Key": key, "Body": b"data"}),
        ("list_objects_v2", {"Bucket": "bk", "Prefix": key, "Delimiter": "/"}),
        ("head_bucket", {"Bucket": "bk"}),
    ):
        wire = capture(operation, endpoint, **params)
        auth = wire.verify()
        assert auth.auth_type == "REST-HEADER"
        assert auth.signature_age_ms is None
        assert auth.content_sha256 == wire.header("x-amz-content-sha256")
        wire.verify(key_cache=SigningKeyCache())


def test_session_token_and_payload_kinds() -> None:
    wire = capture("put_object", HTTPS, token=TOKEN, Bucket="bk", Key="k", Body=b"x")
    auth = wire.verify()
    assert auth.signed.security_token == TOKEN
    assert auth.payload == "streaming-unsigned-trailer"
    assert capture("get_object", HTTP, Bucket="bk", Key="k").verify().payload == "sha256"


def test_no_path_normalisation() -> None:
    wire = capture("get_object", Bucket="bk", Key="dir/../up/./x")
    assert wire.path == "/bk/dir/../up/./x"
    wire.verify()
    normalised = dataclasses.replace(wire, path="/bk/up/x")
    assert s3_error(normalised.verify).code == "SignatureDoesNotMatch"


def test_double_encoded_path_is_not_the_signed_path() -> None:
    wire = capture("get_object", Bucket="bk", Key="a b")
    assert wire.path == "/bk/a%20b"
    twice = dataclasses.replace(wire, path="/bk/a%2520b")
    assert s3_error(twice.verify).code == "SignatureDoesNotMatch"
    slash = dataclasses.replace(capture("get_object", Bucket="bk", Key="a/b"), path="/bk/a%2Fb")
    assert s3_error(slash.verify).code == "SignatureDoesNotMatch"


def test_wrong_secret_answers_s3_signature_mismatch() -> None:
    wire = capture("get_object", Bucket="bk", Key="k")
    error = s3_error(wire.verify, secret_access_key=SECRET[:-1] + "X")
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    assert error.message == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )
    assert error.fields["AWSAccessKeyId"] == AKID
    assert error.fields["SignatureProvided"] == wire.signed().signature
    assert error.fields["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert error.fields["CanonicalRequest"].startswith("GET\n/bk/k\n")
    assert bytes.fromhex(error.fields["StringToSignBytes"]).decode() == error.fields[
        "StringToSign"]
    assert SECRET not in repr(error.fields) and SECRET[:-1] not in repr(error.fields)


def test_tampered_signed_header() -> None:
    wire = capture("put_object", Bucket="bk", Key="k", Body=b"x")
    wire.headers = [(k, "AAAAAA==" if k == "x-amz-checksum-crc32" else v)
                    for k, v in wire.headers]
    assert s3_error(wire.verify).code == "SignatureDoesNotMatch"


def test_unsigned_amz_header_refused() -> None:
    wire = capture("get_object", Bucket="bk", Key="k")
    wire.headers.append(("x-amz-acl", "public-read"))
    error = s3_error(wire.verify)
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == "There were headers present in the request which were not signed"
    assert error.fields == {"HeadersNotSigned": "x-amz-acl"}


def test_wrong_region() -> None:
    wire = capture("get_object", Bucket="bk", Key="k")
    error = s3_error(wire.verify, regions={"eu-central-1"})
    assert (error.code, error.status) == ("AuthorizationHeaderMalformed", 400)
    assert error.message == (
        "The authorization header is malformed; the region 'us-east-1' is wrong; "
        "expecting 'eu-central-1'"
    )
    assert error.fields == {"Region": "eu-central-1"}
    url = client().generate_presigned_url("get_object", Params={"Bucket": "bk", "Key": "k"})
    error = s3_error(presigned("GET", url).verify, regions={"eu-central-1"})
    assert error.code == "AuthorizationQueryParametersError"
    assert error.message == (
        "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; "
        "expecting 'eu-central-1'"
    )


def test_clock_skew_is_request_time_too_skewed() -> None:
    wire = capture("get_object", Bucket="bk", Key="k")
    signed = wire.signed()
    wire.verify(now=signed.amz_date + timedelta(minutes=14))
    wire.verify(now=signed.amz_date - timedelta(minutes=14))
    for delta in (timedelta(minutes=16), -timedelta(minutes=16)):
        error = s3_error(wire.verify, now=signed.amz_date + delta)
        assert (error.code, error.status) == ("RequestTimeTooSkewed", 403)
        assert error.message == (
            "The difference between the request time and the current time is too large."
        )
        assert error.fields["RequestTime"] == signed.timestamp
        assert error.fields["MaxAllowedSkewMilliseconds"] == "900000"
        assert error.fields["ServerTime"].endswith("Z") and "T" in error.fields["ServerTime"]


def test_missing_and_invalid_content_sha256() -> None:
    wire = capture("get_object", Bucket="bk", Key="k")
    missing = dataclasses.replace(
        wire, headers=[h for h in wire.headers if h[0].lower() != "x-amz-content-sha256"])
    error = s3_error(missing.verify)
    assert (error.code, error.status, error.message) == (
        "InvalidRequest", 400, "Missing required header for this request: x-amz-content-sha256")
    bogus = dataclasses.replace(wire, headers=[
        (k, "GIBBERISH" if k.lower() == "x-amz-content-sha256" else v) for k, v in wire.headers])
    error = s3_error(bogus.verify)
    assert error.code == "InvalidArgument"
    assert error.fields == {"ArgumentName": "x-amz-content-sha256", "ArgumentValue": "GIBBERISH"}
    v4a = dataclasses.replace(wire, headers=[
        (k, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD" if k.lower() == "x-amz-content-sha256"
         else v) for k, v in wire.headers])
    assert s3_error(v4a.verify).code == "NotImplemented"


def test_token_expiry_ends_header_signed_requests() -> None:
    wire = capture("get_object", token=TOKEN, Bucket="bk", Key="k")
    signed = wire.signed()
    wire.verify(token_expires_at=signed.amz_date.timestamp() + 1)
    error = s3_error(wire.verify, token_expires_at=signed.amz_date.timestamp())
    assert (error.code, error.status, error.message) == (
        "ExpiredToken", 400, "The provided token has expired.")


# ---- presigned URLs ------------------------------------------------------------------------


def presign(operation: str = "get_object", expires: int = 3600, token: str | None = None,
            **params: Any) -> Wire:
    params = params or {"Bucket": "bk", "Key": "a b/ü.txt"}
    url = client(token=token).generate_presigned_url(operation, Params=params,
                                                     ExpiresIn=expires)
    return presigned("PUT" if operation == "put_object" else "GET", url)


@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize("operation", ["get_object", "put_object"])
def test_boto3_presigned_urls_verify(operation: str, token: str | None) -> None:
    wire = presign(operation, token=token)
    signed = wire.signed()
    auth = wire.verify(now=signed.amz_date + timedelta(seconds=42))
    assert auth.auth_type == "REST-QUERY-STRING"
    assert auth.payload == "unsigned"
    assert auth.signature_age_ms == 42000
    assert auth.signed.security_token == token


def test_presigned_url_expires() -> None:
    wire = presign(expires=600)
    signed = wire.signed()
    wire.verify(now=signed.amz_date + timedelta(seconds=600))
    error = s3_error(wire.verify, now=signed.amz_date + timedelta(seconds=601))
    assert (error.code, error.status, error.message) == ("AccessDenied", 403,
                                                         "Request has expired")
    assert error.fields["X-Amz-Expires"] == "600"
    assert set(error.fields) == {"X-Amz-Expires", "Expires", "ServerTime"}


def test_presigned_url_dies_with_its_session_token() -> None:
    wire = presign(expires=604800, token=TOKEN)
    signed = wire.signed()
    token_expiry = (signed.amz_date + timedelta(hours=1)).timestamp()
    wire.verify(now=signed.amz_date + timedelta(minutes=59), token_expires_at=token_expiry)
    error = s3_error(wire.verify, now=signed.amz_date + timedelta(hours=2),
                     token_expires_at=token_expiry)
    assert error.code == "ExpiredToken"


def test_presigned_url_longer_than_seven_days() -> None:
    wire = presign(expires=604801)
    error = s3_error(wire.signed)
    assert (error.code, error.status) == ("AuthorizationQueryParametersError", 400)
    assert error.message == (
        "X-Amz-Expires must be less than a week (in seconds); that is, the given "
        "X-Amz-Expires must be less than 604800 seconds"
    )
    presign(expires=604800).signed()


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "X-Amz-Expires should be a number"),
    ("-5", "X-Amz-Expires must be non-negative"),
    ("0", "X-Amz-Expires must be non-negative"),
    ("9" * 5000, "X-Amz-Expires must be less than a week (in seconds); that is, the given "
                 "X-Amz-Expires must be less than 604800 seconds"),
    ("-" + "9" * 5000, "X-Amz-Expires must be non-negative"),
])
def test_presigned_url_bad_expires(value: str, message: str) -> None:
    wire = presign()
    query = "&".join(p if not p.startswith("X-Amz-Expires=") else f"X-Amz-Expires={value}"
                     for p in wire.query.split("&"))
    error = s3_error(parse_s3, "GET", wire.path, query, wire.headers)
    assert (error.code, error.message) == ("AuthorizationQueryParametersError", message)


def test_huge_expires_is_an_error_not_a_crash_for_sts_too() -> None:
    wire = presign()
    query = "&".join(p if not p.startswith("X-Amz-Expires=") else "X-Amz-Expires=" + "9" * 5000
                     for p in wire.query.split("&"))
    with pytest.raises(IncompleteSignature):
        parse_request("GET", wire.path, query, wire.headers)


def test_presigned_url_missing_parameter() -> None:
    wire = presign()
    query = "&".join(p for p in wire.query.split("&") if not p.startswith("X-Amz-Expires="))
    error = s3_error(parse_s3, "GET", wire.path, query, wire.headers)
    assert error.code == "AuthorizationQueryParametersError"
    assert error.message.startswith("Query-string authentication version 4 requires")


def test_presigned_url_tampering() -> None:
    wire = presign()
    for path, query in (
        (wire.path + "x", wire.query),
        (wire.path, wire.query.replace("X-Amz-Expires=3600", "X-Amz-Expires=3601")),
        (wire.path, wire.query + "&versionId=1"),
    ):
        tampered = dataclasses.replace(wire, path=path, query=query)
        assert s3_error(tampered.verify).code == "SignatureDoesNotMatch"


def test_presigned_url_not_yet_valid() -> None:
    wire = presign()
    error = s3_error(wire.verify, now=wire.signed().amz_date - timedelta(minutes=16))
    assert (error.code, error.message) == ("AccessDenied", "Request is not yet valid")


def test_presigned_with_unsigned_amz_header() -> None:
    wire = presign()
    wire.headers.append(("x-amz-server-side-encryption", "AES256"))
    assert s3_error(wire.verify).fields == {"HeadersNotSigned": "x-amz-server-side-encryption"}


def test_header_and_query_auth_together() -> None:
    wire = presign()
    headers = [*wire.headers, ("Authorization", "AWS4-HMAC-SHA256 Credential=x")]
    assert s3_error(parse_s3, "GET", wire.path, wire.query, headers).code == "InvalidArgument"


def test_sigv2_presigned_url_is_refused_not_anonymous() -> None:
    url = client(signature_version="s3").generate_presigned_url(
        "get_object", Params={"Bucket": "bk", "Key": "k"})
    wire = presigned("GET", url)
    error = s3_error(parse_s3, "GET", wire.path, wire.query, wire.headers)
    assert (error.code, error.message) == (
        "InvalidRequest",
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256.")


def test_malformed_authorization_headers() -> None:
    wire = capture("get_object", Bucket="bk", Key="k")

    def with_auth(value: str) -> S3Error:
        headers = [(k, value if k == "Authorization" else v) for k, v in wire.headers]
        return s3_error(parse_s3, "GET", wire.path, wire.query, headers)

    error = with_auth("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc")
    assert (error.code, error.message) == (
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed; missing Credential.",
    )
    assert with_auth(f"AWS4-HMAC-SHA256 Credential={AKID}/x, SignedHeaders=host, "
                     "Signature=ab").code == "AuthorizationHeaderMalformed"
    assert with_auth("AWS abc:def").code == "InvalidRequest"
    assert parse_s3("GET", "/bk/k", "", [("Host", "h")]) is None


def test_wrong_service_and_credential_date() -> None:
    wire = capture("get_object", Bucket="bk", Key="k")
    signed = wire.signed()
    error = s3_error(wire.verify, signed=dataclasses.replace(signed, service="sts"))
    assert error.code == "AuthorizationHeaderMalformed"
    error = s3_error(wire.verify, signed=dataclasses.replace(signed, date="20000101"))
    assert error.code == "AuthorizationHeaderMalformed"


# ---- awscrt's S3 signers (SigV4 and SigV4A) ------------------------------------------------


@pytest.mark.parametrize("auth_cls", [CrtS3SigV4Auth, CrtS3SigV4AsymAuth])
def test_crt_s3_signers_verify(auth_cls: type) -> None:
    key = quote("dir/a b+ü.txt")
    request = AWSRequest(method="PUT", url=f"{HTTP}/bk/{key}", data=b"payload",
                         headers={"x-amz-meta-x": "1"})
    region = "us-east-1" if auth_cls is CrtS3SigV4Auth else "*"
    auth_cls(Credentials(AKID, SECRET), "s3", region).add_auth(request)
    prepared = request.prepare()
    wire = from_prepared("PUT", prepared.url, prepared.headers.items(), b"payload")
    auth = wire.verify(regions={"us-east-1"})
    if auth_cls is CrtS3SigV4AsymAuth:
        assert auth.signed.algorithm == SIGV4A and auth.signing_key == b""
    assert s3_error(wire.verify, secret_access_key="x" * 40).code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("auth_cls", [CrtS3SigV4QueryAuth, CrtS3SigV4AsymQueryAuth])
@pytest.mark.parametrize("token", [None, TOKEN])
def test_crt_s3_presigners_verify(auth_cls: type, token: str | None) -> None:
    request = AWSRequest(method="GET", url=f"{HTTPS}/bk/{quote('a b/ü=x')}?versionId=v1")
    region = "us-east-1" if auth_cls is CrtS3SigV4QueryAuth else "*"
    auth_cls(Credentials(AKID, SECRET, token), "s3", region, expires=900).add_auth(request)
    wire = presigned("GET", request.prepare().url)
    signed = wire.signed()
    auth = wire.verify(regions={"us-east-1"}, now=signed.amz_date + timedelta(seconds=3))
    assert auth.auth_type == "REST-QUERY-STRING" and auth.signature_age_ms == 3000
    assert auth.signed.security_token == token
    error = s3_error(wire.verify, now=signed.amz_date + timedelta(seconds=901))
    assert error.message == "Request has expired"
