"""A failure at any write of a multi-row operation leaves all of it or nothing.

The operations run in-process over a real runtime (SQLite and PostgreSQL); a SQLAlchemy
hook makes the n-th INSERT/UPDATE/DELETE raise, as a lost connection or a full disk would,
for every n, and afterwards the store must hold no half-done account, OU or policy type.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from opensts.config import Settings
from opensts.credentials.at_rest import SecretBox
from opensts.services import organizations as orgs
from opensts.services.bootstrap import ensure_management_account
from opensts.services.context import CallContext, Caller, RequestMeta
from opensts.services.runtime import Runtime
from opensts.store import SqlStore, open_store
from opensts.web.app import build_runtime
from opensts.wire.params import Params
from tests.organizations.invariants import (
    broken_accounts,
    targets_without_managed,
    unfinished_requests,
)
from tests.server.test_kill_create_account import _libpq, _pg_url

ACCT = "123456789012"
WRITES = 40  # more than any of these operations makes


class Injected(Exception):
    """The simulated failure."""


@contextmanager
def fail_at(engine: sa.Engine, n: int) -> Iterator[None]:
    """Make the ``n``-th write statement on ``engine`` raise :class:`Injected`."""
    count = 0

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal count
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            count += 1
            if count == n:
                raise Injected(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    schema = f"half_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = _pg_url()
    sep = "&" if "?" in url else "?"
    yield {"OPENSTS_DATABASE_URL": f"{url}{sep}options=-csearch_path%3D{schema}",
           "OPENSTS_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    with psycopg.connect(_libpq(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def runtime(tmp_path: Path, database_env: dict[str, str]) -> Iterator[Runtime]:
    settings = Settings.from_env(tmp_path / "data", create=True, env={"OPENSTS_ACCOUNT_ID": ACCT,
                                                         **database_env})
    built, _ = build_runtime(settings)
    yield built
    built.audit.close()
    built.store.close()


def _call(runtime: Runtime, handler: Callable[[CallContext, Params], Any],
          **params: Any) -> Any:
    caller = Caller("Root", ACCT, f"arn:aws:iam::{ACCT}:root", ACCT, "AKIAEXAMPLEROOTKEY01")
    meta = RequestMeta(f"req-{uuid.uuid4().hex}", datetime.now(UTC), "127.0.0.1", "test",
                       "us-east-1", "organizations.test")
    return handler(CallContext(runtime, caller, meta), Params(params))


def _sql(runtime: Runtime) -> SqlStore:
    store = runtime.store.uncached  # type: ignore[attr-defined]
    assert isinstance(store, SqlStore)
    return store


def _each_failure(runtime: Runtime, operation: Callable[[], Any], writes: int = WRITES) -> int:
    """Run ``operation`` with its 1st, 2nd, ... write failing; returns how many failed."""
    failed = 0
    for n in range(1, writes + 1):
        with fail_at(_sql(runtime)._engine, n):
            try:
                operation()
            except Injected:
                failed += 1
    return failed


def _org_id(runtime: Runtime) -> str:
    return str(_call(runtime, orgs.describe_organization)["Organization"]["Id"])


def test_create_account_failing_at_any_write_leaves_no_half_created_account(
    runtime: Runtime,
) -> None:
    _call(runtime, orgs.create_organization)
    names = iter(f"acct-{n}" for n in range(WRITES + 1))

    def create() -> None:
        name = next(names)
        _call(runtime, orgs.create_account, Email=f"{name}@example.com", AccountName=name)

    assert _each_failure(runtime, create) >= 1
    store = _sql(runtime)
    assert broken_accounts(store, ACCT) == {}
    assert unfinished_requests(store) == []
    assert targets_without_managed(store, _org_id(runtime)) == {}
    assert len(store.list_accounts()) > 1  # the later calls did create accounts


def test_org_units_and_policy_types_failing_at_any_write_are_all_or_nothing(
    runtime: Runtime,
) -> None:
    _call(runtime, orgs.create_organization)
    root = _call(runtime, orgs.list_roots)["Roots"][0]["Id"]
    names = iter(f"ou-{n}" for n in range(WRITES + 1))
    _call(runtime, orgs.create_account, Email="a@example.com", AccountName="a")
    assert _each_failure(runtime, lambda: _call(
        runtime, orgs.create_organizational_unit, ParentId=root, Name=next(names)), 8) >= 1

    def enable() -> None:
        try:
            _call(runtime, orgs.enable_policy_type, RootId=root,
                  PolicyType="RESOURCE_CONTROL_POLICY")
        except orgs.OrganizationsError as exc:
            assert exc.code == "PolicyTypeAlreadyEnabledException"

    assert _each_failure(runtime, enable, 30) >= 1
    store = _sql(runtime)
    enabled = store.get_org_unit(root).enabled_policy_types
    assert "RESOURCE_CONTROL_POLICY" in enabled
    assert targets_without_managed(store, _org_id(runtime)) == {}


def test_create_organization_failing_at_any_write_is_all_or_nothing(runtime: Runtime) -> None:
    failed = 0
    for n in range(1, 12):
        with fail_at(_sql(runtime)._engine, n):
            try:
                _call(runtime, orgs.create_organization)
            except Injected:
                failed += 1
        org = runtime.store.find_organization_for_account(ACCT)
        if org is not None:
            assert targets_without_managed(_sql(runtime), org.org_id) == {}, n
            runtime.store.delete_organization(org.org_id)  # through the cache, which must see it
    assert failed >= 1


def test_first_start_failing_at_any_write_leaves_no_account_without_root_key(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(tmp_path / "data", create=True, env={"OPENSTS_ACCOUNT_ID": ACCT})
    box = SecretBox(settings.master_key)
    for n in range(1, 8):
        store = open_store(f"sqlite:///{tmp_path / f'first-{n}.db'}", aws_managed=False)
        try:
            with fail_at(store._engine, n), pytest.raises(Injected):
                ensure_management_account(store, box, settings, datetime.now(UTC))
        except pytest.fail.Exception:
            pass  # the first start made fewer than n writes: it completed
        # The next start finds the management account with its root key, or starts afresh.
        account, _ = ensure_management_account(store, box, replace(settings),
                                               datetime.now(UTC))
        assert [k.access_key_id for k in store.list_access_keys(account, None)], n
        store.close()


def test_a_concurrent_first_start_uses_the_other_nodes_management_account(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(tmp_path / "data", create=True, env={"OPENSTS_ACCOUNT_ID": ACCT})
    box = SecretBox(settings.master_key)
    store = open_store(f"sqlite:///{tmp_path / 'shared.db'}", aws_managed=False)
    other = replace(settings, account_id="111122223333")
    ensure_management_account(store, box, other, datetime.now(UTC))

    class LookedTooEarly:
        """Saw the database empty just before the other node's first start committed."""

        def __init__(self) -> None:
            self.looks = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        def list_accounts(self) -> list[Any]:
            self.looks += 1
            return [] if self.looks == 1 else store.list_accounts()

    account, first = ensure_management_account(LookedTooEarly(), box,  # type: ignore[arg-type]
                                                settings, datetime.now(UTC))
    assert (account, first) == ("111122223333", None)
    assert [a.account_id for a in store.list_accounts()] == ["111122223333"]
    store.close()
