"""Migration 10: Organizations tags, delegated administrators, closing and removing member
accounts; IAM credential reports, role last use and service-linked role deletion."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded
from opensts.directory.records import (
    Account,
    CredentialReport,
    DelegatedAdmin,
    InlinePolicy,
    OrgAccount,
    RoleDeletionTask,
    Tag,
)
from opensts.store import SqlStore

from .records import ACCT, NOW, role
from .test_orgs_federation import MEMBER, ORG, ROOT, _org


def _member(store: SqlStore, account_id: str = MEMBER) -> None:
    store.add_org_account(OrgAccount(account_id, ORG, ROOT, f"arn:acct/{account_id}", "m",
                                     f"{account_id}@example.com", "CREATED", NOW))


def test_org_tags_add_replace_remove_and_quota(store: SqlStore) -> None:
    _org(store)
    store.tag_org_resource(ORG, ROOT, (Tag("env", "prod"), Tag("Env", "x")))
    store.tag_org_resource(ORG, ROOT, (Tag("env", "dev"),))
    assert store.list_org_tags(ROOT) == (Tag("Env", "x"), Tag("env", "dev"))
    store.untag_org_resource(ROOT, ["Env", "missing"])
    assert store.list_org_tags(ROOT) == (Tag("env", "dev"),)
    with pytest.raises(QuotaExceeded):
        store.tag_org_resource(ORG, ROOT, tuple(Tag(f"k{i}", "") for i in range(50)))
    assert store.list_org_tags(ROOT) == (Tag("env", "dev"),)  # nothing of the failed call


def test_delegated_admins(store: SqlStore) -> None:
    _org(store)
    _member(store)
    admin = DelegatedAdmin(MEMBER, "config.amazonaws.com", ORG, NOW)
    store.register_delegated_admin(admin)
    with pytest.raises(AlreadyExists):
        store.register_delegated_admin(admin)
    with pytest.raises(NotFound):
        store.register_delegated_admin(DelegatedAdmin("999999999999", "x", ORG, NOW))
    store.register_delegated_admin(DelegatedAdmin(MEMBER, "guardduty.amazonaws.com", ORG, NOW))
    assert [a.service_principal for a in store.list_delegated_admins(ORG, account_id=MEMBER)] \
        == ["config.amazonaws.com", "guardduty.amazonaws.com"]
    assert store.list_delegated_admins(ORG, service_principal="config.amazonaws.com") == [admin]
    store.deregister_delegated_admin(MEMBER, "config.amazonaws.com")
    with pytest.raises(NotFound):
        store.deregister_delegated_admin(MEMBER, "config.amazonaws.com")


def test_close_account_and_its_quota(store: SqlStore) -> None:
    _org(store)
    members = [f"3000000{i:05d}" for i in range(252)]
    for m in members:
        _member(store, m)
    for m in members[:250]:  # 252 members: 20% is below the floor of 250
        store.close_org_account(m, NOW)
    assert store.get_org_account(members[0]).status == "SUSPENDED"
    with pytest.raises(Conflict):
        store.close_org_account(members[0], NOW)
    with pytest.raises(QuotaExceeded):
        store.close_org_account(members[250], NOW)
    store.close_org_account(members[250], NOW + timedelta(days=31))  # the window rolled on


def test_remove_account_takes_its_rows(store: SqlStore) -> None:
    _org(store)
    _member(store)
    store.tag_org_resource(ORG, MEMBER, (Tag("a", "b"),))
    store.register_delegated_admin(DelegatedAdmin(MEMBER, "config.amazonaws.com", ORG, NOW))
    store.remove_org_account(MEMBER)
    with pytest.raises(NotFound):
        store.get_org_account(MEMBER)
    assert store.list_org_tags(MEMBER) == ()
    assert store.list_delegated_admins(ORG) == []
    with pytest.raises(NotFound):
        store.remove_org_account(MEMBER)


def test_credential_report_is_replaced(store: SqlStore) -> None:
    assert store.find_credential_report(ACCT) is None
    store.save_credential_report(CredentialReport(ACCT, NOW, "a"))
    later = NOW + timedelta(hours=5)
    store.save_credential_report(CredentialReport(ACCT, later, "b"))
    assert store.find_credential_report(ACCT) == CredentialReport(ACCT, later, "b")


def test_role_last_used_and_service_linked_deletion(store: SqlStore) -> None:
    store.create_account(Account(ACCT, "main", "root@example.com", NOW))
    r = role("AWSServiceRoleForConfig", "/aws-service-role/config.amazonaws.com/")
    store.create_role(r)
    assert store.find_role_last_used(r.role_id) is None
    generation = store.generation()
    store.record_role_use(r.role_id, NOW, "eu-west-1")
    assert store.find_role_last_used(r.role_id) == (NOW, "eu-west-1")
    assert store.generation() == generation
    store.put_inline_policy(InlinePolicy(ACCT, "role", r.name, "p", '{"Version":"2012-10-17"}'))
    task = RoleDeletionTask("task/aws-service-role/config.amazonaws.com/x/1", ACCT, r.name,
                            "SUCCEEDED", NOW)
    store.delete_service_linked_role(ACCT, r.role_id, task)
    with pytest.raises(NotFound):
        store.get_role(ACCT, r.name)
    assert store.find_role_deletion_task(task.task_id) == task
    assert store.find_role_deletion_task("task/none") is None


def test_an_older_database_gains_migration_10(store_factory) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from opensts.store import schema

    old = store_factory()
    with old._engine.begin() as conn:  # roll the database back to before migration 10
        for table in (schema.org_tags, schema.org_delegated_admins, schema.org_service_access,
                      schema.credential_reports,
                      schema.role_deletion_tasks):
            conn.execute(sa.schema.DropTable(table))
        conn.execute(sa.delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version == 10))
    reopened = store_factory()
    _org(reopened)
    _member(reopened)
    reopened.close_org_account(MEMBER, NOW)
    reopened.save_credential_report(CredentialReport(ACCT, NOW, "a"))


def test_service_access(store: SqlStore) -> None:
    _org(store)
    store.enable_org_service_access(ORG, "config.amazonaws.com", NOW)
    store.enable_org_service_access(ORG, "config.amazonaws.com", NOW + timedelta(days=1))
    store.enable_org_service_access(ORG, "a.amazonaws.com", NOW)
    assert store.list_org_service_access(ORG) == [("a.amazonaws.com", NOW),
                                                  ("config.amazonaws.com", NOW)]
    store.disable_org_service_access(ORG, "a.amazonaws.com")
    store.disable_org_service_access(ORG, "a.amazonaws.com")
    assert store.list_org_service_access(ORG) == [("config.amazonaws.com", NOW)]


def test_resources_are_created_with_their_tags_and_deleted_with_them(store: SqlStore) -> None:
    from opensts.directory.records import OrgUnit

    from .test_orgs_federation import _scp

    _org(store)
    unit = OrgUnit("ou-ab12-cccccccc", ORG, "arn:ou", "Tagged", "ORGANIZATIONAL_UNIT", ROOT)
    store.create_org_unit(unit, tags=(Tag("a", "1"),))
    assert store.list_org_tags(unit.unit_id) == (Tag("a", "1"),)
    store.delete_org_unit(unit.unit_id)
    assert store.list_org_tags(unit.unit_id) == ()
    policy = _scp("p-tagged01", "{}")
    store.create_org_policy(policy, (Tag("b", "2"),))
    assert store.list_org_tags(policy.policy_id) == (Tag("b", "2"),)
    store.delete_org_policy(policy.policy_id)
    assert store.list_org_tags(policy.policy_id) == ()


def test_service_linked_role_is_created_with_its_policies(store: SqlStore) -> None:
    from .records import policy

    store.create_account(Account(ACCT, "main", "root@example.com", NOW))
    p = policy("ServicePolicy")
    store.create_policy(p)
    r = role("AWSServiceRoleForX", "/aws-service-role/x.amazonaws.com/")
    store.create_role_with_policies(r, (p.arn,))
    assert [a.arn for a in store.list_attached_policies("role", ACCT, r.name).items] == [p.arn]
    with pytest.raises(AlreadyExists):
        store.create_role_with_policies(r, ())
    other = role("AWSServiceRoleForY", "/aws-service-role/y.amazonaws.com/")
    with pytest.raises(NotFound):
        store.create_role_with_policies(other, ("arn:aws:iam::aws:policy/none",))
    with pytest.raises(NotFound):
        store.get_role(ACCT, other.name)  # nothing of the failed call


def test_disable_policy_type(store: SqlStore) -> None:
    from .test_orgs_federation import _scp

    _org(store)
    store.enable_org_policy_type(ROOT, "SERVICE_CONTROL_POLICY")
    full, mine = _scp("p-FullAWSAccess", "{}"), _scp("p-mine0001", "{}")
    for p in (full, mine):
        store.create_org_policy(p)
        store.attach_org_policy(p.policy_id, ROOT)
    store.disable_org_policy_type(ROOT, "SERVICE_CONTROL_POLICY", full.policy_id)
    assert store.get_org_unit(ROOT).enabled_policy_types == ()
    assert store.list_org_targets_for_policy(mine.policy_id) == []
    assert store.list_org_targets_for_policy(full.policy_id) == [ROOT]
    with pytest.raises(Conflict):
        store.disable_org_policy_type(ROOT, "SERVICE_CONTROL_POLICY")
