"""Handlers run inline when they need no I/O, and never touch the database from the loop.

In-process: the ASGI app built as ``opensts serve`` builds it, fed signed requests. A call
whose reads miss the cache must be abandoned before its first statement and re-run in a
thread from scratch; a warm call runs on the event loop with no thread hop.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from sqlalchemy import event

from opensts.config import Settings
from opensts.services import inline
from opensts.web import aws
from opensts.web.app import OpenStsApp, build_runtime

ACCOUNT = "123456789012"
KEY, SECRET = "AKIAINLINETESTKEY001", "inline/test/secret/key/0123456789abcdefgh"


def _signed(params: dict[str, str]) -> tuple[dict[str, Any], bytes]:
    body = urlencode(params).encode()
    request = AWSRequest(
        method="POST", url="http://localhost/", data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(KEY, SECRET), "sts", "us-east-1").add_auth(request)
    headers = [(k.lower().encode(), str(v).encode()) for k, v in request.headers.items()]
    headers.append((b"host", b"localhost"))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/", "raw_path": b"/", "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }
    return scope, body


@pytest.fixture
def app(tmp_path: Path) -> Any:
    settings = Settings.from_env(tmp_path / "data", create=True, env={
        "OPENSTS_ACCOUNT_ID": ACCOUNT,
        "OPENSTS_ROOT_ACCESS_KEY_ID": KEY,
        "OPENSTS_ROOT_SECRET_ACCESS_KEY": SECRET,
    })
    runtime, _ = build_runtime(settings)
    yield OpenStsApp(runtime)
    runtime.audit.close()
    runtime.store.close()


def _call(app: Any, params: dict[str, str]) -> tuple[int, bytes]:
    scope, body = _signed(params)
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    asyncio.run(app(scope, receive, send))
    return status, b"".join(chunks)


def test_warm_call_runs_inline_and_a_cold_one_in_a_thread(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[str] = []
    real = asyncio.to_thread

    async def counting(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", "?"))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(aws.asyncio, "to_thread", counting)
    statements_on_loop: list[str] = []
    loop_threads: set[int] = set()

    def on_execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() in loop_threads:
            statements_on_loop.append(statement)

    engine = app.runtime.store.uncached._engine
    event.listen(engine, "before_cursor_execute", on_execute)
    identity = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}

    async def mark() -> None:
        loop_threads.add(threading.get_ident())

    asyncio.run(mark())
    status, body = _call(app, identity)  # cold: the key lookup misses the cache
    assert status == 200 and f"arn:aws:iam::{ACCOUNT}:root".encode() in body
    assert hops == ["_run"]
    hops.clear()
    status, body = _call(app, identity)  # warm: no statement, no thread
    assert status == 200 and f"arn:aws:iam::{ACCOUNT}:root".encode() in body
    assert hops == []
    assert statements_on_loop == []
    # The access key's last use was recorded once, by the thread re-run, not lost.
    assert app.runtime.key_last_recorded.get(KEY)


def test_attempt_refuses_the_database_before_any_statement(app: Any) -> None:
    store = app.runtime.store
    with pytest.raises(inline.NeedsIO):
        inline.attempt(lambda: store.uncached.generation())
    with pytest.raises(inline.NeedsIO):
        inline.attempt(store.list_users, ACCOUNT)  # a pass-through read
    with pytest.raises(inline.NeedsIO):
        inline.attempt(lambda: store.get_user(ACCOUNT, "nobody-cached"))  # a cache miss
    assert not inline.inline_active()
    store.generation()  # outside an attempt the store works as before


def test_needs_io_is_not_an_exception() -> None:
    # Handlers' "except Exception" must never swallow the signal.
    assert not issubclass(inline.NeedsIO, Exception)
