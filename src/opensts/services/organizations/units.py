"""Organizational units: CreateOrganizationalUnit."""

from __future__ import annotations

from typing import Any

from opensts.directory.errors import AlreadyExists
from opensts.directory.records import (
    OrgUnit,
)
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    all_managed,
    error,
    in_org,
    management_org,
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
