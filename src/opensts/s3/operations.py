"""Which S3 API operation a request is, named as in the Amazon S3 API Reference ("Actions").

An S3 operation is told by the method, whether the target is the service, a bucket or an
object, and at most one *sub-resource* query parameter (``?acl``, ``?tagging``, ``?uploads``,
``?uploadId=``, ...). A few headers refine it: ``x-amz-copy-source`` makes a PUT a copy, and a
``multipart/form-data`` POST on a bucket is a browser upload (PostObject). The request shapes
are the REST bindings of the API Reference (the same ones botocore's S3 model serialises;
``tests/s3/test_operations.py`` checks every operation against botocore's real requests).

Fail closed: the gateway forwards what it has authorized, so a request the backend could read
as a different operation must not pass. Two sub-resources at once, a sub-resource S3 defines
but this table does not (``?session``, ``?annotation``, ...), or a PUT with only half of a
part upload's parameters are refused with ``NotImplemented`` (501) rather than guessed; a
method S3 does not serve for the resource gets ``MethodNotAllowed`` (405).

``query`` maps each parameter name to its values, parsed with ``keep_blank_values=True``
(``?acl`` is ``{"acl": [""]}``); ``headers`` may be any mapping, names in any case.
"""

from __future__ import annotations

from collections.abc import Mapping

from opensts.s3.addressing import Target
from opensts.s3.errors import S3Error

# Sub-resources of a bucket: (method, sub-resource) -> operation. None = no sub-resource.
_BUCKET: dict[tuple[str, str | None], str] = {
    ("GET", None): "ListObjects",
    ("HEAD", None): "HeadBucket",
    ("PUT", None): "CreateBucket",
    ("DELETE", None): "DeleteBucket",
    ("POST", "delete"): "DeleteObjects",
    ("GET", "uploads"): "ListMultipartUploads",
    ("GET", "versions"): "ListObjectVersions",
    ("GET", "location"): "GetBucketLocation",
    ("GET", "policyStatus"): "GetBucketPolicyStatus",
    ("GET", "object-lock"): "GetObjectLockConfiguration",
    ("PUT", "object-lock"): "PutObjectLockConfiguration",
    ("GET", "publicAccessBlock"): "GetPublicAccessBlock",
    ("PUT", "publicAccessBlock"): "PutPublicAccessBlock",
    ("DELETE", "publicAccessBlock"): "DeletePublicAccessBlock",
    ("GET", "accelerate"): "GetBucketAccelerateConfiguration",
    ("PUT", "accelerate"): "PutBucketAccelerateConfiguration",
    ("GET", "lifecycle"): "GetBucketLifecycleConfiguration",
    ("PUT", "lifecycle"): "PutBucketLifecycleConfiguration",
    ("DELETE", "lifecycle"): "DeleteBucketLifecycle",
    ("GET", "notification"): "GetBucketNotificationConfiguration",
    ("PUT", "notification"): "PutBucketNotificationConfiguration",
    ("GET", "acl"): "GetBucketAcl",
    ("PUT", "acl"): "PutBucketAcl",
    ("GET", "logging"): "GetBucketLogging",
    ("PUT", "logging"): "PutBucketLogging",
    ("GET", "requestPayment"): "GetBucketRequestPayment",
    ("PUT", "requestPayment"): "PutBucketRequestPayment",
    ("GET", "versioning"): "GetBucketVersioning",
    ("PUT", "versioning"): "PutBucketVersioning",
    ("GET", "abac"): "GetBucketAbac",
    ("PUT", "abac"): "PutBucketAbac",
    ("POST", "metadataTable"): "CreateBucketMetadataTableConfiguration",
    ("GET", "metadataTable"): "GetBucketMetadataTableConfiguration",
    ("DELETE", "metadataTable"): "DeleteBucketMetadataTableConfiguration",
    ("PUT", "metadataJournalTable"): "UpdateBucketMetadataJournalTableConfiguration",
    ("PUT", "metadataInventoryTable"): "UpdateBucketMetadataInventoryTableConfiguration",
    ("PUT", "metadataAnnotationTable"): "UpdateBucketMetadataAnnotationTableConfiguration",
}
# Get/Put/Delete<Name> families on a bucket.
for _sub, _name in {
    "cors": "BucketCors", "encryption": "BucketEncryption", "ownershipControls":
    "BucketOwnershipControls", "policy": "BucketPolicy", "replication": "BucketReplication",
    "tagging": "BucketTagging", "website": "BucketWebsite",
}.items():
    for _method, _verb in (("GET", "Get"), ("PUT", "Put"), ("DELETE", "Delete")):
        _BUCKET[(_method, _sub)] = _verb + _name
# Configurations addressed by ?<sub>&id=...; GET without an id lists them.
_BY_ID = {
    "analytics": "BucketAnalyticsConfiguration",
    "inventory": "BucketInventoryConfiguration",
    "metrics": "BucketMetricsConfiguration",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration",
}
for _sub, _name in _BY_ID.items():
    for _method, _verb in (("GET", "Get"), ("PUT", "Put"), ("DELETE", "Delete")):
        _BUCKET[(_method, _sub)] = _verb + _name

