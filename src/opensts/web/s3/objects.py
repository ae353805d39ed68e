"""Object-level helpers of the gateway: existing object tags for conditions, copy sources.

``s3:ExistingObjectTag/<key>`` (Service Authorization Reference, Amazon S3, condition keys;
S3 User Guide "Tagging and access control policies") is the object's current tag set, which
only the storage knows: the gateway reads it with GetObjectTagging when a policy that
applies could use it, and keeps it for a few seconds (writes through the gateway forget it).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from opensts.s3.errors import S3Error, no_such_bucket
from opensts.sigv4.canonical import uri_encode

if TYPE_CHECKING:
    from opensts.web.s3.gateway import Call, S3Gateway

# Actions whose resource carries s3:ExistingObjectTag (Service Authorization Reference).
EXISTING_TAG_ACTIONS = frozenset(
    {
        "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAcl", "s3:GetObjectVersionAcl",
        "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging",
        "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:GetObjectAttributes",
        "s3:GetObjectVersionAttributes", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
        "s3:GetObjectRetention", "s3:GetObjectLegalHold", "s3:DeleteObjectVersion",
        "s3:RestoreObject",
    }
)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
TAG_TTL_SECONDS = 5.0
TAG_CACHE_ENTRIES = 10_000


class TagCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, str], tuple[float, dict[str, str]]] = OrderedDict()

    def forget(self, bucket: str, key: str) -> None:
        self._entries.pop((bucket, key), None)

    async def context_for(self, gateway: S3Gateway, need: Any) -> dict[str, str]:
        if not wants_object_tags(need):
            return {}
        tags = await self.get(gateway, need.bucket or "", need.key)
        return {f"s3:ExistingObjectTag/{k}": v for k, v in tags.items()}

    async def get(self, gateway: S3Gateway, bucket: str, key: str) -> dict[str, str]:
        now = time.monotonic()
        found = self._entries.get((bucket, key))
        if found is not None and found[0] > now:
            return found[1]
        status, _, body = await gateway.backend.call("GET", bucket, key, [("tagging", "")])
        tags: dict[str, str] = {}
        if status == 200 and body:
            try:
                root = etree.fromstring(body, _PARSER)
            except etree.XMLSyntaxError:
                root = None
            if root is not None:
                for tag in root.iter("{*}Tag", "Tag"):
                    k = tag.findtext("{*}Key") or tag.findtext("Key")
                    v = tag.findtext("{*}Value") or tag.findtext("Value") or ""
                    if k is not None:
                        tags[k] = v
        self._entries[(bucket, key)] = (now + TAG_TTL_SECONDS, tags)
        while len(self._entries) > TAG_CACHE_ENTRIES:
            self._entries.popitem(last=False)
        return tags


def wants_object_tags(need: Any) -> bool:
    return need.action in EXISTING_TAG_ACTIONS and need.key is not None


_MENTIONS: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_MARKER = "existingobjecttag"


def _mentions(policy: Any) -> bool:
    """Whether a parsed policy's text names s3:ExistingObjectTag (memoised per policy)."""
    found = _MENTIONS.get(policy)
    if found is None:
        found = _MARKER in str(getattr(policy, "text", "")).lower()
        _MENTIONS[policy] = found
    return found


def _entries(policies: Any) -> list[Any]:
    out = [policy for _, policy in policies.identity]
    if policies.boundary is not None:
        out.append(policies.boundary[1])
    out += [policy for _, policy in policies.session or ()]
    for level in (*policies.scps, *policies.rcps):
        out += [policy for _, policy in level]
    return out


def policies_mention_tags(runtime: Any, caller: Any, bucket: Any) -> bool:
    """Whether any policy that applies could read ``s3:ExistingObjectTag`` (else the
    storage round trip is saved). Runs off the event loop (reads the store)."""
    if bucket is not None and bucket.policy and _MARKER in bucket.policy.lower():
        return True
    if bucket is not None:
        for level in runtime.authorizer.rcps(bucket.account_id, "s3:GetObject"):
            if any(_mentions(policy) for _, policy in level):
                return True
    if caller is None:
        return False
    policies, _ = runtime.authorizer.policies(caller)
    return any(_mentions(policy) for policy in _entries(policies))


def check_key(key: str) -> None:
    """Refuse keys the storage would read as another key. S3 keeps ``a//b``, ``./a`` and
    ``a/../b`` literally, but path-based storage (SeaweedFS's filer, others) normalises or
    refuses them: the gateway would decide on one key and the storage act on another (a
    Deny on ``bucket/protected/*`` is not matched by ``bucket//protected/x``). A trailing
    ``/`` (a folder marker) is kept."""
    segments = key.split("/")
    for index, segment in enumerate(segments):
        if segment in (".", "..") or (segment == "" and index != len(segments) - 1):
            raise S3Error(
                "InvalidArgument",
                "Object keys with empty, '.' or '..' path segments are not supported.",
                400, fields={"ArgumentName": "key", "ArgumentValue": key},
            )


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """``x-amz-copy-source`` (``bucket/key`` or ``/bucket/key``, URL-encoded, optional
    ``?versionId=``) as (bucket, key, version id). API_CopyObject, x-amz-copy-source."""
    raw, _, version_part = value.partition("?")
    version = None
    if version_part:
        name, _, version_value = version_part.partition("=")
        if name != "versionId":
            raise S3Error("InvalidArgument", "Invalid copy source encoding.", 400,
                          fields={"ArgumentName": "x-amz-copy-source",
                                  "ArgumentValue": value})
        version = unquote(version_value)
    decoded = unquote(raw.lstrip("/"))
    bucket, _, key = decoded.partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Invalid copy source object key", 400,
                      fields={"ArgumentName": "x-amz-copy-source", "ArgumentValue": value})
    return bucket, key, version


async def copy_source_headers(gateway: S3Gateway, call: Call) -> list[tuple[str, str]]:
    """The copy source re-encoded for the storage; its bucket must be a gateway bucket
    (a copy must not read a storage bucket that was never adopted)."""
    bucket, key, version = parse_copy_source(call.header_map["x-amz-copy-source"])
    check_key(key)
    found = await asyncio.to_thread(gateway.runtime.store.find_bucket, bucket)
    if found is None:
        raise no_such_bucket(bucket)
    value = f"/{uri_encode(bucket)}/{uri_encode(key, keep_slash=True)}"
    if version is not None:
        value += f"?versionId={uri_encode(version)}"
    return [("x-amz-copy-source", value)]
