"""Which bucket/key a request names (path and virtual-hosted style) and S3-or-not routing."""

from __future__ import annotations

import pytest

from opensts.s3.addressing import Target, decode_once, is_s3_request, locate, signing_service
from opensts.s3.errors import S3Error

from .s3_requests import S3_DOMAIN, capture

DOMAIN = S3_DOMAIN
SIGNED_S3 = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261204/us-east-1/s3/aws4_request, "
             "SignedHeaders=host;x-amz-date, Signature=abc")
SIGNED_STS = SIGNED_S3.replace("/s3/", "/sts/")


@pytest.mark.parametrize(("host", "path", "expected"), [
    ("127.0.0.1:8777", "/", Target(None, None, "path")),
    ("127.0.0.1:8777", "", Target(None, None, "path")),
    ("127.0.0.1:8777", "/bucket", Target("bucket", None, "path")),
    ("127.0.0.1:8777", "/bucket/", Target("bucket", None, "path")),
    ("127.0.0.1:8777", "/bucket/a/b.txt", Target("bucket", "a/b.txt", "path")),
    ("127.0.0.1:8777", "/bucket/a/b.txt?acl", Target("bucket", "a/b.txt", "path")),
    # no normalisation: dot segments, empty segments and encoded slashes stay in the key
    ("h", "/bucket/a/../b", Target("bucket", "a/../b", "path")),
    ("h", "/bucket/./x", Target("bucket", "./x", "path")),
    ("h", "/bucket//x//", Target("bucket", "/x//", "path")),
    ("h", "/bucket/..", Target("bucket", "..", "path")),
    ("h", "/bucket/a%2Fb", Target("bucket", "a/b", "path")),
    ("h", "/bucket/%2E%2E/x", Target("bucket", "../x", "path")),
    # decoded exactly once: %25 becomes %, and what follows is not decoded again
    ("h", "/bucket/100%2541", Target("bucket", "100%41", "path")),
    ("h", "/bucket/a+b%20c", Target("bucket", "a+b c", "path")),
    ("h", "/bucket/%C3%A9t%C3%A9", Target("bucket", "été", "path")),
    ("h", "/my%2Ebucket/k", Target("my.bucket", "k", "path")),
    # s3_domain itself (not a subdomain) is path style
    (DOMAIN, "/bucket/k", Target("bucket", "k", "path")),
    ("S3.Example.Internal:443", "/bucket/k", Target("bucket", "k", "path")),
    # virtual-hosted
    (f"bucket.{DOMAIN}", "/", Target("bucket", None, "virtual")),
    (f"bucket.{DOMAIN}", "", Target("bucket", None, "virtual")),
    (f"bucket.{DOMAIN}:8777", "/a/b", Target("bucket", "a/b", "virtual")),
    ("Bucket.S3.EXAMPLE.internal", "/k", Target("bucket", "k", "virtual")),
    (f"bucket.{DOMAIN}.", "/k", Target("bucket", "k", "virtual")),
    (f"my.dotted.bucket.{DOMAIN}", "/k", Target("my.dotted.bucket", "k", "virtual")),
    (f"bucket.{DOMAIN}", "//k", Target("bucket", "/k", "virtual")),
    (f"bucket.{DOMAIN}", "/a/../../b", Target("bucket", "a/../../b", "virtual")),
    # a bucket in both Host and path: the Host wins and the whole path is the key
    (f"bucket1.{DOMAIN}", "/bucket2/key", Target("bucket1", "bucket2/key", "virtual")),
    (f"bucket1.{DOMAIN}", "/bucket1/key", Target("bucket1", "bucket1/key", "virtual")),
    ("[::1]:8777", "/bucket/k", Target("bucket", "k", "path")),
])
def test_locate(host: str, path: str, expected: Target) -> None:
    assert locate(host, path, DOMAIN) == expected


def test_without_s3_domain_everything_is_path_style() -> None:
    assert locate(f"bucket.{DOMAIN}", "/other/k", None) == Target("other", "k", "path")


def _error(host: str, path: str) -> S3Error:
    with pytest.raises(S3Error) as caught:
        locate(host, path, DOMAIN)
    return caught.value


@pytest.mark.parametrize(("host", "path", "bucket"), [
    ("h", "/Bad_Bucket/k", "Bad_Bucket"),
    ("h", "/ab/k", "ab"),
    ("h", "/a%2Fb/k", "a/b"),  # an encoded slash never splits bucket from key
    ("h", "/../k", ".."),
    ("h", "/%2E%2E/k", ".."),
    ("h", "/192.168.1.1/k", "192.168.1.1"),
    (f".{DOMAIN}", "/k", ""),
    (f"Bad_Name.{DOMAIN}", "/k", "bad_name"),
    (f"a..b.{DOMAIN}", "/k", "a..b"),
])
def test_invalid_bucket(host: str, path: str, bucket: str) -> None:
    err = _error(host, path)
    assert (err.code, err.status) == ("InvalidBucketName", 400)
    assert err.fields["BucketName"] == bucket


