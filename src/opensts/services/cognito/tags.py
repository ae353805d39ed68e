"""Tags of identity pools: TagResource, UntagResource, ListTagsForResource (the pool's
``IdentityPoolTags``; resource ARN ``arn:aws:cognito-identity:REGION:ACCOUNT:identitypool/ID``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opensts.services.cognito import common as c
from opensts.services.context import CallContext
from opensts.store._cognito import IdentityPoolRow
from opensts.wire.params import Params

MAX_TAGS = 50


def _pool_of_arn(ctx: CallContext, raw: Mapping[str, Any], action: str) -> IdentityPoolRow:
    arn = c.required_text(raw, "ResourceArn", min_len=20, max_len=2048)
    ctx.audit.request_parameters = {"resourceArn": arn}
    prefix, _, pool_id = arn.partition(":identitypool/")
    parts = prefix.split(":")
    if len(parts) != 5 or parts[:3] != ["arn", "aws", "cognito-identity"] or not pool_id:
        raise c.invalid_parameter(f"Invalid ResourceArn: {arn}")
    pool = c.find_pool(ctx, pool_id)
    if parts[3:] != [ctx.meta.region, pool.account_id]:
        raise c.not_found(f"IdentityPool '{pool_id}' not found.")
    c.authorize_pool(ctx, action, pool)
    c.audit_pool(ctx, pool)
    return pool


def _save(ctx: CallContext, pool: IdentityPoolRow, tags: Mapping[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise c.invalid_parameter(f"An identity pool can have at most {MAX_TAGS} tags.")
    c.store(ctx).update_identity_pool(pool.pool_id, pool.name,
                                      {**pool.config, "IdentityPoolTags": dict(tags)})


@c.cognito_operation("TagResource")
def tag_resource(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    raw = params.raw()
    tags = c.string_map(raw, "Tags", max_items=MAX_TAGS, value_max=256, required=True)
    pool = _pool_of_arn(ctx, raw, "TagResource")
    ctx.audit.request_parameters = {**(ctx.audit.request_parameters or {}), "tags": tags}
    _save(ctx, pool, {**(pool.config.get("IdentityPoolTags") or {}), **tags})
    return {}


@c.cognito_operation("UntagResource")
def untag_resource(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    raw = params.raw()
    keys = c.string_list(raw, "TagKeys", max_len=128) or []
    pool = _pool_of_arn(ctx, raw, "UntagResource")
    ctx.audit.request_parameters = {**(ctx.audit.request_parameters or {}), "tagKeys": keys}
    current = dict(pool.config.get("IdentityPoolTags") or {})
    _save(ctx, pool, {k: v for k, v in current.items() if k not in keys})
    return {}


@c.cognito_operation("ListTagsForResource", read_only=True)
def list_tags_for_resource(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    pool = _pool_of_arn(ctx, params.raw(), "ListTagsForResource")
    return {"Tags": dict(pool.config.get("IdentityPoolTags") or {})}
