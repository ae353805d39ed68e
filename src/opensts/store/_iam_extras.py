"""Issue 13's IAM entities in the SQL store (migration 9): instance profiles, signing
certificates, SSH public keys, service-specific credentials, server certificates, account
aliases, account password policies, and the tags of virtual MFA devices.

Quotas that must hold under concurrency (instance profiles per account, roles per instance
profile, certificates and keys per user, server certificates per account) are checked
inside the mutation's transaction with the parent row locked, as for access keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded
from opensts.directory.paging import decode_marker, make_page
from opensts.directory.records import (
    InstanceProfile,
    Page,
    PasswordPolicy,
    ServerCertificate,
    ServiceSpecificCredential,
    SigningCertificate,
    SshPublicKey,
    Tags,
    VirtualMfaDevice,
)
from opensts.store import schema as s
from opensts.store._base import prefix_filter, tags_from_json, tags_to_json
from opensts.store._principals import PrincipalsMixin, named, role_from_row

_ip = s.instance_profiles
_ipr = s.instance_profile_roles
_sc = s.signing_certificates
_ssh = s.ssh_public_keys
_ssc = s.service_specific_credentials
_srv = s.server_certificates
_u = s.users
_r = s.roles

_POLICY_FIELDS = tuple(f.name for f in dataclasses.fields(PasswordPolicy))


def _server_cert_from_row(r: Any) -> ServerCertificate:
    return ServerCertificate(
        account_id=r.account_id, server_certificate_id=r.server_certificate_id, name=r.name,
        path=r.path, arn=r.arn, body=r.body, chain=r.chain, uploaded=r.created,
        expiration=r.expiration, tags=tags_from_json(r.tags))


class IamExtrasMixin(PrincipalsMixin):
    # -- instance profiles ---------------------------------------------------------------
    def _profile_roles(self, conn: sa.Connection, profile_ids: list[str]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {i: [] for i in profile_ids}
        if not profile_ids:
            return out
        rows = conn.execute(
            sa.select(_ipr.c.instance_profile_id, _r).join(_r, _r.c.role_id == _ipr.c.role_id)
            .where(_ipr.c.instance_profile_id.in_(profile_ids)).order_by(_r.c.name_lower))
        for r in rows:
            out[r.instance_profile_id].append(role_from_row(r))
        return out

    def _profiles(self, conn: sa.Connection, rows: list[Any]) -> list[InstanceProfile]:
        roles = self._profile_roles(conn, [r.instance_profile_id for r in rows])
        return [InstanceProfile(
            account_id=r.account_id, instance_profile_id=r.instance_profile_id, name=r.name,
            path=r.path, arn=r.arn, created=r.created,
            roles=tuple(roles[r.instance_profile_id]), tags=tags_from_json(r.tags))
            for r in rows]

    def create_instance_profile(self, profile: InstanceProfile, *,
                                max_per_account: int = 1000) -> None:
        with self._write() as conn:
            if conn.execute(sa.select(_ip.c.instance_profile_id).where(
                    named(_ip, profile.account_id, profile.name))).first():
                raise AlreadyExists("instance_profile", profile.name)
            self._lock_account(conn, profile.account_id)
            count = conn.execute(sa.select(sa.func.count()).select_from(_ip).where(
                _ip.c.account_id == profile.account_id)).scalar_one()
            if count >= max_per_account:
                raise QuotaExceeded("InstanceProfilesPerAccount", max_per_account)
            self._insert(conn, _ip, {
                "instance_profile_id": profile.instance_profile_id,
                "account_id": profile.account_id, "name": profile.name,
                "name_lower": profile.name.lower(), "path": profile.path, "arn": profile.arn,
                "created": profile.created, "tags": tags_to_json(profile.tags),
            }, "instance_profile", profile.name)

    def _lock_account(self, conn: sa.Connection, account_id: str) -> None:
        """Serialize quota checks of one account (PostgreSQL; SQLite writers queue)."""
        conn.execute(sa.select(s.accounts.c.account_id).where(
            s.accounts.c.account_id == account_id).with_for_update())

    def get_instance_profile(self, account_id: str, name: str) -> InstanceProfile:
        with self._read() as conn:
            row = self._one(conn, sa.select(_ip).where(named(_ip, account_id, name)),
                            "instance_profile", name)
            return self._profiles(conn, [row])[0]

    def list_instance_profiles(
        self, account_id: str, *, path_prefix: str = "/", marker: str | None = None,
        max_items: int = 100,
    ) -> Page[InstanceProfile]:
        after = decode_marker(marker)
        q = sa.select(_ip).where(_ip.c.account_id == account_id,
                                 prefix_filter(_ip.c.path, path_prefix))
        if after is not None:
            q = q.where(_ip.c.name_lower > after)
        with self._read() as conn:
            rows = list(conn.execute(q.order_by(_ip.c.name_lower).limit(max_items + 1)))
            profiles = self._profiles(conn, rows)
        return make_page(profiles, max_items, lambda p: p.name.lower())

    def list_instance_profiles_for_role(
        self, account_id: str, role_name: str, *, marker: str | None = None,
        max_items: int = 100,
    ) -> Page[InstanceProfile]:
        after = decode_marker(marker)
        with self._read() as conn:
            role_id = self._entity_id(conn, "role", account_id, role_name)
            q = (sa.select(_ip).join(_ipr, _ipr.c.instance_profile_id == _ip.c.instance_profile_id)
                 .where(_ipr.c.role_id == role_id))
            if after is not None:
                q = q.where(_ip.c.name_lower > after)
            rows = list(conn.execute(q.order_by(_ip.c.name_lower).limit(max_items + 1)))
            profiles = self._profiles(conn, rows)
        return make_page(profiles, max_items, lambda p: p.name.lower())

    def update_instance_profile(
        self, account_id: str, name: str, fn: Callable[[InstanceProfile], InstanceProfile]
    ) -> InstanceProfile:
        """Only the tags may change."""
        with self._write() as conn:
            row = self._one(conn, sa.select(_ip).where(named(_ip, account_id, name))
                            .with_for_update(), "instance_profile", name)
            new = fn(self._profiles(conn, [row])[0])
            conn.execute(sa.update(_ip).where(
                _ip.c.instance_profile_id == row.instance_profile_id).values(
                tags=tags_to_json(new.tags)))
            return new

    def delete_instance_profile(self, account_id: str, name: str) -> None:
        """Conflict ``instance_profile_roles`` while a role is in it."""
        with self._write() as conn:
            row = self._one(conn, sa.select(_ip.c.instance_profile_id).where(
                named(_ip, account_id, name)).with_for_update(), "instance_profile", name)
            if conn.execute(sa.select(_ipr.c.role_id).where(
                    _ipr.c.instance_profile_id == row.instance_profile_id)).first():
                raise Conflict("instance_profile_roles")
            conn.execute(sa.delete(_ip).where(
                _ip.c.instance_profile_id == row.instance_profile_id))

    def add_role_to_instance_profile(
        self, account_id: str, profile_name: str, role_name: str, *, max_roles: int = 1
    ) -> None:
        with self._write() as conn:
            row = self._one(conn, sa.select(_ip.c.instance_profile_id).where(
                named(_ip, account_id, profile_name)).with_for_update(),
                "instance_profile", profile_name)
            role_id = self._entity_id(conn, "role", account_id, role_name, lock=True)
            present = list(conn.execute(sa.select(_ipr.c.role_id).where(
                _ipr.c.instance_profile_id == row.instance_profile_id)).scalars())
            if len(present) >= max_roles or role_id in present:
                raise QuotaExceeded("InstanceSessionsPerInstanceProfile", max_roles)
            conn.execute(sa.insert(_ipr).values(
                instance_profile_id=row.instance_profile_id, role_id=role_id))

    def remove_role_from_instance_profile(
        self, account_id: str, profile_name: str, role_name: str
    ) -> None:
        with self._write() as conn:
            row = self._one(conn, sa.select(_ip.c.instance_profile_id).where(
                named(_ip, account_id, profile_name)).with_for_update(),
                "instance_profile", profile_name)
            role_id = self._entity_id(conn, "role", account_id, role_name, lock=True)
            done = conn.execute(sa.delete(_ipr).where(
                _ipr.c.instance_profile_id == row.instance_profile_id,
                _ipr.c.role_id == role_id))
            if done.rowcount == 0:
                raise NotFound("role_in_instance_profile", role_name)

    def count_instance_profiles(self, account_id: str) -> int:
        with self._read(snapshot=False) as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_ip).where(
                _ip.c.account_id == account_id)).scalar_one())

    # -- user credentials (signing certificates, SSH keys, service-specific) ----------------
    def _owner_id(self, conn: sa.Connection, account_id: str, user_name: str | None,
                  *, lock: bool = False) -> str | None:
        if user_name is None:
            return None
        return self._entity_id(conn, "user", account_id, user_name, lock=lock)

    @staticmethod
    def _owned(table: sa.Table, account_id: str, user_id: str | None) -> sa.ColumnElement[bool]:
        owner = (table.c.user_id.is_(None) if user_id is None
                 else table.c.user_id == user_id)
        return sa.and_(table.c.account_id == account_id, owner)

    def _add_credential(self, table: sa.Table, kind: str, values: dict[str, Any],
                        account_id: str, user_name: str | None, max_per_user: int, quota: str,
                        duplicate: Callable[[sa.Connection, str | None], bool]) -> None:
        with self._write() as conn:
            user_id = self._owner_id(conn, account_id, user_name, lock=True)
            if user_id is None:
                self._lock_account(conn, account_id)
            if duplicate(conn, user_id):
                raise AlreadyExists(kind, str(values.get("body", "")))
            count = conn.execute(sa.select(sa.func.count()).select_from(table).where(
                self._owned(table, account_id, user_id))).scalar_one()
            if count >= max_per_user:
                raise QuotaExceeded(quota, max_per_user)
            key = next(iter(values.values()))
            self._insert(conn, table, {**values, "user_id": user_id}, kind, str(key))

    def _credential_rows(self, table: sa.Table, account_id: str, user_name: str | None,
                         *extra: sa.ColumnElement[bool]) -> list[Any]:
        with self._read() as conn:
            user_id = self._owner_id(conn, account_id, user_name)
            q = (sa.select(table, _u.c.name.label("user_name"))
                 .outerjoin(_u, _u.c.user_id == table.c.user_id)
                 .where(self._owned(table, account_id, user_id), *extra)
                 .order_by(table.c.created, table.primary_key.columns.values()[0]))
            return list(conn.execute(q))

    def _set_credential(self, table: sa.Table, kind: str, account_id: str,
                        user_name: str | None, key: str, values: dict[str, Any]) -> None:
        pk = table.primary_key.columns.values()[0]
        with self._write() as conn:
            user_id = self._owner_id(conn, account_id, user_name, lock=True)
            done = conn.execute(sa.update(table).where(
                pk == key, self._owned(table, account_id, user_id)).values(**values))
            if done.rowcount == 0:
                raise NotFound(kind, key)

    def _delete_credential(self, table: sa.Table, kind: str, account_id: str,
                           user_name: str | None, key: str) -> None:
        pk = table.primary_key.columns.values()[0]
        with self._write() as conn:
            user_id = self._owner_id(conn, account_id, user_name, lock=True)
            done = conn.execute(sa.delete(table).where(
                pk == key, self._owned(table, account_id, user_id)))
            if done.rowcount == 0:
                raise NotFound(kind, key)

    # signing certificates
    def upload_signing_certificate(self, cert: SigningCertificate, *,
                                   max_per_user: int = 2) -> None:
        """AlreadyExists ``signing_certificate`` when the same body is already uploaded
        for a user of the account (or its root)."""
        def duplicate(conn: sa.Connection, _user_id: str | None) -> bool:
            return conn.execute(sa.select(_sc.c.certificate_id).where(
                _sc.c.account_id == cert.account_id, _sc.c.body == cert.body)).first() is not None

        self._add_credential(_sc, "signing_certificate", {
            "certificate_id": cert.certificate_id, "account_id": cert.account_id,
            "body": cert.body, "status": cert.status, "created": cert.uploaded,
        }, cert.account_id, cert.user_name, max_per_user, "SigningCertificatesPerUser", duplicate)

    def list_signing_certificates(self, account_id: str,
                                  user_name: str | None) -> list[SigningCertificate]:
        return [SigningCertificate(r.certificate_id, r.account_id, r.user_name, r.body,
                                   r.status, r.created)
                for r in self._credential_rows(_sc, account_id, user_name)]

    def set_signing_certificate_status(self, account_id: str, user_name: str | None,
                                       certificate_id: str, status: str) -> None:
        self._set_credential(_sc, "signing_certificate", account_id, user_name,
                             certificate_id, {"status": status})

    def delete_signing_certificate(self, account_id: str, user_name: str | None,
                                   certificate_id: str) -> None:
        self._delete_credential(_sc, "signing_certificate", account_id, user_name,
                                certificate_id)

    # SSH public keys
    def upload_ssh_public_key(self, key: SshPublicKey, *, max_per_user: int = 5) -> None:
        """AlreadyExists ``ssh_public_key`` when the user already has this key."""
        def duplicate(conn: sa.Connection, user_id: str | None) -> bool:
            return conn.execute(sa.select(_ssh.c.ssh_public_key_id).where(
                _ssh.c.user_id == user_id, _ssh.c.fingerprint == key.fingerprint)
            ).first() is not None

        self._add_credential(_ssh, "ssh_public_key", {
            "ssh_public_key_id": key.ssh_public_key_id, "account_id": key.account_id,
            "body": key.body, "fingerprint": key.fingerprint, "status": key.status,
            "created": key.uploaded,
        }, key.account_id, key.user_name, max_per_user, "PublicKeysPerUser", duplicate)

    def list_ssh_public_keys(self, account_id: str, user_name: str) -> list[SshPublicKey]:
        return [SshPublicKey(r.ssh_public_key_id, r.account_id, r.user_name, r.body,
                             r.fingerprint, r.status, r.created)
                for r in self._credential_rows(_ssh, account_id, user_name)]

    def set_ssh_public_key_status(self, account_id: str, user_name: str, key_id: str,
                                  status: str) -> None:
        self._set_credential(_ssh, "ssh_public_key", account_id, user_name, key_id,
                             {"status": status})

    def delete_ssh_public_key(self, account_id: str, user_name: str, key_id: str) -> None:
        self._delete_credential(_ssh, "ssh_public_key", account_id, user_name, key_id)

    # service-specific credentials
    def create_service_specific_credential(
        self, cred: ServiceSpecificCredential, *, max_per_service: int = 2
    ) -> None:
        """QuotaExceeded ``ServiceSpecificCredentialsPerUserPerService``."""
        with self._write() as conn:
            user_id = self._entity_id(conn, "user", cred.account_id, cred.user_name, lock=True)
            count = conn.execute(sa.select(sa.func.count()).select_from(_ssc).where(
                _ssc.c.user_id == user_id, _ssc.c.service_name == cred.service_name)
            ).scalar_one()
            if count >= max_per_service:
                raise QuotaExceeded("ServiceSpecificCredentialsPerUserPerService",
                                    max_per_service)
            self._insert(conn, _ssc, {
                "credential_id": cred.credential_id, "account_id": cred.account_id,
                "user_id": user_id, "service_name": cred.service_name,
                "service_user_name": cred.service_user_name,
                "sealed_password": cred.sealed_password, "status": cred.status,
                "created": cred.created, "expires": cred.expires,
            }, "service_specific_credential", cred.credential_id)

    def list_service_specific_credentials(
        self, account_id: str, user_name: str, service_name: str | None = None
    ) -> list[ServiceSpecificCredential]:
        extra = [] if service_name is None else [_ssc.c.service_name == service_name]
        return [ServiceSpecificCredential(
            r.credential_id, r.account_id, r.user_name, r.service_name, r.service_user_name,
            bytes(r.sealed_password), r.status, r.created, r.expires)
            for r in self._credential_rows(_ssc, account_id, user_name, *extra)]

    def update_service_specific_credential(
        self, account_id: str, user_name: str, credential_id: str, *,
        status: str | None = None, sealed_password: bytes | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = status
        if sealed_password is not None:
            values["sealed_password"] = sealed_password
        self._set_credential(_ssc, "service_specific_credential", account_id, user_name,
                             credential_id, values or {"status": _ssc.c.status})

    def delete_service_specific_credential(self, account_id: str, user_name: str,
                                           credential_id: str) -> None:
        self._delete_credential(_ssc, "service_specific_credential", account_id, user_name,
                                credential_id)

    def _extra_user_conflicts(self, conn: sa.Connection, user_id: str) -> None:
        """DeleteUser: AWS refuses while these credentials remain (API_DeleteUser)."""
        for table, reason in ((_sc, "signing_certificates"), (_ssh, "ssh_public_keys"),
                              (_ssc, "service_specific_credentials")):
            if conn.execute(sa.select(sa.literal(1)).select_from(table).where(
                    table.c.user_id == user_id).limit(1)).first():
                raise Conflict(reason)

    def _extra_role_conflicts(self, conn: sa.Connection, role_id: str) -> None:
        """DeleteRole: refused while the role is in an instance profile."""
        if conn.execute(sa.select(_ipr.c.instance_profile_id).where(
                _ipr.c.role_id == role_id).limit(1)).first():
            raise Conflict("role_in_instance_profile")

    # -- server certificates ---------------------------------------------------------------
    def upload_server_certificate(self, cert: ServerCertificate, *,
                                  max_per_account: int = 20) -> None:
        with self._write() as conn:
            if conn.execute(sa.select(_srv.c.server_certificate_id).where(
                    named(_srv, cert.account_id, cert.name))).first():
                raise AlreadyExists("server_certificate", cert.name)
            self._lock_account(conn, cert.account_id)
            count = conn.execute(sa.select(sa.func.count()).select_from(_srv).where(
                _srv.c.account_id == cert.account_id)).scalar_one()
            if count >= max_per_account:
                raise QuotaExceeded("ServerCertificatesPerAccount", max_per_account)
            self._insert(conn, _srv, {
                "server_certificate_id": cert.server_certificate_id,
                "account_id": cert.account_id, "name": cert.name,
                "name_lower": cert.name.lower(), "path": cert.path, "arn": cert.arn,
                "created": cert.uploaded, "body": cert.body, "chain": cert.chain,
                "expiration": cert.expiration, "tags": tags_to_json(cert.tags),
            }, "server_certificate", cert.name)

    def get_server_certificate(self, account_id: str, name: str) -> ServerCertificate:
        with self._read(snapshot=False) as conn:
            return _server_cert_from_row(self._one(
                conn, sa.select(_srv).where(named(_srv, account_id, name)),
                "server_certificate", name))

    def list_server_certificates(
        self, account_id: str, *, path_prefix: str = "/", marker: str | None = None,
        max_items: int = 100,
    ) -> Page[ServerCertificate]:
        after = decode_marker(marker)
        q = sa.select(_srv).where(_srv.c.account_id == account_id,
                                  prefix_filter(_srv.c.path, path_prefix))
        if after is not None:
            q = q.where(_srv.c.name_lower > after)
        with self._read() as conn:
            rows = [_server_cert_from_row(r) for r in conn.execute(
                q.order_by(_srv.c.name_lower).limit(max_items + 1))]
        return make_page(rows, max_items, lambda c: c.name.lower())

    def update_server_certificate(
        self, account_id: str, name: str, fn: Callable[[ServerCertificate], ServerCertificate]
    ) -> ServerCertificate:
        """Renames (name/path/arn) and tag changes; AlreadyExists on a taken name."""
        with self._write() as conn:
            row = self._one(conn, sa.select(_srv).where(named(_srv, account_id, name))
                            .with_for_update(), "server_certificate", name)
            old = _server_cert_from_row(row)
            new = fn(old)
            if new.name.lower() != old.name.lower() and conn.execute(
                    sa.select(_srv.c.server_certificate_id).where(
                        named(_srv, account_id, new.name))).first():
                raise AlreadyExists("server_certificate", new.name)
            try:
                with conn.begin_nested():
                    conn.execute(sa.update(_srv).where(
                        _srv.c.server_certificate_id == old.server_certificate_id).values(
                        name=new.name, name_lower=new.name.lower(), path=new.path,
                        arn=new.arn, tags=tags_to_json(new.tags)))
            except sa.exc.IntegrityError as exc:
                raise AlreadyExists("server_certificate", new.name) from exc
            return new

    def delete_server_certificate(self, account_id: str, name: str) -> None:
        with self._write() as conn:
            done = conn.execute(sa.delete(_srv).where(named(_srv, account_id, name)))
            if done.rowcount == 0:
                raise NotFound("server_certificate", name)

    def count_server_certificates(self, account_id: str) -> int:
        with self._read(snapshot=False) as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_srv).where(
                _srv.c.account_id == account_id)).scalar_one())

    # -- account aliases -------------------------------------------------------------------
    def set_account_alias(self, account_id: str, alias: str) -> None:
        """Replaces the account's alias; AlreadyExists ``account_alias`` when any account
        (this one included) already has ``alias``."""
        t = s.account_aliases
        with self._write() as conn:
            if conn.execute(sa.select(t.c.account_id).where(t.c.alias == alias)).first():
                raise AlreadyExists("account_alias", alias)
            self._lock_account(conn, account_id)
            conn.execute(sa.delete(t).where(t.c.account_id == account_id))
            self._insert(conn, t, {"account_id": account_id, "alias": alias},
                         "account_alias", alias)

    def find_account_alias(self, account_id: str) -> str | None:
        t = s.account_aliases
        with self._read(snapshot=False) as conn:
            found = conn.execute(sa.select(t.c.alias).where(t.c.account_id == account_id)
                                 ).scalar()
        return None if found is None else str(found)

    def find_account_by_alias(self, alias: str) -> str | None:
        t = s.account_aliases
        with self._read(snapshot=False) as conn:
            found = conn.execute(sa.select(t.c.account_id).where(t.c.alias == alias)).scalar()
        return None if found is None else str(found)

    def delete_account_alias(self, account_id: str, alias: str) -> None:
        t = s.account_aliases
        with self._write() as conn:
            done = conn.execute(sa.delete(t).where(t.c.account_id == account_id,
                                                   t.c.alias == alias))
            if done.rowcount == 0:
                raise NotFound("account_alias", alias)

    # -- password policy -------------------------------------------------------------------
    def put_password_policy(self, account_id: str, policy: PasswordPolicy) -> None:
        t = s.password_policies
        value = {f: getattr(policy, f) for f in _POLICY_FIELDS}
        with self._write() as conn:
            self._lock_account(conn, account_id)
            done = conn.execute(sa.update(t).where(t.c.account_id == account_id).values(
                policy=value))
            if done.rowcount == 0:
                self._insert(conn, t, {"account_id": account_id, "policy": value},
                             "password_policy", account_id)

    def find_password_policy(self, account_id: str) -> PasswordPolicy | None:
        t = s.password_policies
        with self._read(snapshot=False) as conn:
            value = conn.execute(sa.select(t.c.policy).where(t.c.account_id == account_id)
                                 ).scalar()
        if value is None:
            return None
        return PasswordPolicy(**{f: value[f] for f in _POLICY_FIELDS if f in value})

    def delete_password_policy(self, account_id: str) -> None:
        t = s.password_policies
        with self._write() as conn:
            done = conn.execute(sa.delete(t).where(t.c.account_id == account_id))
            if done.rowcount == 0:
                raise NotFound("password_policy", account_id)

    # -- MFA device tags -------------------------------------------------------------------
    def update_mfa_device_tags(self, serial: str, fn: Callable[[Tags], Tags]) -> Tags:
        m = s.mfa_devices
        with self._write() as conn:
            row = self._one(conn, sa.select(m.c.tags).where(m.c.serial == serial)
                            .with_for_update(), "mfa_device", serial)
            new = fn(tags_from_json(row.tags))
            conn.execute(sa.update(m).where(m.c.serial == serial).values(
                tags=tags_to_json(new)))
            return new


__all__ = ["IamExtrasMixin", "VirtualMfaDevice"]
