"""The organization and its root: CreateOrganization, DescribeOrganization, ListRoots,
EnablePolicyType, DisablePolicyType, DeleteOrganization."""

from __future__ import annotations

from typing import Any

from opensts.directory.errors import AlreadyExists, Conflict
from opensts.directory.records import (
    OrgAccount,
    Organization,
    OrgUnit,
)
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    SCP,
    all_managed,
    error,
    managed_policy,
    management_org,
    org_of,
    organization_view,
    policy_type,
    random,
    root_view,
    text,
)
from opensts.services.registry import operation
from opensts.wire.params import Params


@operation("organizations", "CreateOrganization")
def create_organization(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.require_caller()
    feature_set = text(params, "FeatureSet", required=False) or "ALL"
    if feature_set not in ("ALL", "CONSOLIDATED_BILLING"):
        raise error("InvalidInputException", "FeatureSet must be ALL or CONSOLIDATED_BILLING.")
    ctx.authorize("organizations:CreateOrganization", "*")
    store = ctx.runtime.store
    if store.find_organization_for_account(caller.account_id) is not None:
        raise error(
            "AlreadyInOrganizationException",
            "The AWS account is already a member of an organization.",
            status=409,
        )
    account = store.get_account(caller.account_id)
    org_id = f"o-{random(10)}"
    root_id = f"r-{random(4)}"
    management = caller.account_id
    now = ctx.meta.now
    org = Organization(
        org_id=org_id,
        arn=f"arn:aws:organizations::{management}:organization/{org_id}",
        management_account_id=management,
        management_account_email=account.email or f"{management}@opensts.invalid",
        feature_set=feature_set,  # type: ignore[arg-type]
        root_id=root_id,
        created=now,
    )
    root = OrgUnit(
        unit_id=root_id,
        org_id=org_id,
        arn=f"arn:aws:organizations::{management}:root/{org_id}/{root_id}",
        name="Root",
        kind="ROOT",
        parent_id=None,
    )
    member = OrgAccount(
        account_id=management,
        org_id=org_id,
        parent_id=root_id,
        arn=f"arn:aws:organizations::{management}:account/{org_id}/{management}",
        name=account.name,
        email=org.management_account_email,
        joined_method="INVITED",
        joined=now,
    )
    try:
        store.create_organization(org, root, member, all_managed(org))
    except AlreadyExists:  # a concurrent CreateOrganization of the same account won
        raise error(
            "AlreadyInOrganizationException",
            "The AWS account is already a member of an organization.",
            status=409,
        ) from None
    return {"Organization": organization_view(org, root)}


@operation("organizations", "DescribeOrganization", read_only=True)
def describe_organization(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = org_of(ctx)
    ctx.authorize("organizations:DescribeOrganization", org.arn)
    root = ctx.runtime.store.get_org_unit(org.root_id)
    return {"Organization": organization_view(org, root)}


@operation("organizations", "ListRoots", read_only=True)
def list_roots(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "ListRoots")
    return {"Roots": [root_view(ctx.runtime.store.get_org_unit(org.root_id))]}


@operation("organizations", "EnablePolicyType")
def enable_policy_type(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "EnablePolicyType")
    root_id = text(params, "RootId")
    kind = policy_type(text(params, "PolicyType"))
    if root_id != org.root_id:
        raise error(
            "RootNotFoundException", "We can't find a root with the RootId that you specified."
        )
    # Enabling RCPs attaches RCPFullAWSAccess to the root, every OU and every account, in
    # the same transaction (FullAWSAccess is attached everywhere from the start).
    managed = None if kind.name == SCP else managed_policy(org, kind)
    try:
        root = ctx.runtime.store.enable_org_policy_type(org.root_id, kind.name, managed)
    except Conflict:
        raise error(
            "PolicyTypeAlreadyEnabledException",
            "The specified policy type is already enabled.",
        ) from None
    return {"Root": root_view(root)}


@operation("organizations", "DisablePolicyType")
def disable_policy_type(ctx: CallContext, params: Params) -> dict[str, Any]:
    """Every policy of the type is detached from every target (FullAWSAccess stays attached
    everywhere, as it is while SCPs are disabled); EnablePolicyType undoes it, attaching
    only the type's managed policy again."""
    org = management_org(ctx, "DisablePolicyType")
    root_id = text(params, "RootId")
    kind = policy_type(text(params, "PolicyType"))
    if root_id != org.root_id:
        raise error(
            "RootNotFoundException", "We can't find a root with the RootId that you specified."
        )
    keep = managed_policy(org, kind).policy_id if kind.name == SCP else None
    store = ctx.runtime.store
    try:
        store.disable_org_policy_type(org.root_id, kind.name, keep)
    except Conflict:
        raise error(
            "PolicyTypeNotEnabledException",
            "The specified policy type isn't currently enabled in this root. You can't "
            "attach policies of the specified type to entities in a root until you enable "
            "that type in the root.",
        ) from None
    return {"Root": root_view(store.get_org_unit(org.root_id))}


@operation("organizations", "DeleteOrganization")
def delete_organization(ctx: CallContext, params: Params) -> None:
    """Only while the management account is the organization's only account."""
    org = management_org(ctx, "DeleteOrganization")
    try:
        ctx.runtime.store.delete_organization(org.org_id)
    except Conflict:
        raise error(
            "OrganizationNotEmptyException",
            "The organization isn't empty. To delete an organization, you must first remove "
            "all accounts except the management account.",
        ) from None
