"""Drive the sign-in pages over HTTP (forms and cookies, like a browser without JS)."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
from cryptography.hazmat.primitives.asymmetric import ec

from opensts.cli.login import dpop_proof, pkce_pair

SAME = "arn:aws:signin:::devtools/same-device"
CROSS = "arn:aws:signin:::devtools/cross-device"
LOOPBACK = "http://127.0.0.1:45678/oauth/callback"
PASSWORD = "Correct-Horse-Battery-9"


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no field {name} in page"
    return html.unescape(match.group(1))


def is_consent(page: str) -> bool:
    return 'action="/v1/consent"' in page


def choices(page: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(r'name="choice" id="[^"]+" value="([^"]*)"',
                                                 page)]


@dataclass
class User:
    name: str
    account: str
    arn: str
    secret: str | None = None  # TOTP seed when an MFA device is enabled
    serial: str | None = None

    def totp(self) -> str:
        assert self.secret
        # Wait for a fresh time step: each code is usable once (replay protection).
        totp = pyotp.TOTP(self.secret)
        step = int(time.time()) // 30
        while int(time.time()) // 30 == step and time.time() % 30 > 27:
            time.sleep(0.5)
        return totp.now()


def make_user(iam: Any, account: str, *, policy: dict[str, Any] | None = None,
              mfa: bool = False) -> User:
    name = f"u-{uuid.uuid4().hex[:10]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy or {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:GetCallerIdentity", "signin:*",
                                                     "sts:AssumeRole"], "Resource": "*"}]}))
    user = User(name, account, arn)
    if mfa:
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
        seed = device["Base32StringSeed"]
        seed = seed.decode() if isinstance(seed, bytes) else seed
        totp = pyotp.TOTP(seed)
        now = time.time()
        iam.enable_mfa_device(UserName=name, SerialNumber=device["SerialNumber"],
                              AuthenticationCode1=totp.at(now - 60),
                              AuthenticationCode2=totp.at(now - 30))
        user.secret, user.serial = seed, device["SerialNumber"]
    return user


class Browser:
    """A cookie-keeping HTTP client that fills the sign-in forms."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.http = httpx.Client(base_url=endpoint, follow_redirects=False, timeout=30)

    def authorize(self, *, client_id: str = SAME, redirect_uri: str = LOOPBACK,
                  challenge: str, state: str = "st-1", method: str = "SHA-256",
                  **extra: str) -> httpx.Response:
        query = {"response_type": "code", "client_id": client_id, "state": state,
                 "code_challenge_method": method, "scope": "openid",
                 "redirect_uri": redirect_uri, "code_challenge": challenge, **extra}
        return self.http.get("/v1/authorize?" + urlencode(query))

    def post(self, path: str, page: str, **fields: str) -> httpx.Response:
        data = {"flow": hidden(page, "flow"), "csrf": hidden(page, "csrf"), **fields}
        return self.http.post(path, data=data)

    def sign_in(self, page: str, user: User, password: str = PASSWORD) -> httpx.Response:
        response = self.post("/v1/signin", page, account=user.account, username=user.name,
                             password=password)
        if 'action="/v1/mfa"' in response.text:
            response = self.post("/v1/mfa", response.text, code=user.totp())
        return response

    def consent(self, page: httpx.Response, role: str | None = None) -> httpx.Response:
        """The consent page for ``role`` (or the user itself): through the picker when it
        offers several choices, else the page already is consent (one choice: no picker)."""
        if 'action="/v1/consent"' in page.text:
            assert not role or f"assumed-role/{role}/" in page.text, page.text
            return page
        wanted = [c for c in choices(page.text) if c.endswith(f":{role or ''}")]
        assert wanted, choices(page.text)
        consent = self.post("/v1/choose", page.text, choice=wanted[0])
        assert consent.status_code == 200, consent.text
        return consent

    def login(self, user: User, *, challenge: str, role: str | None = None,
              client_id: str = SAME, redirect_uri: str = LOOPBACK,
              state: str = "st-1") -> dict[str, str]:
        """The whole page flow; returns the redirect's query (code and state)."""
        page = self.authorize(client_id=client_id, redirect_uri=redirect_uri,
                              challenge=challenge, state=state)
        assert page.status_code == 200, page.text
        if 'action="/v1/signin"' in page.text:
            page = self.sign_in(page.text, user)
        assert page.status_code == 200, page.text
        consent = self.consent(page, role)
        done = self.post("/v1/consent", consent.text, decision="allow")
        assert done.status_code == 303, done.text
        location = done.headers["location"]
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Client:
    """The CLI side: PKCE pair, DPoP key, token calls."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.verifier, self.challenge = pkce_pair()
        self.http = httpx.Client(timeout=30)  # one connection pool (and TLS context)

    def token(self, body: dict[str, Any], *, key: ec.EllipticCurvePrivateKey | None = None,
              proof: str | None = None, path: str = "/v1/token") -> httpx.Response:
        url = self.endpoint + path
        from datetime import UTC, datetime

        headers = {"DPoP": proof or dpop_proof(key or self.key, url, datetime.now(UTC))}
        return self.http.post(url, json=body, headers=headers)

    def exchange(self, code: str, *, client_id: str = SAME, redirect_uri: str = LOOPBACK,
                 verifier: str | None = None, **kw: Any) -> httpx.Response:
        return self.token({"clientId": client_id, "grantType": "authorization_code",
                           "code": code, "codeVerifier": verifier or self.verifier,
                           "redirectUri": redirect_uri}, **kw)

    def refresh(self, refresh_token: str, *, client_id: str = SAME, **kw: Any) -> httpx.Response:
        return self.token({"clientId": client_id, "grantType": "refresh_token",
                           "refreshToken": refresh_token}, **kw)
