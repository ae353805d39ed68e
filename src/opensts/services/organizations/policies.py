"""Organization policies (SCPs, RCPs): Create/Describe/Update/DeletePolicy, Attach/Detach,
ListPolicies, ListPoliciesForTarget."""

from __future__ import annotations

from typing import Any

from opensts.directory.errors import AlreadyExists, NotFound
from opensts.directory.records import (
    OrgPolicy,
)
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    POLICY_TYPES,
    RCP,
    SCP,
    check_content,
    check_target,
    ensure_managed,
    error,
    find_policy,
    management_org,
    policy_summary,
    policy_type,
    public_policy_id,
    random,
    text,
)
from opensts.services.registry import operation
from opensts.wire.params import Params


@operation("organizations", "CreatePolicy")
def create_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "CreatePolicy")
    content = text(params, "Content", max_len=10_000) or ""
    name = text(params, "Name", max_len=128) or ""
    description = text(params, "Description", max_len=512) or ""
    kind = policy_type(text(params, "Type"))
    check_content(content, kind)
    policy_id = f"p-{random(8)}"
    policy = OrgPolicy(
        policy_id=policy_id,
        org_id=org.org_id,
        arn=f"arn:aws:organizations::{org.management_account_id}:policy/{org.org_id}/"
        f"{kind.arn_segment}/{policy_id}",
        name=name,
        description=description,
        type=kind.name,
        content=content,
    )
    try:
        ctx.runtime.store.create_org_policy(policy)
    except AlreadyExists:
        raise error(
            "DuplicatePolicyException", "A policy with the same name already exists."
        ) from None
    return {"Policy": {"PolicySummary": policy_summary(policy), "Content": content}}


@operation("organizations", "DescribePolicy", read_only=True)
def describe_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "DescribePolicy")
    policy = find_policy(ctx, org, text(params, "PolicyId") or "")
    summary = {**policy_summary(policy), "Id": public_policy_id(policy)}
    return {"Policy": {"PolicySummary": summary, "Content": policy.content}}


@operation("organizations", "UpdatePolicy")
def update_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "UpdatePolicy")
    policy = find_policy(ctx, org, text(params, "PolicyId") or "")
    if policy.aws_managed:
        raise error("AccessDeniedException", "You can't modify an AWS managed policy.")
    content = text(params, "Content", required=False, max_len=10_000)
    if content is not None:
        check_content(content, POLICY_TYPES[policy.type])
    name = text(params, "Name", required=False, max_len=128)
    description = text(params, "Description", required=False, max_len=512)
    updated = ctx.runtime.store.update_org_policy(
        policy.policy_id,
        lambda p: OrgPolicy(
            p.policy_id,
            p.org_id,
            p.arn,
            name or p.name,
            p.description if description is None else description,
            p.type,
            p.content if content is None else content,
            p.aws_managed,
        ),
    )
    return {"Policy": {"PolicySummary": policy_summary(updated), "Content": updated.content}}


@operation("organizations", "DeletePolicy")
def delete_policy(ctx: CallContext, params: Params) -> None:
    org = management_org(ctx, "DeletePolicy")
    policy = find_policy(ctx, org, text(params, "PolicyId") or "")
    if ctx.runtime.store.list_org_targets_for_policy(policy.policy_id):
        raise error(
            "PolicyInUseException",
            "The policy is attached to one or more entities. "
            "You must detach it from all roots, OUs, and accounts before performing "
            "this operation.",
        )
    ctx.runtime.store.delete_org_policy(policy.policy_id)
    return None


@operation("organizations", "AttachPolicy")
def attach_policy(ctx: CallContext, params: Params) -> None:
    org = management_org(ctx, "AttachPolicy")
    policy = find_policy(ctx, org, text(params, "PolicyId") or "")
    target = text(params, "TargetId") or ""
    check_target(ctx, org, target)
    try:
        ctx.runtime.store.attach_org_policy(policy.policy_id, target)
    except AlreadyExists:
        raise error(
            "DuplicatePolicyAttachmentException",
            "The selected policy is already attached to the specified target.",
        ) from None
    return None


@operation("organizations", "DetachPolicy")
def detach_policy(ctx: CallContext, params: Params) -> None:
    org = management_org(ctx, "DetachPolicy")
    policy = find_policy(ctx, org, text(params, "PolicyId") or "")
    target = text(params, "TargetId") or ""
    check_target(ctx, org, target)
    if policy.aws_managed and policy.type == RCP:
        raise error(
            "ConstraintViolationException",
            "You cannot detach RCPFullAWSAccess: it is attached to every root, OU and account "
            "while resource control policies are enabled.",
        )
    try:
        ctx.runtime.store.detach_org_policy(policy.policy_id, target)
    except NotFound:
        raise error(
            "PolicyNotAttachedException",
            "The policy isn't attached to the specified target in the specified root.",
        ) from None
    return None


@operation("organizations", "ListPolicies", read_only=True)
def list_policies(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "ListPolicies")
    kind = policy_type(text(params, "Filter"))
    if (
        kind.name == SCP
        or kind.name in ctx.runtime.store.get_org_unit(org.root_id).enabled_policy_types
    ):
        ensure_managed(ctx, org, kind)
    policies = ctx.runtime.store.list_org_policies(org.org_id, kind.name)
    return {"Policies": [{**policy_summary(p), "Id": public_policy_id(p)} for p in policies]}


@operation("organizations", "ListPoliciesForTarget", read_only=True)
def list_policies_for_target(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "ListPoliciesForTarget")
    target = text(params, "TargetId") or ""
    kind = policy_type(text(params, "Filter"))
    check_target(ctx, org, target)
    policies = ctx.runtime.store.list_org_policies_for_target(target, kind.name)
    return {"Policies": [{**policy_summary(p), "Id": public_policy_id(p)} for p in policies]}
