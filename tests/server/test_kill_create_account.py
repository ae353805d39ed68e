"""kill -9 in the middle of CreateAccount leaves either a whole member account or nothing.

The server is killed with SIGKILL at random moments while several clients create accounts,
restarted, and then every account in the store is checked: in the organization, with
OrganizationAccountAccessRole and AdministratorAccess, FullAWSAccess attached, and no
create-account request left IN_PROGRESS. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import os
import random
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from botocore import exceptions as boto_errors

from opensts.store import SqlStore, open_store
from tests.conftest import ACCOUNT_ID, Server, start_server, stop_server
from tests.organizations.invariants import broken_accounts, unfinished_requests

POSTGRES = os.environ.get("OPENSTS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
KILLS = int(os.environ.get("OPENSTS_TEST_KILLS", "6"))
CLIENTS = 3


def _pg_url() -> str:
    """The test server as an SQLAlchemy URL (POSTGRES is a libpq one)."""
    return "postgresql+psycopg://" + POSTGRES.split("://", 1)[1]


def _libpq() -> str:
    return "postgresql://" + POSTGRES.split("://", 1)[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, str],
                                                                              object]]:
    """(server environment, function opening the server's store) of a fresh database."""
    if request.param == "sqlite":
        yield {}, lambda: open_store(f"sqlite:///{tmp_path / 'data' / 'opensts.db'}",
                                     aws_managed=False)
        return
    schema = f"kill_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = _pg_url()
    sep = "&" if "?" in url else "?"
    env = {
        "OPENSTS_DATABASE_URL": f"{url}{sep}options=-csearch_path%3D{schema}",
        "OPENSTS_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    yield env, lambda: open_store(url, schema=schema, aws_managed=False)
    with psycopg.connect(_libpq(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _hammer(server: Server, started: threading.Event, calls: list[str],
            errors: list[Exception]) -> None:
    client = server.client("organizations")
    while True:
        name = f"acct-{uuid.uuid4().hex[:8]}"
        try:
            client.create_account(Email=f"{name}@example.com", AccountName=name)
        except (boto_errors.ConnectionError, boto_errors.HTTPClientError):  # the server was killed
            return
        except Exception as exc:  # an answer, but not the account: a bug
            errors.append(exc)
            return
        calls.append(name)
        started.set()


def test_sigkill_during_create_account_leaves_no_half_created_account(
    tmp_path: Path, database: tuple[dict[str, str], object]
) -> None:
    env, open_ = database
    data = tmp_path / "data"
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    server = start_server(data, env)
    server.client("organizations").create_organization(FeatureSet="ALL")
    created: list[str] = []
    errors: list[Exception] = []
    for _ in range(KILLS):
        started = threading.Event()
        threads = [threading.Thread(target=_hammer, args=(server, started, created, errors))
                   for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        assert started.wait(30), "no CreateAccount call succeeded"
        time.sleep(rng.uniform(0, 0.3))
        server.process.kill()
        server.process.wait()
        for thread in threads:
            thread.join(30)
        server = start_server(data, env)
    # One more clean start and stop: whatever the server finishes at startup is done.
    stop_server(server)
    store = open_()
    assert isinstance(store, SqlStore)
    try:
        broken = broken_accounts(store, ACCOUNT_ID)
        unfinished = unfinished_requests(store)
        total = len(store.list_accounts()) - 1
    finally:
        store.close()
    print(f"seed={seed} kills={KILLS} accounts={total} answered={len(created)} "
          f"broken={len(broken)} unfinished={len(unfinished)}")
    assert not errors, errors
    assert not broken and not unfinished, (broken, unfinished)
