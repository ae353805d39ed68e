"""Tags of analyzers: TagResource, UntagResource, ListTagsForResource."""

from __future__ import annotations

from typing import Any

from opensts.services.accessanalyzer.common import analyzer_by_arn, body, store_of
from opensts.services.accessanalyzer.errors import invalid
from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.wire.params import Params

SERVICE = "access-analyzer"
MAX_TAGS = 50


@operation(SERVICE, "TagResource")
def tag_resource(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    tags = dict(raw["tags"])
    ctx.audit.request_parameters = {"resourceArn": raw["resourceArn"], "tags": tags}
    analyzer = analyzer_by_arn(ctx, raw["resourceArn"], "access-analyzer:TagResource")
    merged = {**analyzer.tags, **tags}
    if len(merged) > MAX_TAGS:
        raise invalid("tags", f"A resource can have at most {MAX_TAGS} tags.")
    store_of(ctx).set_analyzer_fields(analyzer.arn, tags=merged)
    return {}


@operation(SERVICE, "UntagResource")
def untag_resource(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    keys = list(raw["tagKeys"])
    ctx.audit.request_parameters = {"resourceArn": raw["resourceArn"], "tagKeys": keys}
    analyzer = analyzer_by_arn(ctx, raw["resourceArn"], "access-analyzer:UntagResource")
    remaining = {k: v for k, v in analyzer.tags.items() if k not in keys}
    store_of(ctx).set_analyzer_fields(analyzer.arn, tags=remaining)
    return {}


@operation(SERVICE, "ListTagsForResource", read_only=True)
def list_tags_for_resource(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    ctx.audit.request_parameters = {"resourceArn": raw["resourceArn"]}
    analyzer = analyzer_by_arn(ctx, raw["resourceArn"], "access-analyzer:ListTagsForResource")
    return {"tags": dict(analyzer.tags)}
