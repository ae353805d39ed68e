"""The forced password change of ``opensts login`` in Debian's chromium (Playwright), then
the profile in boto3 until an administrator resets the password."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from tests.conftest import BIN, REPO, Server
from tests.signin.helpers import PASSWORD, make_user

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "tests" / "artifacts" / "signin"
NEW_PASSWORD = "Chosen-In-Chromium-8"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")


def test_forced_password_change_in_chromium(
    signin_server: Server, siam: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect, sync_playwright

    user = make_user(siam, signin_server.account_id, policy={
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
            "sts:GetCallerIdentity", "signin:*", "iam:ChangePassword"], "Resource": "*"}]})
    siam.update_login_profile(UserName=user.name, PasswordResetRequired=True)
    home = {"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
            "AWS_LOGIN_CACHE_DIRECTORY": str(tmp_path / "login-cache")}
    login = subprocess.Popen(
        [str(BIN / "opensts"), "login", "--profile", "dev", "--no-browser",
         "--endpoint-url", signin_server.endpoint, "--region", "us-east-1"],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1",
             "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **home},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert login.stderr is not None
        url = next(line.strip() for line in login.stderr if line.startswith("http"))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--no-first-run"])
            page = browser.new_page()
            page.goto(url)
            page.get_by_label("Account ID").fill(user.account)  # not prefilled by default
            page.get_by_label("IAM user name").fill(user.name)
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="Change your password").wait_for()
            new, confirm = page.get_by_label("New password", exact=True), page.get_by_label(
                "Confirm new password", exact=True)
            expect(new).to_be_focused()
            expect(new).to_have_accessible_description(
                "At least 8 characters, with at least three of: upper-case letters, "
                "lower-case letters, digits and symbols. It must differ from your current "
                "password.")
            new.fill(NEW_PASSWORD)
            confirm.fill(NEW_PASSWORD + "!")
            page.get_by_role("button", name="Change password").click()
            expect(page.get_by_role("alert")).to_contain_text("The passwords do not match")
            expect(page.get_by_label("Confirm new password", exact=True)).to_have_attribute(
                "aria-invalid", "true")
            page.screenshot(path=str(ARTIFACTS / "flow-password-mismatch.png"))
            page.get_by_label("New password", exact=True).fill("password")
            page.get_by_label("Confirm new password", exact=True).fill("password")
            page.get_by_role("button", name="Change password").click()
            expect(page.get_by_role("alert")).to_contain_text(
                "does not conform to the account password policy")
            page.screenshot(path=str(ARTIFACTS / "flow-password-policy.png"))
            page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
            page.get_by_label("Confirm new password", exact=True).fill(NEW_PASSWORD)
            page.keyboard.press("Enter")
            # One choice (the user itself): consent straight away, no picker.
            page.get_by_role("heading", name="Allow access?").wait_for()
            page.screenshot(path=str(ARTIFACTS / "flow-password-changed.png"))
            page.get_by_role("button", name="Allow access").click()
            page.get_by_role("heading", name="You are signed in").wait_for()
            browser.close()
        out, err = login.communicate(timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
    assert login.returncode == 0, err
    assert f"Signed in as {user.arn}" in out
    profile = siam.get_login_profile(UserName=user.name)["LoginProfile"]
    assert profile["PasswordResetRequired"] is False

    for key, value in home.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    identity = boto3.session.Session(profile_name="dev").client("sts").get_caller_identity()
    assert identity["Arn"] == user.arn
    # An administrator resets the password: the CLI session must sign in again.
    siam.update_login_profile(UserName=user.name, Password="Admin-Reset-Password-9")
    with pytest.raises(botocore.exceptions.LoginRefreshRequired) as refused:
        boto3.session.Session(profile_name="dev").client("sts").get_caller_identity()
    cause = refused.value.__cause__
    assert isinstance(cause, botocore.exceptions.ClientError)
    assert cause.response["error"] == "USER_CREDENTIALS_CHANGED"
