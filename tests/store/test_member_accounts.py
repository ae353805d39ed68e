"""Multi-row mutations are one transaction: Organizations CreateAccount, first-start
management account, managed organization policies of new targets, EnablePolicyType."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, Conflict, NotFound
from opensts.directory.records import (
    Account,
    CreateAccountStatus,
    NewMemberAccount,
    OrgAccount,
    Organization,
    OrgPolicy,
    OrgUnit,
)
from opensts.store import SqlStore
from opensts.store import schema as s
from opensts.store.cache import CachingStore

from .records import ACCT, NOW, TRUST, access_key, policy, role

ORG = "o-abcdefghij"
ROOT = "r-ab12"
MEMBER = "444455556666"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"


def _managed(kind: str, name: str) -> OrgPolicy:
    return OrgPolicy(f"p-{name}-{ORG}", ORG, f"arn:aws:organizations::aws:policy/{name}", name,
                     "", kind, "{}", aws_managed=True)


FULL, RCP_FULL = _managed(SCP, "FullAWSAccess"), _managed(RCP, "RCPFullAWSAccess")


def _new(account_id: str = MEMBER, role_name: str = "OrganizationAccountAccessRole"
         ) -> NewMemberAccount:
    return NewMemberAccount(
        account=Account(account_id, "member", "m@example.com", NOW),
        member=OrgAccount(account_id, ORG, ROOT, f"arn:acct/{account_id}", "member",
                          "m@example.com", "CREATED", NOW),
        access_role=dataclasses.replace(role(role_name, account=account_id),
                                        assume_role_policy=TRUST),
        role_policy_arns=(ADMIN,),
        managed_policies=(FULL, RCP_FULL),
        status=CreateAccountStatus(f"car-{account_id}", ORG, "member", "SUCCEEDED", NOW, NOW,
                                   account_id),
    )


def _with_org(store: SqlStore) -> None:
    store.sync_aws_managed_policies([policy("AdministratorAccess", account="aws")])
    store.create_organization(*_org_records(), managed=(FULL, RCP_FULL))


def _org_records() -> tuple[Organization, OrgUnit, OrgAccount]:
    arn = f"arn:aws:organizations::{ACCT}:"
    return (
        Organization(ORG, f"{arn}organization/{ORG}", ACCT, "m@example.com", "ALL", ROOT, NOW),
        OrgUnit(ROOT, ORG, f"{arn}root/{ORG}/{ROOT}", "Root", "ROOT", None),
        OrgAccount(ACCT, ORG, ROOT, f"{arn}account/{ORG}/{ACCT}", "mgmt", "m@example.com",
                   "INVITED", NOW),
    )


def _policies(store: SqlStore, target: str, kind: str = SCP) -> list[str]:
    return [p.name for p in store.list_org_policies_for_target(target, kind)]


def _nothing_of(store: SqlStore, account_id: str) -> None:
    assert store.find_account(account_id) is None
    with pytest.raises(NotFound):
        store.get_org_account(account_id)
    with pytest.raises(NotFound):
        store.get_create_account_status(f"car-{account_id}")
    assert _policies(store, account_id) == []


def test_create_organization_attaches_full_aws_access_to_root_and_management(
    store: SqlStore,
) -> None:
    _with_org(store)
    assert _policies(store, ROOT) == ["FullAWSAccess"] == _policies(store, ACCT)
    assert _policies(store, ROOT, RCP) == []  # RCPs are not enabled yet


def test_create_member_account_stores_everything_at_once(store: SqlStore) -> None:
    _with_org(store)
    cached = CachingStore(store)
    assert cached.find_organization_for_account(MEMBER) is None
    before = store.generation()
    cached.create_member_account(_new())
    assert store.generation() == before + 1  # one transaction
    # The cache moved on with the generation: no stale "not in an organization".
    assert cached.find_organization_for_account(MEMBER).org_id == ORG  # type: ignore[union-attr]
    assert store.get_account(MEMBER).email == "m@example.com"
    assert store.get_org_account(MEMBER).parent_id == ROOT
    assert store.get_role(MEMBER, "organizationaccountaccessrole").assume_role_policy == TRUST
    attached = store.list_attached_policies("role", MEMBER, "OrganizationAccountAccessRole")
    assert [p.arn for p in attached.items] == [ADMIN]
    assert _policies(store, MEMBER) == ["FullAWSAccess"]
    assert _policies(store, MEMBER, RCP) == []
    assert store.get_create_account_status(f"car-{MEMBER}").state == "SUCCEEDED"
    with pytest.raises(AlreadyExists):
        store.create_member_account(_new())


def test_create_member_account_gets_the_policy_types_enabled_on_the_root(
    store: SqlStore,
) -> None:
    _with_org(store)
    store.enable_org_policy_type(ROOT, RCP, RCP_FULL)
    store.create_member_account(_new())
    assert _policies(store, MEMBER, RCP) == ["RCPFullAWSAccess"]


def test_a_role_name_collision_rolls_the_whole_account_back(store: SqlStore) -> None:
    _with_org(store)
    store.create_role(role("OrganizationAccountAccessRole", account=MEMBER))
    before = store.generation()
    with pytest.raises(AlreadyExists):
        store.create_member_account(_new())
    _nothing_of(store, MEMBER)
    assert store.generation() == before


def test_a_missing_policy_or_root_rolls_the_whole_account_back(store: SqlStore) -> None:
    # No AdministratorAccess stored: the attachment fails after the account, membership
    # and role were written.
    store.create_organization(*_org_records())
    with pytest.raises(NotFound):
        store.create_member_account(_new())
    _nothing_of(store, MEMBER)
    with pytest.raises(NotFound):
        store.get_role(MEMBER, "OrganizationAccountAccessRole")
    orphan = dataclasses.replace(_new("777788889999"), member=dataclasses.replace(
        _new("777788889999").member, org_id="o-missing"))
    with pytest.raises(NotFound):
        store.create_member_account(orphan)
    _nothing_of(store, "777788889999")


def test_a_failure_at_the_last_step_rolls_everything_back(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_org(store)

    def fail(*args: object) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(store, "_save_status", fail)
    with pytest.raises(RuntimeError):
        store.create_member_account(_new())
    monkeypatch.undo()
    _nothing_of(store, MEMBER)
    with pytest.raises(NotFound):
        store.get_role(MEMBER, "OrganizationAccountAccessRole")
    t = s.attachments
    with store._engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() == 0


def test_enable_policy_type_attaches_everywhere_or_nowhere(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_org(store)
    ou = OrgUnit("ou-ab12-cccccccc", ORG, "arn:ou", "Eng", "ORGANIZATIONAL_UNIT", ROOT)
    store.create_org_unit(ou, (FULL, RCP_FULL))
    store.create_member_account(_new())
    calls = 0
    link = store._link_org_policy

    def fail_second(*args: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("injected")
        link(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_link_org_policy", fail_second)
    with pytest.raises(RuntimeError):
        store.enable_org_policy_type(ROOT, RCP, RCP_FULL)
    monkeypatch.undo()
    assert store.get_org_unit(ROOT).enabled_policy_types == ()
    assert all(_policies(store, t, RCP) == [] for t in (ROOT, ou.unit_id, ACCT, MEMBER))
    root = store.enable_org_policy_type(ROOT, RCP, RCP_FULL)
    assert root.enabled_policy_types == (RCP,)
    assert all(_policies(store, t, RCP) == ["RCPFullAWSAccess"]
               for t in (ROOT, ou.unit_id, ACCT, MEMBER))
    with pytest.raises(Conflict):
        store.enable_org_policy_type(ROOT, RCP, RCP_FULL)
    store.enable_org_policy_type(ROOT, SCP)
    assert store.get_org_unit(ROOT).enabled_policy_types == (RCP, SCP)
    # A new OU gets both managed policies in the transaction that creates it.
    later = dataclasses.replace(ou, unit_id="ou-ab12-dddddddd", name="Ops")
    store.create_org_unit(later, (FULL, RCP_FULL))
    assert _policies(store, later.unit_id) == ["FullAWSAccess"]
    assert _policies(store, later.unit_id, RCP) == ["RCPFullAWSAccess"]


def test_create_management_account_is_one_transaction(store: SqlStore) -> None:
    taken = access_key(None, None, account="999988887777")
    store.create_access_key(taken)
    # The key insert fails after the account insert: the account is not kept without it.
    with pytest.raises(AlreadyExists):
        store.create_management_account(Account(ACCT, "management", created=NOW),
                                        dataclasses.replace(taken, account_id=ACCT))
    assert store.find_account(ACCT) is None
    key = access_key(None, None, account=ACCT)
    store.create_management_account(Account(ACCT, "management", created=NOW), key)
    assert [k.access_key_id for k in store.list_access_keys(ACCT, None)] == [key.access_key_id]
    # Only the first start creates one: a second (another node's) is refused.
    with pytest.raises(AlreadyExists):
        store.create_management_account(Account("111111111111", "other", created=NOW),
                                        access_key(None, None, account="111111111111"))
    assert store.find_account("111111111111") is None
