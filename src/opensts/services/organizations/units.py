"""Organizational units and the tree: CreateOrganizationalUnit, ListParents, ListChildren."""

from __future__ import annotations

from typing import Any

from opensts.directory.errors import AlreadyExists
from opensts.directory.records import (
    OrgUnit,
)
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    ACCOUNT_ID,
    OU_ID,
    ROOT_ID,
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
    try:
        store.create_org_unit(unit, all_managed(org))
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
