"""``identify`` names real client requests: every S3 operation botocore can build."""

from __future__ import annotations

from typing import Any

import pytest

from opensts.s3.addressing import Target, locate
from opensts.s3.errors import S3Error
from opensts.s3.operations import identify

from .s3_requests import MODEL, S3_DOMAIN, capture

# Same request shape as another operation: the current API name is the answer.
ALIASES = {
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",  # deprecated
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",  # deprecated
    "GetBucketNotification": "GetBucketNotificationConfiguration",  # deprecated
    "PutBucketNotification": "PutBucketNotificationConfiguration",  # deprecated
    "ListDirectoryBuckets": "ListBuckets",  # directory buckets: s3express endpoints only
}
# Not served (NotImplemented or refused as an invalid bucket): directory-bucket sessions and
# renames, S3 Object Lambda, object annotations and the V2 metadata configuration.
UNSUPPORTED = {
    "CreateSession", "RenameObject", "WriteGetObjectResponse",
    "GetObjectAnnotation", "PutObjectAnnotation", "DeleteObjectAnnotation",
    "ListObjectAnnotations", "CreateBucketMetadataConfiguration",
    "GetBucketMetadataConfiguration", "DeleteBucketMetadataConfiguration",
}
PARAMS: dict[str, dict[str, Any]] = {
    "UpdateObjectEncryption": {
        "ObjectEncryption": {"SSEKMS": {"KMSKeyArn": "arn:aws:kms:us-east-1:111122223333:key/k"}}},
    "CopyObject": {"CopySource": "src-b/k"},
    "UploadPartCopy": {"CopySource": "src-b/k"},
}
SUPPORTED = sorted(set(MODEL.operation_names) - UNSUPPORTED)


def _identify(operation: str, style: str = "path", **params: Any) -> str:
    c = capture(operation, style=style, **{**PARAMS.get(operation, {}), **params})
    target = locate(c.host, c.raw_path, S3_DOMAIN)
    return identify(c.method, target, c.query, c.headers)


@pytest.mark.parametrize("operation", SUPPORTED)
@pytest.mark.parametrize("style", ["path", "virtual"])
def test_every_botocore_operation(operation: str, style: str) -> None:
    assert _identify(operation, style) == ALIASES.get(operation, operation)


@pytest.mark.parametrize("operation", sorted(UNSUPPORTED))
def test_unsupported_operations_are_refused(operation: str) -> None:
    with pytest.raises(S3Error) as caught:
        _identify(operation)
    assert caught.value.code in ("NotImplemented", "InvalidBucketName")


@pytest.mark.parametrize(("operation", "params", "expected"), [
    ("GetObject", {"VersionId": "v1", "PartNumber": 2, "Range": "bytes=0-1"}, "GetObject"),
    ("HeadObject", {"PartNumber": 1}, "HeadObject"),
    ("PutObject", {"Tagging": "a=b", "ACL": "private"}, "PutObject"),
    ("CopyObject", {"CopySource": "src/k?versionId=1"}, "CopyObject"),
    ("UploadPartCopy", {"CopySource": {"Bucket": "src", "Key": "k"}}, "UploadPartCopy"),
    ("ListObjectsV2", {"Prefix": "p/", "Delimiter": "/", "MaxKeys": 5}, "ListObjectsV2"),
    ("ListObjects", {"Prefix": "p/", "Marker": "m"}, "ListObjects"),
    ("ListObjectVersions", {"Prefix": "p"}, "ListObjectVersions"),
    ("DeleteObject", {"VersionId": "v"}, "DeleteObject"),
    ("GetObjectTagging", {"VersionId": "v"}, "GetObjectTagging"),
    ("GetBucketAnalyticsConfiguration", {"Id": "a"}, "GetBucketAnalyticsConfiguration"),
    ("ListBucketMetricsConfigurations", {}, "ListBucketMetricsConfigurations"),
])
def test_variants(operation: str, params: dict[str, Any], expected: str) -> None:
    assert _identify(operation, **params) == expected


