"""`opensts login` end to end in Debian's chromium (Playwright, never a downloaded browser),
then plain boto3 with the written profile, refreshing through botocore's LoginProvider."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import BIN, REPO, Server
from tests.signin.helpers import PASSWORD, User, make_user

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "tests" / "artifacts" / "signin"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")


def _home(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        # The CLI under test is this checkout's when the tests run with PYTHONPATH=src.
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_LOGIN_CACHE_DIRECTORY": str(tmp_path / "login-cache"),
    }


def test_login_in_chromium_then_boto3(
    signin_server: Server, siam: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect, sync_playwright

    user: User = make_user(siam, signin_server.account_id, mfa=True)
    env = {**_home(tmp_path), "PYTHONUNBUFFERED": "1"}
    login = subprocess.Popen(
        [str(BIN / "opensts"), "login", "--profile", "dev", "--no-browser",
         "--endpoint-url", signin_server.endpoint, "--region", "us-east-1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = ""
        assert login.stderr is not None
        for line in login.stderr:
            if line.startswith("http"):
                url = line.strip()
                break
        assert "/v1/authorize?" in url
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--no-first-run"])
            page = browser.new_page()
            page.goto(url)
            page.screenshot(path=str(ARTIFACTS / "flow-1-password.png"))
            # Keyboard only: the form is reachable and labelled for assistive technology.
            # Not prefilled by default (no OPENSTS_SIGNIN_ACCOUNT_ID): the first field.
            expect(page.get_by_label("Account ID")).to_have_value("")
            expect(page.get_by_label("Account ID")).to_be_focused()
            page.get_by_label("Account ID").fill(user.account)
            page.get_by_label("IAM user name").fill(user.name)
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            page.get_by_label("MFA code").wait_for()
            page.screenshot(path=str(ARTIFACTS / "flow-2-mfa.png"))
            page.get_by_label("MFA code").fill(user.totp())
            page.get_by_role("button", name="Verify").click()
            # One choice (the user itself): consent straight away, no picker.
            page.get_by_role("heading", name="Allow access?").wait_for()
            page.screenshot(path=str(ARTIFACTS / "flow-4-consent.png"))
            page.get_by_role("button", name="Allow access").click()
            page.get_by_role("heading", name="You are signed in").wait_for()
            expect(page.get_by_role("status")).to_have_text(
                "The command line received your credentials. You can close this window.")
            page.screenshot(path=str(ARTIFACTS / "flow-5-success.png"))
            browser.close()
        out, err = login.communicate(timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
    assert login.returncode == 0, err
    assert f"Signed in as {user.arn}" in out
    config = (tmp_path / "config").read_text()
    assert re.search(rf"login_session = {re.escape(user.arn)}", config)
    cache_files = list((tmp_path / "login-cache").glob("*.json"))
    assert len(cache_files) == 1
    assert oct(cache_files[0].stat().st_mode & 0o777) == "0o600"
    before = json.loads(cache_files[0].read_text())
    assert "EC PRIVATE KEY" in before["dpopKey"]

    # Plain boto3 (botocore's LoginProvider) with nothing but the profile.
    for key, value in _home(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    session = boto3.session.Session(profile_name="dev")
    identity = session.client("sts").get_caller_identity()
    assert identity["Arn"] == user.arn
    after = json.loads(cache_files[0].read_text())
    # Credentials last 120 s (< botocore's 5-minute threshold): botocore refreshed them
    # through /v1/token with its own DPoP proof and rotated the cached refresh token.
    assert after["refreshToken"] != before["refreshToken"]
    assert after["accessToken"]["accessKeyId"] != before["accessToken"]["accessKeyId"]
    again = boto3.session.Session(profile_name="dev").client("sts").get_caller_identity()
    assert again["Arn"] == user.arn
    assert json.loads(cache_files[0].read_text())["refreshToken"] != after["refreshToken"]

    # The same profile for older tools through credential_process.
    with (tmp_path / "config").open("a") as handle:
        handle.write(f"\n[profile legacy]\nregion = us-east-1\ncredential_process = "
                     f"{BIN / 'opensts'} credential-process --profile dev\n"
                     f"services = opensts-dev\n")
    legacy = boto3.session.Session(profile_name="legacy")
    assert legacy.get_credentials().method == "custom-process"
    assert legacy.client("sts").get_caller_identity()["Arn"] == user.arn

    # Logout revokes on the server: the last refresh token no longer works.
    last = json.loads(cache_files[0].read_text())
    done = subprocess.run([str(BIN / "opensts"), "logout", "--profile", "dev"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not cache_files[0].exists()
    from opensts.cli.login import load_dpop_key
    from tests.signin.helpers import Client

    client = Client(signin_server.endpoint)
    refused = client.refresh(last["refreshToken"], key=load_dpop_key(last["dpopKey"]))
    assert refused.json()["error"] == "TOKEN_EXPIRED"
    assert sys.executable  # the same interpreter ran the CLI (BIN)
