"""A refresh token that is not one of ours asks botocore's LoginProvider to sign in again.

Garbage (any length) and tokens sealed with a key that was retired since are answered
AccessDeniedException + ``TOKEN_EXPIRED``, which botocore turns into LoginRefreshRequired
("Please reauthenticate using 'aws login'"), not a ValidationException it cannot act on.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from tests.conftest import BIN, Server, start_server, stop_server
from tests.signin.helpers import SAME, Browser, Client, make_user
from tests.signin.test_password_change import botocore_profile

GARBAGE = ["garbage", "", "A" * 3000, "x" * 2049, "!" * 10]


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Re-read signing keys on every request, so a retirement is seen at once.
    running = start_server(tmp_path_factory.mktemp("retire") / "data",
                           {"OPENSTS_KEY_REFRESH_SECONDS": "0"})
    yield running
    stop_server(running)


def refused_for_relogin(session: boto3.Session) -> None:
    with pytest.raises(botocore.exceptions.LoginRefreshRequired) as refused:
        session.client("sts").get_caller_identity()
    assert "aws login" in str(refused.value)
    cause = refused.value.__cause__
    assert isinstance(cause, botocore.exceptions.ClientError)
    assert cause.response["Error"]["Code"] == "AccessDeniedException"
    assert cause.response["error"] == "TOKEN_EXPIRED"


@pytest.mark.parametrize("token", GARBAGE, ids=["word", "empty", "long", "over-2048", "bang"])
def test_garbage_refresh_token_is_token_expired(signin_server: Server, token: str) -> None:
    client = Client(signin_server.endpoint)
    response = client.refresh(token)
    assert response.status_code == 400, response.text
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert response.json()["error"] == "TOKEN_EXPIRED"


def test_garbage_refresh_token_makes_botocore_ask_to_sign_in_again(
    signin_server: Server, siam: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(siam, signin_server.account_id)
    client = Client(signin_server.endpoint)
    tokens = client.exchange(Browser(signin_server.endpoint).login(
        user, challenge=client.challenge)["code"]).json()
    tokens["refreshToken"] = "A" * 3000
    refused_for_relogin(botocore_profile(tmp_path, monkeypatch, signin_server, tokens,
                                         client.key))


def test_malformed_refresh_token_field_is_still_a_validation_error(
    signin_server: Server,
) -> None:
    client = Client(signin_server.endpoint)
    for body in ({"clientId": SAME, "grantType": "refresh_token"},
                 {"clientId": SAME, "grantType": "refresh_token", "refreshToken": 5}):
        response = client.token(body)
        assert response.status_code == 400
        assert response.headers["x-amzn-ErrorType"] == "ValidationException"


def test_refresh_token_of_a_retired_key_makes_botocore_ask_to_sign_in_again(
    keyed_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def keys(*args: str) -> str:
        return subprocess.run(
            [str(BIN / "opensts"), "keys", *args, "--data-dir", str(keyed_server.data_dir)],
            env=keyed_server.env, capture_output=True, text=True, timeout=30, check=True,
        ).stdout

    user = make_user(keyed_server.client("iam"), keyed_server.account_id)
    client = Client(keyed_server.endpoint)
    tokens = client.exchange(Browser(keyed_server.endpoint).login(
        user, challenge=client.challenge)["code"]).json()
    old_key = keys("list").splitlines()[1].split()[0]  # below the header
    keys("rotate")
    keys("retire", old_key)
    # No AWS API call in between: the sign-in service itself must see the retirement.
    refused_for_relogin(botocore_profile(tmp_path, monkeypatch, keyed_server, tokens,
                                         client.key))
