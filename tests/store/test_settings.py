"""Migration 11: settings of an account or organization, and EnableAllFeatures' feature set
(every store: SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from opensts.store import SqlStore, schema

from .records import ACCT
from .test_orgs_federation import ORG, _org


def test_settings_put_replace_delete(store: SqlStore) -> None:
    assert store.find_setting(ACCT, "x") is None
    before = store.generation()
    store.put_setting(ACCT, "x", "v1Token")
    assert store.find_setting(ACCT, "x") == "v1Token"
    assert store.generation() > before  # authorizers' caches see it
    store.put_setting(ACCT, "x", "v2Token")
    store.put_setting("o-other", "x", "other")
    assert store.find_setting(ACCT, "x") == "v2Token"
    store.put_setting(ACCT, "x", None)
    assert store.find_setting(ACCT, "x") is None
    assert store.find_setting("o-other", "x") == "other"
    store.put_setting(ACCT, "missing", None)  # deleting nothing is fine


def test_org_feature_set(store: SqlStore) -> None:
    _org(store)
    for feature_set in ("CONSOLIDATED_BILLING", "ALL"):
        store.set_org_feature_set(ORG, feature_set)
        found = store.find_organization_for_account(ACCT)
        assert found is not None and found.feature_set == feature_set


def test_an_older_database_gains_migration_11(store_factory) -> None:  # type: ignore[no-untyped-def]
    old = store_factory()
    with old._engine.begin() as conn:
        conn.execute(sa.schema.DropTable(schema.settings))
        conn.execute(sa.delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version == 11))
    reopened = store_factory()
    reopened.put_setting(ACCT, "x", "y")
    assert reopened.find_setting(ACCT, "x") == "y"
