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
    return Role(ACCT, f"AROA{name.upper():0<17}"[:21], name, "/", f"arn:aws:iam::{ACCT}:role/{name}",
                NOW, "{}")


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