def _error(method: str, target: Target, query: dict[str, list[str]],
           headers: dict[str, str] | None = None) -> S3Error:
    with pytest.raises(S3Error) as caught:
        identify(method, target, query, headers or {})
    return caught.value


OBJ = Target("bucket", "key", "path")
BUCKET = Target("bucket", None, "path")
SERVICE = Target(None, None, "path")


def test_post_object_is_a_form_post_on_the_bucket() -> None:
    form = {"Content-Type": "multipart/form-data; boundary=xyz"}
    assert identify("POST", BUCKET, {}, form) == "PostObject"
    assert identify("POST", Target("bucket", None, "virtual"), {}, form) == "PostObject"
    assert _error("POST", BUCKET, {}, {"content-type": "text/plain"}).code == "MethodNotAllowed"
    assert _error("POST", OBJ, {}, form).code == "MethodNotAllowed"


@pytest.mark.parametrize(("method", "target", "resource_type"), [
    ("POST", OBJ, "OBJECT"), ("PATCH", OBJ, "OBJECT"), ("OPTIONS", BUCKET, "BUCKET"),
    ("PUT", SERVICE, "SERVICE"), ("DELETE", SERVICE, "SERVICE"), ("POST", SERVICE, "SERVICE"),
])
def test_method_not_allowed(method: str, target: Target, resource_type: str) -> None:
    err = _error(method, target, {})
    assert (err.code, err.status) == ("MethodNotAllowed", 405)
    assert err.message == "The specified method is not allowed against this resource."
    assert err.fields == {"Method": method, "ResourceType": resource_type}


def test_wrong_method_for_a_sub_resource() -> None:
    assert _error("POST", BUCKET, {"policy": [""]}).code == "MethodNotAllowed"
    assert _error("DELETE", BUCKET, {"location": [""]}).code == "MethodNotAllowed"
    assert _error("DELETE", OBJ, {"acl": [""]}).code == "MethodNotAllowed"


@pytest.mark.parametrize(("method", "target", "query", "headers"), [
    ("GET", OBJ, {"acl": [""], "tagging": [""]}, {}),  # two sub-resources: which one?
    ("PUT", BUCKET, {"policy": [""], "acl": [""]}, {}),
    ("PUT", OBJ, {"tagging": [""], "uploadId": ["u"]}, {}),
    ("PUT", OBJ, {"uploadId": ["u"]}, {}),  # half a part upload
    ("PUT", OBJ, {"partNumber": ["1"]}, {}),
    ("POST", OBJ, {"uploadId": ["u"], "partNumber": ["1"]}, {}),
    ("POST", OBJ, {"select": [""]}, {}),  # select without select-type=2
    ("GET", BUCKET, {"list-type": ["1"]}, {}),
    ("GET", BUCKET, {"session": [""]}, {}),
    ("PUT", OBJ, {"renameObject": [""]}, {}),
    ("PUT", OBJ, {"acl": [""]}, {"x-amz-copy-source": "src/k"}),  # a copy that is no copy
    ("GET", OBJ, {}, {"X-Amz-Copy-Source": "src/k"}),
])
def test_ambiguous_requests_are_not_implemented(method: str, target: Target,
                                               query: dict[str, list[str]],
                                               headers: dict[str, str]) -> None:
    err = _error(method, target, query, headers)
    assert (err.code, err.status) == ("NotImplemented", 501)
    assert err.message == "A header you provided implies functionality that is not implemented"


def test_headers_in_any_case_and_method_case() -> None:
    assert identify("put", OBJ, {}, {"X-AMZ-COPY-SOURCE": "src/k"}) == "CopyObject"
    assert identify("PUT", OBJ, {"partNumber": ["1"], "uploadId": ["u"]},
                    {"x-amz-copy-source": "/src/k"}) == "UploadPartCopy"
    assert identify("GET", OBJ, {"versionId": ["v"], "x-id": ["GetObject"]}, {}) == "GetObject"
