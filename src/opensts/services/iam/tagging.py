"""Tag<Noun>, Untag<Noun> and List<Noun>Tags of every taggable IAM resource: users, roles,
customer managed policies, SAML and OIDC providers (IAM API reference, API_TagUser.html,
API_UntagUser.html, API_ListUserTags.html and their siblings; id_tags.html).

The three operations are the same for every resource but for how it is named, loaded and
stored, which each resource module describes once (``resource.Resource``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from opensts.directory.records import Tag, Tags
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    merge_tags,
    page_of,
    page_result,
    paging,
    remove_tags,
    render_tags,
    tag_context,
    tag_keys_param,
    tags_param,
)
from opensts.services.iam.resource import Resource
from opensts.services.registry import operation
from opensts.wire.params import Params


class Tagged(Protocol):
    @property
    def tags(self) -> Tags: ...


E = TypeVar("E", bound=Tagged)


def tag_keys(tags: Tags) -> list[str]:
    return [t.key for t in tags]


def _tag_key(tag: Tag) -> str:
    return tag.key


def register_tag_operations(kind: Resource[E], *, audit_tags: Callable[[Tags], Any] = tag_keys,
                            check_mutable: Callable[[E, str], None] | None = None) -> None:
    """Registers Tag<noun>, Untag<noun> and List<noun>Tags. ``audit_tags``: what TagX's
    requestParameters record of the tags (keys, or keys and values); ``check_mutable``
    refuses a change to a resource that can be read but not changed (AWS managed
    policies), given the loaded resource and its name as requested."""

    def tag(ctx: CallContext, params: Params) -> None:
        key = kind.key_param(params)
        tags = tags_param(params)
        if not tags:
            params.required("Tags.member.1.Key")
        ctx.audit.request_parameters = {kind.audit_key: key, "tags": audit_tags(tags)}
        entity = kind.load(ctx, f"iam:Tag{kind.noun}", key, tag_context(tags))
        if check_mutable is not None:
            check_mutable(entity, key)
        kind.update(ctx, key, entity, lambda e: dataclasses.replace(  # type: ignore[type-var]
            e, tags=merge_tags(e.tags, tags)))

    def untag(ctx: CallContext, params: Params) -> None:
        key = kind.key_param(params)
        keys = tag_keys_param(params)
        if not keys:
            params.required("TagKeys.member.1")
        ctx.audit.request_parameters = {kind.audit_key: key, "tagKeys": keys}
        entity = kind.load(ctx, f"iam:Untag{kind.noun}", key, {"aws:TagKeys": keys})
        if check_mutable is not None:
            check_mutable(entity, key)
        kind.update(ctx, key, entity, lambda e: dataclasses.replace(  # type: ignore[type-var]
            e, tags=remove_tags(e.tags, keys)))

    def list_tags(ctx: CallContext, params: Params) -> dict[str, Any]:
        """"The returned list of tags is sorted by tag key" (API_ListUserTags)."""
        key = kind.key_param(params)
        marker, max_items = paging(params)
        ctx.audit.request_parameters = {kind.audit_key: key}
        entity = kind.load(ctx, f"iam:List{kind.noun}Tags", key, None)
        page = page_of(entity.tags, marker, max_items, _tag_key)
        return page_result(page, "Tags", render_tags(tuple(page.items)))

    operation("iam", f"Tag{kind.noun}")(tag)
    operation("iam", f"Untag{kind.noun}")(untag)
    operation("iam", f"List{kind.noun}Tags", read_only=True)(list_tags)
