"""Conformance of issue 13's store entities (migration 9) on SQLite and PostgreSQL:
instance profiles, signing certificates, SSH keys, service-specific credentials, server
certificates, account aliases, password policies, MFA tags, and the delete conflicts they
add to DeleteUser/DeleteRole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded
from opensts.directory.records import (
    Account,
    InstanceProfile,
    LoginProfile,
    PasswordPolicy,
    Role,
    ServerCertificate,
    ServiceSpecificCredential,
    SigningCertificate,
    SshPublicKey,
    Tag,
    User,
    VirtualMfaDevice,
)
from opensts.store import schema

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ACCT = "111122223333"
OTHER = "444455556666"


@pytest.fixture
def store(store):  # type: ignore[no-untyped-def]
    store.create_account(Account(ACCT, "main", "", NOW))
    store.create_account(Account(OTHER, "other", "", NOW))
    return store


def _role(name: str) -> Role:
    return Role(ACCT, f"AROA{name.upper():0<17}"[:21], name, "/",
                f"arn:aws:iam::{ACCT}:role/{name}", NOW, "{}")


def _user(store, name: str) -> User:  # type: ignore[no-untyped-def]
    user = User(ACCT, f"AIDA{name.upper():0<17}"[:21], name, "/",
                f"arn:aws:iam::{ACCT}:user/{name}", NOW)
    store.create_user(user)
    return user


def _profile(name: str, path: str = "/") -> InstanceProfile:
    return InstanceProfile(ACCT, f"AIPA{name.upper():0<17}"[:21], name, path,
                           f"arn:aws:iam::{ACCT}:instance-profile{path}{name}", NOW)


def test_instance_profiles(store) -> None:  # type: ignore[no-untyped-def]
    store.create_role(_role("web"))
    store.create_role(_role("db"))
    store.create_instance_profile(_profile("Web", "/a/"))
    with pytest.raises(AlreadyExists):
        store.create_instance_profile(_profile("WEB"))
    store.create_instance_profile(_profile("z"))
    store.add_role_to_instance_profile(ACCT, "web", "WEB")
    got = store.get_instance_profile(ACCT, "web")
    assert got.name == "Web" and [r.name for r in got.roles] == ["web"]
    with pytest.raises(QuotaExceeded) as quota:
        store.add_role_to_instance_profile(ACCT, "web", "db")
    assert (quota.value.quota, quota.value.limit) == ("InstanceSessionsPerInstanceProfile", 1)
    with pytest.raises(NotFound):
        store.add_role_to_instance_profile(ACCT, "nope", "db")
    with pytest.raises(NotFound):
        store.add_role_to_instance_profile(ACCT, "z", "nope")
    assert [p.name for p in store.list_instance_profiles_for_role(ACCT, "web").items] == ["Web"]
    page = store.list_instance_profiles(ACCT, max_items=1)
    assert [p.name for p in page.items] == ["Web"] and page.marker
    rest = store.list_instance_profiles(ACCT, marker=page.marker)
    assert [p.name for p in rest.items] == ["z"] and rest.marker is None
    assert [p.name for p in store.list_instance_profiles(ACCT, path_prefix="/a/").items] == [
        "Web"]
    assert store.count_instance_profiles(ACCT) == 2
    with pytest.raises(Conflict) as conflict:
        store.delete_role(ACCT, "web")
    assert conflict.value.reason == "role_in_instance_profile"
    with pytest.raises(Conflict) as conflict:
        store.delete_instance_profile(ACCT, "web")
    assert conflict.value.reason == "instance_profile_roles"
    with pytest.raises(NotFound):
        store.remove_role_from_instance_profile(ACCT, "web", "db")
    store.update_instance_profile(ACCT, "web", lambda p: InstanceProfile(
        p.account_id, p.instance_profile_id, p.name, p.path, p.arn, p.created, p.roles,
        (Tag("k", "v"),)))
    assert store.get_instance_profile(ACCT, "web").tags == (Tag("k", "v"),)
    store.remove_role_from_instance_profile(ACCT, "web", "web")
    store.delete_instance_profile(ACCT, "web")
    store.delete_role(ACCT, "web")
    with pytest.raises(NotFound):
        store.get_instance_profile(ACCT, "web")


def test_instance_profile_quota(store) -> None:  # type: ignore[no-untyped-def]
    store.create_instance_profile(_profile("a"), max_per_account=1)
    with pytest.raises(QuotaExceeded) as quota:
        store.create_instance_profile(_profile("b"), max_per_account=1)
    assert quota.value.quota == "InstanceProfilesPerAccount"


def test_user_credentials_and_delete_conflicts(store) -> None:  # type: ignore[no-untyped-def]
    _user(store, "ann")
    cert = SigningCertificate("C" * 24, ACCT, "ann", "BODY1", "Active", NOW)
    store.upload_signing_certificate(cert)
    with pytest.raises(AlreadyExists):  # the same body, even for another owner
        store.upload_signing_certificate(SigningCertificate("D" * 24, ACCT, None, "BODY1",
                                                            "Active", NOW))
    store.upload_signing_certificate(SigningCertificate("E" * 24, ACCT, "ann", "BODY2",
                                                        "Active", NOW + timedelta(seconds=1)))
    with pytest.raises(QuotaExceeded) as quota:
        store.upload_signing_certificate(SigningCertificate("F" * 24, ACCT, "ann", "BODY3",
                                                            "Active", NOW))
    assert quota.value.quota == "SigningCertificatesPerUser"
    store.upload_signing_certificate(SigningCertificate("R" * 24, ACCT, None, "ROOT", "Active",
                                                        NOW))
    assert [c.certificate_id for c in store.list_signing_certificates(ACCT, "ANN")] == [
        "C" * 24, "E" * 24]
    assert [c.user_name for c in store.list_signing_certificates(ACCT, None)] == [None]
    store.set_signing_certificate_status(ACCT, "ann", "C" * 24, "Inactive")
    assert store.list_signing_certificates(ACCT, "ann")[0].status == "Inactive"
    with pytest.raises(NotFound):  # another owner's certificate is not found
        store.set_signing_certificate_status(ACCT, None, "C" * 24, "Active")
    with pytest.raises(Conflict) as conflict:
        store.delete_user(ACCT, "ann")
    assert conflict.value.reason == "signing_certificates"
    for cid in ("C" * 24, "E" * 24):
        store.delete_signing_certificate(ACCT, "ann", cid)
    with pytest.raises(NotFound):
        store.delete_signing_certificate(ACCT, "ann", "C" * 24)

    key = SshPublicKey("APKA" + "1" * 16, ACCT, "ann", "ssh-rsa AAAA", "aa:bb", "Active", NOW)
    store.upload_ssh_public_key(key)
    with pytest.raises(AlreadyExists):
        store.upload_ssh_public_key(SshPublicKey("APKA" + "2" * 16, ACCT, "ann", "ssh-rsa AAAA",
                                                 "aa:bb", "Active", NOW))
    with pytest.raises(QuotaExceeded):
        store.upload_ssh_public_key(SshPublicKey("APKA" + "3" * 16, ACCT, "ann", "x", "cc",
                                                 "Active", NOW), max_per_user=1)
    store.set_ssh_public_key_status(ACCT, "ann", key.ssh_public_key_id, "Inactive")
    assert store.list_ssh_public_keys(ACCT, "ann")[0].status == "Inactive"
    with pytest.raises(Conflict) as conflict:
        store.delete_user(ACCT, "ann")
    assert conflict.value.reason == "ssh_public_keys"
    store.delete_ssh_public_key(ACCT, "ann", key.ssh_public_key_id)

    cred = ServiceSpecificCredential("ACCA" + "1" * 16, ACCT, "ann", "codecommit.amazonaws.com",
                                     "ann-at-111122223333", b"sealed", "Active", NOW)
    store.create_service_specific_credential(cred)
    store.create_service_specific_credential(ServiceSpecificCredential(
        "ACCA" + "2" * 16, ACCT, "ann", "codecommit.amazonaws.com", "ann-at-1", b"s", "Active",
        NOW + timedelta(seconds=1)))
    with pytest.raises(QuotaExceeded) as quota:
        store.create_service_specific_credential(ServiceSpecificCredential(
            "ACCA" + "3" * 16, ACCT, "ann", "codecommit.amazonaws.com", "x", b"s", "Active",
            NOW))
    assert quota.value.quota == "ServiceSpecificCredentialsPerUserPerService"
    store.create_service_specific_credential(ServiceSpecificCredential(
        "ACCA" + "4" * 16, ACCT, "ann", "cassandra.amazonaws.com", "x", b"s", "Active", NOW))
    assert len(store.list_service_specific_credentials(ACCT, "ann")) == 3
    assert len(store.list_service_specific_credentials(
        ACCT, "ann", "cassandra.amazonaws.com")) == 1
    store.update_service_specific_credential(ACCT, "ann", cred.credential_id,
                                             status="Inactive", sealed_password=b"new")
    got = store.list_service_specific_credentials(ACCT, "ann")[0]
    assert (got.status, got.sealed_password) == ("Inactive", b"new")
    with pytest.raises(Conflict) as conflict:
        store.delete_user(ACCT, "ann")
    assert conflict.value.reason == "service_specific_credentials"
    for cid in ("1", "2", "4"):
        store.delete_service_specific_credential(ACCT, "ann", "ACCA" + cid * 16)
    with pytest.raises(NotFound):
        store.delete_service_specific_credential(ACCT, "ann", "ACCA" + "1" * 16)
    store.delete_user(ACCT, "ann")


def _server_cert(name: str, path: str = "/") -> ServerCertificate:
    return ServerCertificate(ACCT, f"ASCA{name.upper():0<17}"[:21], name, path,
                             f"arn:aws:iam::{ACCT}:server-certificate{path}{name}", "BODY",
                             None, NOW, NOW + timedelta(days=30))


def test_server_certificates(store) -> None:  # type: ignore[no-untyped-def]
    store.upload_server_certificate(_server_cert("web", "/cf/"))
    with pytest.raises(AlreadyExists):
        store.upload_server_certificate(_server_cert("WEB"))
    store.upload_server_certificate(_server_cert("z"))
    with pytest.raises(QuotaExceeded):
        store.upload_server_certificate(_server_cert("y"), max_per_account=2)
    assert store.get_server_certificate(ACCT, "WEB").expiration == NOW + timedelta(days=30)
    page = store.list_server_certificates(ACCT, max_items=1)
    assert [c.name for c in page.items] == ["web"] and page.marker
    assert [c.name for c in store.list_server_certificates(ACCT, marker=page.marker).items] == [
        "z"]
    assert [c.name for c in store.list_server_certificates(ACCT, path_prefix="/cf/").items] == [
        "web"]
    with pytest.raises(AlreadyExists):
        store.update_server_certificate(ACCT, "web", lambda c: ServerCertificate(
            c.account_id, c.server_certificate_id, "Z", c.path, c.arn + "x", c.body, c.chain,
            c.uploaded, c.expiration))
    store.update_server_certificate(ACCT, "web", lambda c: ServerCertificate(
        c.account_id, c.server_certificate_id, "web2", "/", f"arn:aws:iam::{ACCT}:"
        "server-certificate/web2", c.body, c.chain, c.uploaded, c.expiration, (Tag("a", "b"),)))
    renamed = store.get_server_certificate(ACCT, "web2")
    assert renamed.tags == (Tag("a", "b"),) and renamed.path == "/"
    assert store.count_server_certificates(ACCT) == 2
    store.delete_server_certificate(ACCT, "web2")
    with pytest.raises(NotFound):
        store.delete_server_certificate(ACCT, "web2")


def test_account_alias_and_password_policy(store) -> None:  # type: ignore[no-untyped-def]
    assert store.find_account_alias(ACCT) is None
    store.set_account_alias(ACCT, "corp")
    with pytest.raises(AlreadyExists):
        store.set_account_alias(OTHER, "corp")  # unique across accounts
    with pytest.raises(AlreadyExists):
        store.set_account_alias(ACCT, "corp")
    store.set_account_alias(ACCT, "corp2")  # replaces
    assert store.find_account_alias(ACCT) == "corp2"
    assert store.find_account_by_alias("corp2") == ACCT
    with pytest.raises(NotFound):
        store.delete_account_alias(ACCT, "corp")
    store.delete_account_alias(ACCT, "corp2")
    store.set_account_alias(OTHER, "corp")
    assert store.find_account_alias(OTHER) == "corp"

    assert store.find_password_policy(ACCT) is None
    with pytest.raises(NotFound):
        store.delete_password_policy(ACCT)
    policy = PasswordPolicy(minimum_password_length=12, require_symbols=True,
                            max_password_age=90, password_reuse_prevention=5, hard_expiry=True)
    store.put_password_policy(ACCT, policy)
    assert store.find_password_policy(ACCT) == policy
    store.put_password_policy(ACCT, PasswordPolicy())
    assert store.find_password_policy(ACCT) == PasswordPolicy()
    assert store.find_password_policy(OTHER) is None
    store.delete_password_policy(ACCT)
    assert store.find_password_policy(ACCT) is None


def test_login_profile_history_and_mfa_tags(store) -> None:  # type: ignore[no-untyped-def]
    _user(store, "bob")
    store.create_login_profile(LoginProfile(ACCT, "bob", "h1", NOW, password_changed=NOW))
    later = NOW + timedelta(days=1)
    store.update_login_profile(ACCT, "bob", lambda p: LoginProfile(
        p.account_id, p.user_name, "h2", p.created, False, later, ("h1",)))
    got = store.get_login_profile(ACCT, "bob")
    assert (got.password_hash, got.password_changed, got.previous_hashes) == (
        "h2", later, ("h1",))

    serial = f"arn:aws:iam::{ACCT}:mfa/dev"
    store.create_mfa_device(VirtualMfaDevice(serial, ACCT, "dev", "/", b"seed", NOW))
    store.update_mfa_device_tags(serial, lambda tags: (*tags, Tag("k", "v")))
    assert store.get_mfa_device(serial).tags == (Tag("k", "v"),)
    with pytest.raises(NotFound):
        store.update_mfa_device_tags(serial + "x", lambda tags: tags)


def test_an_older_database_gains_migration_9(store_factory) -> None:  # type: ignore[no-untyped-def]
    old = store_factory()
    old.create_account(Account(ACCT, "main", "", NOW))
    user = User(ACCT, "AIDAOLD", "old", "/", f"arn:aws:iam::{ACCT}:user/old", NOW)
    old.create_user(user)
    with old._engine.begin() as conn:  # roll the database back to before migration 9
        for table in reversed(schema.IAM_EXTRA_TABLES):
            conn.execute(sa.schema.DropTable(table))
        schema_name = (conn.get_execution_options().get("schema_translate_map") or {}).get(None)
        table = "login_profiles" if schema_name is None else f'"{schema_name}".login_profiles'
        for column in ("password_changed", "previous_hashes"):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute(sa.delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version == 9))
        conn.execute(sa.insert(schema.login_profiles).values(
            user_id="AIDAOLD", password_hash="h", created=NOW, reset_required=False))
    reopened = store_factory()
    profile = reopened.get_login_profile(ACCT, "old")
    assert (profile.password_changed, profile.previous_hashes) == (None, ())
    reopened.create_instance_profile(_profile("after"))
    assert reopened.get_instance_profile(ACCT, "after").name == "after"


def test_concurrent_quota_checks_hold(store) -> None:  # type: ignore[no-untyped-def]
    """Four writers race for one role slot of an instance profile, and for a per-user
    signing-certificate quota of 2: the quotas hold on every backend."""
    from .test_credentials import _race

    for i in range(4):
        store.create_role(_role(f"race{i}"))
    store.create_instance_profile(_profile("race"))
    results = _race(4, lambda i: store.add_role_to_instance_profile(ACCT, "race", f"race{i}"))
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, QuotaExceeded) for r in results if r is not None)
    assert len(store.get_instance_profile(ACCT, "race").roles) == 1

    _user(store, "racer")
    results = _race(4, lambda i: store.upload_signing_certificate(SigningCertificate(
        f"{i}" * 24, ACCT, "racer", f"BODY-{i}", "Active", NOW)))
    assert sum(r is None for r in results) == 2
    assert len(store.list_signing_certificates(ACCT, "racer")) == 2
