"""The code grant and refresh rotation over HTTP, and the attacks the issue lists."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from tests.conftest import Server
from tests.signin.conftest import CREDENTIAL_SECONDS
from tests.signin.helpers import CROSS, LOOPBACK, Browser, Client, User, is_consent, make_user


def claims_of(jwt_text: str) -> dict[str, Any]:
    part = jwt_text.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_code_exchange_returns_botocore_shapes(
    signin_server: Server, browser: Browser, client: Client, user: User
) -> None:
    query = browser.login(user, challenge=client.challenge)
    assert query["state"] == "st-1"
    response = client.exchange(query["code"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "tokenType", "expiresIn", "refreshToken", "idToken"}
    assert body["tokenType"] == "aws_sigv4"
    assert body["expiresIn"] == CREDENTIAL_SECONDS
    assert body["accessToken"]["accessKeyId"].startswith("ASIA")
    assert claims_of(body["idToken"])["sub"] == user.arn
    sts = signin_server.client("sts", key=body["accessToken"]["accessKeyId"],
                               secret=body["accessToken"]["secretAccessKey"],
                               token=body["accessToken"]["sessionToken"])
    assert sts.get_caller_identity()["Arn"] == user.arn
    # A refresh rotates: new credentials, new refresh token, no idToken.
    again = client.refresh(body["refreshToken"])
    assert again.status_code == 200, again.text
    assert "idToken" not in again.json()
    assert again.json()["refreshToken"] != body["refreshToken"]
    events = [e for e in signin_server.audit_events() if e["eventSource"] ==
              "signin.amazonaws.com" and e["userIdentity"].get("arn") == user.arn]
    names = [e["eventName"] for e in events]
    assert names.count("AuthorizeOAuth2Access") == 1
    assert names.count("CreateOAuth2Token") == 2
    for event in events:
        assert event["userIdentity"]["type"] == "IAMUser"
        assert event["requestParameters"]["clientId"].endswith("same-device")
        assert "refreshToken" not in json.dumps(event)
        assert body["accessToken"]["secretAccessKey"] not in json.dumps(event)


def test_refresh_token_replay_is_rejected_and_ends_the_session(
    browser: Browser, client: Client, user: User
) -> None:
    first = client.exchange(browser.login(user, challenge=client.challenge)["code"]).json()
    second = client.refresh(first["refreshToken"]).json()
    replay = client.refresh(first["refreshToken"])
    assert replay.status_code == 400
    assert replay.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert replay.json()["error"] == "TOKEN_EXPIRED"
    # RFC 9700 §4.14.2: after a replay even the legitimate latest token is dead.
    assert client.refresh(second["refreshToken"]).json()["error"] == "TOKEN_EXPIRED"


def test_dpop_proof_with_the_wrong_key_is_rejected(
    browser: Browser, client: Client, user: User
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    tokens = client.exchange(browser.login(user, challenge=client.challenge)["code"]).json()
    thief = ec.generate_private_key(ec.SECP256R1())
    stolen = client.refresh(tokens["refreshToken"], key=thief)
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    # The rightful holder still refreshes.
    assert client.refresh(tokens["refreshToken"]).status_code == 200


def test_missing_or_replayed_dpop_proof_is_rejected(
    signin_server: Server, browser: Browser, client: Client, user: User
) -> None:
    from datetime import UTC, datetime

    from opensts.cli.login import dpop_proof

    tokens = client.exchange(browser.login(user, challenge=client.challenge)["code"]).json()
    url = signin_server.endpoint + "/v1/token"
    proof = dpop_proof(client.key, url, datetime.now(UTC))
    assert client.refresh(tokens["refreshToken"], proof=proof).status_code == 200
    reused = client.refresh(tokens["refreshToken"], proof=proof)
    assert reused.status_code == 400
    assert reused.headers["x-amzn-ErrorType"] == "ValidationException"
    wrong_url = dpop_proof(client.key, signin_server.endpoint + "/v1/other", datetime.now(UTC))
    assert client.refresh(tokens["refreshToken"], proof=wrong_url).status_code == 400


def test_pkce_verifier_mismatch_is_rejected(browser: Browser, client: Client, user: User) -> None:
    code = browser.login(user, challenge=client.challenge)["code"]
    wrong = client.exchange(code, verifier="x" * 64)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert "PKCE" in wrong.json()["message"]
    # The code is spent: the right verifier no longer helps (one use, RFC 6749 §4.1.2).
    assert client.exchange(code).json()["error"] == "invalid_grant"


def test_authorization_code_replay_revokes_the_session(
    browser: Browser, client: Client, user: User
) -> None:
    code = browser.login(user, challenge=client.challenge)["code"]
    tokens = client.exchange(code).json()
    assert client.exchange(code).json()["error"] == "invalid_grant"
    assert client.refresh(tokens["refreshToken"]).json()["error"] == "TOKEN_EXPIRED"


def test_redirect_uri_must_be_loopback_and_match(
    browser: Browser, client: Client, user: User
) -> None:
    for bad in ("http://evil.example/oauth/callback", "https://127.0.0.1:4000/oauth/callback",
                "http://localhost:4000/oauth/callback", "http://10.0.0.5:4000/oauth/callback",
                "http://127.0.0.1:4000/elsewhere"):
        page = browser.authorize(challenge=client.challenge, redirect_uri=bad)
        assert page.status_code == 400, bad
        assert "location" not in page.headers  # never redirect to an unchecked URI
        assert "invalid_redirect_uri" in page.text
    code = browser.login(user, challenge=client.challenge)["code"]
    other = client.exchange(code, redirect_uri="http://127.0.0.1:1/oauth/callback")
    assert other.json()["error"] == "invalid_grant"


def test_authorize_rejects_plain_pkce_and_unknown_clients(browser: Browser, client: Client) -> None:
    plain = browser.authorize(challenge=client.challenge, method="plain")
    assert plain.status_code == 303
    assert "error=invalid_request" in plain.headers["location"]
    assert "state=st-1" in plain.headers["location"]
    unknown = browser.authorize(challenge=client.challenge, client_id="arn:aws:signin:::x/y")
    assert unknown.status_code == 400 and "location" not in unknown.headers
    s256 = browser.authorize(challenge=client.challenge, method="S256")
    assert s256.status_code == 200


def test_state_is_returned_unchanged_so_the_cli_can_check_it(
    browser: Browser, client: Client, user: User
) -> None:
    query = browser.login(user, challenge=client.challenge, state="a-unique-state-42")
    assert query["state"] == "a-unique-state-42"


def test_csrf_token_and_flow_are_bound_to_the_browser(
    signin_server: Server, client: Client, user: User
) -> None:
    victim = Browser(signin_server.endpoint)
    page = victim.authorize(challenge=client.challenge).text
    attacker = Browser(signin_server.endpoint)
    attacker.authorize(challenge=client.challenge)
    forged = attacker.post("/v1/signin", page, account=user.account, username=user.name,
                           password="x")
    assert forged.status_code == 403
    no_token = victim.http.post("/v1/signin", data={"flow": "x", "csrf": "y"})
    assert no_token.status_code == 403


def test_cross_device_flow_shows_a_verification_code(
    signin_server: Server, browser: Browser, client: Client, user: User
) -> None:
    confirmation = signin_server.endpoint + "/v1/sessions/confirmation"
    query = browser.login(user, challenge=client.challenge, client_id=CROSS,
                          redirect_uri=confirmation)
    page = browser.http.get(f"/v1/sessions/confirmation?code={query['code']}&state=st-1")
    found = re.search(r'<textarea id="verification"[^>]*>([^<]*)</textarea>', page.text)
    assert found, page.text
    decoded = base64.b64decode(found.group(1)).decode()
    assert decoded.startswith("state=st-1&code=")
    tokens = client.exchange(query["code"], client_id=CROSS, redirect_uri=confirmation)
    assert tokens.status_code == 200, tokens.text
    # A code for the cross-device client is not usable by the same-device client.
    assert client.refresh(tokens.json()["refreshToken"]).json()["error"] == "invalid_grant"


def test_role_session_from_the_picker(
    signin_server: Server, siam: Any, browser: Browser, client: Client, user: User
) -> None:
    role = f"r-{user.name}"
    siam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Principal": {"AWS": user.arn}}]}))
    siam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                               "Resource": "*"}]}))
    code = browser.login(user, challenge=client.challenge, role=role)["code"]
    body = client.exchange(code).json()
    expected = f"arn:aws:sts::{user.account}:assumed-role/{role}/{user.name}"
    assert claims_of(body["idToken"])["sub"] == expected
    sts = signin_server.client("sts", key=body["accessToken"]["accessKeyId"],
                               secret=body["accessToken"]["secretAccessKey"],
                               token=body["accessToken"]["sessionToken"])
    assert sts.get_caller_identity()["Arn"] == expected


def test_denying_signin_actions_stops_login(
    signin_server: Server, siam: Any, browser: Browser, client: Client
) -> None:
    denied = make_user(siam, signin_server.account_id, policy={
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "signin:AuthorizeOAuth2Access", "Resource": "*"}]})
    page = browser.authorize(challenge=client.challenge)
    # Told right after the password, in plain words naming exactly the missing action.
    refused = browser.sign_in(page.text, denied)
    assert refused.status_code == 403
    assert f"Your IAM user {denied.name} may not use CLI sign-in; an administrator must " \
           "grant signin:AuthorizeOAuth2Access." in refused.text
    assert "Encoded authorization failure message" not in refused.text
    assert 'action="/v1/choose"' not in refused.text and not is_consent(refused.text)
    # Permissions taken away between the picker and consent: refused at consent, plainly.
    user1 = make_user(siam, signin_server.account_id)
    other = Browser(signin_server.endpoint)
    consent = other.consent(other.sign_in(other.authorize(challenge=client.challenge).text,
                                          user1))
    siam.put_user_policy(UserName=user1.name, PolicyName="deny", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "signin:AuthorizeOAuth2Access", "Resource": "*"}]}))
    done = other.post("/v1/consent", consent.text, decision="allow")
    assert done.status_code == 403
    assert f"Your IAM user {user1.name} may not use CLI sign-in; an administrator must " \
           "grant signin:AuthorizeOAuth2Access." in done.text
    assert "Encoded authorization failure message" not in done.text
    # Allowed to authorize but not to create tokens: the exchange and refreshes fail.
    user2 = make_user(siam, signin_server.account_id)
    code = Browser(signin_server.endpoint).login(user2, challenge=client.challenge)["code"]
    tokens = client.exchange(code).json()
    siam.put_user_policy(UserName=user2.name, PolicyName="deny", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "signin:CreateOAuth2Token", "Resource": "*"}]}))
    refused_refresh = client.refresh(tokens["refreshToken"])
    assert refused_refresh.json()["error"] == "INSUFFICIENT_PERMISSIONS"
    # And now the pages say so before anything else, naming that action only.
    again = Browser(signin_server.endpoint)
    told = again.sign_in(again.authorize(challenge=client.challenge).text, user2)
    assert told.status_code == 403
    assert "must grant signin:CreateOAuth2Token." in told.text
    events = [e for e in signin_server.audit_events()
              if e.get("errorCode") and e["eventSource"] == "signin.amazonaws.com"]
    assert any(e["eventName"] == "AuthorizeOAuth2Access" for e in events)
    assert any(e["eventName"] == "CreateOAuth2Token" for e in events)


def test_wrong_password_backs_off(signin_server: Server, siam: Any, client: Client) -> None:
    target = make_user(siam, signin_server.account_id)
    browser = Browser(signin_server.endpoint)
    page = browser.authorize(challenge=client.challenge).text
    statuses = []
    for _ in range(7):
        response = browser.post("/v1/signin", page, account=target.account,
                                username=target.name, password="wrong-password")
        statuses.append(response.status_code)
        page = response.text
    assert statuses[:5] == [401] * 5
    assert 429 in statuses[5:]
    # Even the right password waits while the back-off lasts.
    right = browser.post("/v1/signin", page, account=target.account, username=target.name,
                         password="Correct-Horse-Battery-9")
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) >= 1


def test_mfa_user_needs_the_totp_code(
    signin_server: Server, siam: Any, client: Client
) -> None:
    mfa_user = make_user(siam, signin_server.account_id, mfa=True)
    browser = Browser(signin_server.endpoint)
    page = browser.authorize(challenge=client.challenge).text
    mfa_page = browser.post("/v1/signin", page, account=mfa_user.account,
                            username=mfa_user.name, password="Correct-Horse-Battery-9")
    assert 'action="/v1/mfa"' in mfa_page.text
    bad = browser.post("/v1/mfa", mfa_page.text, code="000000")
    assert bad.status_code == 401
    good = browser.post("/v1/mfa", bad.text, code=mfa_user.totp())
    assert good.status_code == 200 and is_consent(good.text)
    assert LOOPBACK  # the module constant used by the flow helpers


def test_the_account_id_is_not_prefilled_unless_configured(
    signin_server: Server, browser: Browser, client: Client
) -> None:
    # signin_server sets no OPENSTS_SIGNIN_ACCOUNT_ID (test_browser_pages configures one).
    page = browser.authorize(challenge=client.challenge).text
    field = re.search(r'<input id="account"[^>]*>', page)
    assert field and 'value=""' in field.group(0), page
    assert signin_server.account_id not in page
