"""IAM groups and group membership (IAM API reference, API_CreateGroup.html and siblings)."""

from __future__ import annotations

from typing import Any

from opensts.credentials.ids import new_unique_id
from opensts.directory.errors import NotFound
from opensts.directory.records import Group
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    account,
    arn,
    group_dict,
    list_in_path,
    load_group,
    load_user,
    name_param,
    opt_name_param,
    page_result,
    paging,
    path_param,
    rename,
    store_errors,
    user_dict,
)
from opensts.services.iam.errors import not_found
from opensts.services.registry import operation
from opensts.wire.params import Params


@operation("iam", "CreateGroup")
def create_group(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = name_param(params, "GroupName", max_len=128)
    path = path_param(params)
    acct = account(ctx)
    group_arn = arn(acct, "group", path, name)
    ctx.audit.request_parameters = {"groupName": name, "path": path}
    ctx.authorize("iam:CreateGroup", group_arn)
    group = Group(acct, new_unique_id("AGPA"), name, path, group_arn, ctx.meta.now)
    with store_errors(group=name):
        ctx.runtime.store.create_group(group)
    return {"Group": group_dict(group)}


@operation("iam", "GetGroup", read_only=True)
def get_group(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = name_param(params, "GroupName", max_len=128)
    marker, max_items = paging(params)
    ctx.audit.request_parameters = {"groupName": name}
    group = load_group(ctx, "iam:GetGroup", name)
    with store_errors(group=name):
        page = ctx.runtime.store.list_group_members(account(ctx), group.name, marker=marker,
                                                    max_items=max_items)
    return {"Group": group_dict(group),
            **page_result(page, "Users", [user_dict(u) for u in page.items])}


@operation("iam", "ListGroups", read_only=True)
def list_groups(ctx: CallContext, params: Params) -> dict[str, Any]:
    page = list_in_path(ctx, params, "group", "iam:ListGroups", ctx.runtime.store.list_groups)
    return page_result(page, "Groups", [group_dict(g) for g in page.items])


@operation("iam", "UpdateGroup")
def update_group(ctx: CallContext, params: Params) -> None:
    name = name_param(params, "GroupName", max_len=128)
    new_name = opt_name_param(params, "NewGroupName", max_len=128)
    new_path = params.str("NewPath") and path_param(params, "NewPath")
    ctx.audit.request_parameters = {"groupName": name, "newGroupName": new_name,
                                    "newPath": new_path}
    group = load_group(ctx, "iam:UpdateGroup", name)
    rename(ctx, "group", "iam:UpdateGroup", group, name, new_name, new_path,
           ctx.runtime.store.update_group)


@operation("iam", "DeleteGroup")
def delete_group(ctx: CallContext, params: Params) -> None:
    name = name_param(params, "GroupName", max_len=128)
    ctx.audit.request_parameters = {"groupName": name}
    group = load_group(ctx, "iam:DeleteGroup", name)
    with store_errors(group=name):
        ctx.runtime.store.delete_group(account(ctx), group.name)


@operation("iam", "AddUserToGroup")
def add_user_to_group(ctx: CallContext, params: Params) -> None:
    group_name = name_param(params, "GroupName", max_len=128)
    user_name = name_param(params, "UserName", max_len=128)
    ctx.audit.request_parameters = {"groupName": group_name, "userName": user_name}
    group = load_group(ctx, "iam:AddUserToGroup", group_name)
    with store_errors(group=group_name, user=user_name):
        ctx.runtime.store.add_user_to_group(account(ctx), group.name, user_name)


@operation("iam", "RemoveUserFromGroup")
def remove_user_from_group(ctx: CallContext, params: Params) -> None:
    group_name = name_param(params, "GroupName", max_len=128)
    user_name = name_param(params, "UserName", max_len=128)
    ctx.audit.request_parameters = {"groupName": group_name, "userName": user_name}
    group = load_group(ctx, "iam:RemoveUserFromGroup", group_name)
    try:
        ctx.runtime.store.remove_user_from_group(account(ctx), group.name, user_name)
    except NotFound as exc:
        # AWS answers a non-member like an unknown user.
        kind = "group" if exc.kind == "group" else "user"
        raise not_found(kind, group_name if kind == "group" else user_name) from None


@operation("iam", "ListGroupsForUser", read_only=True)
def list_groups_for_user(ctx: CallContext, params: Params) -> dict[str, Any]:
    user_name = name_param(params, "UserName", max_len=128)
    marker, max_items = paging(params)
    ctx.audit.request_parameters = {"userName": user_name}
    user = load_user(ctx, "iam:ListGroupsForUser", user_name)
    with store_errors(user=user_name):
        page = ctx.runtime.store.list_groups_for_user(account(ctx), user.name, marker=marker,
                                                      max_items=max_items)
    return page_result(page, "Groups", [group_dict(g) for g in page.items])
