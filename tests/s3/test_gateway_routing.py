"""One endpoint for S3 and STS/IAM/Organizations/sign-in: requests go where they belong,
S3 bodies are not held to the API body limit, and small S3 documents have their own."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, Server
from tests.s3.conftest import Seaweed
from tests.s3.e2e import code, raw, send_raw, unique_bucket


def test_health_and_the_query_apis_stay(gateway: Server) -> None:
    with urllib.request.urlopen(f"{gateway.endpoint}/health") as answer:
        assert json.loads(answer.read()) == {"status": "ok"}
    assert gateway.client("sts").get_caller_identity()["Account"] == gateway.account_id
    assert "Users" in gateway.client("iam").list_users()
    # Unsigned STS (query protocol POST on /) is STS's, not S3's.
    from tests.federation_e2e.helpers import unsigned_sts

    with pytest.raises(ClientError) as refused:
        unsigned_sts(gateway).assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{gateway.account_id}:role/none", RoleSessionName="xx",
            WebIdentityToken="not-a-token")
    assert refused.value.response["Error"]["Code"] in ("InvalidIdentityToken",
                                                       "IDPRejectedClaim", "AccessDenied")
    assert "x-amzn-requestid" in refused.value.response["ResponseMetadata"]["HTTPHeaders"]


def test_sign_in_routes_stay(gateway: Server) -> None:
    with urllib.request.urlopen(f"{gateway.endpoint}/v1/.well-known/jwks.json") as answer:
        assert "keys" in json.loads(answer.read())


def test_api_body_limit_still_applies_but_not_to_objects(gateway: Server, s3: Any) -> None:
    # A declared length over the API limit is refused before one body byte is read.
    answer = send_raw(gateway, "POST", "/", [
        ("Host", gateway.endpoint.split("//")[1]),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Content-Length", str(2 * 1024 * 1024))])
    assert answer is not None and answer.status == 413
    bucket = unique_bucket("big")
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(3 * 1024 * 1024)  # over the API limit, one PutObject
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body


def test_small_documents_have_their_own_bound(gateway: Server, s3: Any) -> None:
    bucket = unique_bucket("doc")
    s3.create_bucket(Bucket=bucket)
    huge = b"<Tagging><TagSet>" + b" " * (5 * 1024 * 1024) + b"</TagSet></Tagging>"
    answer = raw(gateway, "PUT", f"/{bucket}?tagging", huge)
    assert answer.status == 400 and answer.code == "MaxMessageLengthExceeded"


def test_unknown_operation_is_not_forwarded(gateway: Server, s3: Any,
                                            seaweed: Seaweed) -> None:
    bucket = unique_bucket("unk")
    s3.create_bucket(Bucket=bucket)
    answer = raw(gateway, "GET", f"/{bucket}?acl&policy")
    assert answer.status in (400, 501), answer.body
    answer = raw(gateway, "PUT", f"/{bucket}/k?uploadId=abc", b"x")  # half a part upload
    assert answer.status in (400, 501), answer.body
    assert seaweed.keys(bucket) == []


def test_adopted_bucket_is_served(gateway: Server, s3: Any, seaweed: Seaweed) -> None:
    name = unique_bucket("legacy")
    seaweed.client().create_bucket(Bucket=name)
    seaweed.client().put_object(Bucket=name, Key="old/data.csv", Body=b"a,b\n")
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=name, Key="old/data.csv")
    assert code(missing.value) == "NoSuchBucket"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("OPENSTS_")},
           "OPENSTS_ACCOUNT_ID": gateway.account_id}
    done = subprocess.run([str(BIN / "opensts"), "s3", "adopt", name, "--account",
                           gateway.account_id, "--data-dir", str(gateway.data_dir)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr + done.stdout
    deadline = time.monotonic() + 10  # other processes' writes: within the cache staleness
    while True:
        try:
            got = s3.get_object(Bucket=name, Key="old/data.csv")["Body"].read()
            break
        except ClientError as exc:
            if code(exc) != "NoSuchBucket" or time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    assert got == b"a,b\n"
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_request_ids_on_every_answer(gateway: Server) -> None:
    answer = send_raw(gateway, "GET", "/no-such-bucket-here/k",
                      [("Host", gateway.endpoint.split("//")[1])])
    assert answer is not None and answer.status == 404
    assert answer.code == "NoSuchBucket"
    assert answer.headers["x-amz-request-id"] and answer.headers["x-amz-id-2"]
    assert f"<RequestId>{answer.headers['x-amz-request-id']}</RequestId>" in (
        answer.body.decode())


def test_several_workers_serve_s3(tmp_path: Any, seaweed: Seaweed) -> None:
    from tests.conftest import start_server, stop_server
    from tests.s3.conftest import gateway_env, s3_client

    server = start_server(tmp_path / "data", extra_env=gateway_env(seaweed),
                          args=("--workers", "2", "--s3-backend", seaweed.endpoint))
    try:
        client = s3_client(server)
        bucket = unique_bucket("workers")
        client.create_bucket(Bucket=bucket)
        for i in range(10):  # spread over both workers by the kernel
            client.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
            assert client.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read() == b"x"
    finally:
        assert stop_server(server) == 0
    assert len(seaweed.keys(bucket)) == 10


def test_authorizer_hooks_stay(gateway: Server) -> None:
    answer = send_raw(gateway, "GET", "/_opensts/authorize/none",
                      [("Host", gateway.endpoint.split("//")[1])])
    assert answer is not None
    assert b"InvalidBucketName" not in answer.body and "x-amz-id-2" not in answer.headers


def test_storage_down_is_service_unavailable(tmp_path: Any, seaweed: Seaweed) -> None:
    from tests.conftest import free_port, start_server, stop_server
    from tests.s3.conftest import gateway_env, s3_client

    closed = f"http://127.0.0.1:{free_port()}"
    server = start_server(tmp_path / "data", extra_env=gateway_env(seaweed),
                          args=("--s3-backend", closed))
    try:
        client = s3_client(server)
        with pytest.raises(ClientError) as down:
            client.create_bucket(Bucket=unique_bucket("down"))
        assert code(down.value) == "ServiceUnavailable"
        assert down.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert client.list_buckets()["Buckets"] == []  # nothing recorded
    finally:
        stop_server(server)
