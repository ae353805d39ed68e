"""Organizational units and the tree: Create/Describe/Update/DeleteOrganizationalUnit,
ListOrganizationalUnitsForParent, ListAccountsForParent, ListParents, ListChildren."""

from __future__ import annotations

import dataclasses
from typing import Any

from opensts.directory.errors import AlreadyExists, Conflict, NotFound
from opensts.directory.records import (
    Organization,
    OrgUnit,
)
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    ACCOUNT_ID,
    OU_ID,
    ROOT_ID,
    account_view,
    all_managed,
    enum_param,
    error,
    find_unit,
    id_param,
    in_org,
    management_only,
    management_org,
    page,
    random,
    text,
)
from opensts.services.organizations.tags import tags_on_create
from opensts.services.registry import operation
from opensts.wire.params import Params


@operation("organizations", "CreateOrganizationalUnit")
def create_organizational_unit(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "CreateOrganizationalUnit")
    parent_id = text(params, "ParentId") or ""
    name = text(params, "Name", max_len=128) or ""
    store = ctx.runtime.store
    missing = error(
        "ParentNotFoundException",
        "We can't find a root or OU with the ParentId that you specified.",
    )
    in_org(store.get_org_unit, parent_id, org, missing)
    unit_id = f"ou-{org.root_id.removeprefix('r-')}-{random(8)}"
    unit = OrgUnit(
        unit_id=unit_id,
        org_id=org.org_id,
        arn=f"arn:aws:organizations::{org.management_account_id}:ou/{org.org_id}/{unit_id}",
        name=name,
        kind="ORGANIZATIONAL_UNIT",
        parent_id=parent_id,
    )
    tags = tags_on_create(ctx, params, unit.arn)
    try:
        store.create_org_unit(unit, all_managed(org), tags)
    except AlreadyExists:
        raise error(
            "DuplicateOrganizationalUnitException",
            "An OU with the same name already exists.",
        ) from None
    return {"OrganizationalUnit": {"Id": unit.unit_id, "Arn": unit.arn, "Name": unit.name}}


CHILD_NOT_FOUND = ("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS "
                   "account with the ChildId that you specified.")
PARENT_NOT_FOUND = ("ParentNotFoundException",
                    "We can't find a root or OU with the ParentId that you specified.")


@operation("organizations", "ListParents", read_only=True)
def list_parents(ctx: CallContext, params: Params) -> dict[str, Any]:
    """The one parent (root or OU) of an account or OU."""
    org = management_only(ctx)
    child_id = id_param(params, "ChildId", ACCOUNT_ID, OU_ID) or ""
    store = ctx.runtime.store
    missing = error(*CHILD_NOT_FOUND)
    if ACCOUNT_ID.fullmatch(child_id):
        member = in_org(store.get_org_account, child_id, org, missing)
        child_arn, parent_id = member.arn, member.parent_id
    else:
        unit = find_unit(ctx, org, child_id, missing)
        child_arn, parent_id = unit.arn, unit.parent_id or ""
    ctx.authorize("organizations:ListParents", child_arn)
    parent = store.get_org_unit(parent_id)
    return page(params, [parent], lambda u: u.unit_id, "Parents",
                lambda u: {"Id": u.unit_id, "Type": u.kind})


@operation("organizations", "ListChildren", read_only=True)
def list_children(ctx: CallContext, params: Params) -> dict[str, Any]:
    """The accounts or the OUs directly under a root or OU."""
    org = management_only(ctx)
    parent_id = id_param(params, "ParentId", ROOT_ID, OU_ID) or ""
    child_type = enum_param(params, "ChildType", ("ACCOUNT", "ORGANIZATIONAL_UNIT"))
    parent = find_unit(ctx, org, parent_id, error(*PARENT_NOT_FOUND))
    ctx.authorize("organizations:ListChildren", parent.arn)
    store = ctx.runtime.store
    if child_type == "ACCOUNT":
        ids = [m.account_id for m in store.list_org_accounts(org.org_id, parent.unit_id)]
    else:
        ids = [u.unit_id for u in store.list_org_units(org.org_id, parent.unit_id)]
    return page(params, ids, str, "Children", lambda i: {"Id": i, "Type": child_type})


