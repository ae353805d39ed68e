"""AWS Organizations: the organization tree, member accounts and organization policies."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from typing import Any

import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, Conflict, NotFound
from opensts.directory.records import (
    CreateAccountStatus,
    OrgAccount,
    Organization,
    OrgPolicy,
    OrgUnit,
    Tags,
)
from opensts.store import schema as s
from opensts.store._base import SqlBase
from opensts.store._org_extras import delete_org_tags, insert_org_tags

SCP = "SERVICE_CONTROL_POLICY"
_o = s.organizations
_ou = s.org_units
_oa = s.org_accounts
_op = s.org_policies
_opa = s.org_policy_attachments


def _org(r: Any) -> Organization:
    return Organization(r.org_id, r.arn, r.management_account_id, r.management_email,
                        r.feature_set, r.root_id, r.created)


def _unit(r: Any) -> OrgUnit:
    return OrgUnit(r.unit_id, r.org_id, r.arn, r.name, r.kind, r.parent_id,
                   tuple(r.policy_types or ()))


def _unit_values(u: OrgUnit) -> dict[str, Any]:
    return {"unit_id": u.unit_id, "org_id": u.org_id, "arn": u.arn, "name": u.name,
            "kind": u.kind, "parent_id": u.parent_id,
            "policy_types": list(u.enabled_policy_types)}


def _member(r: Any) -> OrgAccount:
    return OrgAccount(r.account_id, r.org_id, r.parent_id, r.arn, r.name, r.email,
                      r.joined_method, r.joined, r.status)


def _member_values(m: OrgAccount) -> dict[str, Any]:
    return {"account_id": m.account_id, "org_id": m.org_id, "parent_id": m.parent_id,
            "arn": m.arn, "name": m.name, "email": m.email, "joined_method": m.joined_method,
            "joined": m.joined, "status": m.status}


def _policy(r: Any) -> OrgPolicy:
    return OrgPolicy(r.policy_id, r.org_id, r.arn, r.name, r.description, r.type, r.content,
                     bool(r.aws_managed))


def _policy_values(p: OrgPolicy) -> dict[str, Any]:
    return {"policy_id": p.policy_id, "org_id": p.org_id, "arn": p.arn, "name": p.name,
            "description": p.description, "type": p.type, "content": p.content,
            "aws_managed": p.aws_managed}


def _status_values(status: CreateAccountStatus) -> dict[str, Any]:
    return {"request_id": status.request_id, "org_id": status.org_id,
            "account_name": status.account_name, "state": status.state,
            "requested": status.requested, "completed": status.completed,
            "account_id": status.account_id, "failure_reason": status.failure_reason}


class OrgsMixin(SqlBase):
    # -- helpers shared by the mutations that create a target ------------------------------
    def _root_for_update(self, conn: sa.Connection, org_id: str) -> OrgUnit:
        """The organization's root, locked. Creating a target (account, OU) and enabling a
        policy type both take this lock first, so a new target gets the managed policies
        of every type enabled when it commits, never of a state changed meanwhile."""
        return _unit(self._one(conn, sa.select(_ou).where(
            _ou.c.org_id == org_id, _ou.c.kind == "ROOT").with_for_update(), "org_unit", org_id))

    def _attach_managed(
        self, conn: sa.Connection, enabled: Collection[str], target_id: str,
        managed: Sequence[OrgPolicy],
    ) -> None:
        """Attach (storing it first if missing) the managed policy of each type in
        ``enabled``, and FullAWSAccess always: AWS attaches it to every root, OU and
        account even while SCPs are disabled."""
        for policy in managed:
            if policy.type == SCP or policy.type in enabled:
                self._ensure_org_policy(conn, policy)
                self._link_org_policy(conn, policy.policy_id, target_id)

    def _ensure_org_policy(self, conn: sa.Connection, policy: OrgPolicy) -> None:
        if conn.execute(sa.select(_op.c.policy_id).where(
                _op.c.policy_id == policy.policy_id)).first() is None:
            self._insert(conn, _op, _policy_values(policy), "org_policy", policy.policy_id)

    def _link_org_policy(self, conn: sa.Connection, policy_id: str, target_id: str) -> None:
        """Attach, idempotently."""
        if conn.execute(sa.select(_opa.c.policy_id).where(
                _opa.c.policy_id == policy_id, _opa.c.target_id == target_id)).first() is None:
            conn.execute(sa.insert(_opa).values(policy_id=policy_id, target_id=target_id))

    # -- the organization --------------------------------------------------------------------
    def create_organization(
        self, org: Organization, root: OrgUnit, management: OrgAccount,
        managed: Sequence[OrgPolicy] = (),
    ) -> None:
        with self._write() as conn:
            if conn.execute(sa.select(_oa.c.account_id).where(
                    _oa.c.account_id == org.management_account_id)).first():
                raise AlreadyExists("organization", org.management_account_id)
            self._insert(conn, _o, {
                "org_id": org.org_id, "arn": org.arn,
                "management_account_id": org.management_account_id,
                "management_email": org.management_account_email,
                "feature_set": org.feature_set, "root_id": org.root_id, "created": org.created,
            }, "organization", org.management_account_id)
            conn.execute(sa.insert(_ou).values(**_unit_values(root)))
            conn.execute(sa.insert(_oa).values(**_member_values(management)))
            for target in (root.unit_id, management.account_id):
                self._attach_managed(conn, root.enabled_policy_types, target, managed)

    def get_organization(self, org_id: str) -> Organization:
        with self._read() as conn:
            return _org(self._one(conn, sa.select(_o).where(_o.c.org_id == org_id),
                                  "organization", org_id))

    def find_organization_for_account(self, account_id: str) -> Organization | None:
        with self._read() as conn:
            r = conn.execute(sa.select(_o).join(_oa, _oa.c.org_id == _o.c.org_id)
                             .where(_oa.c.account_id == account_id)).first()
        return None if r is None else _org(r)

    def delete_organization(self, org_id: str) -> None:
        """Organizations DeleteOrganization: only the management account may remain."""
        with self._write() as conn:
            org = _org(self._one(conn, sa.select(_o).where(_o.c.org_id == org_id)
                                 .with_for_update(), "organization", org_id))
            others = conn.execute(sa.select(sa.func.count()).select_from(_oa).where(
                _oa.c.org_id == org_id, _oa.c.account_id != org.management_account_id)
            ).scalar_one()
            if others:
                raise Conflict("not_empty", org_id)
            policy_ids = sa.select(_op.c.policy_id).where(_op.c.org_id == org_id)
            conn.execute(sa.delete(_opa).where(_opa.c.policy_id.in_(policy_ids)))
            conn.execute(sa.delete(_op).where(_op.c.org_id == org_id))
            conn.execute(sa.delete(_oa).where(_oa.c.org_id == org_id))
            conn.execute(sa.delete(_ou).where(_ou.c.org_id == org_id))
            conn.execute(sa.delete(s.create_account_status).where(
                s.create_account_status.c.org_id == org_id))
            for table in (s.org_tags, s.org_delegated_admins, s.org_service_access):
                conn.execute(sa.delete(table).where(table.c.org_id == org_id))
            conn.execute(sa.delete(_o).where(_o.c.org_id == org_id))

    # -- tree ------------------------------------------------------------------------------
    def create_org_unit(self, unit: OrgUnit, managed: Sequence[OrgPolicy] = (),
                        tags: Tags = ()) -> None:
        with self._write() as conn:
            enabled: tuple[str, ...] = ()
            if managed:
                enabled = self._root_for_update(conn, unit.org_id).enabled_policy_types
            if unit.parent_id is not None:
                self._one(conn, sa.select(_ou.c.unit_id).where(_ou.c.unit_id == unit.parent_id),
                          "org_unit", unit.parent_id)
                clash = conn.execute(sa.select(_ou.c.unit_id).where(
                    _ou.c.parent_id == unit.parent_id, _ou.c.name == unit.name)).first()
                if clash is not None:
                    raise AlreadyExists("org_unit", unit.name)
            self._insert(conn, _ou, _unit_values(unit), "org_unit", unit.unit_id)
            self._attach_managed(conn, enabled, unit.unit_id, managed)
            insert_org_tags(conn, unit.org_id, unit.unit_id, tags)

    def get_org_unit(self, unit_id: str) -> OrgUnit:
        with self._read() as conn:
            return _unit(self._one(conn, sa.select(_ou).where(_ou.c.unit_id == unit_id),
                                   "org_unit", unit_id))

    def list_org_units(self, org_id: str, parent_id: str | None = None) -> list[OrgUnit]:
        q = sa.select(_ou).where(_ou.c.org_id == org_id)
        q = q.where(_ou.c.parent_id.is_(None) if parent_id is None
                    else _ou.c.parent_id == parent_id)
        with self._read() as conn:
            return [_unit(r) for r in conn.execute(q.order_by(_ou.c.name))]

    def update_org_unit(self, unit_id: str, fn: Callable[[OrgUnit], OrgUnit]) -> OrgUnit:
        with self._write() as conn:
            old = _unit(self._one(conn, sa.select(_ou).where(_ou.c.unit_id == unit_id)
                                  .with_for_update(), "org_unit", unit_id))
            new = fn(old)
            conn.execute(sa.update(_ou).where(_ou.c.unit_id == unit_id).values(
                name=new.name, policy_types=list(new.enabled_policy_types)))
            return new

    def enable_org_policy_type(
        self, root_id: str, policy_type: str, managed: OrgPolicy | None = None
    ) -> OrgUnit:
        with self._write() as conn:
            root = _unit(self._one(conn, sa.select(_ou).where(_ou.c.unit_id == root_id)
                                   .with_for_update(), "org_unit", root_id))
            if policy_type in root.enabled_policy_types:
                raise Conflict("policy_type_enabled", policy_type)
            root = dataclasses.replace(
                root, enabled_policy_types=(*root.enabled_policy_types, policy_type))
            conn.execute(sa.update(_ou).where(_ou.c.unit_id == root_id).values(
                policy_types=list(root.enabled_policy_types)))
            if managed is not None:
                self._ensure_org_policy(conn, managed)
                units = sa.select(_ou.c.unit_id).where(_ou.c.org_id == root.org_id)
                accounts = sa.select(_oa.c.account_id).where(_oa.c.org_id == root.org_id)
                for target in conn.execute(sa.union_all(units, accounts)).scalars().all():
                    self._link_org_policy(conn, managed.policy_id, target)
            return root

    def delete_org_unit(self, unit_id: str) -> None:
        with self._write() as conn:
            self._one(conn, sa.select(_ou.c.unit_id).where(_ou.c.unit_id == unit_id)
                      .with_for_update(), "org_unit", unit_id)
            children = conn.execute(sa.select(sa.func.count()).select_from(_ou).where(
                _ou.c.parent_id == unit_id)).scalar_one()
            members = conn.execute(sa.select(sa.func.count()).select_from(_oa).where(
                _oa.c.parent_id == unit_id)).scalar_one()
            if children or members:
                raise Conflict("org_children", unit_id)
            conn.execute(sa.delete(_opa).where(_opa.c.target_id == unit_id))
            delete_org_tags(conn, unit_id)
            conn.execute(sa.delete(_ou).where(_ou.c.unit_id == unit_id))

    # -- member accounts -------------------------------------------------------------------
    def add_org_account(self, member: OrgAccount) -> None:
        with self._write() as conn:
            self._insert_org_account(conn, member)

    def _insert_org_account(self, conn: sa.Connection, member: OrgAccount) -> None:
        # The parent is locked so that a concurrent DeleteOrganizationalUnit, which locks
        # it and then counts its members, cannot orphan the new member.
        self._one(conn, sa.select(_ou.c.unit_id).where(_ou.c.unit_id == member.parent_id)
                  .with_for_update(), "org_unit", member.parent_id)
        if conn.execute(sa.select(_oa.c.account_id).where(
                _oa.c.account_id == member.account_id)).first():
            raise AlreadyExists("org_account", member.account_id)
        self._insert(conn, _oa, _member_values(member), "org_account", member.account_id)

    def get_org_account(self, account_id: str) -> OrgAccount:
        with self._read() as conn:
            return _member(self._one(conn, sa.select(_oa).where(_oa.c.account_id == account_id),
                                     "org_account", account_id))

    def list_org_accounts(self, org_id: str, parent_id: str | None = None) -> list[OrgAccount]:
        q = sa.select(_oa).where(_oa.c.org_id == org_id)
        if parent_id is not None:
            q = q.where(_oa.c.parent_id == parent_id)
        with self._read() as conn:
            return [_member(r) for r in conn.execute(q.order_by(_oa.c.joined, _oa.c.account_id))]

    def move_org_account(self, account_id: str, source_parent: str, dest_parent: str) -> None:
        with self._write() as conn:
            # Locked for the same reason as in add_org_account.
            self._one(conn, sa.select(_ou.c.unit_id).where(_ou.c.unit_id == dest_parent)
                      .with_for_update(), "org_unit", dest_parent)
            done = conn.execute(sa.update(_oa).where(
                _oa.c.account_id == account_id, _oa.c.parent_id == source_parent)
                .values(parent_id=dest_parent))
            if done.rowcount == 0:
                raise NotFound("org_account", account_id)

    # -- policies ----------------------------------------------------------------------------
    def create_org_policy(self, policy: OrgPolicy, tags: Tags = ()) -> None:
        with self._write() as conn:
            clash = conn.execute(sa.select(_op.c.policy_id).where(
                _op.c.org_id == policy.org_id, _op.c.type == policy.type,
                _op.c.name == policy.name)).first()
            if clash is not None:
                raise AlreadyExists("org_policy", policy.name)
            self._insert(conn, _op, _policy_values(policy), "org_policy", policy.policy_id)
            insert_org_tags(conn, policy.org_id, policy.policy_id, tags)

    def get_org_policy(self, policy_id: str) -> OrgPolicy:
        with self._read() as conn:
            return _policy(self._one(conn, sa.select(_op).where(_op.c.policy_id == policy_id),
                                     "org_policy", policy_id))

    def list_org_policies(self, org_id: str, policy_type: str) -> list[OrgPolicy]:
        with self._read() as conn:
            rows = conn.execute(sa.select(_op).where(
                _op.c.org_id == org_id, _op.c.type == policy_type).order_by(_op.c.name))
            return [_policy(r) for r in rows]

    def update_org_policy(
        self, policy_id: str, fn: Callable[[OrgPolicy], OrgPolicy]
    ) -> OrgPolicy:
        with self._write() as conn:
            old = _policy(self._one(conn, sa.select(_op).where(_op.c.policy_id == policy_id)
                                    .with_for_update(), "org_policy", policy_id))
            new = fn(old)
            conn.execute(sa.update(_op).where(_op.c.policy_id == policy_id).values(
                name=new.name, description=new.description, content=new.content))
            return new

    def delete_org_policy(self, policy_id: str) -> None:
        with self._write() as conn:
            self._one(conn, sa.select(_op.c.policy_id).where(_op.c.policy_id == policy_id)
                      .with_for_update(), "org_policy", policy_id)
            if conn.execute(sa.select(_opa.c.target_id).where(
                    _opa.c.policy_id == policy_id).limit(1)).first():
                raise Conflict("policy_attached", policy_id)
            delete_org_tags(conn, policy_id)
            conn.execute(sa.delete(_op).where(_op.c.policy_id == policy_id))

    def attach_org_policy(self, policy_id: str, target_id: str) -> None:
        with self._write() as conn:
            self._one(conn, sa.select(_op.c.policy_id).where(_op.c.policy_id == policy_id),
                      "org_policy", policy_id)
            if conn.execute(sa.select(_opa.c.policy_id).where(
                    _opa.c.policy_id == policy_id, _opa.c.target_id == target_id)).first():
                raise AlreadyExists("org_policy_attachment", target_id)
            self._insert(conn, _opa, {"policy_id": policy_id, "target_id": target_id},
                         "org_policy_attachment", target_id)

    def detach_org_policy(self, policy_id: str, target_id: str) -> None:
        with self._write() as conn:
            done = conn.execute(sa.delete(_opa).where(
                _opa.c.policy_id == policy_id, _opa.c.target_id == target_id))
            if done.rowcount == 0:
                raise NotFound("org_policy_attachment", target_id)

    def list_org_policies_for_target(self, target_id: str, policy_type: str) -> list[OrgPolicy]:
        with self._read() as conn:
            rows = conn.execute(sa.select(_op).join(_opa, _opa.c.policy_id == _op.c.policy_id)
                                .where(_opa.c.target_id == target_id, _op.c.type == policy_type)
                                .order_by(_op.c.name))
            return [_policy(r) for r in rows]

    def list_org_targets_for_policy(self, policy_id: str) -> list[str]:
        with self._read() as conn:
            return list(conn.execute(sa.select(_opa.c.target_id).where(
                _opa.c.policy_id == policy_id).order_by(_opa.c.target_id)).scalars())

    def save_create_account_status(self, status: CreateAccountStatus) -> None:
        with self._write() as conn:
            self._save_status(conn, status)

    def _save_status(self, conn: sa.Connection, status: CreateAccountStatus) -> None:
        t = s.create_account_status
        values = _status_values(status)
        if conn.execute(sa.update(t).where(t.c.request_id == status.request_id)
                        .values(**values)).rowcount == 0:
            conn.execute(sa.insert(t).values(**values))

    def get_create_account_status(self, request_id: str) -> CreateAccountStatus:
        t = s.create_account_status
        with self._read() as conn:
            r = self._one(conn, sa.select(t).where(t.c.request_id == request_id),
                          "create_account_status", request_id)
        return CreateAccountStatus(r.request_id, r.org_id, r.account_name, r.state,
                                   r.requested, r.completed, r.account_id, r.failure_reason)

    # -- what the authorizer evaluates -----------------------------------------------------
    def policy_levels_for_account(
        self, account_id: str, policy_type: str = SCP
    ) -> list[list[tuple[str, str]]]:
        """SCPs or RCPs, root → OUs → account. AWS: SCPs "don't affect users or roles in the
        management account", RCPs don't affect its resources, and either type applies
        only while it is enabled on the root."""
        with self._read() as conn:
            member = conn.execute(sa.select(_oa.c.parent_id, _o.c.management_account_id,
                                            _o.c.root_id)
                                  .join(_o, _o.c.org_id == _oa.c.org_id)
                                  .where(_oa.c.account_id == account_id)).first()
            if member is None or member.management_account_id == account_id:
                return []
            units = {r.unit_id: r for r in conn.execute(
                sa.select(_ou.c.unit_id, _ou.c.parent_id, _ou.c.policy_types)
                .where(_ou.c.org_id == sa.select(_oa.c.org_id).where(
                    _oa.c.account_id == account_id).scalar_subquery()))}
            root = units.get(member.root_id)
            if root is None:
                # A broken tree: whether the type is enabled lives on the root, so "not
                # governed" would be a guess that widens. One level that allows nothing.
                return [[]]
            if policy_type not in (root.policy_types or []):
                return []
            chain = [account_id]
            node: str | None = member.parent_id
            while node is not None and len(chain) < 12:
                chain.append(node)
                node = units[node].parent_id if node in units else None
            chain.reverse()
            rows = conn.execute(sa.select(_opa.c.target_id, _op.c.arn, _op.c.content)
                                .join(_op, _op.c.policy_id == _opa.c.policy_id)
                                .where(_opa.c.target_id.in_(chain), _op.c.type == policy_type)
                                .order_by(_op.c.arn)).all()
        by_target: dict[str, list[tuple[str, str]]] = {t: [] for t in chain}
        for r in rows:
            by_target[r.target_id].append((r.arn, r.content))
        return [by_target[t] for t in chain]
