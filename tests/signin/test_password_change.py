"""Forced password change on the sign-in pages, IAM ChangePassword, and sign-in sessions
ending when the user's credentials change (botocore's LoginProvider sees
USER_CREDENTIALS_CHANGED and raises LoginRefreshRequired)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from opensts.cli import login as cli
from tests.conftest import Server
from tests.signin.helpers import PASSWORD, SAME, Browser, Client, User, is_consent, make_user

NEW_PASSWORD = "Brand-New-Staple-42"
CHANGE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:GetCallerIdentity", "signin:*", "iam:ChangePassword"],
     "Resource": "*"}]}


def reset_user(siam: Any, server: Server, *, policy: dict[str, Any] | None = None) -> User:
    user = make_user(siam, server.account_id, policy=policy or CHANGE_POLICY)
    siam.update_login_profile(UserName=user.name, PasswordResetRequired=True)
    return user


def change_page(browser: Browser, client: Client, user: User) -> str:
    page = browser.authorize(challenge=client.challenge)
    response = browser.sign_in(page.text, user)
    assert response.status_code == 200, response.text
    assert "<h1>Change your password</h1>" in response.text
    assert 'action="/v1/password"' in response.text
    return response.text


def alert_text(page: str) -> str:
    match = re.search(r'<div role="alert" class="error" id="form-error"><p>([^<]*)</p>', page)
    assert match, page
    return match.group(1)


def test_forced_change_shows_errors_inline_then_continues(
    signin_server: Server, siam: Any, browser: Browser, client: Client
) -> None:
    user = reset_user(siam, signin_server)
    page = change_page(browser, client, user)

    mismatch = browser.post("/v1/password", page, new_password=NEW_PASSWORD,
                            confirm_password=NEW_PASSWORD + "x")
    assert mismatch.status_code == 400
    assert "do not match" in alert_text(mismatch.text)
    assert re.search(r'id="confirm-password"[^>]*aria-invalid="true"', mismatch.text)

    weak = browser.post("/v1/password", mismatch.text, new_password="short",
                        confirm_password="short")
    assert weak.status_code == 400
    assert "does not conform to the account password policy" in alert_text(weak.text)
    assert re.search(r'id="new-password"[^>]*aria-invalid="true"', weak.text)

    same = browser.post("/v1/password", weak.text, new_password=PASSWORD,
                        confirm_password=PASSWORD)
    assert same.status_code == 400
    assert "must differ from the current one" in alert_text(same.text)

    # Nothing was written yet: the reset is still required, the old password still works.
    assert siam.get_login_profile(UserName=user.name)["LoginProfile"]["PasswordResetRequired"]

    done = browser.post("/v1/password", same.text, new_password=NEW_PASSWORD,
                        confirm_password=NEW_PASSWORD)
    assert done.status_code == 200, done.text
    assert is_consent(done.text)  # one choice: no picker
    assert not siam.get_login_profile(UserName=user.name)["LoginProfile"][
        "PasswordResetRequired"]
    consent = done
    redirect = browser.post("/v1/consent", consent.text, decision="allow")
    assert redirect.status_code == 303
    code = re.search(r"code=([^&]+)", redirect.headers["location"])
    assert code
    from urllib.parse import unquote

    tokens = client.exchange(unquote(code.group(1)))
    assert tokens.status_code == 200, tokens.text

    # Only the new password signs in now, and without another change.
    fresh = Browser(signin_server.endpoint)
    start = fresh.authorize(challenge=client.challenge)
    refused = fresh.post("/v1/signin", start.text, account=user.account, username=user.name,
                         password=PASSWORD)
    assert refused.status_code == 401
    accepted = fresh.post("/v1/signin", refused.text, account=user.account,
                          username=user.name, password=NEW_PASSWORD)
    assert accepted.status_code == 200
    assert is_consent(accepted.text)  # one choice: no picker

    events = [e for e in signin_server.audit_events() if e["eventName"] == "ChangePassword"
              and e["userIdentity"].get("arn") == user.arn]
    assert len(events) == 3  # two refusals by IAM (policy, same password) and the change
    assert [e.get("errorCode") for e in events] == [
        "PasswordPolicyViolation", "PasswordPolicyViolation", None]
    for event in events:
        assert event["eventSource"] == "iam.amazonaws.com"
        assert event["readOnly"] is False
        assert event["requestParameters"] is None
        assert event["userIdentity"]["type"] == "IAMUser"
        assert NEW_PASSWORD not in json.dumps(event) and PASSWORD not in json.dumps(event)


def test_mfa_comes_before_the_change(
    signin_server: Server, siam: Any, browser: Browser, client: Client
) -> None:
    user = make_user(siam, signin_server.account_id, policy=CHANGE_POLICY, mfa=True)
    siam.update_login_profile(UserName=user.name, PasswordResetRequired=True)
    start = browser.authorize(challenge=client.challenge)
    mfa = browser.post("/v1/signin", start.text, account=user.account, username=user.name,
                       password=PASSWORD)
    assert 'action="/v1/mfa"' in mfa.text
    # The password page is not reachable with the MFA step's flow.
    skipped = browser.post("/v1/password", mfa.text, new_password=NEW_PASSWORD,
                           confirm_password=NEW_PASSWORD)
    assert skipped.status_code == 400
    page = browser.post("/v1/mfa", mfa.text, code=user.totp())
    assert "<h1>Change your password</h1>" in page.text
    done = browser.post("/v1/password", page.text, new_password=NEW_PASSWORD,
                        confirm_password=NEW_PASSWORD)
    assert is_consent(done.text)  # one choice: no picker
    consent = done
    assert "<h1>Allow access?</h1>" in consent.text


def test_the_change_cannot_be_skipped(
    signin_server: Server, siam: Any, browser: Browser, client: Client
) -> None:
    user = reset_user(siam, signin_server)
    page = change_page(browser, client, user)
    # A new authorization in the same browser: not signed in, the sign-in page again.
    again = browser.authorize(challenge=client.challenge)
    assert 'action="/v1/signin"' in again.text
    # The change page's flow does not open the picker.
    assert 'action="/v1/signin"' in browser.post("/v1/choose", page, choice="0:").text
    # A forged password step without the flow's state is refused.
    assert browser.post("/v1/password", again.text, new_password=NEW_PASSWORD,
                        confirm_password=NEW_PASSWORD).status_code == 400
    assert siam.get_login_profile(UserName=user.name)["LoginProfile"]["PasswordResetRequired"]


def test_without_iam_change_password_the_error_is_inline(
    signin_server: Server, siam: Any, browser: Browser, client: Client
) -> None:
    user = reset_user(siam, signin_server, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "signin:*", "Resource": "*"}]})
    page = change_page(browser, client, user)
    denied = browser.post("/v1/password", page, new_password=NEW_PASSWORD,
                          confirm_password=NEW_PASSWORD)
    assert denied.status_code == 403
    assert "iam:ChangePassword" in alert_text(denied.text)
    assert "<h1>Change your password</h1>" in denied.text


def test_change_page_refuses_after_a_concurrent_reset(
    signin_server: Server, siam: Any, browser: Browser, client: Client
) -> None:
    user = reset_user(siam, signin_server)
    page = change_page(browser, client, user)
    siam.update_login_profile(UserName=user.name, Password="Admin-Chosen-Password-7",
                              PasswordResetRequired=True)
    stale = browser.post("/v1/password", page, new_password=NEW_PASSWORD,
                         confirm_password=NEW_PASSWORD)
    assert stale.status_code == 401
    assert 'action="/v1/signin"' in stale.text
    assert "changed since you signed in" in stale.text


# -- sessions end when the credentials change ----------------------------------------------

def tokens_for(browser: Browser, client: Client, user: User) -> dict[str, Any]:
    response = client.exchange(browser.login(user, challenge=client.challenge)["code"])
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def botocore_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: Server,
                     tokens: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> boto3.Session:
    """What ``opensts login`` leaves behind: botocore's login cache and the profile."""
    for name, value in {"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
                        "AWS_LOGIN_CACHE_DIRECTORY": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    part = tokens["idToken"].split(".")[1]
    session = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["sub"]
    cli.save_token(session, {
        "accessToken": {**tokens["accessToken"], "accountId": session.split(":")[4],
                        "expiresAt": "2000-01-01T00:00:00Z"},  # refresh on first use
        "tokenType": "aws_sigv4", "clientId": SAME,
        "refreshToken": tokens["refreshToken"], "idToken": tokens["idToken"],
        "dpopKey": cli.dpop_key_pem(key),
    })
    cli.write_profile("dev", session, "us-east-1", server.endpoint)
    return boto3.session.Session(profile_name="dev")


def refresh_refused(session: boto3.Session) -> botocore.exceptions.ClientError:
    with pytest.raises(botocore.exceptions.LoginRefreshRequired) as refused:
        session.client("sts").get_caller_identity()
    cause = refused.value.__cause__
    assert isinstance(cause, botocore.exceptions.ClientError)
    assert cause.response["Error"]["Code"] == "AccessDeniedException"
    assert cause.response["error"] == "USER_CREDENTIALS_CHANGED"
    return cause


def test_admin_password_reset_ends_sessions_for_botocore(
    signin_server: Server, siam: Any, browser: Browser, client: Client, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = make_user(siam, signin_server.account_id)
    tokens = tokens_for(browser, client, user)
    session = botocore_profile(tmp_path, monkeypatch, signin_server, tokens, client.key)
    assert session.client("sts").get_caller_identity()["Arn"] == user.arn
    # Flipping only PasswordResetRequired keeps the password, and the session.
    siam.update_login_profile(UserName=user.name, PasswordResetRequired=True)
    fresh = boto3.session.Session(profile_name="dev")
    assert fresh.client("sts").get_caller_identity()["Arn"] == user.arn
    # A code issued before the change is refused after it, as is the browser's identity.
    pending = Client(signin_server.endpoint)
    siam.update_login_profile(UserName=user.name, PasswordResetRequired=False)
    code = browser.login(user, challenge=pending.challenge)["code"]
    siam.update_login_profile(UserName=user.name, Password=NEW_PASSWORD)
    late = pending.exchange(code)
    assert late.status_code == 400
    assert late.json()["error"] == "USER_CREDENTIALS_CHANGED"
    assert 'action="/v1/signin"' in browser.authorize(challenge=client.challenge).text
    refresh_refused(boto3.session.Session(profile_name="dev"))


def test_delete_login_profile_ends_sessions_for_botocore(
    signin_server: Server, siam: Any, browser: Browser, client: Client, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = make_user(siam, signin_server.account_id)
    tokens = tokens_for(browser, client, user)
    session = botocore_profile(tmp_path, monkeypatch, signin_server, tokens, client.key)
    assert session.client("sts").get_caller_identity()["Arn"] == user.arn
    siam.delete_login_profile(UserName=user.name)
    refresh_refused(boto3.session.Session(profile_name="dev"))
    # A new login profile (even with the same password) does not bring the session back.
    siam.create_login_profile(UserName=user.name, Password=PASSWORD)
    refresh_refused(boto3.session.Session(profile_name="dev"))


def test_iam_change_password_from_the_session_ends_it(
    signin_server: Server, siam: Any, browser: Browser, client: Client, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = make_user(siam, signin_server.account_id, policy=CHANGE_POLICY)
    tokens = tokens_for(browser, client, user)
    session = botocore_profile(tmp_path, monkeypatch, signin_server, tokens, client.key)
    iam = session.client("iam")
    with pytest.raises(botocore.exceptions.ClientError) as wrong:
        iam.change_password(OldPassword="Not-The-Password-1", NewPassword=NEW_PASSWORD)
    assert wrong.value.response["Error"]["Code"] == "InvalidUserType"
    with pytest.raises(botocore.exceptions.ClientError) as weak:
        iam.change_password(OldPassword=PASSWORD, NewPassword="weak")
    assert weak.value.response["Error"]["Code"] == "PasswordPolicyViolation"
    iam.change_password(OldPassword=PASSWORD, NewPassword=NEW_PASSWORD)
    # The session that changed the password ends with it (its next refresh).
    refresh_refused(boto3.session.Session(profile_name="dev"))
    events = [e for e in signin_server.audit_events() if e["eventName"] == "ChangePassword"
              and e["userIdentity"].get("arn", "").endswith(f"/{user.name}")]
    assert [e.get("errorCode") for e in events] == [
        "InvalidUserType", "PasswordPolicyViolation", None]
    assert all(NEW_PASSWORD not in json.dumps(e) for e in events)


def test_iam_change_password_is_for_iam_users_only(signin_server: Server, siam: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as root:
        siam.change_password(OldPassword=PASSWORD, NewPassword=NEW_PASSWORD)
    assert root.value.response["Error"]["Code"] == "InvalidUserType"
    user = make_user(siam, signin_server.account_id)  # no iam:ChangePassword
    key = siam.create_access_key(UserName=user.name)["AccessKey"]
    own = signin_server.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        own.change_password(OldPassword=PASSWORD, NewPassword=NEW_PASSWORD)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
