"""The sign-in pages believe the network, not the request: the Host header does not move the
cross-device confirmation URL, and X-Forwarded-* from an untrusted peer change nothing."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.conftest import Server
from tests.signin.helpers import CROSS, Browser, Client, User

EVIL = "evil.example"


def _authorize(browser: Browser, client: Client, redirect_uri: str, **headers: str) -> str:
    query = {"response_type": "code", "client_id": CROSS, "state": "st-1",
             "code_challenge_method": "SHA-256", "scope": "openid",
             "redirect_uri": redirect_uri, "code_challenge": client.challenge}
    response = browser.http.get("/v1/authorize?" + urlencode(query), headers=headers)
    return response.text


def test_host_header_does_not_choose_the_cross_device_url(
    signin_server: Server, browser: Browser, client: Client
) -> None:
    evil = f"http://{EVIL}/v1/sessions/confirmation"
    page = _authorize(browser, client, evil, host=EVIL)
    assert 'action="/v1/signin"' not in page and "invalid_redirect_uri" in page
    real = signin_server.endpoint + "/v1/sessions/confirmation"
    page = _authorize(browser, client, real, host=EVIL)
    assert 'action="/v1/signin"' in page


def test_forwarded_headers_from_loopback_do_not_change_the_sign_in_source(
    signin_server: Server, browser: Browser, client: Client, user: User
) -> None:
    browser.http.headers.update({"X-Forwarded-For": "203.0.113.9",
                                 "X-Forwarded-Proto": "https"})
    page = browser.authorize(challenge=client.challenge)
    assert "secure" not in page.headers["set-cookie"].lower()
    browser.login(user, challenge=client.challenge)
    events = [e for e in signin_server.audit_events()
              if e["eventName"] == "AuthorizeOAuth2Access"
              and e["userIdentity"].get("arn") == user.arn]
    assert events and {e["sourceIPAddress"] for e in events} == {"127.0.0.1"}
