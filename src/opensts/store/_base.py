"""Shared plumbing of the SQL store: transactions, paging markers, row conversion."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, NotFound
from opensts.directory.records import Tag, Tags
from opensts.store import schema as s

T = TypeVar("T")


def tags_to_json(tags: Tags) -> list[list[str]]:
    return [[t.key, t.value] for t in tags]


def tags_from_json(value: Any) -> Tags:
    return tuple(Tag(k, v) for k, v in (value or []))


def prefix_filter(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    """``column`` starts with ``prefix``, compared literally (no LIKE wildcards)."""
    return sa.func.substr(column, 1, len(prefix)) == prefix


class SqlBase:
    """Transactions: one per mutation; the generation counter moves with every commit."""

    def __init__(self, engine: sa.Engine):
        self._engine = engine

    @contextmanager
    def _read(self, *, snapshot: bool = True) -> Iterator[sa.Connection]:
        """A read; ``snapshot=False`` for single statements skips BEGIN/COMMIT (on
        PostgreSQL two round trips), which the hot-path lookups do not need."""
        with self._engine.connect() as conn:
            if not snapshot:
                if conn.dialect.name == "sqlite":
                    conn.execution_options(opensts_autocommit=True)
                else:
                    conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @contextmanager
    def _write(self, *, bump: bool = True) -> Iterator[sa.Connection]:
        with self._engine.connect() as conn:
            # SQLite: BEGIN IMMEDIATE, so writers queue on the busy timeout instead of
            # failing when a reader upgrades its lock (see engine.py).
            conn.execution_options(opensts_write=True)
            with conn.begin():
                yield conn
                if bump:
                    conn.execute(
                        sa.update(s.meta)
                        .where(s.meta.c.key == "generation")
                        .values(value=s.meta.c.value + 1)
                    )

    def generation(self) -> int:
        with self._read(snapshot=False) as conn:
            return int(
                conn.execute(
                    sa.select(s.meta.c.value).where(s.meta.c.key == "generation")
                ).scalar_one()
            )

    @staticmethod
    def _insert(
        conn: sa.Connection, table: sa.Table, values: dict[str, Any], kind: str, key: str
    ) -> None:
        """Insert; a unique-key race lost to another writer becomes AlreadyExists."""
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(table).values(**values))
        except sa.exc.IntegrityError as exc:
            raise AlreadyExists(kind, key) from exc

    @staticmethod
    def _one(conn: sa.Connection, query: sa.Select[Any], kind: str, key: str) -> sa.Row[Any]:
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(kind, key)
        return row
