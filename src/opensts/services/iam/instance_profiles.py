"""Instance profiles: CreateInstanceProfile, GetInstanceProfile, ListInstanceProfiles,
DeleteInstanceProfile, AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile,
ListInstanceProfilesForRole and the instance-profile tags (IAM API reference,
API_CreateInstanceProfile.html and siblings).

Quotas (reference_iam-quotas): 1000 instance profiles per account ("Cannot exceed quota for
InstanceProfilesPerAccount: 1000"), one role per instance profile, which cannot be raised
("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"). Authorization: each
``iam:<Action>`` on ``arn:aws:iam::ACCOUNT:instance-profile/PATH/NAME``; adding a role also
needs ``iam:PassRole`` on the role ("the user must have the iam:PassRole permission",
API_AddRoleToInstanceProfile).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opensts.credentials.ids import new_unique_id
from opensts.directory.errors import NotFound
from opensts.directory.records import InstanceProfile, Tags
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    account,
    arn,
    load_role,
    name_param,
    page_result,
    paging,
    path_param,
    path_prefix_param,
    render_tags,
    role_dict,
    store_errors,
    tag_context,
    tags_param,
)
from opensts.services.iam.errors import not_found
from opensts.services.iam.resource import Resource
from opensts.services.iam.tagging import register_tag_operations
from opensts.services.registry import operation
from opensts.wire.params import Params

INSTANCE_PROFILES_PER_ACCOUNT = 1000
ROLES_PER_INSTANCE_PROFILE = 1


def _name(params: Params) -> str:
    return name_param(params, "InstanceProfileName", max_len=128)


def profile_dict(p: InstanceProfile) -> dict[str, Any]:
    # The roles of an instance profile carry what identifies them and their trust policy,
    # as in AWS's get-instance-profile example (not their tags, boundary or description).
    keep = ("Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument")
    roles = [{k: v for k, v in role_dict(r).items() if k in keep} for r in p.roles]
    return {"Path": p.path, "InstanceProfileName": p.name,
            "InstanceProfileId": p.instance_profile_id, "Arn": p.arn,
            "CreateDate": p.created, "Roles": roles, "Tags": render_tags(p.tags) or None}


def resource_tags(tags: Tags, context: dict[str, str | list[str]] | None
                  ) -> dict[str, str | list[str]]:
    """aws:ResourceTag/<key>: the one tag key instance profiles, server certificates and
    MFA devices have (service authorization reference; users and roles also have
    iam:ResourceTag)."""
    merged: dict[str, str | list[str]] = {f"aws:ResourceTag/{t.key}": t.value for t in tags}
    merged.update(context or {})
    return merged


def load_profile(ctx: CallContext, action: str, name: str,
                 context: dict[str, str | list[str]] | None = None) -> InstanceProfile:
    """Authorize ``action`` on the instance profile (its ARN as it would be, when there
    is none), then return it."""
    acct = account(ctx)
    try:
        profile = ctx.runtime.store.get_instance_profile(acct, name)
    except NotFound:
        ctx.authorize(action, arn(acct, "instance-profile", "/", name), context=context)
        raise not_found("instance_profile", name) from None
    ctx.authorize(action, profile.arn, context=resource_tags(profile.tags, context))
    return profile  # type: ignore[no-any-return]


@operation("iam", "CreateInstanceProfile")
def create_instance_profile(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = _name(params)
    path = path_param(params)
    tags = tags_param(params)
    acct = account(ctx)
    profile_arn = arn(acct, "instance-profile", path, name)
    ctx.audit.request_parameters = {"instanceProfileName": name, "path": path}
    ctx.authorize("iam:CreateInstanceProfile", profile_arn, context=tag_context(tags))
    if tags:
        ctx.authorize("iam:TagInstanceProfile", profile_arn, context=tag_context(tags))
    profile = InstanceProfile(acct, new_unique_id("AIPA"), name, path, profile_arn,
                              ctx.meta.now, tags=tags)
    with store_errors(instance_profile=name):
        ctx.runtime.store.create_instance_profile(
            profile, max_per_account=INSTANCE_PROFILES_PER_ACCOUNT)
    ctx.audit.response_elements = {"instanceProfile": {
        "instanceProfileName": name, "instanceProfileId": profile.instance_profile_id,
        "arn": profile_arn, "path": path}}
    return {"InstanceProfile": profile_dict(profile)}


@operation("iam", "GetInstanceProfile", read_only=True)
def get_instance_profile(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = _name(params)
    ctx.audit.request_parameters = {"instanceProfileName": name}
    return {"InstanceProfile": profile_dict(
        load_profile(ctx, "iam:GetInstanceProfile", name))}


@operation("iam", "ListInstanceProfiles", read_only=True)
def list_instance_profiles(ctx: CallContext, params: Params) -> dict[str, Any]:
    prefix = path_prefix_param(params)
    marker, max_items = paging(params)
    acct = account(ctx)
    ctx.audit.request_parameters = {"pathPrefix": prefix}
    # No resource type (service authorization reference): authorized on "*".
    ctx.authorize("iam:ListInstanceProfiles", "*")
    with store_errors():
        page = ctx.runtime.store.list_instance_profiles(
            acct, path_prefix=prefix, marker=marker, max_items=max_items)
    return page_result(page, "InstanceProfiles", [profile_dict(p) for p in page.items])


@operation("iam", "ListInstanceProfilesForRole", read_only=True)
def list_instance_profiles_for_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    role_name = name_param(params, "RoleName")
    marker, max_items = paging(params)
    ctx.audit.request_parameters = {"roleName": role_name}
    # The action's resource type is the role (service authorization reference).
    role = load_role(ctx, "iam:ListInstanceProfilesForRole", role_name)
    with store_errors(role=role_name):
        page = ctx.runtime.store.list_instance_profiles_for_role(
            account(ctx), role.name, marker=marker, max_items=max_items)
    return page_result(page, "InstanceProfiles", [profile_dict(p) for p in page.items])


@operation("iam", "DeleteInstanceProfile")
def delete_instance_profile(ctx: CallContext, params: Params) -> None:
    name = _name(params)
    ctx.audit.request_parameters = {"instanceProfileName": name}
    profile = load_profile(ctx, "iam:DeleteInstanceProfile", name)
    with store_errors(instance_profile=name):
        ctx.runtime.store.delete_instance_profile(account(ctx), profile.name)


@operation("iam", "AddRoleToInstanceProfile")
def add_role_to_instance_profile(ctx: CallContext, params: Params) -> None:
    name = _name(params)
    role_name = name_param(params, "RoleName")
    ctx.audit.request_parameters = {"instanceProfileName": name, "roleName": role_name}
    profile = load_profile(ctx, "iam:AddRoleToInstanceProfile", name)
    acct = account(ctx)
    try:
        role = ctx.runtime.store.get_role(acct, role_name)
    except NotFound:
        raise not_found("role", role_name) from None
    ctx.authorize("iam:PassRole", role.arn)
    with store_errors(instance_profile=name, role=role_name):
        ctx.runtime.store.add_role_to_instance_profile(
            acct, profile.name, role.name, max_roles=ROLES_PER_INSTANCE_PROFILE)


@operation("iam", "RemoveRoleFromInstanceProfile")
def remove_role_from_instance_profile(ctx: CallContext, params: Params) -> None:
    name = _name(params)
    role_name = name_param(params, "RoleName")
    ctx.audit.request_parameters = {"instanceProfileName": name, "roleName": role_name}
    profile = load_profile(ctx, "iam:RemoveRoleFromInstanceProfile", name)
    with store_errors(instance_profile=name, role=role_name,
                      role_in_instance_profile=role_name):
        ctx.runtime.store.remove_role_from_instance_profile(account(ctx), profile.name,
                                                            role_name)


def _update(ctx: CallContext, name: str, profile: InstanceProfile,
            change: Callable[[InstanceProfile], InstanceProfile]) -> None:
    with store_errors(instance_profile=name):
        ctx.runtime.store.update_instance_profile(account(ctx), profile.name, change)


RESOURCE = Resource("InstanceProfile", _name, "instanceProfileName", load_profile, _update)
register_tag_operations(RESOURCE)
