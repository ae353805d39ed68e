"""The session limit with an injected clock: the service in-process over a real runtime."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric import ec

from opensts.cli.login import dpop_proof, pkce_pair
from opensts.config import Settings
from opensts.directory.records import InlinePolicy, LoginProfile, User
from opensts.services.context import RequestMeta
from opensts.services.signin import grants
from opensts.services.signin.errors import SigninError
from opensts.services.signin.service import SigninService
from opensts.web.app import build_runtime

URL = "http://signin.test/v1/token"
LOOPBACK = "http://127.0.0.1:5000/oauth/callback"


@pytest.fixture
def service(tmp_path: Path) -> SigninService:
    settings = replace(Settings.from_env(tmp_path / "data", create=True, env={
        "OPENSTS_ACCOUNT_ID": "123456789012"}))
    runtime, _ = build_runtime(settings)
    now = datetime.now(UTC)
    runtime.store.create_user(User("123456789012", "AIDAEXAMPLEUSER00001", "alice", "/",
                                   "arn:aws:iam::123456789012:user/alice", now))
    runtime.store.put_inline_policy(InlinePolicy(
        "123456789012", "user", "alice", "signin",
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"signin:*",'
        '"Resource":"*"}]}'))
    runtime.store.create_login_profile(LoginProfile("123456789012", "alice",
                                                    PasswordHasher().hash("pw-123456"), now))
    yield SigninService(runtime)
    runtime.audit.close()
    runtime.store.close()


def meta(now: datetime) -> RequestMeta:
    return RequestMeta("req", now, "127.0.0.1", "test", "us-east-1", "signin.test")


def login(service: SigninService, start: datetime) -> tuple[dict, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    verifier, challenge = pkce_pair()
    identity = asyncio.run(service.check_password("123456789012", "alice", "pw-123456",
                                                  meta(start))).identity
    grant = grants.Grant(identity.account_id, identity.user_name,
                         "arn:aws:signin:::devtools/same-device", identity.auth_time,
                         stamp=identity.stamp)
    code = asyncio.run(service.authorize(grant, redirect_uri=LOOPBACK, challenge=challenge,
                                         meta=meta(start)))
    body = {"clientId": grant.client_id, "grantType": "authorization_code", "code": code,
            "codeVerifier": verifier, "redirectUri": LOOPBACK}
    tokens = asyncio.run(service.create_token(body, dpop=dpop_proof(key, URL, start), url=URL,
                                              meta=meta(start)))
    return tokens, key


def refresh(service: SigninService, token: str, key: ec.EllipticCurvePrivateKey,
            now: datetime) -> dict:
    body = {"clientId": "arn:aws:signin:::devtools/same-device", "grantType": "refresh_token",
            "refreshToken": token}
    return asyncio.run(service.create_token(body, dpop=dpop_proof(key, URL, now), url=URL,
                                            meta=meta(now)))


def test_refresh_works_until_twelve_hours_then_token_expired(service: SigninService) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    tokens, key = login(service, start)
    assert tokens["expiresIn"] == 900
    token = tokens["refreshToken"]
    # Every 10 minutes for 12 hours, as botocore would.
    moment = start
    for _ in range(71):
        moment += timedelta(minutes=10)
        result = refresh(service, token, key, moment)
        token = result["refreshToken"]
    # The last credentials stop exactly at the 12-hour mark, not 15 minutes later.
    assert result["expiresIn"] == 600
    late = start + timedelta(hours=12, seconds=1)
    with pytest.raises(SigninError) as refused:
        refresh(service, token, key, late)
    assert refused.value.error == "TOKEN_EXPIRED"
    assert refused.value.code == "AccessDeniedException"


def test_expired_authorization_code_is_authcode_expired(service: SigninService) -> None:
    start = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    verifier, challenge = pkce_pair()
    grant = grants.Grant("123456789012", "alice", "arn:aws:signin:::devtools/same-device",
                         int(start.timestamp()),
                         stamp=service.current_stamp("123456789012", "alice") or "")
    code = asyncio.run(service.authorize(grant, redirect_uri=LOOPBACK, challenge=challenge,
                                         meta=meta(start)))
    later = start + timedelta(seconds=grants.CODE_SECONDS + 1)
    body = {"clientId": grant.client_id, "grantType": "authorization_code", "code": code,
            "codeVerifier": verifier, "redirectUri": LOOPBACK}
    with pytest.raises(SigninError) as expired:
        asyncio.run(service.create_token(body, dpop=dpop_proof(key, URL, later), url=URL,
                                         meta=meta(later)))
    assert expired.value.error == "AUTHCODE_EXPIRED"


def test_stale_dpop_proof_is_rejected(service: SigninService) -> None:
    start = datetime.now(UTC)
    tokens, key = login(service, start)
    body = {"clientId": "arn:aws:signin:::devtools/same-device", "grantType": "refresh_token",
            "refreshToken": tokens["refreshToken"]}
    old_proof = dpop_proof(key, URL, start)
    with pytest.raises(SigninError) as stale:
        asyncio.run(service.create_token(body, dpop=old_proof, url=URL,
                                         meta=meta(start + timedelta(minutes=10))))
    assert stale.value.code == "ValidationException"
