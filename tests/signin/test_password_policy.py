"""The account password policy on the sign-in pages: an expired password (MaxPasswordAge)
must be changed before anything else, HardExpiry refuses it, the new one must meet the
policy and may not be a recent one (PasswordReusePrevention), and AllowUsersToChangePassword
lets a user without iam:ChangePassword make the change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Server
from tests.signin.helpers import PASSWORD, Browser, Client, User, is_consent, make_user
from tests.signin.test_password_change import alert_text

SIGNIN_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:GetCallerIdentity", "signin:*"], "Resource": "*"}]}


@pytest.fixture
def policy(siam: Any) -> Iterator[Any]:
    yield siam.update_account_password_policy
    siam.delete_account_password_policy()


def _age_password(server: Server, user: User, days: int) -> None:
    """Pretend the user's password was set ``days`` ago (MaxPasswordAge is in days)."""
    engine = sa.create_engine(f"sqlite:///{server.data_dir / 'opensts.db'}")
    with engine.begin() as conn:
        user_id = conn.execute(sa.text("SELECT user_id FROM users WHERE name = :n"),
                               {"n": user.name}).scalar_one()
        conn.execute(sa.text("UPDATE login_profiles SET password_changed = :t "
                             "WHERE user_id = :u"),
                     {"t": (datetime.now(UTC) - timedelta(days=days)).replace(tzinfo=None),
                      "u": user_id})
    engine.dispose()


def test_an_expired_password_must_be_changed(
    signin_server: Server, siam: Any, browser: Browser, client: Client, policy: Any
) -> None:
    user = make_user(siam, signin_server.account_id, policy=SIGNIN_ONLY)
    policy(MaxPasswordAge=30, AllowUsersToChangePassword=True, PasswordReusePrevention=3,
           MinimumPasswordLength=10, RequireNumbers=True)
    _age_password(signin_server, user, 31)
    page = browser.authorize(challenge=client.challenge)
    changing = browser.sign_in(page.text, user)
    assert "<h1>Change your password</h1>" in changing.text
    short = browser.post("/v1/password", changing.text, new_password="Short-1",
                         confirm_password="Short-1")
    assert short.status_code == 400
    assert alert_text(short.text) == "Password should have a minimum length of 10"
    # AllowUsersToChangePassword: no iam:ChangePassword in the user's policy is needed
    done = browser.post("/v1/password", short.text, new_password="Fresh-password-1",
                        confirm_password="Fresh-password-1")
    assert done.status_code == 200, done.text
    assert is_consent(done.text)  # one choice: no picker
    # the new password is not expired: the next sign-in goes straight on
    again = Browser(signin_server.endpoint)
    start = again.authorize(challenge=client.challenge)
    assert is_consent(again.sign_in(start.text, user, "Fresh-password-1").text)


def test_hard_expiry_refuses_the_sign_in(
    signin_server: Server, siam: Any, browser: Browser, client: Client, policy: Any
) -> None:
    user = make_user(siam, signin_server.account_id)
    policy(MaxPasswordAge=1, HardExpiry=True)
    page = browser.authorize(challenge=client.challenge)
    assert is_consent(browser.sign_in(page.text, user).text)  # not expired yet
    _age_password(signin_server, user, 2)
    fresh = Browser(signin_server.endpoint)
    start = fresh.authorize(challenge=client.challenge)
    refused = fresh.sign_in(start.text, user)
    assert refused.status_code == 401
    assert "Your password has expired" in refused.text
    # an administrator's reset starts the age again
    siam.update_login_profile(UserName=user.name, Password=PASSWORD + "x")
    start = fresh.authorize(challenge=client.challenge)
    assert is_consent(fresh.sign_in(start.text, user, PASSWORD + "x").text)
