"""IAM users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser, user permissions
boundaries and user tags (IAM API reference, API_CreateUser.html and siblings)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from opensts.credentials.ids import new_unique_id
from opensts.directory.records import User
from opensts.errors import ValidationError
from opensts.services.context import CallContext
from opensts.services.iam.boundaries import register_boundary_operations
from opensts.services.iam.common import (
    account,
    arn,
    boundary_param,
    list_in_path,
    load_user,
    name_param,
    opt_name_param,
    page_result,
    path_param,
    rename,
    store_errors,
    tag_context,
    tags_param,
    user_dict,
)
from opensts.services.iam.resource import Resource
from opensts.services.iam.tagging import register_tag_operations
from opensts.services.registry import operation
from opensts.wire.params import Params


@operation("iam", "CreateUser")
def create_user(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = name_param(params, "UserName")
    path = path_param(params)
    tags = tags_param(params)
    acct = account(ctx)
    user_arn = arn(acct, "user", path, name)
    ctx.audit.request_parameters = {"userName": name, "path": path}
    boundary = params.str("PermissionsBoundary")
    context: dict[str, str | list[str]] = tag_context(tags)
    if boundary:
        context["iam:PermissionsBoundary"] = boundary
    ctx.authorize("iam:CreateUser", user_arn, context=context)
    if tags:
        # Creating with tags needs tagging permission too (id_tags_users).
        ctx.authorize("iam:TagUser", user_arn, context=tag_context(tags))
    boundary = boundary_param(ctx, params)
    user = User(acct, new_unique_id("AIDA"), name, path, user_arn, ctx.meta.now,
                permissions_boundary=boundary, tags=tags)
    with store_errors(user=name):
        ctx.runtime.store.create_user(user)
    ctx.audit.response_elements = {"user": {"userName": name, "userId": user.user_id,
                                            "arn": user.arn, "path": path}}
    return {"User": user_dict(user, full=True)}


@operation("iam", "GetUser", read_only=True)
def get_user(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = opt_name_param(params, "UserName", max_len=128)
    caller = ctx.require_caller()
    if name is None:
        if caller.is_root:
            ctx.authorize("iam:GetUser", caller.arn)
            created = ctx.runtime.store.get_account(caller.account_id).created
            return {"User": {"UserId": caller.account_id, "Arn": caller.arn,
                             "CreateDate": created or ctx.meta.now}}
        if caller.type != "IAMUser" or caller.user_name is None:
            raise ValidationError("Must specify userName when calling with non-User credentials")
        name = caller.user_name
    ctx.audit.request_parameters = {"userName": name}
    user = load_user(ctx, "iam:GetUser", name)
    # Read past the cache: a sign-in records PasswordLastUsed without moving the generation.
    user = dataclasses.replace(
        user, password_last_used=ctx.runtime.store.find_password_last_used(user.user_id))
    return {"User": user_dict(user, full=True)}


@operation("iam", "ListUsers", read_only=True)
def list_users(ctx: CallContext, params: Params) -> dict[str, Any]:
    page = list_in_path(ctx, params, "user", "iam:ListUsers", ctx.runtime.store.list_users)
    return page_result(page, "Users", [user_dict(u) for u in page.items])


@operation("iam", "UpdateUser")
def update_user(ctx: CallContext, params: Params) -> None:
    name = name_param(params, "UserName", max_len=128)
    new_name = opt_name_param(params, "NewUserName")
    new_path = params.str("NewPath") and path_param(params, "NewPath")
    ctx.audit.request_parameters = {"userName": name, "newUserName": new_name,
                                    "newPath": new_path}
    user = load_user(ctx, "iam:UpdateUser", name)
    rename(ctx, "user", "iam:UpdateUser", user, name, new_name, new_path,
           ctx.runtime.store.update_user)


@operation("iam", "DeleteUser")
def delete_user(ctx: CallContext, params: Params) -> None:
    name = name_param(params, "UserName", max_len=128)
    ctx.audit.request_parameters = {"userName": name}
    user = load_user(ctx, "iam:DeleteUser", name)
    with store_errors(user=name):
        ctx.runtime.store.delete_user(account(ctx), user.name)


def _update(ctx: CallContext, name: str, user: User, change: Callable[[User], User]) -> None:
    with store_errors(user=name):
        ctx.runtime.store.update_user(account(ctx), user.name, change)


RESOURCE = Resource(
    "User", lambda params: name_param(params, "UserName", max_len=128), "userName",
    load_user, _update)
register_tag_operations(RESOURCE)
register_boundary_operations(RESOURCE)
