"""A sign-in server with short credential lifetimes, so botocore refreshes on every use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Server, start_server, stop_server
from tests.signin.helpers import Browser, Client, User, make_user

CREDENTIAL_SECONDS = 120  # < botocore's 5-minute threshold: each use refreshes


@pytest.fixture(scope="module")
def signin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("signin") / "data"
    running = start_server(data_dir, {"OPENSTS_LOGIN_CREDENTIAL_SECONDS":
                                      str(CREDENTIAL_SECONDS)})
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def siam(signin_server: Server) -> Any:
    return signin_server.client("iam")


@pytest.fixture
def user(siam: Any, signin_server: Server) -> User:
    return make_user(siam, signin_server.account_id)


@pytest.fixture
def browser(signin_server: Server) -> Browser:
    return Browser(signin_server.endpoint)


@pytest.fixture
def client(signin_server: Server) -> Client:
    return Client(signin_server.endpoint)
