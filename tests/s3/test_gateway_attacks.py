"""Attacks on the gateway's edge: each asserts S3's error AND that the storage behind it
(checked with SeaweedFS's own keys) holds no object afterwards: nothing half-written."""

from __future__ import annotations

import base64
import hashlib
import time
import urllib.error
import urllib.request
import zlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.s3.conftest import S3_DOMAIN, Seaweed, s3_client
from tests.s3.e2e import (
    allow,
    chunk_signed_body,
    code,
    doc,
    raw,
    send_raw,
    signed_headers,
    unique_bucket,
    user,
)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = unique_bucket("atk")
    s3.create_bucket(Bucket=name)
    return name


def test_chunk_signed_upload_is_stored(gateway: Server, bucket: str, seaweed: Seaweed) -> None:
    chunks = [b"a" * 65536, b"b" * 65536, b"tail"]
    headers, body = chunk_signed_body(gateway, f"/{bucket}/chunked", chunks)
    answer = send_raw(gateway, "PUT", f"/{bucket}/chunked", headers, body)
    assert answer is not None and answer.status == 200, answer.body if answer else None
    got = seaweed.client().get_object(Bucket=bucket, Key="chunked")["Body"].read()
    assert got == b"".join(chunks)


@pytest.mark.parametrize("tamper", [0, 1, 2])
def test_tampered_chunk_signature_stores_nothing(gateway: Server, bucket: str,
                                                 seaweed: Seaweed, tamper: int) -> None:
    chunks = [b"a" * 65536, b"b" * 65536, b"tail"]
    headers, body = chunk_signed_body(gateway, f"/{bucket}/tampered", chunks, tamper=tamper)
    answer = send_raw(gateway, "PUT", f"/{bucket}/tampered", headers, body)
    assert answer is not None and answer.status == 403
    assert answer.code == "SignatureDoesNotMatch"
    assert answer.headers.get("x-amz-request-id")
    assert not seaweed.has_object(bucket, "tampered")


