"""Bucket operations served from OpenSTS's store, never forwarded to the storage.

Buckets belong to accounts (the store's records); their policy, tags and Public Access
Block live there, validated as S3 validates them, because the IAM decisions depend on them.
Object ownership is ``BucketOwnerEnforced`` (S3 User Guide, "Controlling ownership of
objects and disabling ACLs"): ACLs grant nothing, reads of an ACL answer the owner's
FULL_CONTROL, and an ACL other than ``bucket-owner-full-control`` is refused with
``AccessControlListNotSupported``.

Creation and deletion touch the storage too, in the order that never leaves a record
without a storage bucket: create in the storage first (nothing is recorded if that fails),
delete in the storage first (``BucketNotEmpty`` passes through and the record stays).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from opensts.directory.errors import BucketAlreadyExists, NotFound
from opensts.directory.records import Bucket
from opensts.s3 import bucket_xml
from opensts.s3.errors import S3Error, access_denied, no_such_bucket
from opensts.sigv4.chunked import body_decoder
from opensts.web.s3.backend import backend_error
from opensts.web.s3.body import read_small
from opensts.wire.xml import text

if TYPE_CHECKING:
    from opensts.web.asgi import Receive
    from opensts.web.s3.gateway import Call, S3Gateway

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

LOCAL = frozenset(
    {
        "CreateBucket", "DeleteBucket", "ListBuckets", "HeadBucket", "GetBucketLocation",
        "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy", "GetBucketPolicyStatus",
        "PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging",
        "PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock",
        "GetBucketOwnershipControls", "PutBucketOwnershipControls",
        "DeleteBucketOwnershipControls",
        "GetBucketAcl", "PutBucketAcl", "GetObjectAcl", "PutObjectAcl",
    }
)
ACL_OK = "bucket-owner-full-control"


def acl_not_supported() -> S3Error:
    return S3Error("AccessControlListNotSupported", "The bucket does not allow ACLs", 400)


def check_acl_headers(call: Call, *, create: bool = False) -> None:
    """ACLs are disabled: only ``bucket-owner-full-control`` (or ``private`` at creation,
    the default a bucket gets anyway) may be named, and no grant headers."""
    acl = call.header_map.get("x-amz-acl")
    allowed = {ACL_OK, "private"} if create else {ACL_OK}
    if acl is not None and acl.strip() not in allowed:
        raise acl_not_supported()
    if any(name.startswith("x-amz-grant-") for name in call.header_map):
        raise acl_not_supported()


async def serve(gateway: S3Gateway, call: Call, receive: Receive) -> None:
    handler = _HANDLERS[call.operation or ""]
    status, payload, headers = await handler(gateway, call, receive)
    if not await gateway._audit(call, None):
        raise S3Error("ServiceUnavailable",
                      "The service could not record the request. Please try again.", 503)
    content_type = b"application/json" if call.operation == "GetBucketPolicy" else None
    if payload and content_type is None:
        content_type = b"application/xml"
    await call.reply.full(status, payload, content_type, headers)


Result = tuple[int, bytes, list[tuple[bytes, bytes]]]


def _store(gateway: S3Gateway) -> Any:
    return gateway.runtime.store


async def _body(call: Call, receive: Receive) -> bytes:
    return await read_small(call, receive, body_decoder(call.auth, call.headers))


def _bucket(call: Call) -> Bucket:
    bucket = call.bucket
    if bucket is None:
        raise no_such_bucket((call.target.bucket if call.target else None) or "")
    return bucket


async def _run(func: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(func, *args)
    except NotFound:
        raise no_such_bucket(str(args[0]) if args else "") from None


# -- create, delete, list -------------------------------------------------------------------

async def create_bucket(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    assert call.target is not None and call.target.bucket is not None
    name = call.target.bucket
    caller = call.caller
    if caller is None:
        raise access_denied()
    check_acl_headers(call, create=True)
    config = bucket_xml.parse_create_bucket_configuration(await _body(call, receive))
    region = gateway.settings.s3_region
    if config.location_constraint is not None and (
        config.location_constraint != region or region == "us-east-1"
    ):
        raise bucket_xml.invalid_location_constraint()
    ownership = call.header_map.get("x-amz-object-ownership")
    if ownership is not None and ownership != "BucketOwnerEnforced":
        raise S3Error("InvalidArgument", "Only BucketOwnerEnforced object ownership is "
                      "supported", 400, fields={"ArgumentName": "x-amz-object-ownership",
                                                "ArgumentValue": ownership})
    existing = call.bucket
    if existing is not None:
        raise _taken(name, existing.account_id, caller.account_id)
    status, _, body = await gateway.backend.call("PUT", name)
    if status >= 300:
        error = backend_error(status, body)
        if error.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            # The storage has a bucket of that name that no account owns here: it is
            # someone's data, adopted only by an operator (opensts s3 adopt).
            raise _taken(name, "", caller.account_id)
        raise error
    record = Bucket(name=name, account_id=caller.account_id, region=region,
                    created=call.now.replace(microsecond=0), tags=config.tags)
    try:
        await asyncio.to_thread(_store(gateway).create_bucket, record)
    except BucketAlreadyExists as taken:
        raise _taken(name, taken.owner, caller.account_id) from None
    call.bucket = record
    return 200, b"", [(b"location", f"/{name}".encode())]


def _taken(name: str, owner: str, account: str) -> S3Error:
    if owner == account:
        return S3Error("BucketAlreadyOwnedByYou",
                       "Your previous request to create the named bucket succeeded and you "
                       "already own it.", 409, fields={"BucketName": name})
    return S3Error("BucketAlreadyExists",
                   "The requested bucket name is not available. The bucket namespace is "
                   "shared by all users of the system. Please select a different name and "
                   "try again.", 409, fields={"BucketName": name})


async def delete_bucket(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    status, _, body = await gateway.backend.call("DELETE", bucket.name)
    if status >= 300 and status != 404:
        raise backend_error(status, body)
    await _run(_store(gateway).delete_bucket, bucket.name)
    return 204, b"", []


async def list_buckets(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    caller = call.caller
    if caller is None:
        raise access_denied()
    found = await asyncio.to_thread(_store(gateway).list_buckets, caller.account_id)
    prefix = (call.query.get("prefix") or [""])[0]
    if prefix:
        found = [b for b in found if b.name.startswith(prefix)]
    payload = bucket_xml.render_list_buckets(
        found, owner_id=bucket_xml.canonical_user_id(caller.account_id))
    return 200, payload, []


async def head_bucket(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    return 200, b"", [(b"x-amz-bucket-region", bucket.region.encode())]


async def get_bucket_location(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    return 200, bucket_xml.render_location(_bucket(call).region), []


# -- policy ---------------------------------------------------------------------------------

async def put_bucket_policy(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    from opensts.services.s3.bucket_policy import malformed_policy, prepare_bucket_policy

    bucket = _bucket(call)
    raw = await _body(call, receive)
    try:
        policy_text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed_policy("This policy contains invalid Json") from None
    policy_text = prepare_bucket_policy(bucket, policy_text)
    call.bucket = await _run(_store(gateway).put_bucket_policy, bucket.name, policy_text)
    return 204, b"", []


async def get_bucket_policy(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    if not bucket.policy:
        raise S3Error("NoSuchBucketPolicy", "The bucket policy does not exist", 404,
                      fields={"BucketName": bucket.name})
    return 200, bucket.policy.encode(), []


async def delete_bucket_policy(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    call.bucket = await _run(_store(gateway).put_bucket_policy, bucket.name, None)
    return 204, b"", []


async def get_bucket_policy_status(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    from opensts.s3.public import is_public

    bucket = _bucket(call)
    if not bucket.policy:
        raise S3Error("NoSuchBucketPolicy", "The bucket policy does not exist", 404,
                      fields={"BucketName": bucket.name})
    return 200, bucket_xml.render_policy_status(is_public(bucket.policy)), []


# -- tagging and Public Access Block --------------------------------------------------------

async def put_bucket_tagging(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    tags = bucket_xml.parse_tagging(await _body(call, receive))
    call.bucket = await _run(_store(gateway).put_bucket_tags, bucket.name, tags)
    return 204, b"", []


async def get_bucket_tagging(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    if not bucket.tags:
        raise S3Error("NoSuchTagSet", "The TagSet does not exist", 404,
                      fields={"BucketName": bucket.name})
    return 200, bucket_xml.render_tagging(bucket.tags), []


async def delete_bucket_tagging(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    call.bucket = await _run(_store(gateway).put_bucket_tags, bucket.name, ())
    return 204, b"", []


async def put_public_access_block(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    pab = bucket_xml.parse_public_access_block(await _body(call, receive))
    call.bucket = await _run(_store(gateway).put_public_access_block, bucket.name, pab)
    return 200, b"", []


async def get_public_access_block(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    if not bucket.public_access_block_configured:
        raise S3Error("NoSuchPublicAccessBlockConfiguration",
                      "The public access block configuration was not found", 404,
                      fields={"BucketName": bucket.name})
    return 200, bucket_xml.render_public_access_block(bucket.public_access_block), []


async def delete_public_access_block(gateway: S3Gateway, call: Call,
                                     receive: Receive) -> Result:
    bucket = _bucket(call)
    call.bucket = await _run(_store(gateway).put_public_access_block, bucket.name, None)
    return 204, b"", []


# -- ownership and ACLs ---------------------------------------------------------------------

async def get_ownership_controls(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    _bucket(call)
    payload = (f'{XML_DECL}<OwnershipControls xmlns="{NAMESPACE}"><Rule>'
               "<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule>"
               "</OwnershipControls>").encode()
    return 200, payload, []


async def put_ownership_controls(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    _bucket(call)
    body = await _body(call, receive)
    if b"BucketOwnerEnforced" not in body or b"BucketOwnerPreferred" in body or (
        b"ObjectWriter" in body
    ):
        raise S3Error("InvalidArgument", "Only BucketOwnerEnforced object ownership is "
                      "supported", 400)
    return 200, b"", []


async def delete_ownership_controls(gateway: S3Gateway, call: Call,
                                    receive: Receive) -> Result:
    raise S3Error("InvalidArgument", "Only BucketOwnerEnforced object ownership is "
                  "supported", 400)


async def get_acl(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    bucket = _bucket(call)
    if call.operation == "GetObjectAcl" and call.target and call.target.key is not None:
        status, _, body = await gateway.backend.call(
            "HEAD", bucket.name, call.target.key,
            [(k, v) for k, v in call.query_pairs if k == "versionId"])
        if status >= 300:
            raise backend_error(status, body) if status != 404 else S3Error(
                "NoSuchKey", "The specified key does not exist.", 404,
                fields={"Key": call.target.key})
    owner = bucket_xml.canonical_user_id(bucket.account_id)
    payload = (
        f'{XML_DECL}<AccessControlPolicy xmlns="{NAMESPACE}"><Owner><ID>{text(owner)}</ID>'
        "</Owner><AccessControlList><Grant><Grantee "
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
        f"<ID>{text(owner)}</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>"
        "</AccessControlList></AccessControlPolicy>"
    ).encode()
    return 200, payload, []


async def put_acl(gateway: S3Gateway, call: Call, receive: Receive) -> Result:
    _bucket(call)
    body = await _body(call, receive)
    if body.strip() or call.header_map.get("x-amz-acl", "").strip() != ACL_OK:
        raise acl_not_supported()
    check_acl_headers(call)
    return 200, b"", []


_HANDLERS = {
    "CreateBucket": create_bucket,
    "DeleteBucket": delete_bucket,
    "ListBuckets": list_buckets,
    "HeadBucket": head_bucket,
    "GetBucketLocation": get_bucket_location,
    "PutBucketPolicy": put_bucket_policy,
    "GetBucketPolicy": get_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "GetBucketPolicyStatus": get_bucket_policy_status,
    "PutBucketTagging": put_bucket_tagging,
    "GetBucketTagging": get_bucket_tagging,
    "DeleteBucketTagging": delete_bucket_tagging,
    "PutPublicAccessBlock": put_public_access_block,
    "GetPublicAccessBlock": get_public_access_block,
    "DeletePublicAccessBlock": delete_public_access_block,
    "GetBucketOwnershipControls": get_ownership_controls,
    "PutBucketOwnershipControls": put_ownership_controls,
    "DeleteBucketOwnershipControls": delete_ownership_controls,
    "GetBucketAcl": get_acl,
    "GetObjectAcl": get_acl,
    "PutBucketAcl": put_acl,
    "PutObjectAcl": put_acl,
}
assert set(_HANDLERS) == LOCAL
