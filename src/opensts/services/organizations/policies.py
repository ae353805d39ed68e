"""Organization policies (SCPs, RCPs): Create/Describe/Update/DeletePolicy, Attach/Detach,
ListPolicies, ListPoliciesForTarget, ListTargetsForPolicy, DescribeEffectivePolicy."""

from __future__ import annotations

from typing import Any

from opensts.directory.errors import AlreadyExists, NotFound
from opensts.directory.records import (
    OrgPolicy,
)
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    ACCOUNT_ID,
    OU_ID,
    POLICY_ID,
    POLICY_TYPES,
    RCP,
    ROOT_ID,
    SCP,
    check_content,
    check_target,
    ensure_managed,
    enum_param,
    error,
    find_policy,
    id_param,
    management_only,
    management_org,
    org_of,
    page,
    policy_summary,
    policy_type,
    public_policy_id,
    random,
    target_arn,
    text,
)
from opensts.services.organizations.tags import tags_on_create
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
    tags = tags_on_create(ctx, params, policy.arn)
    try:
        ctx.runtime.store.create_org_policy(policy, tags)
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


@operation("organizations", "ListTargetsForPolicy", read_only=True)
def list_targets_for_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    """The roots, OUs and accounts a policy is attached to."""
    org = management_only(ctx)
    policy_id = id_param(params, "PolicyId", POLICY_ID) or ""
    policy = find_policy(ctx, org, policy_id)
    ctx.authorize("organizations:ListTargetsForPolicy", policy.arn)
    store = ctx.runtime.store
    targets = []
    for target_id in store.list_org_targets_for_policy(policy.policy_id):
        try:
            if ACCOUNT_ID.fullmatch(target_id):
                member = store.get_org_account(target_id)
                targets.append({"TargetId": target_id, "Arn": member.arn, "Name": member.name,
                                "Type": "ACCOUNT"})
            else:
                unit = store.get_org_unit(target_id)
                targets.append({"TargetId": target_id, "Arn": unit.arn, "Name": unit.name,
                                "Type": unit.kind})
        except NotFound:  # detached meanwhile with its target
            continue
    return page(params, targets, lambda t: t["TargetId"], "Targets", lambda t: t)


# DescribeEffectivePolicy "applies only to management policies. It does not apply to
# authorization policies: service control policies (SCPs) and resource control policies
# (RCPs)" (API_DescribeEffectivePolicy): the PolicyType enum of the model.
MANAGEMENT_POLICY_TYPES = (
    "TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY", "CHATBOT_POLICY",
    "DECLARATIVE_POLICY_EC2", "SECURITYHUB_POLICY", "SECURITYHUB_CSPM_POLICY",
    "INSPECTOR_POLICY", "UPGRADE_ROLLOUT_POLICY", "BEDROCK_POLICY", "S3_POLICY",
    "NETWORK_SECURITY_DIRECTOR_POLICY", "GUARDDUTY_POLICY",
)


@operation("organizations", "DescribeEffectivePolicy", read_only=True)
def describe_effective_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    """Any account of the organization may ask for its own account; another target needs
    the management account. OpenSTS manages none of the management policy types, so none
    can be enabled or attached: the answer is always EffectivePolicyNotFoundException."""
    org = org_of(ctx)
    caller = ctx.require_caller()
    policy_type = enum_param(params, "PolicyType", MANAGEMENT_POLICY_TYPES)
    target_id = id_param(params, "TargetId", ROOT_ID, ACCOUNT_ID, OU_ID, required=False)
    target_id = target_id or caller.account_id
    if target_id != caller.account_id:
        management_only(ctx)
    missing = error("TargetNotFoundException",
                    "We can't find a root, OU, account, or policy with the TargetId that you "
                    "specified.")
    ctx.authorize("organizations:DescribeEffectivePolicy",
                  target_arn(ctx, org, target_id, missing))
    raise error("EffectivePolicyNotFoundException",
                f"No effective policy of type {policy_type} applies to {target_id}: the "
                "policy type is not enabled.")
