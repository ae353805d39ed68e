"""One OpenSTS per test module, trusting only 127.0.0.1 as a gateway, with an echo upstream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.authorizer.gateways import upstream
from tests.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def hook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("authorizer") / "data"
    running = start_server(data_dir, {
        "OPENSTS_TRUSTED_PROXIES": "127.0.0.1/32",
        # APIs are stored from the test process: no stale cache between declare and call.
        "OPENSTS_CACHE_STALENESS_SECONDS": "0",
    })
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def echo() -> Iterator[int]:
    with upstream() as port:
        yield port


def hook_port(server: Server) -> int:
    return int(server.endpoint.rsplit(":", 1)[1])


def event_for(server: Server, request_id: str, timeout: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        for event in server.audit_events():
            if event.get("requestID") == request_id:
                return event
        if time.monotonic() > deadline:
            raise AssertionError(f"no audit event for {request_id}")
        time.sleep(0.05)


def denial_for(data_dir: Path, request_id: str, timeout: float = 5) -> dict[str, Any]:
    from opensts.audit.decisions import decisions_dir, find_denials

    deadline = time.monotonic() + timeout
    while True:
        found = find_denials(decisions_dir(data_dir), request_id)
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no recorded denial for {request_id}")
        time.sleep(0.05)


def as_json(text: bytes) -> Any:
    return json.loads(text)
