"""GetAccountAuthorizationDetails (IAM API reference): every user, group, role and managed
policy of the account with their policies, in one paged listing.

Entities come in the order users, groups, roles, policies; MaxItems counts entities across
the four lists and the Marker resumes after the last one returned. Policy documents are
URL-encoded (RFC 3986) as the reference says. Customer managed policies are listed whether
attached or not; AWS managed policies only while attached to something in the account.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from opensts.directory.records import EntityKind, Group, ManagedPolicy, Role, User
from opensts.errors import InvalidInput
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    MARKER,
    MARKER_TEXT,
    account,
    boundary_dict,
    encode_document,
    every,
    render_tags,
)
from opensts.services.registry import operation
from opensts.wire.params import Params, validation_error

FILTERS = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
Entity = User | Group | Role | ManagedPolicy


def _offset(params: Params) -> tuple[int, int]:
    marker = params.str("Marker", min_len=1, max_len=320, pattern=MARKER,
                        pattern_text=MARKER_TEXT)
    max_items = params.int("MaxItems", minimum=1, maximum=1000) or 100
    if marker is None:
        return 0, max_items
    try:
        decoded = base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    prefix, _, number = decoded.partition(":")
    if prefix != "gaad" or not number.isdigit():
        raise InvalidInput("Invalid Marker.")
    return int(number), max_items


def _filters(params: Params) -> set[str]:
    chosen = params.strings("Filter")
    for i, value in enumerate(chosen, start=1):
        if value not in FILTERS:
            raise validation_error(f"Filter.{i}.member", value,
                                   f"Member must satisfy enum value set: [{', '.join(FILTERS)}]")
    return set(chosen) or set(FILTERS)


def _inline(ctx: CallContext, kind: EntityKind, name: str) -> list[dict[str, str]]:
    store = ctx.runtime.store
    acct = account(ctx)
    names = every(lambda **kw: store.list_inline_policies(kind, acct, name, **kw))
    return [{"PolicyName": n,
             "PolicyDocument": encode_document(
                 store.get_inline_policy(kind, acct, name, n).document)} for n in names]


def _attached(ctx: CallContext, kind: EntityKind, name: str) -> list[dict[str, str]]:
    store = ctx.runtime.store
    acct = account(ctx)
    return [{"PolicyName": a.name, "PolicyArn": a.arn}
            for a in every(lambda **kw: store.list_attached_policies(kind, acct, name, **kw))]


def _user(ctx: CallContext, u: User) -> dict[str, Any]:
    store = ctx.runtime.store
    groups = every(lambda **kw: store.list_groups_for_user(u.account_id, u.name, **kw))
    return {"Path": u.path, "UserName": u.name, "UserId": u.user_id, "Arn": u.arn,
            "CreateDate": u.created, "UserPolicyList": _inline(ctx, "user", u.name),
            "GroupList": [g.name for g in groups],
            "AttachedManagedPolicies": _attached(ctx, "user", u.name),
            "PermissionsBoundary": boundary_dict(u.permissions_boundary),
            "Tags": render_tags(u.tags)}


def _group(ctx: CallContext, g: Group) -> dict[str, Any]:
    return {"Path": g.path, "GroupName": g.name, "GroupId": g.group_id, "Arn": g.arn,
            "CreateDate": g.created, "GroupPolicyList": _inline(ctx, "group", g.name),
            "AttachedManagedPolicies": _attached(ctx, "group", g.name)}


def _role(ctx: CallContext, r: Role) -> dict[str, Any]:
    last_used = ctx.runtime.store.find_role_last_used(r.role_id)
    return {"Path": r.path, "RoleName": r.name, "RoleId": r.role_id, "Arn": r.arn,
            "CreateDate": r.created,
            "AssumeRolePolicyDocument": encode_document(r.assume_role_policy),
            # Instance profiles are not served by this branch of OpenSTS yet.
            "InstanceProfileList": [],
            "RolePolicyList": _inline(ctx, "role", r.name),
            "AttachedManagedPolicies": _attached(ctx, "role", r.name),
            "PermissionsBoundary": boundary_dict(r.permissions_boundary),
            "Tags": render_tags(r.tags),
            "RoleLastUsed": ({"LastUsedDate": last_used[0], "Region": last_used[1]}
                             if last_used else {})}


def _policy(ctx: CallContext, p: ManagedPolicy) -> dict[str, Any]:
    versions = ctx.runtime.store.list_policy_versions(p.arn)
    return {"PolicyName": p.name, "PolicyId": p.policy_id, "Arn": p.arn, "Path": p.path,
            "DefaultVersionId": p.default_version_id, "AttachmentCount": p.attachment_count,
            "PermissionsBoundaryUsageCount": p.boundary_usage_count,
            "IsAttachable": p.is_attachable, "Description": p.description or None,
            "CreateDate": p.created, "UpdateDate": p.updated,
            "PolicyVersionList": [{"Document": encode_document(v.document),
                                   "VersionId": v.version_id,
                                   "IsDefaultVersion": v.is_default,
                                   "CreateDate": v.created} for v in versions]}


@operation("iam", "GetAccountAuthorizationDetails", read_only=True)
def get_account_authorization_details(ctx: CallContext, params: Params) -> dict[str, Any]:
    chosen = _filters(params)
    offset, max_items = _offset(params)
    ctx.authorize("iam:GetAccountAuthorizationDetails", "*")
    acct = account(ctx)
    store = ctx.runtime.store
    entities: list[tuple[str, Entity]] = []
    if "User" in chosen:
        entities += [("user", u) for u in every(lambda **kw: store.list_users(acct, **kw))]
    if "Group" in chosen:
        entities += [("group", g) for g in every(lambda **kw: store.list_groups(acct, **kw))]
    if "Role" in chosen:
        entities += [("role", r) for r in every(lambda **kw: store.list_roles(acct, **kw))]
    if "LocalManagedPolicy" in chosen:
        entities += [("policy", p) for p in every(
            lambda **kw: store.list_policies(acct, scope="Local", **kw))]
    if "AWSManagedPolicy" in chosen:
        entities += [("policy", p) for p in every(
            lambda **kw: store.list_policies(acct, scope="AWS", only_attached=True, **kw))]
    page = entities[offset:offset + max_items]
    render: dict[str, tuple[str, Callable[[CallContext, Any], dict[str, Any]]]] = {
        "user": ("UserDetailList", _user), "group": ("GroupDetailList", _group),
        "role": ("RoleDetailList", _role), "policy": ("Policies", _policy)}
    out: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                           "Policies": []}
    for kind, entity in page:
        field, view = render[kind]
        out[field].append(view(ctx, entity))
    end = offset + len(page)
    out["IsTruncated"] = end < len(entities)
    if out["IsTruncated"]:
        out["Marker"] = base64.urlsafe_b64encode(f"gaad:{end}".encode()).decode()
    return out
