"""Password checks: off the event loop, bounded, and throttled per (user, address).

In-process: the ASGI app (httpx's ASGI transport) or the sign-in service over a real
runtime, with the argon2 hasher replaced so that the tests control when a check ends
(events, not timers) and 31 guesses do not cost 31 real argon2 runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from opensts.config import Settings
from opensts.directory.records import LoginProfile, User
from opensts.services.context import RequestMeta
from opensts.services.signin import service as service_module
from opensts.services.signin.service import SignInFailed, SigninService
from opensts.web.app import OpenStsApp, build_runtime
from tests.signin.helpers import SAME, hidden

ACCOUNT = "123456789012"
RIGHT = "pw-123456"
WAIT = 10  # seconds; only a safety net so that a broken build fails instead of hanging


class FakeHasher:
    """``verify`` like argon2's; optionally blocks until ``release`` is set."""

    def __init__(self, block: bool = False):
        self.block = block
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.finished = threading.Event()
        self.threads: list[threading.Thread] = []
        self.calls = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls += 1
        self.threads.append(threading.current_thread())
        self.started.release()
        if self.block:
            self.release.wait(WAIT)
        self.finished.set()
        if password != RIGHT:
            raise VerifyMismatchError
        return True


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Any]:
    settings = Settings.from_env(tmp_path / "data", create=True,
                                 env={"OPENSTS_ACCOUNT_ID": ACCOUNT})
    built, _ = build_runtime(settings)
    now = datetime.now(UTC)
    for name in ("alice", "bob"):
        built.store.create_user(User(ACCOUNT, f"AIDAEXAMPLE{name.upper():0>9}", name, "/",
                                     f"arn:aws:iam::{ACCOUNT}:user/{name}", now))
        built.store.create_login_profile(LoginProfile(ACCOUNT, name,
                                                      PasswordHasher().hash(RIGHT), now))
    yield built
    built.audit.close()
    built.store.close()


