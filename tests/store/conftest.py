"""One conformance suite, run against every backend (after Dex's storage/conformance).

PostgreSQL runs against ``OPENSTS_TEST_POSTGRES_DSN`` (default: local trust-auth server,
database ``test``); set it to ``none`` to skip. Every test gets its own schema, so runs in
parallel (``pytest -n 2``) never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opensts.store import SqlStore, open_store

PG_DSN = os.environ.get(
    "OPENSTS_TEST_POSTGRES_DSN", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and PG_DSN.lower() == "none":
        pytest.skip("OPENSTS_TEST_POSTGRES_DSN=none")
    return str(request.param)


@pytest.fixture
def store_factory(backend: str, tmp_path: Path) -> Iterator[object]:
    """Returns ``open()``: each call opens the same database again (to test reopening)."""
    opened: list[SqlStore] = []
    schema = f"t_{uuid.uuid4().hex[:16]}"

    def open_() -> SqlStore:
        if backend == "sqlite":
            s = open_store(f"sqlite:///{tmp_path / 'directory.db'}", aws_managed=False)
        else:
            s = open_store(PG_DSN, schema=schema, aws_managed=False)
        opened.append(s)
        return s

    yield open_
    for s in opened:
        s.close()
    if backend == "postgresql" and opened:
        opened[0].drop_schema()


@pytest.fixture
def store(store_factory) -> SqlStore:  # type: ignore[no-untyped-def]
    return store_factory()  # type: ignore[no-any-return]
