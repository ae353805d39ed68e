"""Accounts, users, groups and roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, Conflict, NotFound
from opensts.directory.paging import decode_marker, make_page
from opensts.directory.records import Account, EntityKind, Group, Page, Role, User
from opensts.store import schema as s
from opensts.store._base import SqlBase, prefix_filter, tags_from_json, tags_to_json


def user_from_row(r: Any) -> User:
    return User(
        account_id=r.account_id, user_id=r.user_id, name=r.name, path=r.path, arn=r.arn,
        created=r.created, permissions_boundary=r.boundary, tags=tags_from_json(r.tags),
        password_last_used=r.password_last_used,
    )


def group_from_row(r: Any) -> Group:
    return Group(
        account_id=r.account_id, group_id=r.group_id, name=r.name, path=r.path, arn=r.arn,
        created=r.created,
    )


def role_from_row(r: Any) -> Role:
    return Role(
        account_id=r.account_id, role_id=r.role_id, name=r.name, path=r.path, arn=r.arn,
        created=r.created, assume_role_policy=r.trust_policy, description=r.description,
        max_session_duration=r.max_session_duration, permissions_boundary=r.boundary,
        tags=tags_from_json(r.tags), last_used=r.last_used, last_used_region=r.last_used_region,
    )


def _user_values(u: User) -> dict[str, Any]:
    return {
        "user_id": u.user_id, "account_id": u.account_id, "name": u.name,
        "name_lower": u.name.lower(), "path": u.path, "arn": u.arn, "created": u.created,
        "boundary": u.permissions_boundary, "tags": tags_to_json(u.tags),
        "password_last_used": u.password_last_used,
    }


def _role_values(r: Role) -> dict[str, Any]:
    return {
        "role_id": r.role_id, "account_id": r.account_id, "name": r.name,
        "name_lower": r.name.lower(), "path": r.path, "arn": r.arn, "created": r.created,
        "trust_policy": r.assume_role_policy, "description": r.description,
        "max_session_duration": r.max_session_duration, "boundary": r.permissions_boundary,
        "tags": tags_to_json(r.tags), "last_used": r.last_used,
        "last_used_region": r.last_used_region,
    }


def _group_values(g: Group) -> dict[str, Any]:
    return {
        "group_id": g.group_id, "account_id": g.account_id, "name": g.name,
        "name_lower": g.name.lower(), "path": g.path, "arn": g.arn, "created": g.created,
    }


ENTITY_TABLES: dict[EntityKind, tuple[sa.Table, str]] = {
    "user": (s.users, "user_id"),
    "group": (s.groups, "group_id"),
    "role": (s.roles, "role_id"),
}


def named(table: sa.Table, account_id: str, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.account_id == account_id, table.c.name_lower == name.lower())


class PrincipalsMixin(SqlBase):
    # -- helpers -------------------------------------------------------------------------
    def _extra_user_conflicts(self, conn: sa.Connection, user_id: str) -> None:
        """What else keeps a user from being deleted (store/_iam_extras.py)."""

    def _extra_role_conflicts(self, conn: sa.Connection, role_id: str) -> None:
        """What else keeps a role from being deleted (store/_iam_extras.py)."""

    def _entity_id(
        self, conn: sa.Connection, kind: EntityKind, account_id: str, name: str,
        *, lock: bool = False,
    ) -> str:
        table, id_col = ENTITY_TABLES[kind]
        q = sa.select(table.c[id_col]).where(named(table, account_id, name))
        if lock:
            q = q.with_for_update()
        found = conn.execute(q).scalar()
        if found is None:
            raise NotFound(kind, name)
        return str(found)

    def _list_named(
        self, table: sa.Table, account_id: str, path_prefix: str, marker: str | None,
        max_items: int, convert: Callable[[Any], Any],
    ) -> Page[Any]:
        after = decode_marker(marker)
        q = sa.select(table).where(table.c.account_id == account_id)
        if path_prefix != "/":
            q = q.where(prefix_filter(table.c.path, path_prefix))
        if after is not None:
            q = q.where(table.c.name_lower > after)
        q = q.order_by(table.c.name_lower).limit(max_items + 1)
        with self._read() as conn:
            rows = [convert(r) for r in conn.execute(q)]
        return make_page(rows, max_items, lambda e: e.name.lower())

    def _update_named(
        self, table: sa.Table, id_col: str, kind: str, account_id: str, name: str,
        fn: Callable[[Any], Any], convert: Callable[[Any], Any],
        values: Callable[[Any], dict[str, Any]],
    ) -> Any:
        with self._write() as conn:
            row = self._one(
                conn, sa.select(table).where(named(table, account_id, name)).with_for_update(),
                kind, name,
            )
            new = fn(convert(row))
            new_values = values(new)
            if new_values[id_col] != row._mapping[id_col]:
                raise ValueError(f"{kind} id cannot change")
            if new_values["name_lower"] != row.name_lower:
                clash = conn.execute(
                    sa.select(table.c[id_col]).where(named(table, account_id, new_values["name"]))
                ).first()
                if clash is not None:
                    raise AlreadyExists(kind, new_values["name"])
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.update(table).where(table.c[id_col] == new_values[id_col])
                        .values(**new_values)
                    )
            except sa.exc.IntegrityError as exc:
                raise AlreadyExists(kind, new_values["name"]) from exc
            return new

    def _policy_conflicts(self, conn: sa.Connection, kind: EntityKind, entity_id: str) -> None:
        inline = conn.execute(
            sa.select(sa.func.count()).select_from(s.inline_policies).where(
                s.inline_policies.c.entity_kind == kind,
                s.inline_policies.c.entity_id == entity_id,
            )
        ).scalar_one()
        if inline:
            raise Conflict("inline_policies")
        attached = conn.execute(
            sa.select(sa.func.count()).select_from(s.attachments).where(
                s.attachments.c.entity_kind == kind, s.attachments.c.entity_id == entity_id
            )
        ).scalar_one()
        if attached:
            raise Conflict("attached_policies")

    # -- accounts --------------------------------------------------------------------------
    def create_account(self, account: Account) -> None:
        with self._write() as conn:
            self._insert_account(conn, account)

    def _insert_account(self, conn: sa.Connection, account: Account) -> None:
        self._insert(
            conn, s.accounts,
            {"account_id": account.account_id, "name": account.name,
             "email": account.email, "created": account.created},
            "account", account.account_id,
        )

    def find_account(self, account_id: str) -> Account | None:
        with self._read(snapshot=False) as conn:
            r = conn.execute(
                sa.select(s.accounts).where(s.accounts.c.account_id == account_id)
            ).first()
        return None if r is None else Account(r.account_id, r.name, r.email, r.created)

    def get_account(self, account_id: str) -> Account:
        found = self.find_account(account_id)
        if found is None:
            raise NotFound("account", account_id)
        return found

    def list_accounts(self) -> list[Account]:
        with self._read() as conn:
            rows = conn.execute(sa.select(s.accounts).order_by(s.accounts.c.account_id))
            return [Account(r.account_id, r.name, r.email, r.created) for r in rows]

    # -- users -----------------------------------------------------------------------------
    def create_user(self, user: User) -> None:
        with self._write() as conn:
            if conn.execute(
                sa.select(s.users.c.user_id).where(named(s.users, user.account_id, user.name))
            ).first():
                raise AlreadyExists("user", user.name)
            self._insert(conn, s.users, _user_values(user), "user", user.name)

    def get_user(self, account_id: str, name: str) -> User:
        with self._read(snapshot=False) as conn:
            return user_from_row(self._one(
                conn, sa.select(s.users).where(named(s.users, account_id, name)), "user", name
            ))

    def get_user_by_id(self, user_id: str) -> User:
        with self._read(snapshot=False) as conn:
            return user_from_row(self._one(
                conn, sa.select(s.users).where(s.users.c.user_id == user_id), "user", user_id
            ))

    def list_users(
        self, account_id: str, *, path_prefix: str = "/", marker: str | None = None,
        max_items: int = 100,
    ) -> Page[User]:
        return self._list_named(s.users, account_id, path_prefix, marker, max_items,
                                user_from_row)

    def update_user(self, account_id: str, name: str, fn: Callable[[User], User]) -> User:
        return self._update_named(s.users, "user_id", "user", account_id, name, fn,
                                  user_from_row, _user_values)

    def delete_user(self, account_id: str, name: str) -> None:
        """IAM DeleteUser: the user must first lose everything attached to it."""
        with self._write() as conn:
            user_id = self._entity_id(conn, "user", account_id, name, lock=True)

            def count(table: sa.Table) -> int:
                return int(conn.execute(
                    sa.select(sa.func.count()).select_from(table)
                    .where(table.c.user_id == user_id)
                ).scalar_one())

            if count(s.login_profiles):
                raise Conflict("login_profile")
            if count(s.access_keys):
                raise Conflict("access_keys")
            # API_DeleteUser's order: signing certificates, SSH keys, Git credentials, MFA.
            self._extra_user_conflicts(conn, user_id)
            if count(s.mfa_devices):
                raise Conflict("mfa_devices")
            self._policy_conflicts(conn, "user", user_id)
            if count(s.group_members):
                raise Conflict("group_memberships")
            conn.execute(sa.delete(s.users).where(s.users.c.user_id == user_id))

    # -- groups ----------------------------------------------------------------------------
    def create_group(self, group: Group) -> None:
        with self._write() as conn:
            if conn.execute(
                sa.select(s.groups.c.group_id).where(
                    named(s.groups, group.account_id, group.name))
            ).first():
                raise AlreadyExists("group", group.name)
            self._insert(conn, s.groups, _group_values(group), "group", group.name)

    def get_group(self, account_id: str, name: str) -> Group:
        with self._read(snapshot=False) as conn:
            return group_from_row(self._one(
                conn, sa.select(s.groups).where(named(s.groups, account_id, name)), "group", name
            ))

    def list_groups(
        self, account_id: str, *, path_prefix: str = "/", marker: str | None = None,
        max_items: int = 100,
    ) -> Page[Group]:
        return self._list_named(s.groups, account_id, path_prefix, marker, max_items,
                                group_from_row)

    def update_group(self, account_id: str, name: str, fn: Callable[[Group], Group]) -> Group:
        return self._update_named(s.groups, "group_id", "group", account_id, name, fn,
                                  group_from_row, _group_values)

    def delete_group(self, account_id: str, name: str) -> None:
        with self._write() as conn:
            group_id = self._entity_id(conn, "group", account_id, name, lock=True)
            members = conn.execute(
                sa.select(sa.func.count()).select_from(s.group_members)
                .where(s.group_members.c.group_id == group_id)
            ).scalar_one()
            if members:
                raise Conflict("group_members")
            self._policy_conflicts(conn, "group", group_id)
            conn.execute(sa.delete(s.groups).where(s.groups.c.group_id == group_id))

    def add_user_to_group(self, account_id: str, group_name: str, user_name: str) -> None:
        """Idempotent, as IAM's AddUserToGroup is."""
        with self._write() as conn:
            group_id = self._entity_id(conn, "group", account_id, group_name, lock=True)
            user_id = self._entity_id(conn, "user", account_id, user_name, lock=True)
            exists = conn.execute(
                sa.select(s.group_members.c.user_id).where(
                    s.group_members.c.group_id == group_id,
                    s.group_members.c.user_id == user_id,
                )
            ).first()
            if exists is None:
                conn.execute(sa.insert(s.group_members).values(group_id=group_id,
                                                               user_id=user_id))

    def remove_user_from_group(self, account_id: str, group_name: str, user_name: str) -> None:
        with self._write() as conn:
            group_id = self._entity_id(conn, "group", account_id, group_name)
            user_id = self._entity_id(conn, "user", account_id, user_name)
            done = conn.execute(
                sa.delete(s.group_members).where(
                    s.group_members.c.group_id == group_id,
                    s.group_members.c.user_id == user_id,
                )
            )
            if done.rowcount == 0:
                raise NotFound("group_membership", user_name)

    def list_group_members(
        self, account_id: str, group_name: str, *, marker: str | None = None,
        max_items: int = 100,
    ) -> Page[User]:
        after = decode_marker(marker)
        with self._read() as conn:
            group_id = self._entity_id(conn, "group", account_id, group_name)
            q = (
                sa.select(s.users)
                .join(s.group_members, s.group_members.c.user_id == s.users.c.user_id)
                .where(s.group_members.c.group_id == group_id)
            )
            if after is not None:
                q = q.where(s.users.c.name_lower > after)
            rows = [user_from_row(r) for r in conn.execute(
                q.order_by(s.users.c.name_lower).limit(max_items + 1))]
        return make_page(rows, max_items, lambda u: u.name.lower())

    def list_groups_for_user(
        self, account_id: str, user_name: str, *, marker: str | None = None,
        max_items: int = 100,
    ) -> Page[Group]:
        after = decode_marker(marker)
        with self._read() as conn:
            user_id = self._entity_id(conn, "user", account_id, user_name)
            q = (
                sa.select(s.groups)
                .join(s.group_members, s.group_members.c.group_id == s.groups.c.group_id)
                .where(s.group_members.c.user_id == user_id)
            )
            if after is not None:
                q = q.where(s.groups.c.name_lower > after)
            rows = [group_from_row(r) for r in conn.execute(
                q.order_by(s.groups.c.name_lower).limit(max_items + 1))]
        return make_page(rows, max_items, lambda g: g.name.lower())

    # -- roles -----------------------------------------------------------------------------
    def create_role(self, role: Role) -> None:
        with self._write() as conn:
            self._insert_role(conn, role)

    def _insert_role(self, conn: sa.Connection, role: Role) -> None:
        if conn.execute(
            sa.select(s.roles.c.role_id).where(named(s.roles, role.account_id, role.name))
        ).first():
            raise AlreadyExists("role", role.name)
        self._insert(conn, s.roles, _role_values(role), "role", role.name)

    def get_role(self, account_id: str, name: str) -> Role:
        with self._read(snapshot=False) as conn:
            return role_from_row(self._one(
                conn, sa.select(s.roles).where(named(s.roles, account_id, name)), "role", name
            ))

    def get_role_by_id(self, role_id: str) -> Role:
        with self._read(snapshot=False) as conn:
            return role_from_row(self._one(
                conn, sa.select(s.roles).where(s.roles.c.role_id == role_id), "role", role_id
            ))

    def list_roles(
        self, account_id: str, *, path_prefix: str = "/", marker: str | None = None,
        max_items: int = 100,
    ) -> Page[Role]:
        return self._list_named(s.roles, account_id, path_prefix, marker, max_items,
                                role_from_row)

    def update_role(self, account_id: str, name: str, fn: Callable[[Role], Role]) -> Role:
        return self._update_named(s.roles, "role_id", "role", account_id, name, fn,
                                  role_from_row, _role_values)

    def delete_role(self, account_id: str, name: str) -> None:
        with self._write() as conn:
            role_id = self._entity_id(conn, "role", account_id, name, lock=True)
            self._extra_role_conflicts(conn, role_id)
            self._policy_conflicts(conn, "role", role_id)
            conn.execute(sa.delete(s.roles).where(s.roles.c.role_id == role_id))