OU_NOT_FOUND = ("OrganizationalUnitNotFoundException",
                "We can't find an OU with the OrganizationalUnitId that you specified.")


def _unit_view(unit: OrgUnit) -> dict[str, Any]:
    return {"Id": unit.unit_id, "Arn": unit.arn, "Name": unit.name}


def _named_unit(ctx: CallContext, action: str, params: Params) -> tuple[Organization, OrgUnit]:
    org = management_only(ctx)
    unit_id = id_param(params, "OrganizationalUnitId", OU_ID) or ""
    unit = find_unit(ctx, org, unit_id, error(*OU_NOT_FOUND))
    ctx.authorize(f"organizations:{action}", unit.arn)
    return org, unit


@operation("organizations", "DescribeOrganizationalUnit", read_only=True)
def describe_organizational_unit(ctx: CallContext, params: Params) -> dict[str, Any]:
    _, unit = _named_unit(ctx, "DescribeOrganizationalUnit", params)
    return {"OrganizationalUnit": _unit_view(unit)}


@operation("organizations", "UpdateOrganizationalUnit")
def update_organizational_unit(ctx: CallContext, params: Params) -> dict[str, Any]:
    org, unit = _named_unit(ctx, "UpdateOrganizationalUnit", params)
    name = text(params, "Name", required=False, max_len=128)
    if name is None or name == unit.name:
        return {"OrganizationalUnit": _unit_view(unit)}
    store = ctx.runtime.store
    if any(u.name == name for u in store.list_org_units(org.org_id, unit.parent_id)):
        raise error("DuplicateOrganizationalUnitException",
                    "An OU with the same name already exists.")
    updated = store.update_org_unit(unit.unit_id, lambda u: dataclasses.replace(u, name=name))
    return {"OrganizationalUnit": _unit_view(updated)}


@operation("organizations", "DeleteOrganizationalUnit")
def delete_organizational_unit(ctx: CallContext, params: Params) -> None:
    _, unit = _named_unit(ctx, "DeleteOrganizationalUnit", params)
    store = ctx.runtime.store
    try:
        store.delete_org_unit(unit.unit_id)
    except Conflict:
        raise error("OrganizationalUnitNotEmptyException",
                    "The specified OU is not empty. Move all accounts to another root or to "
                    "other OUs, remove all child OUs, and try the operation again.") from None
    except NotFound:
        raise error(*OU_NOT_FOUND) from None


def _parent(ctx: CallContext, params: Params, action: str) -> tuple[Organization, OrgUnit]:
    org = management_only(ctx)
    parent_id = id_param(params, "ParentId", ROOT_ID, OU_ID) or ""
    parent = find_unit(ctx, org, parent_id, error(*PARENT_NOT_FOUND))
    ctx.authorize(f"organizations:{action}", parent.arn)
    return org, parent


@operation("organizations", "ListOrganizationalUnitsForParent", read_only=True)
def list_organizational_units_for_parent(ctx: CallContext, params: Params) -> dict[str, Any]:
    org, parent = _parent(ctx, params, "ListOrganizationalUnitsForParent")
    units = ctx.runtime.store.list_org_units(org.org_id, parent.unit_id)
    return page(params, units, lambda u: u.unit_id, "OrganizationalUnits", _unit_view)


@operation("organizations", "ListAccountsForParent", read_only=True)
def list_accounts_for_parent(ctx: CallContext, params: Params) -> dict[str, Any]:
    org, parent = _parent(ctx, params, "ListAccountsForParent")
    members = ctx.runtime.store.list_org_accounts(org.org_id, parent.unit_id)
    return page(params, members, lambda m: m.account_id, "Accounts", account_view)
