"""S3's XML bodies for the bucket sub-resources the gateway serves itself, parsed and rendered.

Pure: bytes in, records or S3Error out. Request bodies come from clients, so they are parsed
by the hardened parser of ``federation.saml.xmlsafe`` (no DTD, no entities, no network) after
a size bound; anything not well-formed, or not of the documented shape, is S3's MalformedXML.
Elements are read in S3's namespace ``http://s3.amazonaws.com/doc/2006-03-01/`` or in no
namespace (older clients omit the ``xmlns``); elements of any other namespace are refused.

Shapes (Amazon S3 API Reference): API_PutBucketTagging / API_Tagging / API_Tag,
API_PublicAccessBlockConfiguration, API_GetBucketPolicyStatus / API_PolicyStatus,
API_ListBuckets / API_Bucket / API_Owner, API_CreateBucket / API_CreateBucketConfiguration,
API_GetBucketLocation.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from opensts.directory.records import Bucket, PublicAccessBlock, Tag
from opensts.federation.saml.xmlsafe import parse_untrusted
from opensts.s3.errors import S3Error, malformed_xml
from opensts.wire.xml import text

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Far above any valid body here (50 tags of 128 + 256 characters, 4 bytes each in UTF-8, are
# under 80 KB); the gateway must stop reading at this many bytes and pass what it read.
MAX_BODY_BYTES = 256 * 1024
MAX_BUCKET_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


# -- errors ------------------------------------------------------------------------------
# InvalidTag wordings as real S3 answers them (quoted in versity/versitygw#1214, #1232, #2039,
# which record AWS's responses; the aws: one in cloud-custodian/cloud-custodian#370).


def _invalid_tag(message: str, **fields: str) -> S3Error:
    return S3Error("InvalidTag", message, 400, fields=fields)


def _bad_key() -> S3Error:
    return _invalid_tag("The TagKey you have provided is invalid")


def _bad_value(key: str, value: str) -> S3Error:
    return _invalid_tag("The TagValue you have provided is invalid", TagKey=key, TagValue=value)


def _duplicate_key(key: str) -> S3Error:
    return _invalid_tag("Cannot provide multiple Tags with the same key", TagKey=key)


def _reserved_key(key: str) -> S3Error:
    return _invalid_tag("Your TagKey cannot be prefixed with aws:", TagKey=key)


def _too_many_tags() -> S3Error:
    # UNVERIFIED wording: modelled on the object form "Object tags cannot be greater than 10".
    return _invalid_tag("Bucket tag count cannot be greater than 50")


# -- parsing helpers ----------------------------------------------------------------------


def _root(body: bytes, name: str) -> etree._Element:
    if not isinstance(body, bytes | bytearray) or len(body) > MAX_BODY_BYTES:
        raise malformed_xml()
    if not body.strip():
        raise malformed_xml()
    root = parse_untrusted(bytes(body), lambda _reason: malformed_xml())
    if _local(root) != name:
        raise malformed_xml()
    return root


def _local(element: etree._Element) -> str | None:
    """The element's name if it is in S3's namespace or none; None for anything else
    (comments, processing instructions, foreign namespaces)."""
    if not isinstance(element.tag, str):
        return None
    qname = etree.QName(element)
    if qname.namespace not in (None, NAMESPACE):
        return None
    return str(qname.localname)


def _children(element: etree._Element, allowed: Iterable[str]) -> dict[str, list[etree._Element]]:
    """Child elements by name; an unknown element or stray text is MalformedXML."""
    allowed = frozenset(allowed)
    if (element.text or "").strip():
        raise malformed_xml()
    out: dict[str, list[etree._Element]] = {}
    for child in element:
        if (child.tail or "").strip():
            raise malformed_xml()
        if isinstance(child, etree._Comment):
            continue
        name = _local(child)
        if name is None or name not in allowed:
            raise malformed_xml()
        out.setdefault(name, []).append(child)
    return out


def _one(found: dict[str, list[etree._Element]], name: str, *, required: bool
         ) -> etree._Element | None:
    items = found.get(name, [])
    if len(items) > 1 or (required and not items):
        raise malformed_xml()
    return items[0] if items else None


def _leaf(element: etree._Element) -> str:
    """The text of an element that must hold text only (comments are skipped)."""
    for child in element:
        if not isinstance(child, etree._Comment):
            raise malformed_xml()
    return "".join(element.itertext())


def _bool(element: etree._Element | None) -> bool:
    if element is None:
        return False  # an omitted setting is off (API_PublicAccessBlockConfiguration)
    value = _leaf(element).strip()
    if value not in ("true", "false"):
        raise malformed_xml()
    return value == "true"


# -- Tagging ------------------------------------------------------------------------------


def _tag_chars_ok(value: str) -> bool:
    """S3 tag characters: "letters, numbers, and spaces representable in UTF-8, and the
    following characters: + - = . _ : / @" (S3 User Guide, CostAllocTagging; tagging-best-
    practices "Tag naming limits and requirements")."""
    for ch in value:
        if ch in _TAG_PUNCTUATION:
            continue
        category = unicodedata.category(ch)
        if category[0] not in "LNZ":
            return False
    return True


def validate_tags(tags: Sequence[Tag], *, limit: int = MAX_BUCKET_TAGS) -> tuple[Tag, ...]:
    """S3's bucket tag rules; raises S3Error InvalidTag.

    Each tag is checked in order and the count last, as AWS was observed to do
    (scality/cloudserver#4451).
    """
    seen: set[str] = set()
    for tag in tags:
        key, value = tag.key, tag.value
        if not 1 <= len(key) <= MAX_TAG_KEY or not _tag_chars_ok(key):
            raise _bad_key()
        if key.lower().startswith("aws:"):
            raise _reserved_key(key)
        if len(value) > MAX_TAG_VALUE or not _tag_chars_ok(value):
            raise _bad_value(key, value)
        if key in seen:
            raise _duplicate_key(key)
        seen.add(key)
    if len(tags) > limit:
        raise _too_many_tags()
    return tuple(tags)


def _parse_tag_set(tag_set: etree._Element) -> list[Tag]:
    tags: list[Tag] = []
    for tag in _children(tag_set, ("Tag",)).get("Tag", []):
        parts = _children(tag, ("Key", "Value"))
        key = _one(parts, "Key", required=True)
        value = _one(parts, "Value", required=True)
        assert key is not None and value is not None
        tags.append(Tag(_leaf(key), _leaf(value)))
        if len(tags) > 10 * MAX_BUCKET_TAGS:
            break  # bounded work: the count check below fails anyway
    return tags


def parse_tagging(body: bytes) -> tuple[Tag, ...]:
    """PutBucketTagging's ``<Tagging><TagSet><Tag><Key/><Value/></Tag>...`` → checked tags."""
    root = _root(body, "Tagging")
    tag_set = _one(_children(root, ("TagSet",)), "TagSet", required=True)
    assert tag_set is not None
    return validate_tags(_parse_tag_set(tag_set))


def render_tagging(tags: Sequence[Tag]) -> bytes:
    """GetBucketTagging's body."""
    parts = [XML_DECL, f'<Tagging xmlns="{NAMESPACE}"><TagSet>']
    parts += [f"<Tag><Key>{text(t.key)}</Key><Value>{text(t.value)}</Value></Tag>"
              for t in tags]
    parts.append("</TagSet></Tagging>")
    return "".join(parts).encode()


# -- Public Access Block --------------------------------------------------------------------
_PAB_FIELDS = (
    ("BlockPublicAcls", "block_public_acls"),
    ("IgnorePublicAcls", "ignore_public_acls"),
    ("BlockPublicPolicy", "block_public_policy"),
    ("RestrictPublicBuckets", "restrict_public_buckets"),
)


def parse_public_access_block(body: bytes) -> PublicAccessBlock:
    """PutPublicAccessBlock's ``<PublicAccessBlockConfiguration>``; omitted settings are off."""
    root = _root(body, "PublicAccessBlockConfiguration")
    found = _children(root, (name for name, _ in _PAB_FIELDS))
    return PublicAccessBlock(**{
        attr: _bool(_one(found, name, required=False)) for name, attr in _PAB_FIELDS
    })


def render_public_access_block(pab: PublicAccessBlock) -> bytes:
    """GetPublicAccessBlock's body."""
    parts = [XML_DECL, f'<PublicAccessBlockConfiguration xmlns="{NAMESPACE}">']
    for name, attr in _PAB_FIELDS:
        value = "true" if getattr(pab, attr) else "false"
        parts.append(f"<{name}>{value}</{name}>")
    parts.append("</PublicAccessBlockConfiguration>")
    return "".join(parts).encode()


def render_policy_status(is_public: bool) -> bytes:
    """GetBucketPolicyStatus's ``<PolicyStatus><IsPublic>``."""
    value = "true" if is_public else "false"
    return (f'{XML_DECL}<PolicyStatus xmlns="{NAMESPACE}"><IsPublic>{value}</IsPublic>'
            "</PolicyStatus>").encode()


# -- ListBuckets ----------------------------------------------------------------------------


def s3_timestamp(moment: datetime) -> str:
    """S3's timestamps in XML bodies: ``2026-12-04T01:02:03.000Z`` (milliseconds, UTC)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def canonical_user_id(account_id: str) -> str:
    """A stable 64-hex-digit canonical user id for an account (S3's Owner ID has this form;
    AWS's own ids are opaque, so any stable one-to-one mapping serves)."""
    return hashlib.sha256(f"opensts-canonical-user:{account_id}".encode()).hexdigest()


def render_list_buckets(
    buckets: Sequence[Bucket], *, owner_id: str, display_name: str | None = None,
    with_region: bool = True,
) -> bytes:
    """ListBuckets' ``<ListAllMyBucketsResult>``: Owner, then each Name, CreationDate and
    (as S3 answers since 2024) BucketRegion. DisplayName is omitted when None: AWS is
    withdrawing it from responses."""
    parts = [XML_DECL, f'<ListAllMyBucketsResult xmlns="{NAMESPACE}"><Owner>',
             f"<ID>{text(owner_id)}</ID>"]
    if display_name is not None:
        parts.append(f"<DisplayName>{text(display_name)}</DisplayName>")
    parts.append("</Owner><Buckets>")
    for b in buckets:
        parts.append(f"<Bucket><Name>{text(b.name)}</Name>"
                     f"<CreationDate>{s3_timestamp(b.created)}</CreationDate>")
        if with_region:
            parts.append(f"<BucketRegion>{text(b.region)}</BucketRegion>")
        parts.append("</Bucket>")
    parts.append("</Buckets></ListAllMyBucketsResult>")
    return "".join(parts).encode()


# -- CreateBucket and GetBucketLocation -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateBucketConfiguration:
    location_constraint: str | None = None  # None: not given (us-east-1)
    tags: tuple[Tag, ...] = ()


_CREATE_FIELDS = ("LocationConstraint", "Location", "Bucket", "Tags")


def parse_create_bucket_configuration(body: bytes) -> CreateBucketConfiguration:
    """CreateBucket's optional body. An empty body is no configuration. ``Location`` and
    ``Bucket`` (directory buckets and S3 on Outposts) are accepted and ignored; ``Tags``
    (tags at creation, 2025) are checked as bucket tags."""
    if not body.strip():
        return CreateBucketConfiguration()
    root = _root(body, "CreateBucketConfiguration")
    found = _children(root, _CREATE_FIELDS)
    for name in _CREATE_FIELDS:
        _one(found, name, required=False)
    location = found.get("LocationConstraint")
    constraint = _leaf(location[0]).strip() if location else None
    tags: tuple[Tag, ...] = ()
    if "Tags" in found:
        tags = validate_tags(_parse_tag_set(found["Tags"][0]))
    return CreateBucketConfiguration(constraint or None, tags)


def render_location(region: str) -> bytes:
    """GetBucketLocation's ``<LocationConstraint>``: empty for us-east-1 ("Buckets in Region
    us-east-1 have a LocationConstraint of null", API_GetBucketLocation)."""
    if region == "us-east-1":
        return f'{XML_DECL}<LocationConstraint xmlns="{NAMESPACE}"/>'.encode()
    return (f'{XML_DECL}<LocationConstraint xmlns="{NAMESPACE}">{text(region)}'
            "</LocationConstraint>").encode()


def invalid_location_constraint() -> S3Error:
    """For the gateway when the constraint names a region it does not serve."""
    return S3Error("InvalidLocationConstraint",
                   "The specified location-constraint is not valid", 400)
