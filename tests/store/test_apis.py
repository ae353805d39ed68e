"""APIs of the HTTP authorizer in the store: ownership, full replacement, caching, on every
backend."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, ApiAlreadyExists, NotFound
from opensts.directory.records import Account, Api, Route
from opensts.store import schema
from opensts.store.cache import CachingStore

from .records import ACCT, NOW

OTHER = "444455556666"
POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
          '"arn:aws:iam::444455556666:root"},"Action":"execute-api:Invoke",'
          '"Resource":"arn:aws:execute-api:us-east-1:111122223333:orders/*"}]}')
ROUTES = (
    Route("GET", "/orders/{id}", "orders:GetOrder",
          "arn:aws:orders:us-east-1:111122223333:order/{id}", {"orders:Team": "{team}"}),
    Route("ANY", "/files/{proxy+}"),
)


def api(api_id: str = "orders", account: str = ACCT, **kw: object) -> Api:
    values: dict[str, object] = {"name": "Orders", "region": "us-east-1", "stages": ("prod",),
                                 "created": NOW}
    values.update(kw)
    return Api(api_id=api_id, account_id=account, **values)  # type: ignore[arg-type]


@pytest.fixture
def accounts(store):  # type: ignore[no-untyped-def]
    store.create_account(Account(ACCT, "main", "a@example.com", NOW))
    store.create_account(Account(OTHER, "other", "b@example.com", NOW))
    return store


def test_round_trip_with_routes_policy_and_stages(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    want = api(policy=POLICY, routes=ROUTES, stages=("prod", "beta"), require_body_hash=True)
    assert store.put_api(want) == want
    got = store.get_api("orders")
    assert got == want
    assert got.routes[0].conditions == {"orders:Team": "{team}"}
    assert got.routes[1].action is None and got.routes[1].resource is None
    assert got.created == NOW and got.created.tzinfo is not None
    assert store.find_api("nope") is None
    with pytest.raises(NotFound) as caught:
        store.get_api("nope")
    assert caught.value.kind == "api"


def test_replace_is_whole_and_keeps_created(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.put_api(api(policy=POLICY, routes=ROUTES))
    later = api(created=NOW + timedelta(hours=1), stages=("v2",), routes=ROUTES[1:])
    got = store.put_api(later)
    assert got == dataclasses.replace(later, created=NOW)  # policy gone, one route, new stage
    assert store.get_api("orders") == got


def test_another_accounts_id_is_refused_untouched(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.put_api(api(routes=ROUTES))
    before = store.generation()
    with pytest.raises(ApiAlreadyExists) as caught:
        store.put_api(api(account=OTHER))
    assert caught.value.owner == ACCT and isinstance(caught.value, AlreadyExists)
    assert store.get_api("orders") == api(routes=ROUTES)
    assert store.generation() == before


def test_unknown_account_and_bad_input_leave_nothing(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    before = store.generation()
    with pytest.raises(NotFound) as caught:
        store.put_api(api(account="999999999999"))
    assert caught.value.kind == "account"
    with pytest.raises(ValueError):
        store.put_api(api(stages=("prod", "prod")))
    with pytest.raises(ValueError):
        store.put_api(api(policy="x" * (64 * 1024 + 1)))
    assert store.find_api("orders") is None
    assert store.generation() == before


def test_list_by_account_and_delete(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    for api_id, account in (("zeta", ACCT), ("alpha", ACCT), ("mid", OTHER)):
        store.put_api(api(api_id, account))
    assert [a.api_id for a in store.list_apis(ACCT)] == ["alpha", "zeta"]
    assert [a.api_id for a in store.list_apis()] == ["alpha", "mid", "zeta"]
    assert store.list_apis("000000000000") == []
    store.delete_api("alpha")
    assert store.find_api("alpha") is None
    with pytest.raises(NotFound):
        store.delete_api("alpha")


def test_find_api_is_cached_and_invalidated(accounts) -> None:  # type: ignore[no-untyped-def]
    cached = CachingStore(accounts)
    cached.put_api(api())
    assert cached.find_api("orders") == api()
    hits = cached.hits
    assert cached.find_api("orders") == api()
    assert cached.hits == hits + 1
    cached.put_api(api(stages=("v2",)))
    assert cached.find_api("orders").stages == ("v2",)
    cached.delete_api("orders")
    assert cached.find_api("orders") is None


def test_concurrent_creates_of_one_id_have_one_winner(accounts, store_factory) -> None:  # type: ignore[no-untyped-def]
    stores = [accounts, store_factory()]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def create(i: int) -> None:
        barrier.wait()
        try:
            stores[i].put_api(api(account=(ACCT, OTHER)[i]))
            outcomes.append("created")
        except ApiAlreadyExists:
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "refused"]


def test_an_older_database_gains_the_apis_table(store_factory) -> None:  # type: ignore[no-untyped-def]
    old = store_factory()
    with old._engine.begin() as conn:  # roll the database back to before migration 8
        conn.execute(sa.schema.DropTable(schema.apis))
        conn.execute(sa.delete(schema.schema_migrations).where(
            schema.schema_migrations.c.version == 8))
    reopened = store_factory()
    reopened.create_account(Account(ACCT, "main", "", NOW))
    assert reopened.put_api(api(routes=ROUTES)).routes == ROUTES
