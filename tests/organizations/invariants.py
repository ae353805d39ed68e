"""What must hold in the store after any crash: nothing of CreateAccount is half-done.

Read straight from a :class:`SqlStore` (not through the API): an account outside the
organization is exactly what the API cannot list.
"""

from __future__ import annotations

import sqlalchemy as sa

from opensts.directory.errors import NotFound
from opensts.store import SqlStore
from opensts.store import schema as s

ACCESS_ROLE = "OrganizationAccountAccessRole"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
SCP = "SERVICE_CONTROL_POLICY"


def broken_accounts(store: SqlStore, management: str) -> dict[str, list[str]]:
    """Every member account (all but ``management``) → what it lacks; empty when whole."""
    problems: dict[str, list[str]] = {}
    for account in store.list_accounts():
        if account.account_id == management:
            continue
        lacks: list[str] = []
        if store.find_organization_for_account(account.account_id) is None:
            lacks.append("not in the organization")
        try:
            store.get_role(account.account_id, ACCESS_ROLE)
            attached = store.list_attached_policies("role", account.account_id, ACCESS_ROLE)
            if ADMIN not in {p.arn for p in attached.items}:
                lacks.append("AdministratorAccess not attached")
        except NotFound:
            lacks.append(f"no {ACCESS_ROLE}")
        if not any(p.name == "FullAWSAccess"
                   for p in store.list_org_policies_for_target(account.account_id, SCP)):
            lacks.append("FullAWSAccess not attached")
        if lacks:
            problems[account.account_id] = lacks
    return problems


def unfinished_requests(store: SqlStore) -> list[str]:
    """Create-account requests left IN_PROGRESS, or SUCCEEDED naming no stored account."""
    t = s.create_account_status
    with store._engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.request_id, t.c.state, t.c.account_id)).all()
    known = {a.account_id for a in store.list_accounts()}
    return [f"{r.request_id} {r.state}" for r in rows
            if r.state == "IN_PROGRESS" or (r.state == "SUCCEEDED" and r.account_id not in known)]


def targets_without_managed(store: SqlStore, org_id: str) -> dict[str, list[str]]:
    """Root, OUs and accounts of the organization → the managed policies they lack:
    FullAWSAccess always, RCPFullAWSAccess while RCPs are enabled on the root."""
    org = store.get_organization(org_id)
    root = store.get_org_unit(org.root_id)
    units, frontier = [root], [root.unit_id]
    while frontier:
        children = [u for parent in frontier for u in store.list_org_units(org_id, parent)]
        units += children
        frontier = [u.unit_id for u in children]
    targets = [u.unit_id for u in units] + [a.account_id for a in store.list_org_accounts(org_id)]
    wanted = {SCP: "FullAWSAccess"}
    if "RESOURCE_CONTROL_POLICY" in root.enabled_policy_types:
        wanted["RESOURCE_CONTROL_POLICY"] = "RCPFullAWSAccess"
    problems: dict[str, list[str]] = {}
    for target in targets:
        lacks = [name for kind, name in wanted.items()
                 if name not in {p.name for p in store.list_org_policies_for_target(target, kind)}]
        if lacks:
            problems[target] = lacks
    return problems