def _hasher(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> FakeHasher:
    fake = FakeHasher(**kwargs)
    monkeypatch.setattr(service_module, "_HASHER", fake)
    return fake


async def _wait_started(hasher: FakeHasher, count: int = 1) -> None:
    for _ in range(count):
        # Poll without blocking the loop: the checks run in threads.
        for _ in range(WAIT * 100):
            if hasher.started.acquire(blocking=False):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the password check did not start")


async def _sign_in_page(http: httpx.AsyncClient) -> str:
    query = {"response_type": "code", "client_id": SAME, "state": "s",
             "code_challenge_method": "SHA-256", "scope": "openid",
             "redirect_uri": "http://127.0.0.1:4000/oauth/callback",
             "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}
    return (await http.get("/v1/authorize?" + urlencode(query))).text


def _post(http: httpx.AsyncClient, page: str, user: str, password: str) -> Any:
    return http.post("/v1/signin", data={"flow": hidden(page, "flow"),
                                         "csrf": hidden(page, "csrf"), "account": ACCOUNT,
                                         "username": user, "password": password})


def test_the_hash_runs_off_the_event_loop(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    hasher = _hasher(monkeypatch, block=True)
    app = OpenStsApp(runtime)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            page = await _sign_in_page(http)
            attempt = asyncio.create_task(_post(http, page, "alice", "wrong"))
            await _wait_started(hasher)
            health = await http.get("/health")
            # /health answered while the password check was still running.
            assert health.status_code == 200
            assert not hasher.finished.is_set()
            hasher.release.set()
            assert (await attempt).status_code == 401

    asyncio.run(scenario())
    assert hasher.threads and hasher.threads[0] is not threading.main_thread()


def test_too_many_waiting_checks_are_refused_at_once(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opensts.services.signin import checks

    monkeypatch.setattr(checks, "WORKERS", 1)
    monkeypatch.setattr(checks, "WAITING", 1)
    pools: list[checks.PasswordChecks] = []

    class Recorded(checks.PasswordChecks):
        def __init__(self) -> None:
            super().__init__()
            pools.append(self)

    monkeypatch.setattr(checks, "PasswordChecks", Recorded)
    hasher = _hasher(monkeypatch, block=True)
    app = OpenStsApp(runtime)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            page = await _sign_in_page(http)
            running = asyncio.create_task(_post(http, page, "alice", "wrong"))
            await _wait_started(hasher)
            waiting = asyncio.create_task(_post(http, page, "bob", "wrong"))
            for _ in range(WAIT * 100):  # until bob is queued behind alice
                if pools[0].admitted == 2:
                    break
                await asyncio.sleep(0.01)
            refused = await _post(http, page, "carol", "wrong")
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert not hasher.finished.is_set()
            hasher.release.set()
            assert (await running).status_code == 401
            assert (await waiting).status_code == 401  # the queued check ran after all

    asyncio.run(scenario())


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _check(service: SigninService, user: str, password: str, address: str,
           now: datetime) -> str:
    """``ok``, ``wrong`` or ``throttled``."""
    meta = RequestMeta("r", now, address, "test", "us-east-1", "signin.test")
    try:
        asyncio.run(service.check_password(ACCOUNT, user, password, meta))
    except SignInFailed as failed:
        return "throttled" if failed.retry_after else "wrong"
    return "ok"


def _guess(service: SigninService, user: str, address: str, times: int) -> datetime:
    """``times`` failures, each after the previous back-off ended; returns the last time."""
    now = NOW
    for _ in range(times):
        now += timedelta(seconds=1000)
        assert _check(service, user, "wrong", address, now) == "wrong"
    return now


def test_guessing_from_one_address_locks_only_that_user_from_that_address(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hasher(monkeypatch)
    service = SigninService(runtime)
    now = _guess(service, "alice", "198.51.100.1", 31)
    assert _check(service, "alice", RIGHT, "198.51.100.1", now) == "throttled"
    # The per-address limit (30 free failures) covers the attacker's other guesses...
    assert _check(service, "bob", RIGHT, "198.51.100.1", now) == "throttled"
    # ...but nobody else is locked out.
    assert _check(service, "alice", RIGHT, "203.0.113.5", now) == "ok"
    assert _check(service, "bob", RIGHT, "203.0.113.5", now) == "ok"


def test_one_user_backs_off_per_address_as_before(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hasher(monkeypatch)
    service = SigninService(runtime)
    outcomes = [_check(service, "alice", "wrong", "198.51.100.1", NOW) for _ in range(7)]
    assert outcomes == ["wrong"] * 5 + ["throttled"] * 2
    assert _check(service, "alice", RIGHT, "198.51.100.1", NOW + timedelta(seconds=1)) \
        == "throttled"
    assert _check(service, "alice", RIGHT, "198.51.100.1", NOW + timedelta(seconds=3)) == "ok"


def test_a_loopback_only_server_is_not_locked_for_everyone(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hasher(monkeypatch)
    service = SigninService(runtime)
    for index in range(31):
        assert _check(service, f"guess-{index}", "wrong", "127.0.0.1", NOW) == "wrong"
    assert _check(service, "alice", RIGHT, "127.0.0.1", NOW) == "ok"


def test_ipv6_addresses_share_their_64_bit_prefix(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hasher(monkeypatch)
    service = SigninService(runtime)
    for index in range(30):  # the per-address limit's free failures
        address = f"2001:db8:0:1::{index + 1:x}"
        assert _check(service, f"guess-{index}", "wrong", address, NOW) == "wrong"
    assert _check(service, "alice", RIGHT, "2001:db8:0:1:ffff::1", NOW) == "throttled"
    assert _check(service, "alice", RIGHT, "2001:db8:0:2::1", NOW) == "ok"


def test_parallel_guesses_cannot_outrun_the_back_off(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = _hasher(monkeypatch)
    service = SigninService(runtime)
    meta = RequestMeta("r", NOW, "198.51.100.1", "test", "us-east-1", "signin.test")

    async def attempts() -> list[Any]:
        return await asyncio.gather(
            *[service.check_password(ACCOUNT, "alice", "wrong", meta) for _ in range(12)],
            return_exceptions=True)

    results = asyncio.run(attempts())
    assert all(isinstance(r, SignInFailed) for r in results)
    # At most the free failures are checked: the others counted those in flight and backed
    # off. (A failure being recorded may count twice for an instant, so fewer is fine.)
    assert 1 <= hasher.calls <= 5
