"""Access keys, virtual MFA devices, login profiles, used-token ids and signing keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded
from opensts.directory.paging import decode_marker, make_page
from opensts.directory.records import (
    AccessKey,
    AccessKeyLastUsed,
    Account,
    LoginProfile,
    Page,
    SigningKey,
    VirtualMfaDevice,
)
from opensts.store import schema as s
from opensts.store._base import tags_from_json, tags_to_json
from opensts.store._principals import PrincipalsMixin

_k = s.access_keys
_m = s.mfa_devices
_u = s.users


def _key_from_row(r: Any) -> AccessKey:
    last = (AccessKeyLastUsed(r.last_used, r.last_used_service or "", r.last_used_region or "")
            if r.last_used is not None else None)
    return AccessKey(
        access_key_id=r.access_key_id, account_id=r.account_id, user_name=r.user_name,
        user_id=r.user_id, sealed_secret=bytes(r.sealed_secret), status=r.status,
        created=r.created, last_used=last,
    )


def _key_select() -> sa.Select[Any]:
    return sa.select(_k, _u.c.name.label("user_name")).outerjoin(_u, _u.c.user_id == _k.c.user_id)


def _mfa_from_row(r: Any) -> VirtualMfaDevice:
    return VirtualMfaDevice(
        serial=r.serial, account_id=r.account_id, name=r.name, path=r.path,
        sealed_seed=bytes(r.sealed_seed), created=r.created, user_name=r.user_name,
        enabled=r.enabled, last_time_step=r.last_time_step, tags=tags_from_json(r.tags),
    )


def _profile_from_row(account_id: str, r: Any) -> LoginProfile:
    return LoginProfile(account_id, r.name, r.password_hash, r.created, bool(r.reset_required),
                        r.password_changed, tuple(r.previous_hashes or ()))


def _mfa_select() -> sa.Select[Any]:
    return sa.select(_m, _u.c.name.label("user_name")).outerjoin(_u, _u.c.user_id == _m.c.user_id)


class CredentialsMixin(PrincipalsMixin):
    # -- access keys ---------------------------------------------------------------------
    def _key_owner(self, conn: sa.Connection, account_id: str, user_name: str | None,
                   *, lock: bool = False) -> str | None:
        if user_name is None:
            return None
        return self._entity_id(conn, "user", account_id, user_name, lock=lock)

    def create_access_key(self, key: AccessKey, *, max_per_user: int = 2) -> None:
        with self._write() as conn:
            self._insert_access_key(conn, key, max_per_user=max_per_user)

    def _insert_access_key(
        self, conn: sa.Connection, key: AccessKey, *, max_per_user: int = 2
    ) -> None:
        user_id = self._key_owner(conn, key.account_id, key.user_name, lock=True)
        owner = _k.c.user_id.is_(None) if user_id is None else _k.c.user_id == user_id
        count = conn.execute(sa.select(sa.func.count()).select_from(_k).where(
            _k.c.account_id == key.account_id, owner)).scalar_one()
        if count >= max_per_user:
            raise QuotaExceeded("AccessKeysPerUser", max_per_user)
        self._insert(conn, _k, {
            "access_key_id": key.access_key_id, "account_id": key.account_id,
            "user_id": user_id, "sealed_secret": key.sealed_secret, "status": key.status,
            "created": key.created,
        }, "access_key", key.access_key_id)

    def create_management_account(self, account: Account, root_key: AccessKey) -> None:
        """First start: the account and its root access key together, so a crash between
        them cannot leave an account nobody can ever sign in to. AlreadyExists when the
        store holds an account already (another node's first start won)."""
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # Two nodes starting on an empty database: the second waits, then sees
                # the first one's account. (SQLite's BEGIN IMMEDIATE already serializes.)
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7170114)"))
            if conn.execute(sa.select(s.accounts.c.account_id).limit(1)).first() is not None:
                raise AlreadyExists("account", account.account_id)
            self._insert_account(conn, account)
            self._insert_access_key(conn, root_key, max_per_user=2)

    def find_access_key(self, access_key_id: str) -> AccessKey | None:
        with self._read(snapshot=False) as conn:
            r = conn.execute(_key_select().where(_k.c.access_key_id == access_key_id)).first()
        return None if r is None else _key_from_row(r)

    def list_access_keys(self, account_id: str, user_name: str | None) -> list[AccessKey]:
        with self._read() as conn:
            user_id = self._key_owner(conn, account_id, user_name)
            owner = _k.c.user_id.is_(None) if user_id is None else _k.c.user_id == user_id
            rows = conn.execute(_key_select().where(_k.c.account_id == account_id, owner)
                                .order_by(_k.c.created, _k.c.access_key_id))
            return [_key_from_row(r) for r in rows]

    def _key_where(self, conn: sa.Connection, account_id: str, user_name: str | None,
                   access_key_id: str) -> sa.ColumnElement[bool]:
        user_id = self._key_owner(conn, account_id, user_name, lock=True)
        owner = _k.c.user_id.is_(None) if user_id is None else _k.c.user_id == user_id
        return sa.and_(_k.c.access_key_id == access_key_id, _k.c.account_id == account_id, owner)

    def set_access_key_status(
        self, account_id: str, user_name: str | None, access_key_id: str,
        status: Literal["Active", "Inactive"],
    ) -> None:
        with self._write() as conn:
            where = self._key_where(conn, account_id, user_name, access_key_id)
            if conn.execute(sa.update(_k).where(where).values(status=status)).rowcount == 0:
                raise NotFound("access_key", access_key_id)

    def record_access_key_use(self, access_key_id: str, last_used: AccessKeyLastUsed) -> None:
        # Bookkeeping only: does not move the generation (nothing an authorizer caches).
        with self._write(bump=False) as conn:
            conn.execute(sa.update(_k).where(_k.c.access_key_id == access_key_id).values(
                last_used=last_used.when, last_used_service=last_used.service,
                last_used_region=last_used.region))

    def delete_access_key(
        self, account_id: str, user_name: str | None, access_key_id: str
    ) -> None:
        with self._write() as conn:
            where = self._key_where(conn, account_id, user_name, access_key_id)
            if conn.execute(sa.delete(_k).where(where)).rowcount == 0:
                raise NotFound("access_key", access_key_id)

    # -- MFA -----------------------------------------------------------------------------
    def create_mfa_device(self, device: VirtualMfaDevice) -> None:
        with self._write() as conn:
            clash = conn.execute(sa.select(_m.c.serial).where(
                sa.or_(_m.c.serial == device.serial,
                       sa.and_(_m.c.account_id == device.account_id,
                               _m.c.name_lower == device.name.lower())))).first()
            if clash is not None:
                raise AlreadyExists("mfa_device", device.name)
            self._insert(conn, _m, {
                "serial": device.serial, "account_id": device.account_id, "name": device.name,
                "name_lower": device.name.lower(), "path": device.path,
                "sealed_seed": device.sealed_seed, "created": device.created, "user_id": None,
                "enabled": None, "last_time_step": None, "tags": tags_to_json(device.tags),
            }, "mfa_device", device.name)

    def find_mfa_device(self, serial: str) -> VirtualMfaDevice | None:
        with self._read(snapshot=False) as conn:
            r = conn.execute(_mfa_select().where(_m.c.serial == serial)).first()
        return None if r is None else _mfa_from_row(r)

    def get_mfa_device(self, serial: str) -> VirtualMfaDevice:
        found = self.find_mfa_device(serial)
        if found is None:
            raise NotFound("mfa_device", serial)
        return found

    def list_virtual_mfa_devices(
        self, account_id: str, *, assigned: bool | None = None, marker: str | None = None,
        max_items: int = 100,
    ) -> Page[VirtualMfaDevice]:
        after = decode_marker(marker)
        q = _mfa_select().where(_m.c.account_id == account_id)
        if assigned is True:
            q = q.where(_m.c.user_id.is_not(None))
        elif assigned is False:
            q = q.where(_m.c.user_id.is_(None))
        if after is not None:
            q = q.where(_m.c.serial > after)
        with self._read() as conn:
            rows = [_mfa_from_row(r)
                    for r in conn.execute(q.order_by(_m.c.serial).limit(max_items + 1))]
        return make_page(rows, max_items, lambda d: d.serial)

    def list_mfa_devices_for_user(
        self, account_id: str, user_name: str
    ) -> list[VirtualMfaDevice]:
        with self._read() as conn:
            user_id = self._entity_id(conn, "user", account_id, user_name)
            rows = conn.execute(_mfa_select().where(_m.c.user_id == user_id)
                                .order_by(_m.c.enabled, _m.c.serial))
            return [_mfa_from_row(r) for r in rows]

    def enable_mfa_device(
        self, serial: str, account_id: str, user_name: str, enabled: datetime,
        last_time_step: int, *, max_per_user: int = 8,
    ) -> None:
        with self._write() as conn:
            user_id = self._entity_id(conn, "user", account_id, user_name, lock=True)
            row = self._one(conn, sa.select(_m).where(
                _m.c.serial == serial, _m.c.account_id == account_id).with_for_update(),
                "mfa_device", serial)
            if row.user_id is not None:
                raise Conflict("mfa_assigned", serial)
            count = conn.execute(sa.select(sa.func.count()).select_from(_m).where(
                _m.c.user_id == user_id)).scalar_one()
            if count >= max_per_user:
                raise QuotaExceeded("MFADevicesPerUser", max_per_user)
            conn.execute(sa.update(_m).where(_m.c.serial == serial).values(
                user_id=user_id, enabled=enabled, last_time_step=last_time_step))

    def deactivate_mfa_device(self, serial: str, account_id: str, user_name: str) -> None:
        with self._write() as conn:
            user_id = self._entity_id(conn, "user", account_id, user_name, lock=True)
            done = conn.execute(sa.update(_m).where(
                _m.c.serial == serial, _m.c.user_id == user_id).values(
                user_id=None, enabled=None, last_time_step=None))
            if done.rowcount == 0:
                raise NotFound("mfa_device", serial)

    def delete_mfa_device(self, serial: str) -> None:
        with self._write() as conn:
            row = self._one(conn, sa.select(_m.c.user_id).where(_m.c.serial == serial)
                            .with_for_update(), "mfa_device", serial)
            if row.user_id is not None:
                raise Conflict("mfa_in_use", serial)
            conn.execute(sa.delete(_m).where(_m.c.serial == serial))

    def use_mfa_code(self, serial: str, time_step: int) -> bool:
        # One conditional UPDATE is atomic on every backend: of two concurrent uses of
        # the same code exactly one matches the row (RFC 6238 §5.2: no code reuse).
        with self._write(bump=False) as conn:
            done = conn.execute(sa.update(_m).where(
                _m.c.serial == serial, _m.c.user_id.is_not(None),
                sa.or_(_m.c.last_time_step.is_(None), _m.c.last_time_step < time_step),
            ).values(last_time_step=time_step))
            return done.rowcount == 1

    # -- login profiles ------------------------------------------------------------------
    def create_login_profile(self, profile: LoginProfile) -> None:
        with self._write() as conn:
            user_id = self._entity_id(conn, "user", profile.account_id, profile.user_name,
                                      lock=True)
            if conn.execute(sa.select(s.login_profiles.c.user_id).where(
                    s.login_profiles.c.user_id == user_id)).first():
                raise AlreadyExists("login_profile", profile.user_name)
            self._insert(conn, s.login_profiles, {
                "user_id": user_id, "password_hash": profile.password_hash,
                "created": profile.created, "reset_required": profile.password_reset_required,
                "password_changed": profile.password_changed,
                "previous_hashes": list(profile.previous_hashes),
            }, "login_profile", profile.user_name)

    def _login_row(self, conn: sa.Connection, account_id: str, user_name: str,
                   *, lock: bool = False) -> Any:
        lp = s.login_profiles
        q = (sa.select(lp, _u.c.name).join(_u, _u.c.user_id == lp.c.user_id)
             .where(_u.c.account_id == account_id, _u.c.name_lower == user_name.lower()))
        if lock:
            q = q.with_for_update()
        return self._one(conn, q, "login_profile", user_name)

    def get_login_profile(self, account_id: str, user_name: str) -> LoginProfile:
        with self._read() as conn:
            self._entity_id(conn, "user", account_id, user_name)
            r = self._login_row(conn, account_id, user_name)
        return _profile_from_row(account_id, r)

    def update_login_profile(
        self, account_id: str, user_name: str, fn: Callable[[LoginProfile], LoginProfile]
    ) -> LoginProfile:
        with self._write() as conn:
            self._entity_id(conn, "user", account_id, user_name, lock=True)
            r = self._login_row(conn, account_id, user_name, lock=True)
            new = fn(_profile_from_row(account_id, r))
            conn.execute(sa.update(s.login_profiles).where(
                s.login_profiles.c.user_id == r.user_id).values(
                password_hash=new.password_hash, reset_required=new.password_reset_required,
                password_changed=new.password_changed,
                previous_hashes=list(new.previous_hashes)))
            return new

    def delete_login_profile(self, account_id: str, user_name: str) -> None:
        with self._write() as conn:
            user_id = self._entity_id(conn, "user", account_id, user_name, lock=True)
            done = conn.execute(sa.delete(s.login_profiles).where(
                s.login_profiles.c.user_id == user_id))
            if done.rowcount == 0:
                raise NotFound("login_profile", user_name)

    # -- replay protection -----------------------------------------------------------------
    def add_used_token(self, token_id: str, expires: datetime) -> bool:
        try:
            with self._write(bump=False) as conn:
                conn.execute(sa.insert(s.used_tokens).values(token_id=token_id, expires=expires))
        except sa.exc.IntegrityError:
            return False
        return True

    def purge_expired(self, now: datetime) -> int:
        with self._write(bump=False) as conn:
            return int(conn.execute(sa.delete(s.used_tokens).where(
                s.used_tokens.c.expires < now)).rowcount)

    # -- signing keys ----------------------------------------------------------------------
    def list_signing_keys(self) -> list[SigningKey]:
        sk = s.signing_keys
        with self._read() as conn:
            rows = conn.execute(sa.select(sk).order_by(sk.c.created, sk.c.key_id))
            return [SigningKey(r.key_id, bytes(r.sealed_key), r.created, bool(r.is_primary))
                    for r in rows]

    def add_signing_key(self, key: SigningKey) -> None:
        sk = s.signing_keys
        with self._write() as conn:
            if key.primary:
                conn.execute(sa.update(sk).values(is_primary=False))
            self._insert(conn, sk, {"key_id": key.key_id, "sealed_key": key.sealed_key,
                                    "created": key.created, "is_primary": key.primary},
                         "signing_key", key.key_id)

    def set_primary_signing_key(self, key_id: str) -> None:
        sk = s.signing_keys
        with self._write() as conn:
            self._one(conn, sa.select(sk.c.key_id).where(sk.c.key_id == key_id),
                      "signing_key", key_id)
            conn.execute(sa.update(sk).values(is_primary=sk.c.key_id == key_id))

    def delete_signing_key(self, key_id: str) -> None:
        sk = s.signing_keys
        with self._write() as conn:
            if conn.execute(sa.delete(sk).where(sk.c.key_id == key_id)).rowcount == 0:
                raise NotFound("signing_key", key_id)
