"""Managed policies and their versions, attachments, inline policies, and the identity
policies the authorizer evaluates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded
from opensts.directory.paging import decode_marker, make_page
from opensts.directory.records import (
    AWS_MANAGED_ACCOUNT,
    AttachedPolicy,
    EntityKind,
    Group,
    InlinePolicy,
    ManagedPolicy,
    Page,
    PolicyVersion,
    Role,
    User,
)
from opensts.directory.store import PolicyScope
from opensts.store import schema as s
from opensts.store._base import prefix_filter, tags_from_json, tags_to_json
from opensts.store._principals import (
    ENTITY_TABLES,
    PrincipalsMixin,
    group_from_row,
    role_from_row,
    user_from_row,
)

_p = s.policies
_v = s.policy_versions
_a = s.attachments


def _policy_select() -> sa.Select[Any]:
    attachment_count = (
        sa.select(sa.func.count()).select_from(_a).where(_a.c.policy_id == _p.c.policy_id)
        .scalar_subquery()
    )
    boundary_users = (
        sa.select(sa.func.count()).select_from(s.users).where(s.users.c.boundary == _p.c.arn)
        .scalar_subquery()
    )
    boundary_roles = (
        sa.select(sa.func.count()).select_from(s.roles).where(s.roles.c.boundary == _p.c.arn)
        .scalar_subquery()
    )
    return sa.select(
        _p, _v.c.document, attachment_count.label("attachment_count"),
        (boundary_users + boundary_roles).label("boundary_usage"),
    ).join(_v, sa.and_(_v.c.policy_id == _p.c.policy_id,
                       _v.c.version_id == _p.c.default_version_id))


def policy_from_row(r: Any) -> ManagedPolicy:
    return ManagedPolicy(
        account_id=r.account_id, policy_id=r.policy_id, name=r.name, path=r.path, arn=r.arn,
        created=r.created, updated=r.updated, default_version_id=r.default_version_id,
        document=r.document, description=r.description,
        attachment_count=int(r.attachment_count), boundary_usage_count=int(r.boundary_usage),
        is_attachable=bool(r.is_attachable), tags=tags_from_json(r.tags),
    )


def _policy_values(p: ManagedPolicy, next_version: int) -> dict[str, Any]:
    return {
        "policy_id": p.policy_id, "account_id": p.account_id, "name": p.name,
        "name_lower": p.name.lower(), "path": p.path, "arn": p.arn, "created": p.created,
        "updated": p.updated, "default_version_id": p.default_version_id,
        "next_version": next_version, "description": p.description,
        "is_attachable": p.is_attachable, "tags": tags_to_json(p.tags),
    }


class PoliciesMixin(PrincipalsMixin):
    def _policy_row(self, conn: sa.Connection, arn: str, *, lock: bool = False) -> Any:
        q = sa.select(_p).where(_p.c.arn == arn)
        if lock:
            q = q.with_for_update()
        return self._one(conn, q, "policy", arn)

    # -- managed policies ----------------------------------------------------------------
    def create_policy(self, policy: ManagedPolicy) -> None:
        with self._write() as conn:
            clash = conn.execute(
                sa.select(_p.c.policy_id).where(
                    _p.c.account_id == policy.account_id,
                    _p.c.name_lower == policy.name.lower(),
                )
            ).first()
            if clash is not None:
                raise AlreadyExists("policy", policy.name)
            self._insert(conn, _p, _policy_values(policy, 2), "policy", policy.name)
            conn.execute(sa.insert(_v).values(
                policy_id=policy.policy_id, version_id=policy.default_version_id,
                document=policy.document, created=policy.created,
            ))

    def get_managed_policy(self, arn: str) -> ManagedPolicy:
        with self._read(snapshot=False) as conn:
            return policy_from_row(self._one(
                conn, _policy_select().where(_p.c.arn == arn), "policy", arn))

    def list_policies(
        self, account_id: str, *, scope: PolicyScope = "All", only_attached: bool = False,
        path_prefix: str = "/", marker: str | None = None, max_items: int = 100,
        usage: str | None = None,
    ) -> Page[ManagedPolicy]:
        after = decode_marker(marker)
        accounts = {"All": [account_id, AWS_MANAGED_ACCOUNT], "AWS": [AWS_MANAGED_ACCOUNT],
                    "Local": [account_id]}[scope]
        q = _policy_select().where(_p.c.account_id.in_(accounts))
        if usage == "PermissionsBoundary":
            # Used as a permissions boundary by one of this account's users or roles.
            q = q.where(sa.or_(*(
                sa.exists().where(t.c.boundary == _p.c.arn, t.c.account_id == account_id)
                for t in (s.users, s.roles))))
        if only_attached or usage == "PermissionsPolicy":
            # AWS managed policies are shared: count only this account's attachments.
            q = q.where(sa.or_(
                *(sa.exists().where(_a.c.policy_id == _p.c.policy_id,
                                    _a.c.entity_kind == kind,
                                    _a.c.entity_id == table.c[id_col],
                                    table.c.account_id == account_id)
                  for kind, (table, id_col) in ENTITY_TABLES.items())
            ))
        if path_prefix != "/":
            q = q.where(prefix_filter(_p.c.path, path_prefix))
        sort_key = (_p.c.name_lower + " " + _p.c.arn)
        if after is not None:
            q = q.where(sort_key > after)
        q = q.order_by(sort_key).limit(max_items + 1)
        with self._read() as conn:
            rows = [policy_from_row(r) for r in conn.execute(q)]
        return make_page(rows, max_items, lambda p: f"{p.name.lower()} {p.arn}")

    def update_policy(
        self, arn: str, fn: Callable[[ManagedPolicy], ManagedPolicy]
    ) -> ManagedPolicy:
        with self._write() as conn:
            self._policy_row(conn, arn, lock=True)
            old = policy_from_row(self._one(
                conn, _policy_select().where(_p.c.arn == arn), "policy", arn))
            new = fn(old)
            conn.execute(sa.update(_p).where(_p.c.arn == arn).values(
                description=new.description, tags=tags_to_json(new.tags)))
            return new

    def delete_policy(self, arn: str) -> None:
        with self._write() as conn:
            row = self._policy_row(conn, arn, lock=True)
            if conn.execute(sa.select(_a.c.policy_id).where(
                    _a.c.policy_id == row.policy_id).limit(1)).first():
                raise Conflict("policy_attached")
            # A boundary that no longer resolves would otherwise be the caller's to remove:
            # IAM answers DeleteConflict while a user or role uses the policy as boundary.
            if any(conn.execute(sa.select(t.c.boundary).where(t.c.boundary == arn).limit(1))
                   .first() for t in (s.users, s.roles)):
                raise Conflict("policy_attached")
            others = conn.execute(
                sa.select(sa.func.count()).select_from(_v).where(
                    _v.c.policy_id == row.policy_id, _v.c.version_id != row.default_version_id)
            ).scalar_one()
            if others:
                raise Conflict("policy_versions")
            conn.execute(sa.delete(_v).where(_v.c.policy_id == row.policy_id))
            conn.execute(sa.delete(_p).where(_p.c.policy_id == row.policy_id))

    def create_policy_version(
        self, arn: str, document: str, created: datetime, *, set_default: bool,
        max_versions: int = 5,
    ) -> PolicyVersion:
        with self._write() as conn:
            row = self._policy_row(conn, arn, lock=True)
            count = conn.execute(
                sa.select(sa.func.count()).select_from(_v).where(_v.c.policy_id == row.policy_id)
            ).scalar_one()
            if count >= max_versions:
                raise QuotaExceeded("PolicyVersions", max_versions)
            version_id = f"v{row.next_version}"
            conn.execute(sa.insert(_v).values(
                policy_id=row.policy_id, version_id=version_id, document=document,
                created=created))
            changes: dict[str, Any] = {"next_version": row.next_version + 1, "updated": created}
            if set_default:
                changes["default_version_id"] = version_id
            conn.execute(sa.update(_p).where(_p.c.policy_id == row.policy_id).values(**changes))
            return PolicyVersion(arn, version_id, document, set_default, created)

    def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion:
        with self._read() as conn:
            row = self._policy_row(conn, arn)
            v = self._one(conn, sa.select(_v).where(
                _v.c.policy_id == row.policy_id, _v.c.version_id == version_id),
                "policy_version", version_id)
            return PolicyVersion(arn, v.version_id, v.document,
                                 v.version_id == row.default_version_id, v.created)

    def list_policy_versions(self, arn: str) -> list[PolicyVersion]:
        with self._read() as conn:
            row = self._policy_row(conn, arn)
            versions = conn.execute(sa.select(_v).where(_v.c.policy_id == row.policy_id))
            out = [PolicyVersion(arn, v.version_id, v.document,
                                 v.version_id == row.default_version_id, v.created)
                   for v in versions]
        # Newest first, as IAM lists them.
        return sorted(out, key=lambda v: int(v.version_id[1:]), reverse=True)

    def set_default_policy_version(self, arn: str, version_id: str) -> None:
        with self._write() as conn:
            row = self._policy_row(conn, arn, lock=True)
            self._one(conn, sa.select(_v.c.version_id).where(
                _v.c.policy_id == row.policy_id, _v.c.version_id == version_id),
                "policy_version", version_id)
            conn.execute(sa.update(_p).where(_p.c.policy_id == row.policy_id)
                         .values(default_version_id=version_id))

    def delete_policy_version(self, arn: str, version_id: str) -> None:
        with self._write() as conn:
            row = self._policy_row(conn, arn, lock=True)
            self._one(conn, sa.select(_v.c.version_id).where(
                _v.c.policy_id == row.policy_id, _v.c.version_id == version_id),
                "policy_version", version_id)
            if version_id == row.default_version_id:
                raise Conflict("default_version")
            conn.execute(sa.delete(_v).where(
                _v.c.policy_id == row.policy_id, _v.c.version_id == version_id))

    def sync_aws_managed_policies(
        self, policies: list[ManagedPolicy], *, digest: int | None = None
    ) -> None:
        """Insert new AWS managed policies, move changed ones to their new default version
        (older versions are kept, as AWS keeps them). One read of what is stored, then
        writes only for what differs. With ``digest`` (the bundle's), a store that already
        synced that digest is left alone, and the digest is recorded afterwards."""
        key = "aws_managed_digest"
        with self._write() as conn:
            if digest is not None and conn.execute(
                    sa.select(s.meta.c.value).where(s.meta.c.key == key)).scalar() == digest:
                return
            stored = {r.arn: r for r in conn.execute(
                sa.select(_p.c.arn, _p.c.policy_id, _p.c.default_version_id, _p.c.updated,
                          _p.c.description)
                .where(_p.c.account_id == AWS_MANAGED_ACCOUNT))}
            versions = {(r.policy_id, r.version_id): r.document for r in conn.execute(
                sa.select(_v.c.policy_id, _v.c.version_id, _v.c.document)
                .join(_p, _p.c.policy_id == _v.c.policy_id)
                .where(_p.c.account_id == AWS_MANAGED_ACCOUNT))}
            new_policies, new_versions = [], []
            for p in policies:
                row = stored.get(p.arn)
                if row is None:
                    new_policies.append(_policy_values(p, 2))
                    new_versions.append({"policy_id": p.policy_id,
                                         "version_id": p.default_version_id,
                                         "document": p.document, "created": p.updated})
                    continue
                have = versions.get((row.policy_id, p.default_version_id))
                if have is None:
                    new_versions.append({"policy_id": row.policy_id,
                                         "version_id": p.default_version_id,
                                         "document": p.document, "created": p.updated})
                elif have != p.document:
                    conn.execute(sa.update(_v).where(
                        _v.c.policy_id == row.policy_id,
                        _v.c.version_id == p.default_version_id).values(document=p.document))
                if (row.default_version_id, row.description) != (
                        p.default_version_id, p.description) or row.updated != p.updated:
                    conn.execute(sa.update(_p).where(_p.c.policy_id == row.policy_id).values(
                        default_version_id=p.default_version_id, description=p.description,
                        updated=p.updated))
            if new_policies:
                conn.execute(sa.insert(_p), new_policies)
            if new_versions:
                conn.execute(sa.insert(_v), new_versions)
            if digest is not None:
                done = conn.execute(sa.update(s.meta).where(s.meta.c.key == key)
                                    .values(value=digest))
                if done.rowcount == 0:
                    conn.execute(sa.insert(s.meta).values(key=key, value=digest))

    def aws_managed_digest(self) -> int | None:
        """The digest of the AWS managed policy bundle last synced, if any."""
        with self._read(snapshot=False) as conn:
            value = conn.execute(sa.select(s.meta.c.value)
                                 .where(s.meta.c.key == "aws_managed_digest")).scalar()
        return None if value is None else int(value)

    # -- attachments ---------------------------------------------------------------------
    def attach_policy(
        self, kind: EntityKind, account_id: str, entity_name: str, arn: str, *,
        max_attached: int = 10,
    ) -> None:
        """Idempotent; the policy must be the account's own or AWS managed."""
        with self._write() as conn:
            self._attach(conn, kind, account_id, entity_name, arn, max_attached=max_attached)

    def _attach(
        self, conn: sa.Connection, kind: EntityKind, account_id: str, entity_name: str,
        arn: str, *, max_attached: int = 10,
    ) -> None:
        entity_id = self._entity_id(conn, kind, account_id, entity_name, lock=True)
        row = conn.execute(sa.select(_p).where(
            _p.c.arn == arn, _p.c.account_id.in_([account_id, AWS_MANAGED_ACCOUNT]))).first()
        if row is None:
            raise NotFound("policy", arn)
        if not row.is_attachable:
            raise Conflict("not_attachable", arn)
        attached = conn.execute(sa.select(_a.c.policy_id).where(
            _a.c.entity_kind == kind, _a.c.entity_id == entity_id)).scalars().all()
        if row.policy_id in attached:
            return
        if len(attached) >= max_attached:
            raise QuotaExceeded("PolicyAttachments", max_attached)
        conn.execute(sa.insert(_a).values(
            entity_kind=kind, entity_id=entity_id, policy_id=row.policy_id))

    def detach_policy(
        self, kind: EntityKind, account_id: str, entity_name: str, arn: str
    ) -> None:
        with self._write() as conn:
            entity_id = self._entity_id(conn, kind, account_id, entity_name, lock=True)
            policy_id = conn.execute(sa.select(_p.c.policy_id).where(_p.c.arn == arn)).scalar()
            done = conn.execute(sa.delete(_a).where(
                _a.c.entity_kind == kind, _a.c.entity_id == entity_id,
                _a.c.policy_id == policy_id))
            if done.rowcount == 0:
                raise NotFound("attachment", arn)

    def list_attached_policies(
        self, kind: EntityKind, account_id: str, entity_name: str, *, path_prefix: str = "/",
        marker: str | None = None, max_items: int = 100,
    ) -> Page[AttachedPolicy]:
        after = decode_marker(marker)
        with self._read() as conn:
            entity_id = self._entity_id(conn, kind, account_id, entity_name)
            sort_key = (_p.c.name_lower + " " + _p.c.arn)
            q = (sa.select(_p.c.name, _p.c.arn).join(_a, _a.c.policy_id == _p.c.policy_id)
                 .where(_a.c.entity_kind == kind, _a.c.entity_id == entity_id))
            if path_prefix != "/":
                q = q.where(prefix_filter(_p.c.path, path_prefix))
            if after is not None:
                q = q.where(sort_key > after)
            rows = [AttachedPolicy(r.name, r.arn)
                    for r in conn.execute(q.order_by(sort_key).limit(max_items + 1))]
        return make_page(rows, max_items, lambda p: f"{p.name.lower()} {p.arn}")

    def list_entities_for_policy(self, arn: str) -> tuple[list[Group], list[User], list[Role]]:
        with self._read() as conn:
            row = self._policy_row(conn, arn)
            out: dict[str, list[Any]] = {}
            for kind, (table, id_col), convert in (
                ("group", ENTITY_TABLES["group"], group_from_row),
                ("user", ENTITY_TABLES["user"], user_from_row),
                ("role", ENTITY_TABLES["role"], role_from_row),
            ):
                q = (sa.select(table).join(_a, sa.and_(_a.c.entity_kind == kind,
                                                       _a.c.entity_id == table.c[id_col]))
                     .where(_a.c.policy_id == row.policy_id).order_by(table.c.name_lower))
                out[kind] = [convert(r) for r in conn.execute(q)]
        return out["group"], out["user"], out["role"]

    # -- inline policies -----------------------------------------------------------------
    def put_inline_policy(self, policy: InlinePolicy) -> None:
        """Create or replace (IAM Put*Policy semantics)."""
        i = s.inline_policies
        with self._write() as conn:
            entity_id = self._entity_id(
                conn, policy.owner_kind, policy.account_id, policy.owner_name, lock=True)
            key = sa.and_(i.c.entity_kind == policy.owner_kind, i.c.entity_id == entity_id,
                          i.c.name == policy.name)
            if conn.execute(sa.update(i).where(key).values(document=policy.document)).rowcount:
                return
            conn.execute(sa.insert(i).values(
                entity_kind=policy.owner_kind, entity_id=entity_id, name=policy.name,
                document=policy.document))

    def get_inline_policy(
        self, kind: EntityKind, account_id: str, entity_name: str, policy_name: str
    ) -> InlinePolicy:
        i = s.inline_policies
        table, id_col = ENTITY_TABLES[kind]
        with self._read() as conn:
            entity = self._one(conn, sa.select(table.c[id_col], table.c.name).where(
                table.c.account_id == account_id, table.c.name_lower == entity_name.lower()),
                kind, entity_name)
            doc = conn.execute(sa.select(i.c.document).where(
                i.c.entity_kind == kind, i.c.entity_id == entity[0], i.c.name == policy_name)
            ).scalar()
        if doc is None:
            raise NotFound("inline_policy", policy_name)
        return InlinePolicy(account_id, kind, entity.name, policy_name, doc)

    def delete_inline_policy(
        self, kind: EntityKind, account_id: str, entity_name: str, policy_name: str
    ) -> None:
        i = s.inline_policies
        with self._write() as conn:
            entity_id = self._entity_id(conn, kind, account_id, entity_name, lock=True)
            done = conn.execute(sa.delete(i).where(
                i.c.entity_kind == kind, i.c.entity_id == entity_id, i.c.name == policy_name))
            if done.rowcount == 0:
                raise NotFound("inline_policy", policy_name)

    def list_inline_policies(
        self, kind: EntityKind, account_id: str, entity_name: str, *,
        marker: str | None = None, max_items: int = 100,
    ) -> Page[str]:
        i = s.inline_policies
        after = decode_marker(marker)
        with self._read() as conn:
            entity_id = self._entity_id(conn, kind, account_id, entity_name)
            q = sa.select(i.c.name).where(i.c.entity_kind == kind, i.c.entity_id == entity_id)
            if after is not None:
                q = q.where(i.c.name > after)
            names = list(conn.execute(q.order_by(i.c.name).limit(max_items + 1)).scalars())
        return make_page(names, max_items, lambda n: n)

    # -- identity policies (authorizer hot path) ----------------------------------------
    def _entity_policies(
        self, conn: sa.Connection, owners: list[tuple[EntityKind, str, str]]
    ) -> list[tuple[str, str]]:
        """Inline then attached policies of each (kind, id, arn) owner, in owner order,
        with one query."""
        i = s.inline_policies
        owner_filter = [sa.and_(i.c.entity_kind == kind, i.c.entity_id == ident)
                        for kind, ident, _ in owners]
        attach_filter = [sa.and_(_a.c.entity_kind == kind, _a.c.entity_id == ident)
                         for kind, ident, _ in owners]
        inline = sa.select(
            i.c.entity_kind, i.c.entity_id, sa.literal(0).label("managed"),
            i.c.name.label("source"), i.c.document,
        ).where(sa.or_(*owner_filter))
        managed = (
            sa.select(_a.c.entity_kind, _a.c.entity_id, sa.literal(1).label("managed"),
                      _p.c.arn.label("source"), _v.c.document)
            .join(_p, _p.c.policy_id == _a.c.policy_id)
            .join(_v, sa.and_(_v.c.policy_id == _p.c.policy_id,
                              _v.c.version_id == _p.c.default_version_id))
            .where(sa.or_(*attach_filter))
        )
        rows = list(conn.execute(sa.union_all(inline, managed)).all())
        order = {(kind, ident): n for n, (kind, ident, _) in enumerate(owners)}
        arn_of = {(kind, ident): arn for kind, ident, arn in owners}
        rows.sort(key=lambda r: (order[(r.entity_kind, r.entity_id)], r.managed, r.source))
        return [(r.source if r.managed else
                 f"{arn_of[(r.entity_kind, r.entity_id)]}#inline:{r.source}", r.document)
                for r in rows]

    def identity_policies_for_user(
        self, account_id: str, user_name: str
    ) -> list[tuple[str, str]]:
        u, g, gm = s.users, s.groups, s.group_members
        with self._read() as conn:
            rows = conn.execute(
                sa.select(u.c.user_id, u.c.arn, g.c.group_id, g.c.arn.label("group_arn"))
                .outerjoin(gm, gm.c.user_id == u.c.user_id)
                .outerjoin(g, g.c.group_id == gm.c.group_id)
                .where(u.c.account_id == account_id, u.c.name_lower == user_name.lower())
                .order_by(g.c.name_lower)).all()
            if not rows:
                raise NotFound("user", user_name)
            owners: list[tuple[EntityKind, str, str]] = [("user", rows[0].user_id, rows[0].arn)]
            owners += [("group", r.group_id, r.group_arn) for r in rows if r.group_id]
            return self._entity_policies(conn, owners)

    def identity_policies_for_role(
        self, account_id: str, role_name: str
    ) -> list[tuple[str, str]]:
        with self._read() as conn:
            role = self._one(conn, sa.select(s.roles.c.role_id, s.roles.c.arn).where(
                s.roles.c.account_id == account_id,
                s.roles.c.name_lower == role_name.lower()), "role", role_name)
            return self._entity_policies(conn, [("role", role.role_id, role.arn)])
