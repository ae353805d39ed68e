"""Tags of roots, OUs, accounts and policies: TagResource, UntagResource,
ListTagsForResource (Organizations API reference; keys are case-sensitive here, unlike
IAM's, and at most 50 tags per resource)."""

from __future__ import annotations

from typing import Any

from opensts.directory.errors import QuotaExceeded
from opensts.directory.records import Organization, Tag, Tags
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    ACCOUNT_ID,
    MANAGED_IDS,
    OU_ID,
    POLICY_ID,
    ROOT_ID,
    error,
    id_param,
    management_only,
    page,
    target_arn,
)
from opensts.services.registry import operation
from opensts.wire.params import Params

TAGS_MAX = 50


def _resource(ctx: CallContext, params: Params, action: str,
              context: dict[str, str | list[str]] | None = None) -> tuple[Organization, str]:
    org = management_only(ctx)
    resource_id = id_param(params, "ResourceId", ROOT_ID, ACCOUNT_ID, OU_ID, POLICY_ID) or ""
    ctx.audit.request_parameters = {"resourceId": resource_id}
    missing = error("TargetNotFoundException",
                    "We can't find a root, OU, account, or policy with the TargetId that you "
                    "specified.")
    arn = target_arn(ctx, org, resource_id, missing)
    existing = ctx.runtime.store.list_org_tags(resource_id)
    merged: dict[str, str | list[str]] = {f"aws:ResourceTag/{t.key}": t.value for t in existing}
    merged.update(context or {})
    ctx.authorize(f"organizations:{action}", arn, context=merged)
    if resource_id in MANAGED_IDS and action != "ListTagsForResource":
        raise error("InvalidInputException", "You can't tag an AWS managed policy.")
    return org, resource_id


def _tags(params: Params, *, required: bool = True) -> Tags:
    raw = params.raw().get("Tags")
    if raw is None and not required:
        return ()
    if not isinstance(raw, list):
        raise error("InvalidInputException", "You must specify a value for Tags.")
    if len(raw) > TAGS_MAX:
        raise error("ConstraintViolationException",
                    "You have exceeded the number of tags allowed on this resource.")
    tags: list[Tag] = []
    for item in raw:
        key = item.get("Key") if isinstance(item, dict) else None
        value = item.get("Value") if isinstance(item, dict) else None
        if not isinstance(key, str) or not isinstance(value, str):
            raise error("InvalidInputException", "You must specify a Key and a Value for each "
                        "tag.")
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise error("InvalidInputException", "You provided a string parameter that is "
                        "longer than allowed." if key else "You provided a string parameter "
                        "that is shorter than allowed.")
        if key.startswith("aws:"):
            raise error("InvalidInputException",
                        "You specified a tag key that is a system tag.")
        if any(t.key == key for t in tags):
            raise error("InvalidInputException", "Tag keys must be unique among the tags "
                        "attached to the same entity.")
        tags.append(Tag(key, value))
    return tuple(tags)


def _request_context(tags: Tags) -> dict[str, str | list[str]]:
    context: dict[str, str | list[str]] = {f"aws:RequestTag/{t.key}": t.value for t in tags}
    context["aws:TagKeys"] = [t.key for t in tags]
    return context


def tags_on_create(ctx: CallContext, params: Params, arn: str) -> Tags:
    """The optional Tags of CreateAccount, CreateOrganizationalUnit and CreatePolicy, checked
    and authorized (organizations:TagResource on the new resource) before it is created."""
    tags = _tags(params, required=False)
    if tags:
        ctx.authorize("organizations:TagResource", arn, context=_request_context(tags))
    return tags


@operation("organizations", "TagResource")
def tag_resource(ctx: CallContext, params: Params) -> None:
    tags = _tags(params)
    org, resource_id = _resource(ctx, params, "TagResource", _request_context(tags))
    try:
        ctx.runtime.store.tag_org_resource(org.org_id, resource_id, tags)
    except QuotaExceeded:
        raise error("ConstraintViolationException",
                    "You have exceeded the number of tags allowed on this resource.") from None


@operation("organizations", "UntagResource")
def untag_resource(ctx: CallContext, params: Params) -> None:
    keys = params.raw().get("TagKeys")
    if not isinstance(keys, list) or not all(isinstance(k, str) and 1 <= len(k) <= 128
                                             for k in keys):
        raise error("InvalidInputException", "You must specify a value for TagKeys.")
    _, resource_id = _resource(ctx, params, "UntagResource", {"aws:TagKeys": list(keys)})
    ctx.runtime.store.untag_org_resource(resource_id, list(keys))


@operation("organizations", "ListTagsForResource", read_only=True)
def list_tags_for_resource(ctx: CallContext, params: Params) -> dict[str, Any]:
    _, resource_id = _resource(ctx, params, "ListTagsForResource")
    tags = list(ctx.runtime.store.list_org_tags(resource_id))
    return page(params, tags, lambda t: t.key, "Tags",
                lambda t: {"Key": t.key, "Value": t.value}, limit=TAGS_MAX)
