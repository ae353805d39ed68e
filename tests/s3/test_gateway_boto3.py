"""The gateway end to end through boto3 against real SeaweedFS: objects, multipart, ranges,
copies, tagging, presigned URLs and POST, and the bucket operations OpenSTS serves itself."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.s3.conftest import Seaweed, s3_client
from tests.s3.e2e import allow, code, doc, status, unique_bucket, user


@pytest.fixture
def bucket(s3: Any) -> str:
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    return name


def test_put_get_head_list_delete(s3: Any, bucket: str, seaweed: Seaweed) -> None:
    body = os.urandom(100_000)
    put = s3.put_object(Bucket=bucket, Key="dir/obj one+two.bin", Body=body,
                        ContentType="application/x-test", Metadata={"colour": "blue"})
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'  # noqa: S324
    got = s3.get_object(Bucket=bucket, Key="dir/obj one+two.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"colour": "blue"}
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    head = s3.head_object(Bucket=bucket, Key="dir/obj one+two.bin")
    assert head["ContentLength"] == len(body)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", FetchOwner=True)
    assert [o["Key"] for o in listed["Contents"]] == ["dir/obj one+two.bin"]
    from opensts.s3.bucket_xml import canonical_user_id

    # The bucket owner's canonical id, not the storage's own user.
    assert listed["Contents"][0]["Owner"] == {"ID": canonical_user_id("123456789012")}
    v1 = s3.list_objects(Bucket=bucket)["Contents"][0]["Owner"]
    assert v1 == {"ID": canonical_user_id("123456789012")}
    assert seaweed.keys(bucket) == ["dir/obj one+two.bin"]
    s3.delete_object(Bucket=bucket, Key="dir/obj one+two.bin")
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key="dir/obj one+two.bin")
    assert status(missing.value) == 404
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key="nope")
    assert code(missing.value) == "NoSuchKey"
    assert missing.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]


def test_range_and_conditional_get(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=2-5")
    assert part["Body"].read() == b"2345"
    assert part["ContentRange"] == "bytes 2-5/10"
    etag = part["ETag"]
    with pytest.raises(ClientError) as unchanged:
        s3.get_object(Bucket=bucket, Key="r", IfNoneMatch=etag)
    assert status(unchanged.value) == 304


def test_multipart_upload(s3: Any, bucket: str, seaweed: Seaweed) -> None:
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1024)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    done = []
    for number, data in enumerate(parts, start=1):
        etag = s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=number,
                              Body=data)["ETag"]
        done.append({"ETag": etag, "PartNumber": number})
    listed = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2]
    completed = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload,
                                             MultipartUpload={"Parts": done})
    assert seaweed.endpoint not in completed.get("Location", "")
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == b"".join(parts)
    s3.head_object(Bucket=bucket, Key="big", ExpectedBucketOwner="123456789012")
    with pytest.raises(ClientError) as other_owner:
        s3.head_object(Bucket=bucket, Key="big", ExpectedBucketOwner="999999999999")
    assert status(other_owner.value) == 403


def test_copy_and_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src key", Body=b"copy me", Tagging="a=1&b=two")
    tags = s3.get_object_tagging(Bucket=bucket, Key="src key")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "two")]
    s3.copy_object(Bucket=bucket, Key="dst/key", CopySource={"Bucket": bucket, "Key": "src key"})
    assert s3.get_object(Bucket=bucket, Key="dst/key")["Body"].read() == b"copy me"
    s3.put_object_tagging(Bucket=bucket, Key="dst/key",
                          Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="dst/key")["TagSet"] == [
        {"Key": "k", "Value": "v"}]
    s3.delete_object_tagging(Bucket=bucket, Key="dst/key")


def test_copy_from_unadopted_backend_bucket_is_refused(s3: Any, bucket: str,
                                                       seaweed: Seaweed) -> None:
    hidden = unique_bucket("hidden")
    seaweed.client().create_bucket(Bucket=hidden)
    seaweed.client().put_object(Bucket=hidden, Key="secret", Body=b"not yours")
    with pytest.raises(ClientError) as refused:
        s3.copy_object(Bucket=bucket, Key="stolen", CopySource={"Bucket": hidden,
                                                                 "Key": "secret"})
    assert code(refused.value) == "NoSuchBucket"
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket=hidden, Key="secret")
    assert code(refused.value) == "NoSuchBucket"
    assert not seaweed.has_object(bucket, "stolen")


def test_delete_objects(s3: Any, bucket: str, seaweed: Seaweed) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b"]
    assert seaweed.keys(bucket) == ["c"]


def test_presigned_get_and_put(s3: Any, bucket: str) -> None:
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p"},
                                        ExpiresIn=300)
    request = urllib.request.Request(put_url, data=b"presigned body", method="PUT")
    try:
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 200
    except urllib.error.HTTPError as failed:
        raise AssertionError(failed.read()) from None
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"},
                                        ExpiresIn=300)
    with urllib.request.urlopen(get_url) as answer:
        assert answer.read() == b"presigned body"
    with pytest.raises(urllib.error.HTTPError) as tampered:
        urllib.request.urlopen(get_url.replace("/p?", "/q?"))
    assert tampered.value.code == 403
    assert b"SignatureDoesNotMatch" in tampered.value.read()


def test_bucket_lifecycle_in_the_store(s3: Any, gateway: Server, seaweed: Seaweed) -> None:
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in seaweed.client().list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as again:
        s3.create_bucket(Bucket=name)
    assert code(again.value) == "BucketAlreadyOwnedByYou"
    s3.head_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name).get("LocationConstraint") is None
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as full:
        s3.delete_bucket(Bucket=name)
    assert code(full.value) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as gone:
        s3.head_bucket(Bucket=name)
    assert status(gone.value) == 404
    with pytest.raises(ClientError) as invalid:
        s3.create_bucket(Bucket="Not_A_Valid_Name")
    assert code(invalid.value) == "InvalidBucketName"


def test_backend_bucket_not_in_store_is_not_served(s3: Any, seaweed: Seaweed) -> None:
    name = unique_bucket("raw")
    seaweed.client().create_bucket(Bucket=name)
    with pytest.raises(ClientError) as missing:
        s3.list_objects_v2(Bucket=name)
    assert code(missing.value) == "NoSuchBucket"
    with pytest.raises(ClientError) as taken:
        s3.create_bucket(Bucket=name)
    assert code(taken.value) == "BucketAlreadyExists"


def test_bucket_policy_tagging_public_access_block(s3: Any, bucket: str) -> None:
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True}
    public = doc(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*", Principal="*"))
    with pytest.raises(ClientError) as blocked:
        s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert code(blocked.value) == "AccessDenied"
    private = doc(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*",
                        Principal={"AWS": "arn:aws:iam::123456789012:root"}))
    s3.put_bucket_policy(Bucket=bucket, Policy=private)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(private)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    with pytest.raises(ClientError) as malformed:
        s3.put_bucket_policy(Bucket=bucket, Policy='{"Statement": "nope"}')
    assert code(malformed.value) == "MalformedPolicy"
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as none:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(none.value) == "NoSuchBucketPolicy"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "x"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as no_tags:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(no_tags.value) == "NoSuchTagSet"
    s3.delete_public_access_block(Bucket=bucket)
    with pytest.raises(ClientError) as no_pab:
        s3.get_public_access_block(Bucket=bucket)
    assert code(no_pab.value) == "NoSuchPublicAccessBlockConfiguration"
    s3.put_bucket_policy(Bucket=bucket, Policy=public)  # allowed once the block is off
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True


def test_acls_are_disabled(s3: Any, bucket: str) -> None:
    controls = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert controls["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    assert code(refused.value) == "AccessControlListNotSupported"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert s3.get_bucket_acl(Bucket=bucket)["Grants"][0]["Permission"] == "FULL_CONTROL"
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert code(refused.value) == "AccessControlListNotSupported"


def test_list_buckets_shows_only_the_callers_account(gateway: Server, s3: Any,
                                                     bucket: str) -> None:
    from tests.s3.e2e import admin_of, new_account, session_client

    member = new_account(gateway)
    session = admin_of(gateway, member)
    other = s3_client(gateway, session["key"], session["secret"], session["token"])
    theirs = unique_bucket("theirs")
    other.create_bucket(Bucket=theirs)
    assert [b["Name"] for b in other.list_buckets()["Buckets"]] == [theirs]
    assert theirs not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as taken:
        other.create_bucket(Bucket=bucket)
    assert code(taken.value) == "BucketAlreadyExists"
    # The member's admin has no grant from our bucket: cross-account needs the policy too.
    with pytest.raises(ClientError) as denied:
        other.list_objects_v2(Bucket=bucket)
    assert code(denied.value) == "AccessDenied"
    assert session_client(gateway, "sts", session).get_caller_identity()["Account"] == member


def test_user_needs_a_policy(gateway: Server, s3: Any, bucket: str) -> None:
    _, key, secret = user(gateway)
    nobody = s3_client(gateway, key, secret)
    with pytest.raises(ClientError) as denied:
        nobody.get_object(Bucket=bucket, Key="k")
    assert code(denied.value) == "AccessDenied"
    assert "because no identity-based policy allows the s3:GetObject action" in str(
        denied.value)
    arn, key, secret = user(gateway, doc(allow(["s3:PutObject", "s3:GetObject"],
                                               f"arn:aws:s3:::{bucket}/mine/*")))
    writer = s3_client(gateway, key, secret)
    writer.put_object(Bucket=bucket, Key="mine/x", Body=b"ok")
    assert writer.get_object(Bucket=bucket, Key="mine/x")["Body"].read() == b"ok"
    with pytest.raises(ClientError) as denied:
        writer.put_object(Bucket=bucket, Key="theirs/x", Body=b"no")
    assert code(denied.value) == "AccessDenied"
    request_id = denied.value.response["ResponseMetadata"]["RequestId"]
    events = [e for e in gateway.audit_events() if e["requestID"] == request_id]
    assert events and events[0]["errorCode"] == "AccessDenied"
    assert events[0]["eventCategory"] == "Data"
    assert events[0]["userIdentity"]["arn"] == arn


def test_a_missing_key_is_404_only_for_callers_who_may_list(gateway: Server, s3: Any,
                                                             bucket: str) -> None:
    # Without s3:ListBucket a missing key answers 403, so keys cannot be probed for existence.
    objects = f"arn:aws:s3:::{bucket}/*"
    _, key, secret = user(gateway, doc(allow("s3:GetObject", objects)))
    reader = s3_client(gateway, key, secret)
    for call in (reader.get_object, reader.head_object):
        with pytest.raises(ClientError) as hidden:
            call(Bucket=bucket, Key="no-such-key")
        assert status(hidden.value) == 403
    _, key, secret = user(gateway, doc(allow("s3:GetObject", objects),
                                       allow("s3:ListBucket", f"arn:aws:s3:::{bucket}")))
    lister = s3_client(gateway, key, secret)
    with pytest.raises(ClientError) as missing:
        lister.get_object(Bucket=bucket, Key="no-such-key")
    assert status(missing.value) == 404 and code(missing.value) == "NoSuchKey"
    with pytest.raises(ClientError) as missing:
        lister.head_object(Bucket=bucket, Key="no-such-key")
    assert status(missing.value) == 404


def test_presigned_post(s3: Any, bucket: str, seaweed: Seaweed) -> None:
    import httpx

    post = s3.generate_presigned_post(
        Bucket=bucket, Key="uploads/${filename}",
        Fields={"success_action_status": "201", "Content-Type": "text/plain"},
        Conditions=[{"success_action_status": "201"}, ["starts-with", "$key", "uploads/"],
                    {"Content-Type": "text/plain"}, ["content-length-range", 1, 1000]],
        ExpiresIn=300)
    answer = httpx.post(post["url"], data=post["fields"],
                        files={"file": ("hello.txt", b"posted body", "text/plain")})
    assert answer.status_code == 201, answer.text
    assert "<Key>uploads/hello.txt</Key>" in answer.text
    assert answer.headers["x-amz-request-id"]
    got = seaweed.client().get_object(Bucket=bucket, Key="uploads/hello.txt")
    assert got["Body"].read() == b"posted body"
    assert got["ContentType"] == "text/plain"
    too_big = httpx.post(post["url"], data=post["fields"],
                         files={"file": ("big.txt", b"x" * 2000, "text/plain")})
    assert too_big.status_code == 400 and "EntityTooLarge" in too_big.text
    assert not seaweed.has_object(bucket, "uploads/big.txt")
    tampered = dict(post["fields"], key="elsewhere/x")
    refused = httpx.post(post["url"], data=tampered,
                         files={"file": ("x", b"x", "text/plain")})
    assert refused.status_code == 403, refused.text
    assert not seaweed.has_object(bucket, "elsewhere/x")


def test_versioning_passes_through(gateway: Server, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    first = s3.put_object(Bucket=bucket, Key="v", Body=b"one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="v", Body=b"two")
    versions = s3.list_object_versions(Bucket=bucket, Prefix="v")["Versions"]
    assert len(versions) == 2
    assert s3.get_object(Bucket=bucket, Key="v", VersionId=first)["Body"].read() == b"one"
    # GetObject with a versionId needs s3:GetObjectVersion, not s3:GetObject.
    _, key, secret = user(gateway, doc(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    reader = s3_client(gateway, key, secret)
    assert reader.get_object(Bucket=bucket, Key="v")["Body"].read() == b"two"
    with pytest.raises(ClientError) as denied:
        reader.get_object(Bucket=bucket, Key="v", VersionId=first)
    assert code(denied.value) == "AccessDenied"
    assert "s3:GetObjectVersion" in str(denied.value)


def test_delete_objects_is_decided_per_key(gateway: Server, s3: Any, bucket: str,
                                           seaweed: Seaweed) -> None:
    for key in ("mine/a", "mine/b", "theirs/c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    _, key, secret = user(gateway, doc(allow("s3:DeleteObject", f"arn:aws:s3:::{bucket}/mine/*")))
    result = s3_client(gateway, key, secret).delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "mine/a"}, {"Key": "theirs/c"}, {"Key": "mine/b"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["mine/a", "mine/b"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("theirs/c", "AccessDenied")]
    assert seaweed.keys(bucket) == ["theirs/c"]
