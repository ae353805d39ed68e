"""Migration 4: sign-in sessions gain ``credentials_stamp``, also on an older database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from opensts.directory.signin import SigninSession
from opensts.store import schema
from opensts.store._signin import signin_sessions
from tests.store.conftest import backend, store_factory  # noqa: F401 - fixtures

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _session(session_id: str, stamp: str | None) -> SigninSession:
    return SigninSession(session_id, "123456789012", "alice", "client", "jkt", NOW,
                         NOW + timedelta(hours=1), credentials_stamp=stamp)


def test_the_stamp_round_trips(store_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    store = store_factory()
    store.create_signin_session(_session("s1", "stamp-1"))
    store.create_signin_session(_session("s2", None))
    assert store.get_signin_session("s1").credentials_stamp == "stamp-1"
    assert store.get_signin_session("s2").credentials_stamp is None


def test_an_older_database_gains_the_column(store_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    old = store_factory()
    translate = old._engine.get_execution_options().get("schema_translate_map") or {}
    table = sa.Table(signin_sessions.name, sa.MetaData(), schema=translate.get(None))
    with old._engine.begin() as conn:  # roll the database back to before migration 4
        quoted = conn.dialect.identifier_preparer.format_table(table)
        conn.exec_driver_sql(f"ALTER TABLE {quoted} DROP COLUMN credentials_stamp")
        conn.execute(sa.delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version == 4))
    reopened = store_factory()
    reopened.create_signin_session(_session("s3", "stamp-3"))
    assert reopened.get_signin_session("s3").credentials_stamp == "stamp-3"