@pytest.mark.parametrize("path", ["bucket/k", "/bucket/%zz", "/bucket/%4", "/bucket/%C3",
                                  "/bucket/%FF%FE", "/b%ucket/k"])
def test_invalid_uri(path: str) -> None:
    err = _error("h", path)
    assert (err.code, err.status, err.message) == (
        "InvalidURI", 400, "Couldn't parse the specified URI.")


def test_key_too_long() -> None:
    assert _error("h", "/bucket/" + "k" * 1025).code == "KeyTooLongError"
    assert _error("h", "/bucket/" + "%C3%A9" * 513).code == "KeyTooLongError"
    assert locate("h", "/bucket/" + "%C3%A9" * 512, None).key == "é" * 512


def test_decode_once() -> None:
    assert decode_once("a%2520b") == "a%20b"
    assert decode_once("plain") == "plain"


@pytest.mark.parametrize("key", ["a/../b", "..", "a//b", "a%2Fb", "sp ace+plus", "100%",
                                 "é/ü?#", "~!$&'()*,;=:@", "trailing/", "/leading"])
@pytest.mark.parametrize("style", ["path", "virtual"])
def test_botocore_keys_round_trip(key: str, style: str) -> None:
    c = capture("GetObject", style=style, Bucket="bucket-1", Key=key)
    if style == "virtual":
        assert c.host == f"bucket-1.{DOMAIN}:9000"
    assert locate(c.host, c.raw_path, DOMAIN) == Target("bucket-1", key, style)  # type: ignore[arg-type]


# --- is_s3_request: one test per rule ---------------------------------------------------------

def test_rule1_bucket_subdomain_is_s3() -> None:
    assert is_s3_request("POST", "/", {}, {"Host": f"b.{DOMAIN}"}, DOMAIN)
    assert is_s3_request("POST", "/", {}, {"host": f"b.{DOMAIN}:8777",
                                           "authorization": SIGNED_STS}, DOMAIN)
    # the bare domain decides nothing; without s3_domain no Host is special
    assert not is_s3_request("POST", "/", {}, {"host": DOMAIN}, DOMAIN)
    assert not is_s3_request("POST", "/", {}, {"host": f"b.{DOMAIN}"}, None)


def test_rule2_signing_scope_decides() -> None:
    assert is_s3_request("GET", "/", {}, {"Authorization": SIGNED_S3}, None)  # ListBuckets
    assert is_s3_request("POST", "/", {}, {"authorization": SIGNED_S3}, None)
    assert not is_s3_request("POST", "/", {}, {"authorization": SIGNED_STS}, None)
    assert not is_s3_request("GET", "/bucket/k", {}, {"authorization": SIGNED_STS}, None)
    presigned = {"X-Amz-Credential": ["AKIDEXAMPLE/20261204/us-east-1/s3/aws4_request"]}
    assert is_s3_request("GET", "/", presigned, {}, None)
    sts_presigned = {"X-Amz-Credential": ["AKIDEXAMPLE/20261204/us-east-1/sts/aws4_request"],
                     "Action": ["GetCallerIdentity"]}
    assert not is_s3_request("GET", "/", sts_presigned, {}, None)
    assert is_s3_request("GET", "/", {}, {"authorization": "AWS AKIDEXAMPLE:sig"}, None)
    assert is_s3_request("GET", "/b/k", {"AWSAccessKeyId": ["AKID"], "Signature": ["s"]}, {},
                         None)
    assert signing_service({}, {"authorization": "Bearer x"}) == ""
    assert signing_service({}, {"authorization": "AWS4-HMAC-SHA256 Credential=a/b"}) == ""
    assert signing_service({}, {}) is None


def test_rule3_unsigned_path_other_than_root_is_s3() -> None:
    assert is_s3_request("GET", "/bucket/key", {}, {}, None)
    assert is_s3_request("POST", "/bucket", {}, {"content-type": "multipart/form-data"}, None)
    assert is_s3_request("GET", "/bucket?list-type=2", {}, {}, None)


def test_rule4_unsigned_root() -> None:
    assert not is_s3_request("POST", "/", {}, {"content-type":
                                               "application/x-www-form-urlencoded"}, None)
    assert not is_s3_request("GET", "/", {"Action": ["AssumeRoleWithWebIdentity"]}, {}, None)
    assert not is_s3_request("POST", "/", {}, {"X-Amz-Target": "AWSOrganizationsV20161128.X"},
                             None)
    assert is_s3_request("GET", "/", {}, {}, None)  # anonymous ListBuckets
    assert is_s3_request("HEAD", "/", {}, {}, None)


def test_botocore_requests_are_routed_to_s3() -> None:
    for operation in ("ListBuckets", "GetObject", "PutObject", "HeadBucket", "CreateBucket"):
        c = capture(operation)
        assert is_s3_request(c.method, c.raw_path, c.query, c.headers, None), operation
