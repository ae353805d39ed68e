"""IAM roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateAssumeRolePolicy,
DeleteRole, role permissions boundaries and role tags (IAM API reference)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

from opensts.credentials.ids import new_unique_id
from opensts.directory.errors import NotFound
from opensts.directory.records import Role
from opensts.errors import InvalidInput, MalformedPolicyDocument
from opensts.policy import PolicyKind
from opensts.services.context import CallContext
from opensts.services.iam.boundaries import register_boundary_operations
from opensts.services.iam.common import (
    PROTECTED_PATHS,
    TRUST_POLICY_SIZE,
    account,
    arn,
    boundary_param,
    check_policy,
    document_param,
    list_in_path,
    load_role,
    name_param,
    page_result,
    path_param,
    role_dict,
    store_errors,
    tag_context,
    tags_param,
)
from opensts.services.iam.resource import Resource
from opensts.services.iam.tagging import register_tag_operations
from opensts.services.registry import operation
from opensts.wire.params import Params, validation_error

DESCRIPTION_TEXT = r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*"
DESCRIPTION = re.compile(DESCRIPTION_TEXT)
TRUST_TOO_LARGE = f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_SIZE}"


PRINCIPAL_ARN = re.compile(r"arn:aws:iam::(\d{12}):(user|role)(/(?:[^/]+/)*)([^/]+)")


def _check_trust(ctx: CallContext, text: str) -> None:
    """Parse, size-check, and resolve IAM user/role principals.

    AWS resolves principal ARNs when the trust policy is saved ("If your Principal
    element ... contains the ARN of a specific IAM role or user, that ARN is transformed
    to a unique principal ID when the policy is saved", reference_policies_elements_
    principal) and rejects one that does not exist with "Invalid principal in policy".
    Only accounts this server knows can be checked."""
    check_policy(text, PolicyKind.TRUST, TRUST_POLICY_SIZE, TRUST_TOO_LARGE)
    statements = json.loads(text).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal") if isinstance(statement, dict) else None
        values = principal.get("AWS", []) if isinstance(principal, dict) else []
        for value in values if isinstance(values, list) else [values]:
            match = PRINCIPAL_ARN.fullmatch(value) if isinstance(value, str) else None
            if match is None:
                continue
            account_id, kind, path, name = match.groups()
            if ctx.runtime.store.find_account(account_id) is None:
                continue
            try:
                entity = (ctx.runtime.store.get_user(account_id, name) if kind == "user"
                          else ctx.runtime.store.get_role(account_id, name))
            except NotFound:
                entity = None
            if entity is None or entity.path != path:
                raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{value}"')


def _description(params: Params) -> str | None:
    return params.str("Description", max_len=1000, pattern=DESCRIPTION,
                      pattern_text=DESCRIPTION_TEXT)


def _max_session(params: Params) -> int | None:
    return params.int("MaxSessionDuration", minimum=3600, maximum=43200)


@operation("iam", "CreateRole")
def create_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = name_param(params, "RoleName")
    path = path_param(params)
    description = _description(params)
    max_session = _max_session(params) or 3600
    tags = tags_param(params)
    trust = document_param(params, "AssumeRolePolicyDocument")
    if path.startswith(PROTECTED_PATHS):
        # Only CreateServiceLinkedRole (and AWS services) create roles in these paths.
        raise InvalidInput(f"The path {path} is reserved for roles that AWS services create.")
    acct = account(ctx)
    role_arn = arn(acct, "role", path, name)
    ctx.audit.request_parameters = {"roleName": name, "path": path,
                                    "description": description,
                                    "maxSessionDuration": max_session}
    boundary = params.str("PermissionsBoundary")
    context: dict[str, str | list[str]] = tag_context(tags)
    if boundary:
        context["iam:PermissionsBoundary"] = boundary
    ctx.authorize("iam:CreateRole", role_arn, context=context)
    if tags:
        ctx.authorize("iam:TagRole", role_arn, context=tag_context(tags))
    _check_trust(ctx, trust)
    boundary = boundary_param(ctx, params)
    role = Role(acct, new_unique_id("AROA"), name, path, role_arn, ctx.meta.now, trust,
                description=description or "", max_session_duration=max_session,
                permissions_boundary=boundary, tags=tags)
    with store_errors(role=name):
        ctx.runtime.store.create_role(role)
    ctx.audit.response_elements = {"role": {"roleName": name, "roleId": role.role_id,
                                            "arn": role.arn}}
    out = role_dict(role)
    out.pop("MaxSessionDuration")  # CreateRole's answer has none; GetRole/ListRoles do
    return {"Role": out}


@operation("iam", "GetRole", read_only=True)
def get_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = name_param(params, "RoleName")
    ctx.audit.request_parameters = {"roleName": name}
    role = load_role(ctx, "iam:GetRole", name)
    # Read past the cache: the use is recorded without moving the store's generation.
    last_used = ctx.runtime.store.find_role_last_used(role.role_id)
    if last_used is not None:
        role = dataclasses.replace(role, last_used=last_used[0], last_used_region=last_used[1])
    return {"Role": role_dict(role, full=True)}


@operation("iam", "ListRoles", read_only=True)
def list_roles(ctx: CallContext, params: Params) -> dict[str, Any]:
    page = list_in_path(ctx, params, "role", "iam:ListRoles", ctx.runtime.store.list_roles)
    # ListRoles omits tags and boundaries (API_ListRoles: "not included").
    items = []
    for r in page.items:
        d = role_dict(r)
        d["Tags"] = None
        d["PermissionsBoundary"] = None
        items.append(d)
    return page_result(page, "Roles", items)


@operation("iam", "UpdateRole")
def update_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = name_param(params, "RoleName")
    description = _description(params)
    max_session = _max_session(params)
    ctx.audit.request_parameters = {"roleName": name, "description": description,
                                    "maxSessionDuration": max_session}
    role = load_role(ctx, "iam:UpdateRole", name)

    def change(r: Role) -> Role:
        return dataclasses.replace(
            r, description=r.description if description is None else description,
            max_session_duration=max_session or r.max_session_duration)

    with store_errors(role=name):
        ctx.runtime.store.update_role(account(ctx), role.name, change)
    return {}


@operation("iam", "UpdateRoleDescription")
def update_role_description(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = name_param(params, "RoleName")
    description = _description(params)
    if description is None:
        raise validation_error("Description", None, "Member must not be null")
    ctx.audit.request_parameters = {"roleName": name, "description": description}
    role = load_role(ctx, "iam:UpdateRoleDescription", name)
    with store_errors(role=name):
        updated = ctx.runtime.store.update_role(
            account(ctx), role.name, lambda r: dataclasses.replace(r, description=description))
    return {"Role": role_dict(updated)}


@operation("iam", "UpdateAssumeRolePolicy")
def update_assume_role_policy(ctx: CallContext, params: Params) -> None:
    name = name_param(params, "RoleName")
    text = document_param(params, "PolicyDocument")
    ctx.audit.request_parameters = {"roleName": name, "policyDocument": text}
    role = load_role(ctx, "iam:UpdateAssumeRolePolicy", name)
    _check_trust(ctx, text)
    with store_errors(role=name):
        ctx.runtime.store.update_role(account(ctx), role.name, lambda r: dataclasses.replace(
            r, assume_role_policy=text))


@operation("iam", "DeleteRole")
def delete_role(ctx: CallContext, params: Params) -> None:
    name = name_param(params, "RoleName")
    ctx.audit.request_parameters = {"roleName": name}
    role = load_role(ctx, "iam:DeleteRole", name)
    with store_errors(role=name):
        ctx.runtime.store.delete_role(account(ctx), role.name)


def _update(ctx: CallContext, name: str, role: Role, change: Callable[[Role], Role]) -> None:
    with store_errors(role=name):
        ctx.runtime.store.update_role(account(ctx), role.name, change)


RESOURCE = Resource(
    "Role", lambda params: name_param(params, "RoleName"), "roleName", load_role, _update)
register_tag_operations(RESOURCE)
register_boundary_operations(RESOURCE)
