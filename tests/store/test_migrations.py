"""Numbered migrations: applied once, in order, and catching up an older database."""

from __future__ import annotations

import sqlalchemy as sa

from opensts.directory.records import CreateAccountStatus
from opensts.store import schema
from opensts.store.migrations import MIGRATIONS

from .records import NOW


def _versions(store) -> list[int]:  # type: ignore[no-untyped-def]
    with store._engine.connect() as conn:
        return sorted(conn.execute(sa.select(schema.schema_migrations.c.version)).scalars())


def test_migrations_are_numbered_and_all_applied(store) -> None:  # type: ignore[no-untyped-def]
    numbers = [m.version for m in MIGRATIONS]
    assert numbers == list(range(1, len(numbers) + 1))
    assert _versions(store) == numbers


def test_an_older_database_catches_up(store_factory) -> None:  # type: ignore[no-untyped-def]
    old = store_factory()
    with old._engine.begin() as conn:  # roll the database back to before migration 3
        for table in (schema.users, schema.roles):
            for index in table.indexes:
                if index.name.endswith("_boundary"):  # type: ignore[union-attr]
                    conn.execute(sa.schema.DropIndex(index))
        conn.execute(sa.delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version == 3))
    reopened = store_factory()
    assert 3 in _versions(reopened)
    with reopened._engine.connect() as conn:
        names = {ix["name"] for ix in sa.inspect(conn).get_indexes(
            "users", schema=reopened._schema)}
    assert "ix_users_boundary" in names


def test_sign_in_sessions_gain_the_role_id_column(store_factory) -> None:  # type: ignore[no-untyped-def]
    old = store_factory()
    with old._engine.begin() as conn:  # roll the database back to before migration 5
        table = f'"{old._schema}".signin_sessions' if old._schema else "signin_sessions"
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN role_id")
        conn.execute(sa.delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version == 5))
    reopened = store_factory()
    assert 5 in _versions(reopened)
    with reopened._engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns(
            "signin_sessions", schema=reopened._schema)}
    assert "role_id" in columns


def test_create_account_requests_left_in_progress_are_failed(store_factory) -> None:  # type: ignore[no-untyped-def]
    old = store_factory()
    old.save_create_account_status(CreateAccountStatus("car-cut", "o-x", "a", "IN_PROGRESS",
                                                       NOW))
    done = CreateAccountStatus("car-done", "o-x", "b", "SUCCEEDED", NOW, NOW, "111111111111")
    old.save_create_account_status(done)
    with old._engine.begin() as conn:  # as written by a version before migration 6
        conn.execute(sa.delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version == 6))
    reopened = store_factory()
    assert reopened.get_create_account_status("car-cut") == CreateAccountStatus(
        "car-cut", "o-x", "a", "FAILED", NOW, NOW, None, "INTERNAL_FAILURE")
    assert reopened.get_create_account_status("car-done") == done


def test_an_older_database_gains_the_buckets_table(store_factory) -> None:  # type: ignore[no-untyped-def]
    from opensts.directory.records import Account, Bucket

    old = store_factory()
    with old._engine.begin() as conn:  # roll the database back to before migration 7
        conn.execute(sa.schema.DropTable(schema.buckets))
        conn.execute(sa.delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version == 7))
    reopened = store_factory()
    assert 7 in _versions(reopened)
    reopened.create_account(Account("111122223333", "main", "", NOW))
    reopened.create_bucket(Bucket("photos", "111122223333", "us-east-1", NOW))
    assert reopened.get_bucket("photos").public_access_block.block_public_policy
