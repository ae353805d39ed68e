"""Every state of the sign-in pages in Debian's chromium (Playwright, never a downloaded
browser), each screenshot into tests/artifacts/signin/: what the user reads, what the
buttons and links do, and that nothing overflows the card."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from opensts.cli.login import pkce_pair
from tests.conftest import ACCOUNT_ID, BIN, REPO, Server, start_server, stop_server
from tests.signin.helpers import CROSS, LOOPBACK, PASSWORD, SAME, User, make_user

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "tests" / "artifacts" / "signin"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
ONLY_IDENTITY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:GetCallerIdentity", "sts:AssumeRole"],
     "Resource": "*"}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("signin-pages") / "data"
    # The operator configured the account to prefill (the default prefills nothing).
    running = start_server(data_dir, {"OPENSTS_SIGNIN_ACCOUNT_ID": ACCOUNT_ID})
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def iam(server: Server) -> Any:
    return server.client("iam")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, server: Server) -> Iterator[Any]:
    context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"],
                                   viewport={"width": 900, "height": 700})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def authorize_url(server: Server, *, client_id: str = SAME, redirect_uri: str = LOOPBACK,
                  state: str = "st-pages") -> str:
    _, challenge = pkce_pair()
    return server.endpoint + "/v1/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "state": state,
        "code_challenge_method": "SHA-256", "scope": "openid",
        "redirect_uri": redirect_uri, "code_challenge": challenge})


def shot(page: Any, name: str) -> None:
    """Screenshot, after checking the card holds its content: no text wider than it."""
    fits = page.evaluate("""() => {
        const card = document.querySelector('main');
        const wide = [...card.querySelectorAll('*')].filter(
            (e) => e.getBoundingClientRect().right > card.getBoundingClientRect().right + 1);
        return {page: document.documentElement.scrollWidth <= window.innerWidth,
                card: card.scrollWidth <= card.clientWidth,
                wide: wide.map((e) => e.tagName + ' ' + (e.textContent || '').slice(0, 40))};
    }""")
    assert fits["page"] and fits["card"] and not fits["wide"], (name, fits)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, user: User, password: str = PASSWORD) -> None:
    page.get_by_label("IAM user name").fill(user.name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def heading(page: Any, name: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_identification_form_prefills_only_the_configured_account(
    page: Any, server: Server, iam: Any
) -> None:
    from playwright.sync_api import expect

    user = make_user(iam, server.account_id)
    page.goto(authorize_url(server))
    heading(page, "Sign in")
    expect(page.get_by_label("Account ID")).to_have_value(ACCOUNT_ID)
    expect(page.get_by_label("IAM user name")).to_be_focused()
    shot(page, "01-identification")
    sign_in(page, user, "wrong-password")
    expect(page.get_by_role("alert")).to_have_text(
        "Your authentication information is incorrect. Please try again.")
    expect(page.get_by_label("Password")).to_be_focused()
    shot(page, "02-wrong-password")
    # An unknown user reads exactly the same: the page does not tell who exists.
    page.get_by_label("IAM user name").fill("nobody-" + user.name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Your authentication information is incorrect. Please try again.")


def test_mfa_then_a_choice_of_sessions(page: Any, server: Server, iam: Any) -> None:
    from playwright.sync_api import expect

    user = make_user(iam, server.account_id, mfa=True)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": user.arn}}]})
    usable, unusable = f"deploy-{user.name}", f"audit-{user.name}"
    for role, actions in ((usable, ["signin:*", "sts:GetCallerIdentity"]),
                          (unusable, ["sts:GetCallerIdentity"])):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    page.goto(authorize_url(server))
    sign_in(page, user)
    heading(page, "Multi-factor authentication")
    expect(page.get_by_label("MFA code")).to_be_focused()
    shot(page, "03-mfa")
    page.get_by_label("MFA code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_have_text("The MFA code is not valid. Please try again.")
    shot(page, "03b-mfa-wrong-code")
    page.get_by_label("MFA code").fill(user.totp())
    page.get_by_role("button", name="Verify").click()
    heading(page, "Choose a session")
    group = page.get_by_role("group", name="Active sessions and roles")
    # Only what may sign in is offered: the role without signin: permissions is not.
    expect(group.get_by_role("radio")).to_have_count(2)
    expect(group.get_by_label(f"{user.name} (IAM user, account {ACCOUNT_ID})")).to_be_checked()
    expect(group.get_by_label(f"{unusable} (role, as {user.name})")).to_have_count(0)
    shot(page, "04-choose-session")
    group.get_by_label(f"{usable} (role, as {user.name})").check()
    page.get_by_role("button", name="Continue").click()
    heading(page, "Allow access?")
    expect(page.locator(".principal")).to_have_text(
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{usable}/{user.name}")
    shot(page, "05-consent")


def test_no_sign_in_permission_is_said_in_plain_words(
    page: Any, server: Server, iam: Any
) -> None:
    from playwright.sync_api import expect

    user = make_user(iam, server.account_id, policy=ONLY_IDENTITY)
    page.goto(authorize_url(server))
    sign_in(page, user)
    heading(page, "CLI sign-in not allowed")
    expect(page.get_by_role("alert")).to_have_text(
        f"Your IAM user {user.name} may not use CLI sign-in; an administrator must grant "
        "signin:AuthorizeOAuth2Access and signin:CreateOAuth2Token.")
    expect(page.locator("main")).to_contain_text(
        f"arn:aws:signin:us-east-1:{ACCOUNT_ID}:oauth2/public-client/localhost")
    expect(page.locator("main")).not_to_contain_text("Encoded")
    shot(page, "06-denied")
    page.set_viewport_size({"width": 360, "height": 740})
    shot(page, "06b-denied-narrow")
    page.set_viewport_size({"width": 900, "height": 700})
    # The ways back: the sign-in again (a new start of the same request), another user.
    page.get_by_role("link", name="Start the sign-in again").click()
    heading(page, "Sign in")
    sign_in(page, user)
    heading(page, "CLI sign-in not allowed")
    page.get_by_role("button", name="Sign in as a different user").click()
    heading(page, "Sign in")
    expect(page.get_by_label("IAM user name")).to_have_value("")


def test_remote_sign_in_copies_the_code_into_opensts_login(
    page: Any, server: Server, iam: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    user = make_user(iam, server.account_id)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PYTHONUNBUFFERED": "1",
           "AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_LOGIN_CACHE_DIRECTORY": str(tmp_path / "login-cache")}
    login = subprocess.Popen(
        [str(BIN / "opensts"), "login", "--remote", "--profile", "far", "--timeout", "120",
         "--endpoint-url", server.endpoint], env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert login.stdout is not None and login.stdin is not None
        url = next(line.strip() for line in login.stdout if line.startswith("http"))
        assert "client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fcross-device" in url
        page.goto(url)
        sign_in(page, user)
        heading(page, "Allow access?")  # one choice: no picker
        expect(page.locator("main")).to_contain_text("on another device")
        page.get_by_role("button", name="Allow access").click()
        heading(page, "Verification code")
        code = page.get_by_label("Verification code").input_value().strip()
        shot(page, "07-verification-code")
        page.get_by_role("button", name="Copy code").click()
        expect(page.get_by_role("status")).to_have_text("Copied.")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == code
        shot(page, "08-verification-code-copied")
        page.set_viewport_size({"width": 360, "height": 740})
        shot(page, "08b-verification-code-narrow")
        # What the button copied is what the terminal needs.
        out, err = login.communicate(copied + "\n", timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
    assert login.returncode == 0, err
    assert f"Signed in as {user.arn} (profile far)." in out


def test_a_lost_form_offers_to_start_again(page: Any, server: Server, iam: Any) -> None:
    from playwright.sync_api import expect

    user = make_user(iam, server.account_id)
    page.goto(authorize_url(server))
    page.context.clear_cookies()  # the browser id (and so the form's CSRF token) is gone
    sign_in(page, user)
    heading(page, "Sign-in problem")
    expect(page.get_by_role("alert")).to_have_text(
        "This form has expired or did not come from this site.")
    expect(page.locator("main")).to_contain_text("Error code: csrf")
    shot(page, "09-error-form-expired")
    page.get_by_role("link", name="Start the sign-in again").click()
    heading(page, "Sign in")
    sign_in(page, user)
    heading(page, "Allow access?")


def test_a_broken_link_says_how_to_start_again(page: Any, server: Server) -> None:
    from playwright.sync_api import expect

    bad = server.endpoint + "/v1/authorize?client_id=bogus&response_type=code"
    page.goto(bad)
    heading(page, "Sign-in problem")
    expect(page.get_by_role("alert")).to_have_text("The application is not known to OpenSTS.")
    expect(page.locator("main")).to_contain_text(
        "To start again, run opensts login (or aws login) again in your terminal.")
    # A tab of its own (as the terminal opens it): nothing to go back to, so no "Go back".
    expect(page.get_by_role("link", name="Go back")).to_be_hidden()
    shot(page, "10-error-unknown-client")
    page.goto(server.endpoint + "/v1/sessions/confirmation")
    expect(page.get_by_role("alert")).to_contain_text("the link is incomplete")
    shot(page, "11-error-incomplete-link")
    # With a page to go back to, "Go back" goes there.
    page.goto(authorize_url(server))
    heading(page, "Sign in")
    page.goto(bad)
    page.get_by_role("link", name="Go back").click()
    heading(page, "Sign in")


def test_denying_access_and_losing_permission_offer_a_way_back(
    page: Any, server: Server, iam: Any
) -> None:
    from playwright.sync_api import expect

    user = make_user(iam, server.account_id)
    confirmation = server.endpoint + "/v1/sessions/confirmation"
    page.goto(authorize_url(server, client_id=CROSS, redirect_uri=confirmation))
    sign_in(page, user)
    page.get_by_role("button", name="Deny").click()
    heading(page, "Access denied")
    expect(page.get_by_role("alert")).to_have_text("You denied access. You can close this page.")
    shot(page, "12-error-access-denied")
    page.get_by_role("link", name="Start the sign-in again").click()
    heading(page, "Allow access?")  # still signed in in this browser: consent again
    # The permission goes away between the pages and consent: plain words, no blob.
    iam.put_user_policy(UserName=user.name, PolicyName="p",
                        PolicyDocument=json.dumps(ONLY_IDENTITY))
    page.get_by_role("button", name="Allow access").click()
    heading(page, "Sign-in problem")
    expect(page.get_by_role("alert")).to_have_text(
        f"Your IAM user {user.name} may not use CLI sign-in; an administrator must grant "
        "signin:AuthorizeOAuth2Access.")
    expect(page.locator("main")).not_to_contain_text("Encoded")
    # The audited refusal, for the operator's `opensts audit explain`.
    request_id = page.locator("code.arn").inner_text()
    assert any(e["requestID"] == request_id and e["eventName"] == "AuthorizeOAuth2Access"
               and e.get("errorCode") for e in server.audit_events())
    shot(page, "13-error-denied-at-consent")
    page.get_by_role("button", name="Sign in as a different user").click()
    heading(page, "Sign in")