def _trailer_request(gateway: Server, path: str, data: bytes,
                     checksum: str) -> tuple[list[tuple[str, str]], bytes]:
    body = (f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n"
            + f"x-amz-checksum-crc32:{checksum}\r\n\r\n".encode())
    headers = [("Content-Encoding", "aws-chunked"), ("X-Amz-Trailer", "x-amz-checksum-crc32"),
               ("X-Amz-Decoded-Content-Length", str(len(data))),
               ("Content-Length", str(len(body)))]
    return signed_headers(gateway, "PUT", path, "", headers,
                          payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER"), body


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_trailing_checksum_right_and_wrong(gateway: Server, bucket: str,
                                           seaweed: Seaweed) -> None:
    data = b"checksummed payload " * 5000
    headers, body = _trailer_request(gateway, f"/{bucket}/good", data, _crc32(data))
    answer = send_raw(gateway, "PUT", f"/{bucket}/good", headers, body)
    assert answer is not None and answer.status == 200, answer.body if answer else None
    assert seaweed.client().get_object(Bucket=bucket, Key="good")["Body"].read() == data
    headers, body = _trailer_request(gateway, f"/{bucket}/bad", data, _crc32(data + b"x"))
    answer = send_raw(gateway, "PUT", f"/{bucket}/bad", headers, body)
    assert answer is not None and answer.status == 400
    assert answer.code == "BadDigest"
    assert not seaweed.has_object(bucket, "bad")


def test_wrong_payload_hash_stores_nothing(gateway: Server, bucket: str,
                                           seaweed: Seaweed) -> None:
    answer = raw(gateway, "PUT", f"/{bucket}/hash", b"real body",
                 payload_hash=hashlib.sha256(b"other body").hexdigest())
    assert answer.status == 400 and answer.code == "XAmzContentSHA256Mismatch"
    assert not seaweed.has_object(bucket, "hash")


def test_truncated_body_stores_nothing(gateway: Server, bucket: str, seaweed: Seaweed) -> None:
    data = b"z" * 300_000
    headers = signed_headers(gateway, "PUT", f"/{bucket}/truncated", "",
                             [("Content-Length", str(len(data)))])
    send_raw(gateway, "PUT", f"/{bucket}/truncated", headers, [data[:150_000]],
             close_early=True)
    time.sleep(1.0)  # the gateway notices the disconnect and aborts its upload
    assert not seaweed.has_object(bucket, "truncated")
    # The same with a chunk-signed body cut off in its second chunk.
    headers, body = chunk_signed_body(gateway, f"/{bucket}/truncated2",
                                      [b"a" * 65536, b"b" * 65536])
    send_raw(gateway, "PUT", f"/{bucket}/truncated2", headers, [body[:100_000]],
             close_early=True)
    time.sleep(1.0)
    assert not seaweed.has_object(bucket, "truncated2")


def test_expired_presigned_url_is_refused(s3: Any, bucket: str, seaweed: Seaweed) -> None:
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "late"},
                                    ExpiresIn=1)
    time.sleep(2.1)
    request = urllib.request.Request(url, data=b"too late", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 403
    assert b"<Code>AccessDenied</Code>" in refused.value.read()
    assert not seaweed.has_object(bucket, "late")


def test_forged_x_forwarded_for_is_ignored(gateway: Server, bucket: str,
                                           seaweed: Seaweed) -> None:
    _, key, secret = user(gateway, doc(allow(
        "s3:PutObject", f"arn:aws:s3:::{bucket}/*",
        Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    answer = raw(gateway, "PUT", f"/{bucket}/from-10", b"x",
                 headers=[("X-Forwarded-For", "10.1.2.3")], key=key, secret=secret)
    assert answer.status == 403 and answer.code == "AccessDenied"
    assert not seaweed.has_object(bucket, "from-10")


@pytest.mark.parametrize("path", [
    "/{bucket}/../{other}/k",
    "/{bucket}/%2E%2E/{other}/k",
    "/{bucket}//k",
    "/{bucket}/a/./k",
])
def test_path_tricks_are_refused(gateway: Server, s3: Any, bucket: str, seaweed: Seaweed,
                                 path: str) -> None:
    other = unique_bucket("other")
    s3.create_bucket(Bucket=other)
    target = path.format(bucket=bucket, other=other)
    answer = raw(gateway, "PUT", target, b"x")
    assert answer.status == 400, answer.body
    assert seaweed.keys(bucket) == [] and seaweed.keys(other) == []


def test_encoded_slash_in_bucket_name(gateway: Server, bucket: str, seaweed: Seaweed) -> None:
    answer = raw(gateway, "PUT", f"/{bucket}%2Fk", b"x")
    assert answer.status == 400 and answer.code == "InvalidBucketName"
    assert seaweed.keys(bucket) == []


def test_bucket_in_host_and_path(gateway: Server, s3: Any, bucket: str,
                                 seaweed: Seaweed) -> None:
    """Virtual-hosted: the Host names the bucket and the whole path is the key, even when it
    starts with another bucket's name; a user allowed only on the Host's bucket writes there."""
    other = unique_bucket("other")
    s3.create_bucket(Bucket=other)
    _, key, secret = user(gateway, doc(allow("s3:PutObject", f"arn:aws:s3:::{bucket}/*")))
    host = f"{bucket}.{S3_DOMAIN}:{gateway.endpoint.rsplit(':', 1)[1]}"
    answer = raw(gateway, "PUT", f"/{other}/k", b"x", headers=[], key=key, secret=secret,
                 host=host)
    assert answer.status == 200, answer.body
    assert seaweed.keys(bucket) == [f"{other}/k"]
    assert seaweed.keys(other) == []
    # And the other way round: no grant on the Host's bucket, only on the path's.
    _, key, secret = user(gateway, doc(allow("s3:PutObject", f"arn:aws:s3:::{other}/*")))
    answer = raw(gateway, "PUT", f"/{other}/k2", b"x", key=key, secret=secret, host=host)
    assert answer.status == 403
    assert seaweed.keys(other) == []


def test_unsigned_request_is_anonymous(gateway: Server, bucket: str, seaweed: Seaweed) -> None:
    answer = send_raw(gateway, "PUT", f"/{bucket}/anon",
                      [("Host", gateway.endpoint.split("//")[1]), ("Content-Length", "1")], b"x")
    assert answer is not None and answer.status == 403 and answer.code == "AccessDenied"
    assert not seaweed.has_object(bucket, "anon")
    with pytest.raises(ClientError) as refused:
        s3_client(gateway, secret="wrong" + gateway.root_secret[5:]).list_buckets()
    assert code(refused.value) == "SignatureDoesNotMatch"


def test_unknown_key_and_bad_token(gateway: Server, s3: Any) -> None:
    with pytest.raises(ClientError) as refused:
        s3_client(gateway, key="AKIAUNKNOWNKEY000000", secret="x" * 40).list_buckets()
    assert code(refused.value) == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as refused:
        s3_client(gateway, key="ASIAUNKNOWNKEY000000", secret="x" * 40,
                  token="not-a-token").list_buckets()
    assert code(refused.value) == "InvalidToken"


def test_query_that_does_not_decode(gateway: Server, bucket: str) -> None:
    answer = raw(gateway, "GET", f"/{bucket}?tagging&x=%FF")
    assert answer.status == 400 and answer.code == "InvalidURI"