_OBJECT: dict[tuple[str, str | None], str] = {
    ("GET", None): "GetObject",
    ("HEAD", None): "HeadObject",
    ("PUT", None): "PutObject",
    ("DELETE", None): "DeleteObject",
    ("GET", "uploadId"): "ListParts",
    ("PUT", "uploadId"): "UploadPart",
    ("POST", "uploadId"): "CompleteMultipartUpload",
    ("DELETE", "uploadId"): "AbortMultipartUpload",
    ("POST", "uploads"): "CreateMultipartUpload",
    ("GET", "acl"): "GetObjectAcl",
    ("PUT", "acl"): "PutObjectAcl",
    ("GET", "tagging"): "GetObjectTagging",
    ("PUT", "tagging"): "PutObjectTagging",
    ("DELETE", "tagging"): "DeleteObjectTagging",
    ("GET", "legal-hold"): "GetObjectLegalHold",
    ("PUT", "legal-hold"): "PutObjectLegalHold",
    ("GET", "retention"): "GetObjectRetention",
    ("PUT", "retention"): "PutObjectRetention",
    ("GET", "attributes"): "GetObjectAttributes",
    ("GET", "torrent"): "GetObjectTorrent",
    ("POST", "restore"): "RestoreObject",
    ("POST", "select"): "SelectObjectContent",
    ("PUT", "encryption"): "UpdateObjectEncryption",
}

# Every sub-resource S3 defines. Those not in the tables above are refused (NotImplemented):
# forwarding them would let the backend perform an operation nobody authorized.
_UNSUPPORTED = frozenset({"session", "annotation", "metadataConfiguration", "renameObject"})
SUBRESOURCES = frozenset(
    {sub for (_m, sub) in (*_BUCKET, *_OBJECT) if sub is not None} | _UNSUPPORTED
)
_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})


def not_implemented(header: str | None = None) -> S3Error:
    fields = {"Header": header} if header else None
    return S3Error("NotImplemented",
                   "A header you provided implies functionality that is not implemented",
                   501, fields=fields)


def method_not_allowed(method: str, resource_type: str) -> S3Error:
    return S3Error("MethodNotAllowed", "The specified method is not allowed against this "
                   "resource.", 405, fields={"Method": method, "ResourceType": resource_type})


def identify(method: str, target: Target, query: Mapping[str, list[str]],
             headers: Mapping[str, str]) -> str:
    """The S3 operation name (``"GetObject"``, ``"PutBucketPolicy"``, ``"ListObjectsV2"``, ...)
    of a request, or raise ``NotImplemented`` (501) / ``MethodNotAllowed`` (405)."""
    method = method.upper()
    if target.bucket is None:
        if method == "GET":
            return "ListBuckets"
        raise method_not_allowed(method, "SERVICE")
    lower = {k.lower(): v for k, v in headers.items()}
    if method not in _METHODS:
        raise method_not_allowed(method, "OBJECT" if target.key is not None else "BUCKET")
    present = [name for name in query if name in SUBRESOURCES]
    if target.key is None:
        return _bucket_operation(method, present, query, lower)
    return _object_operation(method, present, query, lower)


def _one(present: list[str]) -> str | None:
    """The single sub-resource of a request; two are refused (which would S3 honour?)."""
    if len(present) > 1:
        raise not_implemented()
    return present[0] if present else None


def _bucket_operation(method: str, present: list[str], query: Mapping[str, list[str]],
                      headers: Mapping[str, str]) -> str:
    sub = _one(present)
    if sub in _UNSUPPORTED:
        raise not_implemented()
    if sub is None and method == "GET" and "list-type" in query:
        if query["list-type"] != ["2"]:
            raise not_implemented()
        return "ListObjectsV2"
    if sub is None and method == "POST":
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type == "multipart/form-data":
            return "PostObject"
    if sub in _BY_ID and method == "GET" and not query.get("id"):
        return "List" + _BY_ID[sub].replace("Configuration", "Configurations")
    operation = _BUCKET.get((method, sub))
    if operation is None:
        raise method_not_allowed(method, "BUCKET")
    return operation


def _object_operation(method: str, present: list[str], query: Mapping[str, list[str]],
                      headers: Mapping[str, str]) -> str:
    # partNumber is a parameter of UploadPart (with uploadId) and of GetObject/HeadObject;
    # select-type accompanies select. Neither chooses an operation on its own.
    sub = _one(present)
    if sub in _UNSUPPORTED:
        raise not_implemented()
    copy = "x-amz-copy-source" in headers
    if method == "PUT":
        has_part = "partNumber" in query
        if (sub == "uploadId") != has_part:
            raise not_implemented()  # half a part upload: neither PutObject nor UploadPart
        if sub == "uploadId":
            return "UploadPartCopy" if copy else "UploadPart"
        if sub is None and copy:
            return "CopyObject"
    elif "partNumber" in query and not (method in ("GET", "HEAD") and sub is None):
        raise not_implemented()
    if sub == "select" and query.get("select-type") != ["2"]:
        raise not_implemented()
    if copy and (method, sub) != ("PUT", None):
        raise not_implemented("x-amz-copy-source")
    operation = _OBJECT.get((method, sub))
    if operation is None:
        raise method_not_allowed(method, "OBJECT")
    return operation


del _sub, _name, _method, _verb
