"""S3 condition keys from real requests: only the action's keys, values as sent, absent = absent."""

from __future__ import annotations

from typing import Any

import pytest

from opensts.s3.actions import Need, needs
from opensts.s3.addressing import Target, locate
from opensts.s3.conditions import condition_context, parse_tagging, tag_conditions
from opensts.s3.errors import S3Error
from opensts.s3.operations import identify

from .s3_requests import capture
from .test_operations import PARAMS

SHA = "s3:x-amz-content-sha256"


def _contexts(operation: str, **params: Any) -> dict[str, dict[str, str | list[str]]]:
    """action -> its condition context, for a botocore request (SHA-256 key dropped)."""
    c = capture(operation, **{**PARAMS.get(operation, {}), **params})
    target = locate(c.host, c.raw_path, None)
    name = identify(c.method, target, c.query, c.headers)
    out = {}
    for need in needs(name, target, c.query, c.headers):
        context = condition_context(name, need, c.query, c.headers)
        assert context.pop(SHA, None) == c.headers.get("x-amz-content-sha256")
        out[need.action] = context
    return out


def test_list_keys() -> None:
    got = _contexts("ListObjectsV2", Prefix="home/é ü/", Delimiter="/", MaxKeys=50)
    assert got == {"s3:ListBucket": {"s3:prefix": "home/é ü/", "s3:delimiter": "/",
                                     "s3:max-keys": "50"}}
    assert _contexts("ListObjects", Prefix="p") == {"s3:ListBucket": {"s3:prefix": "p"}}
    # an empty prefix is sent, so it is the value "" (AWS's examples allow `"s3:prefix": ""`
    # for listing the bucket's root)
    assert _contexts("ListObjectVersions", MaxKeys=0, Prefix="") == {
        "s3:ListBucketVersions": {"s3:prefix": "", "s3:max-keys": "0"}}
    assert _contexts("ListObjectsV2") == {"s3:ListBucket": {}}  # absent keys stay absent
    assert _contexts("HeadBucket") == {"s3:ListBucket": {}}


def test_put_object_keys() -> None:
    got = _contexts(
        "PutObject", ACL="bucket-owner-full-control", ServerSideEncryption="aws:kms",
        SSEKMSKeyId="arn:aws:kms:us-east-1:111122223333:key/k", StorageClass="STANDARD_IA",
        Tagging="Project=a%20b&empty=&x%26y=1", WebsiteRedirectLocation="/other",
        IfNoneMatch="*", GrantReadACP='id="abc"')
    assert got["s3:PutObject"] == {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "s3:x-amz-grant-read-acp": 'id="abc"',
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id":
            "arn:aws:kms:us-east-1:111122223333:key/k",
        "s3:x-amz-storage-class": "STANDARD_IA",
        "s3:x-amz-website-redirect-location": "/other",
        "s3:if-none-match": "*",
        "s3:RequestObjectTag/Project": "a b",
        "s3:RequestObjectTag/empty": "",
        "s3:RequestObjectTag/x&y": "1",
        "s3:RequestObjectTagKeys": ["Project", "empty", "x&y"],
    }
    # PutObjectTagging gets only the tag keys, PutObjectAcl only the ACL keys
    assert got["s3:PutObjectTagging"] == {
        "s3:RequestObjectTag/Project": "a b", "s3:RequestObjectTag/empty": "",
        "s3:RequestObjectTag/x&y": "1", "s3:RequestObjectTagKeys": ["Project", "empty", "x&y"]}
    assert got["s3:PutObjectAcl"] == {"s3:x-amz-acl": "bucket-owner-full-control",
                                      "s3:x-amz-grant-read-acp": 'id="abc"',
                                      "s3:x-amz-storage-class": "STANDARD_IA"}


def test_sse_c_and_object_lock() -> None:
    got = _contexts("PutObject", SSECustomerAlgorithm="AES256", SSECustomerKey="k" * 32,
                    ObjectLockMode="COMPLIANCE",
                    ObjectLockRetainUntilDate="2030-01-01T00:00:00Z",
                    ObjectLockLegalHoldStatus="ON")
    put = got["s3:PutObject"]
    assert put["s3:x-amz-server-side-encryption-customer-algorithm"] == "AES256"
    assert put["s3:object-lock-mode"] == "COMPLIANCE"
    assert put["s3:object-lock-retain-until-date"] == "2030-01-01T00:00:00Z"
    assert put["s3:object-lock-legal-hold"] == "ON"
    assert got["s3:PutObjectRetention"] == {"s3:object-lock-mode": "COMPLIANCE",
                                            "s3:object-lock-retain-until-date":
                                                "2030-01-01T00:00:00Z"}
    assert got["s3:PutObjectLegalHold"] == {"s3:object-lock-legal-hold": "ON"}


