"""Organizations tree and SCP levels; SAML/OIDC provider records."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, Conflict, NotFound
from opensts.directory.records import (
    CreateAccountStatus,
    OidcProvider,
    OrgAccount,
    Organization,
    OrgPolicy,
    OrgUnit,
    SamlPrivateKey,
    SamlProvider,
    Tag,
)
from opensts.store import SqlStore, schema

from .records import ACCT, NOW

ORG = "o-abcdefghij"
ROOT = "r-ab12"
MEMBER = "222233334444"


def _org(store: SqlStore) -> None:
    arn = f"arn:aws:organizations::{ACCT}:"
    store.create_organization(
        Organization(ORG, f"{arn}organization/{ORG}", ACCT, "m@example.com", "ALL", ROOT, NOW),
        OrgUnit(ROOT, ORG, f"{arn}root/{ORG}/{ROOT}", "Root", "ROOT", None),
        OrgAccount(ACCT, ORG, ROOT, f"{arn}account/{ORG}/{ACCT}", "mgmt", "m@example.com",
                   "INVITED", NOW),
    )


def _scp(pid: str, content: str) -> OrgPolicy:
    arn = f"arn:aws:organizations::{ACCT}:policy/{ORG}/service_control_policy/{pid}"
    return OrgPolicy(pid, ORG, arn,
                     pid, "", "SERVICE_CONTROL_POLICY", content)


def test_org_tree_and_scp_levels(store: SqlStore) -> None:
    _org(store)
    with pytest.raises(AlreadyExists):
        _org(store)
    assert store.find_organization_for_account(ACCT).org_id == ORG  # type: ignore[union-attr]
    assert store.find_organization_for_account(MEMBER) is None
    ou = OrgUnit("ou-ab12-aaaaaaaa", ORG, "arn:ou", "Eng", "ORGANIZATIONAL_UNIT", ROOT)
    store.create_org_unit(ou)
    with pytest.raises(AlreadyExists):
        store.create_org_unit(dataclasses.replace(ou, unit_id="ou-ab12-bbbbbbbb"))
    store.add_org_account(OrgAccount(MEMBER, ORG, ou.unit_id, "arn:acct", "member",
                                     "x@example.com", "CREATED", NOW))
    assert [a.account_id for a in store.list_org_accounts(ORG)] == [ACCT, MEMBER]
    full = _scp("p-FullAWSAccess", "{full}")
    deny = _scp("p-deny", "{deny}")
    store.create_org_policy(full)
    store.create_org_policy(deny)
    for target in (ROOT, ou.unit_id, MEMBER):
        store.attach_org_policy(full.policy_id, target)
    store.attach_org_policy(deny.policy_id, ou.unit_id)
    with pytest.raises(AlreadyExists):
        store.attach_org_policy(deny.policy_id, ou.unit_id)
    # SCPs count only once the policy type is enabled on the root
    assert store.policy_levels_for_account(MEMBER) == []
    store.update_org_unit(ROOT, lambda u: dataclasses.replace(
        u, enabled_policy_types=("SERVICE_CONTROL_POLICY",)))
    assert store.policy_levels_for_account(MEMBER) == [
        [(full.arn, "{full}")],
        [(full.arn, "{full}"), (deny.arn, "{deny}")],  # bytewise order
        [(full.arn, "{full}")],
    ]
    assert store.policy_levels_for_account(ACCT) == []  # management account
    assert store.policy_levels_for_account("999988887777") == []
    with pytest.raises(Conflict):
        store.delete_org_unit(ou.unit_id)
    with pytest.raises(Conflict):
        store.delete_org_policy(deny.policy_id)
    store.detach_org_policy(deny.policy_id, ou.unit_id)
    with pytest.raises(NotFound):
        store.detach_org_policy(deny.policy_id, ou.unit_id)
    store.move_org_account(MEMBER, ou.unit_id, ROOT)
    assert len(store.policy_levels_for_account(MEMBER)) == 2
    assert [p.policy_id for p in store.list_org_policies_for_target(
        ROOT, "SERVICE_CONTROL_POLICY")] == ["p-FullAWSAccess"]
    assert store.list_org_targets_for_policy(full.policy_id) == sorted([ROOT, ou.unit_id, MEMBER])
    status = CreateAccountStatus("car-1", ORG, "member", "IN_PROGRESS", NOW)
    store.save_create_account_status(status)
    done = dataclasses.replace(status, state="SUCCEEDED", completed=NOW, account_id=MEMBER)
    store.save_create_account_status(done)
    assert store.get_create_account_status("car-1") == done
    with pytest.raises(Conflict):
        store.delete_organization(ORG)


def test_saml_and_oidc_providers(store: SqlStore) -> None:
    arn = f"arn:aws:iam::{ACCT}:saml-provider/corp"
    saml = SamlProvider(ACCT, "corp", arn, "<md/>", "uuid-1", NOW, NOW,
                        "Allowed", (SamlPrivateKey("KEYID1234567890ABCDEFGH", b"\x00pem", NOW),),
                        (Tag("a", "b"),))
    store.create_saml_provider(saml)
    assert store.get_saml_provider(arn) == saml
    with pytest.raises(AlreadyExists):
        store.create_saml_provider(saml)
    store.update_saml_provider(arn, lambda p: dataclasses.replace(p, private_keys=()))
    assert store.get_saml_provider(arn).private_keys == ()
    assert [p.arn for p in store.list_saml_providers(ACCT)] == [arn]
    store.delete_saml_provider(arn)
    with pytest.raises(NotFound):
        store.get_saml_provider(arn)

    oarn = f"arn:aws:iam::{ACCT}:oidc-provider/idp.example.com/"
    oidc = OidcProvider(ACCT, "https://idp.example.com/", oarn, NOW, ("aud1",), ("a" * 40,))
    store.create_oidc_provider(oidc)
    assert store.get_oidc_provider(oarn) == oidc
    store.update_oidc_provider(oarn, lambda p: dataclasses.replace(
        p, client_ids=(*p.client_ids, "aud2")))
    assert store.get_oidc_provider(oarn).client_ids == ("aud1", "aud2")
    assert len(store.list_oidc_providers(ACCT)) == 1
    store.delete_oidc_provider(oarn)
    with pytest.raises(NotFound):
        store.delete_oidc_provider(oarn)


def test_a_member_of_an_organization_whose_root_is_gone_gets_a_level_that_allows_nothing(
    store: SqlStore,
) -> None:
    # Whether SCPs are enabled lives on the root: without it, "not governed" would widen.
    _org(store)
    store.add_org_account(OrgAccount(MEMBER, ORG, ROOT, "arn:acct", "member", "x@example.com",
                                     "CREATED", NOW))
    with store._write() as conn:
        conn.execute(sa.delete(schema.org_units).where(schema.org_units.c.unit_id == ROOT))
    assert store.policy_levels_for_account(MEMBER) == [[]]
    assert store.policy_levels_for_account(MEMBER, "RESOURCE_CONTROL_POLICY") == [[]]
    assert store.policy_levels_for_account(ACCT) == []  # management account: never governed
