"""Browser-side state, sealed with the key ring so nodes share nothing but keys.

* the *browser id* cookie: random, ``SameSite=Strict``; forms carry an HMAC of it (OWASP
  CSRF Prevention Cheat Sheet, "synchronizer token pattern", HMAC variant), checked in
  constant time on every POST;
* the *sessions* cookie: the identities signed in in this browser (at most five, like the
  AWS console's multi-session support), each with its authentication and MFA times and the
  credentials stamp of its password (a changed password signs it out);
* the *flow*: the pending authorization request and how far it got, in a hidden form
  field, bound to the browser id so it cannot be replayed from another browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from opensts.credentials.errors import InvalidToken
from opensts.credentials.tokens import KeyRing
from opensts.services.signin.service import Identity

BROWSER_COOKIE = "opensts-browser"
SESSIONS_COOKIE = "opensts-sessions"
MAX_IDENTITIES = 5
FLOW_SECONDS = 900


def new_browser_id() -> str:
    return secrets.token_urlsafe(18)


def csrf_token(key: bytes, browser_id: str) -> str:
    mac = hmac.new(key, b"csrf:" + browser_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def csrf_ok(key: bytes, browser_id: str | None, token: str | None) -> bool:
    if not browser_id or not token:
        return False
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
    return hmac.compare_digest(csrf_token(key, browser_id).encode(),
                               token.encode("utf-8", "surrogatepass"))


@dataclass
class Flow:
    client_id: str
    redirect_uri: str
    challenge: str
    state: str
    browser: str
    expires: int
    pending: dict[str, Any] | None = None  # password checked, MFA outstanding
    # password (and MFA) checked, a new password outstanding (PasswordResetRequired)
    reset: dict[str, Any] | None = None
    chosen: dict[str, Any] | None = None  # the grant the user picked, awaiting consent
    extra: dict[str, Any] = field(default_factory=dict)


def seal_flow(keyring: KeyRing, flow: Flow) -> str:
    return keyring.seal({"k": "signin-flow", **asdict(flow)})


def open_flow(keyring: KeyRing, text: str | None, browser_id: str | None, now: int) -> Flow:
    if not text or not browser_id:
        raise InvalidToken()
    claims = keyring.unseal(text)
    if claims.pop("k", None) != "signin-flow":
        raise InvalidToken()
    try:
        flow = Flow(**claims)
    except TypeError:
        raise InvalidToken() from None
    if not hmac.compare_digest(flow.browser, browser_id) or flow.expires <= now:
        raise InvalidToken()
    return flow


def restart_path(flow: Flow) -> str:
    """``/v1/authorize`` with the flow's own parameters: the way back from an error page.
    The terminal that started the sign-in still waits for this state and challenge."""
    return "/v1/authorize?" + urlencode({
        "response_type": "code", "client_id": flow.client_id, "state": flow.state,
        "code_challenge_method": "SHA-256", "scope": "openid",
        "redirect_uri": flow.redirect_uri, "code_challenge": flow.challenge})


def restart_path_of(keyring: KeyRing, text: str | None) -> str | None:
    """The restart path of a sealed flow that no longer opens (expired, another browser,
    a lost CSRF cookie). Safe to offer: the flow was sealed by this server, so it holds
    only parameters ``/v1/authorize`` accepted, and following the link validates them and
    asks for a sign-in again; it grants nothing by itself."""
    if not text:
        return None
    try:
        claims = keyring.unseal(text)
        if claims.pop("k", None) != "signin-flow":
            return None
        return restart_path(Flow(**claims))
    except (InvalidToken, TypeError):
        return None


def seal_identities(keyring: KeyRing, browser_id: str, identities: list[Identity]) -> str:
    return keyring.seal({
        "k": "signin-browser", "b": browser_id,
        "ids": [[i.account_id, i.user_name, i.auth_time, i.mfa_time, i.stamp]
                for i in identities],
    })


def open_identities(
    keyring: KeyRing, text: str | None, browser_id: str | None, now: int, max_age: int
) -> list[Identity]:
    if not text or not browser_id:
        return []
    try:
        claims = keyring.unseal(text)
    except InvalidToken:
        return []
    if claims.get("k") != "signin-browser" or not hmac.compare_digest(
        str(claims.get("b", "")), browser_id
    ):
        return []
    identities = []
    for entry in claims.get("ids", []):
        if len(entry) != 5:  # written before stamps: sign in again
            continue
        account_id, user_name, auth_time, mfa_time, stamp = entry
        if auth_time + max_age > now:  # the browser session ends with the login limit
            identities.append(Identity(account_id, user_name, auth_time, mfa_time, stamp))
    return identities


def add_identity(identities: list[Identity], new: Identity) -> list[Identity]:
    kept = [i for i in identities if (i.account_id, i.user_name.lower()) != (
        new.account_id, new.user_name.lower())]
    return [new, *kept][:MAX_IDENTITIES]
