"""What every IAM operation shares: parameter shapes, lookups that authorize first,
store-error translation and response rendering.

Parameter constraints are those of botocore's IAM model (iam/2010-05-08/service-2.json):
botocore validates only required/min/type client-side, so the server enforces max lengths,
patterns and list sizes (tests/iam/test_model.py checks them against the model).
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from opensts.directory.errors import NotFound, StoreError
from opensts.directory.paging import decode_marker, make_page
from opensts.directory.records import (
    EntityKind,
    Group,
    ManagedPolicy,
    Page,
    Role,
    Tag,
    Tags,
    User,
)
from opensts.errors import InvalidInput, LimitExceeded, NoSuchEntity, ValidationError
from opensts.policy import PolicyKind, parse_policy, policy_size
from opensts.services.context import CallContext
from opensts.services.iam.errors import UnmodifiableEntity, not_found, to_aws
from opensts.wire.params import Params, validation_error

T = TypeVar("T")

NAME_TEXT = r"[\w+=,.@-]+"
NAME = re.compile(NAME_TEXT, re.ASCII)
PATH_TEXT = r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)"
PATH = re.compile(PATH_TEXT)
PATH_PREFIX_TEXT = r"\u002F[\u0021-\u007F]*"
PATH_PREFIX = re.compile(PATH_PREFIX_TEXT)
POLICY_PATH_TEXT = r"((/[A-Za-z0-9\.,\+@=_-]+)*)/"
POLICY_PATH = re.compile(POLICY_PATH_TEXT)
DOCUMENT_TEXT = r"[\u0009\u000A\u000D\u0020-\u00FF]+"
DOCUMENT = re.compile(DOCUMENT_TEXT)
MARKER_TEXT = r"[\u0020-\u00FF]+"
MARKER = re.compile(MARKER_TEXT)
# Java's \p{L}\p{Z}\p{N}: Python's Unicode \w covers letters and digits (plus "_").
TAG_KEY_TEXT = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"
TAG_KEY = re.compile(r"[\w\s.:/=+\-@]+")
TAG_VALUE_TEXT = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
TAG_VALUE = re.compile(r"[\w\s.:/=+\-@]*")
ARN_MIN, ARN_MAX = 20, 2048

# IAM quotas (reference_iam-quotas): policy sizes exclude white space.
MANAGED_POLICY_SIZE = 6144
INLINE_SIZE: dict[EntityKind, int] = {"user": 2048, "group": 5120, "role": 10240}
TRUST_POLICY_SIZE = 2048
ATTACHED_POLICIES = 10
TAGS_MAX = 50


def account(ctx: CallContext) -> str:
    return ctx.require_caller().account_id


def arn(account_id: str, kind: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:{kind}{path}{name}"


def name_param(params: Params, field: str, *, max_len: int = 64) -> str:
    return params.required(field, min_len=1, max_len=max_len, pattern=NAME,
                           pattern_text=NAME_TEXT)


def opt_name_param(params: Params, field: str, *, max_len: int = 64) -> str | None:
    return params.str(field, min_len=1, max_len=max_len, pattern=NAME, pattern_text=NAME_TEXT)


def path_param(params: Params, field: str = "Path") -> str:
    return params.str(field, min_len=1, max_len=512, pattern=PATH, pattern_text=PATH_TEXT) or "/"


def path_prefix_param(params: Params, field: str = "PathPrefix") -> str:
    return params.str(field, min_len=1, max_len=512, pattern=PATH_PREFIX,
                      pattern_text=PATH_PREFIX_TEXT) or "/"


def arn_param(params: Params, field: str, *, required: bool = True) -> str | None:
    return params.str(field, required=required, min_len=ARN_MIN, max_len=ARN_MAX)


def paging(params: Params) -> tuple[str | None, int]:
    marker = params.str("Marker", min_len=1, max_len=320, pattern=MARKER,
                        pattern_text=MARKER_TEXT)
    max_items = params.int("MaxItems", minimum=1, maximum=1000) or 100
    return marker, max_items


def page_result(page: Page[Any], key: str, items: list[Any]) -> dict[str, Any]:
    return {key: items, **paging_fields(page)}


def paging_fields(page: Page[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"IsTruncated": page.is_truncated}
    if page.marker:
        out["Marker"] = page.marker
    return out


def page_of(items: Iterable[T], marker: str | None, max_items: int,
            key: Callable[[T], str], *, descending: bool = False) -> Page[T]:
    """One page of a listing the store hands over whole (a user's access keys or MFA
    devices, a policy's versions, an entity's tags), in ``key`` order.

    IAM pages these too ("you can still paginate the results using the MaxItems and Marker
    parameters", API_ListAccessKeys). The marker is the store's: the key of the last item
    returned, so a page resumes after it even if that item was deleted meanwhile, and a
    marker that does not decode is "Invalid Marker." as for every other listing."""
    with store_errors():
        after = decode_marker(marker)
    rows = sorted(items, key=key, reverse=descending)
    if after is not None:
        rows = [r for r in rows if (key(r) < after if descending else key(r) > after)]
    return make_page(rows[:max_items + 1], max_items, key)


def every(list_page: Callable[..., Page[T]]) -> Iterator[T]:
    """Every item of a paged store listing (``list_page(marker=..., max_items=...)``)."""
    marker = None
    while True:
        page = list_page(marker=marker, max_items=1000)
        yield from page.items
        marker = page.marker
        if marker is None:
            return


def tags_param(params: Params, field: str = "Tags") -> Tags:
    """Tag keys 1–128, values 0–256, at most 50; keys are case-insensitively unique in IAM
    ("you can't create two tags ... differing only in case", id_tags)."""
    raw = params.structs(field, ["Key", "Value"])
    if len(raw) > TAGS_MAX:
        raise validation_error(field, "[...]", f"Member must have length less than or equal "
                               f"to {TAGS_MAX}")
    tags: list[Tag] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        key = item.get("Key")
        value = item.get("Value")
        if key is None:
            raise validation_error(f"{field}.{i}.member.key", None, "Member must not be null")
        if value is None:
            raise validation_error(f"{field}.{i}.member.value", None, "Member must not be null")
        check_tag_key(f"{field}.{i}.member.key", key)
        if len(value) > 256 or TAG_VALUE.fullmatch(value) is None:
            constraint = ("Member must have length less than or equal to 256"
                          if len(value) > 256 else
                          f"Member must satisfy regular expression pattern: {TAG_VALUE_TEXT}")
            raise validation_error(f"{field}.{i}.member.value", value, constraint)
        if key.lower() in seen:
            raise InvalidInput("Duplicate tag keys found. Please note that Tag keys are case "
                               "insensitive.")
        seen.add(key.lower())
        tags.append(Tag(key, value))
    return tuple(tags)


def check_tag_key(label: str, key: str) -> None:
    if not 1 <= len(key) <= 128:
        raise validation_error(label, key, "Member must have length less than or equal to 128"
                               if key else "Member must have length greater than or equal to 1")
    if TAG_KEY.fullmatch(key) is None:
        raise validation_error(label, key,
                               f"Member must satisfy regular expression pattern: {TAG_KEY_TEXT}")


def tag_keys_param(params: Params, field: str = "TagKeys") -> list[str]:
    keys = params.strings(field)
    if len(keys) > TAGS_MAX:
        raise validation_error(field, keys, f"Member must have length less than or equal to "
                               f"{TAGS_MAX}")
    for i, key in enumerate(keys, start=1):
        check_tag_key(f"{field}.{i}.member", key)
    return keys


def merge_tags(old: Tags, new: Tags) -> Tags:
    """TagUser/TagRole: a new value replaces the old one of the same (case-insensitive) key."""
    by_key = {t.key.lower(): t for t in old}
    for t in new:
        by_key[t.key.lower()] = t
    if len(by_key) > TAGS_MAX:
        raise LimitExceeded(f"Cannot exceed quota for TagsPerEntity: {TAGS_MAX}")
    return tuple(by_key.values())


def remove_tags(old: Tags, keys: list[str]) -> Tags:
    gone = {k.lower() for k in keys}
    return tuple(t for t in old if t.key.lower() not in gone)


def tag_context(tags: Tags) -> dict[str, str | list[str]]:
    """aws:RequestTag/<key> and aws:TagKeys (reference_policies_condition-keys)."""
    ctx: dict[str, str | list[str]] = {f"aws:RequestTag/{t.key}": t.value for t in tags}
    if tags:
        ctx["aws:TagKeys"] = [t.key for t in tags]
    return ctx


def render_tags(tags: Tags) -> list[dict[str, str]]:
    return [{"Key": t.key, "Value": t.value} for t in tags]


def document_param(params: Params, field: str = "PolicyDocument") -> str:
    return params.required(field, min_len=1, max_len=131072, pattern=DOCUMENT,
                           pattern_text=DOCUMENT_TEXT)


def check_policy(text: str, kind: PolicyKind, limit: int, too_large: str) -> None:
    """Parse (MalformedPolicyDocument on error) and enforce the size quota."""
    parse_policy(text, kind)
    if policy_size(text) > limit:
        raise LimitExceeded(too_large)


def encode_document(text: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986), e.g. GetRolePolicy."""
    return urllib.parse.quote(text, safe="")


@contextmanager
def store_errors(**names: str) -> Iterator[None]:
    """Translate store failures raised inside the block into AWS errors."""
    try:
        yield
    except StoreError as exc:
        raise to_aws(exc, names=names) from None
    except ValueError as exc:
        if str(exc) == "invalid marker":
            raise ValidationError("Invalid Marker.") from None
        raise


def boundary_param(ctx: CallContext, params: Params) -> str | None:
    """A permissions boundary must name an existing managed policy (AWS or the account's)."""
    boundary = arn_param(params, "PermissionsBoundary", required=False)
    if boundary is not None:
        check_boundary(ctx, boundary)
    return boundary


def check_boundary(ctx: CallContext, boundary: str) -> None:
    acct = account(ctx)
    try:
        policy = ctx.runtime.store.get_managed_policy(boundary)
    except NotFound:
        policy = None
    if policy is None or policy.account_id not in (acct, "aws"):
        raise NoSuchEntity(f"Scope ARN: {boundary} does not exist or is not attachable.")


# -- lookups that authorize before revealing whether an entity exists ---------------------

def load_user(ctx: CallContext, action: str, name: str,
              context: dict[str, str | list[str]] | None = None) -> User:
    return _load_named(ctx, "user", ctx.runtime.store.get_user, action, name, context)


def load_group(ctx: CallContext, action: str, name: str,
               context: dict[str, str | list[str]] | None = None) -> Group:
    return _load_named(ctx, "group", ctx.runtime.store.get_group, action, name, context)


def load_role(ctx: CallContext, action: str, name: str,
              context: dict[str, str | list[str]] | None = None) -> Role:
    return _load_named(ctx, "role", ctx.runtime.store.get_role, action, name, context)


def load_entity(ctx: CallContext, kind: EntityKind, action: str, name: str,
                context: dict[str, str | list[str]] | None = None) -> str:
    """Authorize ``action`` on the user/group/role and return its stored name."""
    loaders: dict[EntityKind, Callable[[CallContext, str, str,
                                        dict[str, str | list[str]] | None], User | Group | Role]]
    loaders = {"user": load_user, "group": load_group, "role": load_role}
    load = loaders[kind]
    return load(ctx, action, name, context).name


Named = TypeVar("Named", User, Group, Role)


def _load_named(ctx: CallContext, kind: EntityKind, get: Callable[[str, str], Named],
                action: str, name: str, context: dict[str, str | list[str]] | None) -> Named:
    """Authorize ``action`` on the user, group or role called ``name``, then return it; an
    unknown name is authorized against the ARN it would have, so a denied caller learns
    nothing about what exists. Users and roles add their tags as iam:ResourceTag and
    aws:ResourceTag (groups have none)."""
    acct = account(ctx)
    try:
        entity = get(acct, name)
    except NotFound:
        ctx.authorize(action, arn(acct, kind, "/", name), context=context)
        raise not_found(kind, name) from None
    if not isinstance(entity, Group):
        context = with_resource_tags(entity.tags, context)
    ctx.authorize(action, entity.arn, context=context)
    if isinstance(entity, Role):
        check_modifiable(entity, action)
    return entity


def with_resource_tags(
    tags: tuple[Tag, ...], context: dict[str, str | list[str]] | None
) -> dict[str, str | list[str]]:
    """``context`` and the resource's tags as iam:ResourceTag/<key> and
    aws:ResourceTag/<key> (reference_policies_condition-keys)."""
    merged: dict[str, str | list[str]] = {f"iam:ResourceTag/{t.key}": t.value for t in tags}
    merged.update({f"aws:ResourceTag/{t.key}": t.value for t in tags})
    merged.update(context or {})
    return merged


def load_policy(ctx: CallContext, action: str, policy_arn: str) -> ManagedPolicy:
    try:
        policy = ctx.runtime.store.get_managed_policy(policy_arn)
    except NotFound:
        policy = None
    ctx.authorize(action, policy_arn)
    if policy is None or policy.account_id not in (account(ctx), "aws"):
        raise NoSuchEntity(f"Policy {policy_arn} was not found.")
    return policy


# -- users, groups and roles alike ---------------------------------------------------------

def list_in_path(ctx: CallContext, params: Params, kind: EntityKind, action: str,
                 list_page: Callable[..., Page[Named]]) -> Page[Named]:
    """ListUsers/ListGroups/ListRoles: one page below ``PathPrefix``, authorized on the ARN
    prefix of that path."""
    prefix = path_prefix_param(params)
    marker, max_items = paging(params)
    acct = account(ctx)
    ctx.authorize(action, arn(acct, kind, prefix, ""))
    with store_errors():
        return list_page(acct, path_prefix=prefix, marker=marker, max_items=max_items)


def rename(ctx: CallContext, kind: EntityKind, action: str, entity: Named, requested: str,
           new_name: str | None, new_path: str | None,
           update: Callable[[str, str, Callable[[Named], Named]], object]) -> None:
    """UpdateUser/UpdateGroup: a new name and/or path. The caller needs ``action`` on the new
    ARN too: "the principal must have a policy that allows them to update both groups"
    (API_UpdateGroup), "permissions on both the source object and the target object"
    (API_UpdateUser)."""
    if not (new_name or new_path):
        return
    acct = account(ctx)

    def change(e: Named) -> Named:
        path = new_path or e.path
        final = new_name or e.name
        return dataclasses.replace(e, name=final, path=path, arn=arn(acct, kind, path, final))

    target = change(entity)
    if target.arn != entity.arn:
        ctx.authorize(action, target.arn)
    with store_errors(**{kind: new_name or requested}):
        update(acct, entity.name, change)


# -- rendering ------------------------------------------------------------------------------

def boundary_dict(boundary: str | None) -> dict[str, str] | None:
    if boundary is None:
        return None
    # AWS answers "Policy" (the API reference lists "PermissionsBoundaryPolicy").
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}


