"""Organizations beyond the tree and its policies: tags of roots, OUs, accounts and
policies; delegated administrators; closing a member account and removing one."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from opensts.directory.errors import Conflict, NotFound, QuotaExceeded
from opensts.directory.records import DelegatedAdmin, Tag, Tags
from opensts.store import schema as s
from opensts.store._base import SqlBase

_t = s.org_tags
_d = s.org_delegated_admins
_oa = s.org_accounts
ORG_TAGS_MAX = 50  # "You can attach up to 50 tags" (Organizations quotas, tag quota)
CLOSE_WINDOW = timedelta(days=30)
CLOSE_FLOOR, CLOSE_MAX = 250, 1000


def insert_org_tags(conn: sa.Connection, org_id: str, resource_id: str, tags: Tags) -> None:
    """The tags a resource is created with, in the transaction creating it."""
    for tag in tags:
        conn.execute(sa.insert(_t).values(resource_id=resource_id, key=tag.key, org_id=org_id,
                                          value=tag.value))


def delete_org_tags(conn: sa.Connection, resource_id: str) -> None:
    conn.execute(sa.delete(_t).where(_t.c.resource_id == resource_id))


class OrgExtrasMixin(SqlBase):
    # -- tags --------------------------------------------------------------------------------
    def list_org_tags(self, resource_id: str) -> Tags:
        with self._read() as conn:
            rows = conn.execute(sa.select(_t.c.key, _t.c.value).where(
                _t.c.resource_id == resource_id).order_by(_t.c.key))
            return tuple(Tag(r.key, r.value) for r in rows)

    def tag_org_resource(self, org_id: str, resource_id: str, tags: Tags) -> None:
        """Add or replace (keys are case-sensitive in Organizations); QuotaExceeded past 50."""
        with self._write() as conn:
            existing = {r.key for r in conn.execute(sa.select(_t.c.key).where(
                _t.c.resource_id == resource_id).with_for_update())}
            for tag in tags:
                if tag.key in existing:
                    conn.execute(sa.update(_t).where(_t.c.resource_id == resource_id,
                                                     _t.c.key == tag.key).values(value=tag.value))
                else:
                    conn.execute(sa.insert(_t).values(resource_id=resource_id, key=tag.key,
                                                      org_id=org_id, value=tag.value))
                    existing.add(tag.key)
            if len(existing) > ORG_TAGS_MAX:
                raise QuotaExceeded("TagsPerResource", ORG_TAGS_MAX)

    def untag_org_resource(self, resource_id: str, keys: list[str]) -> None:
        with self._write() as conn:
            conn.execute(sa.delete(_t).where(_t.c.resource_id == resource_id,
                                             _t.c.key.in_(keys)))

    # -- policy types --------------------------------------------------------------------
    def disable_org_policy_type(self, root_id: str, policy_type: str,
                                keep_policy_id: str | None = None) -> None:
        """The type leaves the root's enabled types and every policy of the type is
        detached from every target, but ``keep_policy_id`` (FullAWSAccess stays attached
        everywhere). Conflict("policy_type_not_enabled") if the type is not enabled."""
        _ou, _op, _opa = s.org_units, s.org_policies, s.org_policy_attachments
        with self._write() as conn:
            root = self._one(conn, sa.select(_ou.c.org_id, _ou.c.policy_types).where(
                _ou.c.unit_id == root_id).with_for_update(), "org_unit", root_id)
            enabled = list(root.policy_types or [])
            if policy_type not in enabled:
                raise Conflict("policy_type_not_enabled", policy_type)
            enabled.remove(policy_type)
            conn.execute(sa.update(_ou).where(_ou.c.unit_id == root_id).values(
                policy_types=enabled))
            of_type = sa.select(_op.c.policy_id).where(_op.c.org_id == root.org_id,
                                                       _op.c.type == policy_type)
            if keep_policy_id is not None:
                of_type = of_type.where(_op.c.policy_id != keep_policy_id)
            conn.execute(sa.delete(_opa).where(_opa.c.policy_id.in_(of_type)))

    # -- trusted access of AWS services ---------------------------------------------------
    def enable_org_service_access(self, org_id: str, service_principal: str,
                                  when: datetime) -> None:
        """Idempotent: enabling again keeps the first date."""
        t = s.org_service_access
        with self._write() as conn:
            if conn.execute(sa.select(t.c.org_id).where(
                    t.c.org_id == org_id, t.c.service_principal == service_principal)
                    ).first() is None:
                self._insert(conn, t, {"org_id": org_id, "service_principal": service_principal,
                                       "enabled": when}, "service_access", service_principal)

    def disable_org_service_access(self, org_id: str, service_principal: str) -> None:
        t = s.org_service_access
        with self._write() as conn:
            conn.execute(sa.delete(t).where(t.c.org_id == org_id,
                                            t.c.service_principal == service_principal))

    def list_org_service_access(self, org_id: str) -> list[tuple[str, datetime]]:
        t = s.org_service_access
        with self._read() as conn:
            return [(r.service_principal, r.enabled) for r in conn.execute(
                sa.select(t).where(t.c.org_id == org_id).order_by(t.c.service_principal))]

    # -- delegated administrators ----------------------------------------------------------
    def register_delegated_admin(self, admin: DelegatedAdmin) -> None:
        with self._write() as conn:
            member = conn.execute(sa.select(_oa.c.org_id).where(
                _oa.c.account_id == admin.account_id).with_for_update()).first()
            if member is None or member.org_id != admin.org_id:
                raise NotFound("org_account", admin.account_id)
            self._insert(conn, _d, {"account_id": admin.account_id,
                                    "service_principal": admin.service_principal,
                                    "org_id": admin.org_id, "enabled": admin.enabled},
                         "delegated_admin", admin.account_id)

    def deregister_delegated_admin(self, account_id: str, service_principal: str) -> None:
        with self._write() as conn:
            done = conn.execute(sa.delete(_d).where(_d.c.account_id == account_id,
                                                    _d.c.service_principal == service_principal))
            if done.rowcount == 0:
                raise NotFound("delegated_admin", account_id)

    def list_delegated_admins(
        self, org_id: str, *, service_principal: str | None = None,
        account_id: str | None = None,
    ) -> list[DelegatedAdmin]:
        q = sa.select(_d).where(_d.c.org_id == org_id)
        if service_principal is not None:
            q = q.where(_d.c.service_principal == service_principal)
        if account_id is not None:
            q = q.where(_d.c.account_id == account_id)
        with self._read() as conn:
            rows = conn.execute(q.order_by(_d.c.account_id, _d.c.service_principal))
            return [DelegatedAdmin(r.account_id, r.service_principal, r.org_id, r.enabled)
                    for r in rows]

    # -- leaving ----------------------------------------------------------------------------
    def close_org_account(self, account_id: str, now: datetime) -> None:
        """CloseAccount: the member becomes SUSPENDED and stays in the organization.

        Conflict("already_closed") if it is not ACTIVE; QuotaExceeded("CloseAccount") past
        AWS's rolling quota: "Within a rolling 30 day period you can close the higher of
        either 250 or 20% of the member accounts in your organization, up to a maximum of
        1,000" (API_CloseAccount)."""
        with self._write() as conn:
            row = self._one(conn, sa.select(_oa.c.org_id, _oa.c.status).where(
                _oa.c.account_id == account_id).with_for_update(), "org_account", account_id)
            if row.status != "ACTIVE":
                raise Conflict("already_closed", account_id)
            # The organization's other members are counted under the root's lock, so two
            # concurrent closes cannot both pass the quota.
            conn.execute(sa.select(s.org_units.c.unit_id).where(
                s.org_units.c.org_id == row.org_id, s.org_units.c.kind == "ROOT"
            ).with_for_update()).first()
            members = conn.execute(sa.select(sa.func.count()).select_from(_oa).where(
                _oa.c.org_id == row.org_id)).scalar_one()
            recent = conn.execute(sa.select(sa.func.count()).select_from(_oa).where(
                _oa.c.org_id == row.org_id, _oa.c.closed > now - CLOSE_WINDOW)).scalar_one()
            limit = min(CLOSE_MAX, max(CLOSE_FLOOR, (members - 1) * 20 // 100))
            if recent >= limit:
                raise QuotaExceeded("CloseAccount", limit)
            conn.execute(sa.update(_oa).where(_oa.c.account_id == account_id).values(
                status="SUSPENDED", closed=now))

    def remove_org_account(self, account_id: str) -> None:
        """RemoveAccountFromOrganization: the membership, its policy attachments, tags and
        delegated-administrator registrations go in one transaction."""
        with self._write() as conn:
            self._one(conn, sa.select(_oa.c.account_id).where(
                _oa.c.account_id == account_id).with_for_update(), "org_account", account_id)
            conn.execute(sa.delete(s.org_policy_attachments).where(
                s.org_policy_attachments.c.target_id == account_id))
            delete_org_tags(conn, account_id)
            conn.execute(sa.delete(_d).where(_d.c.account_id == account_id))
            conn.execute(sa.delete(_oa).where(_oa.c.account_id == account_id))