def test_copy_keys() -> None:
    got = _contexts("CopyObject", CopySource={"Bucket": "src-b", "Key": "a b", "VersionId": "v"},
                    MetadataDirective="REPLACE")
    assert got["s3:GetObjectVersion"] == {"s3:versionid": "v"}  # the source's version
    assert got["s3:PutObject"] == {"s3:x-amz-copy-source": "src-b/a%20b?versionId=v",
                                   "s3:x-amz-metadata-directive": "REPLACE"}


def test_version_id() -> None:
    assert _contexts("GetObject", VersionId="3sL4kqtJ") == {
        "s3:GetObjectVersion": {"s3:versionid": "3sL4kqtJ"}}
    assert _contexts("DeleteObject", VersionId="v") == {"s3:DeleteObjectVersion":
                                                        {"s3:versionid": "v"}}
    assert _contexts("GetObject") == {"s3:GetObject": {}}


def test_keys_that_do_not_apply_are_left_out() -> None:
    need = Need("s3:GetObject", "arn:aws:s3:::b/k", "b", "k")
    headers = {"x-amz-acl": "public-read", "x-amz-storage-class": "GLACIER"}
    query = {"prefix": ["p"], "versionId": ["v"]}
    assert condition_context("GetObject", need, query, headers) == {}
    wildcard = Need("s3:ListAllMyBuckets", "*", None, None)
    assert condition_context("ListBuckets", wildcard, query, headers) == {}


def test_content_sha256_only_in_header_form() -> None:
    need = Need("s3:GetObject", "arn:aws:s3:::b/k", "b", "k")
    assert condition_context("GetObject", need, {"X-Amz-Content-Sha256": ["UNSIGNED-PAYLOAD"]},
                             {}) == {}
    assert condition_context("GetObject", need, {}, {"X-Amz-Content-Sha256":
                                                     "UNSIGNED-PAYLOAD"}) == {
        SHA: "UNSIGNED-PAYLOAD"}


def test_body_values_are_filtered_by_action() -> None:
    bucket = Need("s3:CreateBucket", "arn:aws:s3:::b", "b", None)
    body = {"s3:locationconstraint": "eu-west-1", "s3:prefix": "x"}
    assert condition_context("CreateBucket", bucket, {}, {"x-amz-acl": "private"}, body=body) == {
        "s3:locationconstraint": "eu-west-1", "s3:x-amz-acl": "private"}
    tagging = Need("s3:PutObjectVersionTagging", "arn:aws:s3:::b/k", "b", "k", "v1")
    tags = tag_conditions([("team", "blue"), ("env", "")])
    assert condition_context("PutObjectTagging", tagging, {"tagging": [""]}, {},
                             body=tags) == {
        "s3:RequestObjectTag/team": "blue", "s3:RequestObjectTag/env": "",
        "s3:RequestObjectTagKeys": ["team", "env"], "s3:versionid": "v1"}
    retention = Need("s3:PutObjectRetention", "arn:aws:s3:::b/k", "b", "k")
    assert condition_context("PutObjectRetention", retention, {}, {}, body={
        "s3:object-lock-mode": "GOVERNANCE", "s3:RequestObjectTag/a": "b"}) == {
        "s3:object-lock-mode": "GOVERNANCE"}


def test_post_object_form_fields() -> None:
    need = Need("s3:PutObject", "arn:aws:s3:::b/k", "b", "k")
    fields = {"key": "k", "acl": "public-read", "x-amz-storage-class": "STANDARD",
              "tagging": "<Tagging><TagSet/></Tagging>"}
    assert condition_context("PostObject", need, {}, fields,
                             body=tag_conditions([("a", "1")])) == {
        "s3:x-amz-acl": "public-read", "s3:x-amz-storage-class": "STANDARD",
        "s3:RequestObjectTag/a": "1", "s3:RequestObjectTagKeys": ["a"]}
    # the form's tagging is XML: never read as a URL-encoded tag set
    assert "s3:RequestObjectTagKeys" not in condition_context("PostObject", need, {}, fields)


def test_parse_tagging() -> None:
    assert parse_tagging("a=1&b=2") == [("a", "1"), ("b", "2")]
    assert parse_tagging("k%3D=v%26&s+p=x%2By") == [("k=", "v&"), ("s p", "x+y")]
    assert parse_tagging("") == []
    with pytest.raises(S3Error) as caught:
        parse_tagging("a=1&a=2")
    assert (caught.value.code, caught.value.status) == ("InvalidTag", 400)
    assert tag_conditions([]) == {"s3:RequestObjectTagKeys": []}


@pytest.mark.parametrize("target", [Target("b-1", "k", "path")])
def test_duplicate_tag_header_is_refused(target: Target) -> None:
    need = needs("PutObject", target, {}, {})[0]
    with pytest.raises(S3Error):
        condition_context("PutObject", need, {}, {"x-amz-tagging": "a=1&a=1"})