def user_dict(u: User, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"Path": u.path, "UserName": u.name, "UserId": u.user_id,
                           "Arn": u.arn, "CreateDate": u.created,
                           "PasswordLastUsed": u.password_last_used}
    if full:
        out["PermissionsBoundary"] = boundary_dict(u.permissions_boundary)
        out["Tags"] = render_tags(u.tags) or None
    return out


def group_dict(g: Group) -> dict[str, Any]:
    return {"Path": g.path, "GroupName": g.name, "GroupId": g.group_id, "Arn": g.arn,
            "CreateDate": g.created}


def role_dict(r: Role, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": r.path, "RoleName": r.name, "RoleId": r.role_id, "Arn": r.arn,
        "CreateDate": r.created,
        "AssumeRolePolicyDocument": encode_document(r.assume_role_policy),
        "Description": r.description or None, "MaxSessionDuration": r.max_session_duration,
        "PermissionsBoundary": boundary_dict(r.permissions_boundary),
        "Tags": render_tags(r.tags) or None,
    }
    if full:
        out["RoleLastUsed"] = ({"LastUsedDate": r.last_used, "Region": r.last_used_region}
                               if r.last_used else {})
    return out


def policy_dict(p: ManagedPolicy, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "PolicyName": p.name, "PolicyId": p.policy_id, "Arn": p.arn, "Path": p.path,
        "DefaultVersionId": p.default_version_id, "AttachmentCount": p.attachment_count,
        "PermissionsBoundaryUsageCount": p.boundary_usage_count,
        "IsAttachable": p.is_attachable,
    }
    if full:
        out["Description"] = p.description or None
    out["CreateDate"] = p.created
    out["UpdateDate"] = p.updated
    if full:
        out["Tags"] = render_tags(p.tags)  # GetPolicy: an empty <Tags/> when untagged
    return out


# -- protected roles (service-linked roles, IAM Identity Center's reserved roles) -----------

PROTECTED_PATHS = ("/aws-service-role/", "/aws-reserved/")
# What AWS refuses on a protected role: it changes only through the service that owns it.
PROTECTED_ACTIONS = frozenset({
    "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy",
    "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
})
DESCRIPTION_TEXT = r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*"
DESCRIPTION = re.compile(DESCRIPTION_TEXT)


def is_protected(role: Role) -> bool:
    return role.path.startswith(PROTECTED_PATHS)


def check_modifiable(role: Role, action: str) -> None:
    """UnmodifiableEntity, in AWS's words, for a change to a protected role."""
    if action in PROTECTED_ACTIONS and is_protected(role):
        raise UnmodifiableEntity(f"Cannot perform the operation on the protected role "
                                 f"'{role.name}' - this role is only modifiable by AWS")
