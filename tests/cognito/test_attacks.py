"""Logins that must not open an identity pool: another pool's provider, an expired or
forged token, a provider the pool does not name, a token for another audience, an
identity of another pool; and the CloudTrail events of the public calls."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import ACCOUNT_ID, Server, unique
from tests.federation_e2e.helpers import forge_token

from .conftest import Peers, cognito_trust, error_of, login_name, make_role

UNSUPPORTED = ("NotAuthorizedException",
               "Token is not from a supported provider of this identity pool.", 400)


def _pool(ci: Any, ciam: Any, providers: list[str]) -> str:
    pool = str(ci.create_identity_pool(IdentityPoolName=unique("atk").replace("-", "_"),
                                       AllowUnauthenticatedIdentities=False,
                                       OpenIdConnectProviderARNs=providers)["IdentityPoolId"])
    role = make_role(ciam, cognito_trust(pool, "authenticated"), ["iam:ListUsers"])
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={"authenticated": role})
    return pool


def test_token_of_another_pools_provider(ci: Any, ciam: Any, public_ci: Any, peers: Peers,
                                         main_provider: str, other_provider: str) -> None:
    pool = _pool(ci, ciam, [main_provider])
    _pool(ci, ciam, [other_provider])  # the provider is trusted, by another pool
    token = peers.other.token("elsewhere")
    # Under its own provider name: the pool does not name that provider.
    with pytest.raises(ClientError) as refused:
        public_ci.get_id(IdentityPoolId=pool, Logins={login_name(other_provider): token})
    assert error_of(refused) == UNSUPPORTED
    # Under the name of the pool's provider: the issuer is not that provider.
    with pytest.raises(ClientError) as refused:
        public_ci.get_id(IdentityPoolId=pool, Logins={login_name(main_provider): token})
    assert error_of(refused) == ("NotAuthorizedException",
                                 "Invalid login token. Issuer doesn't match providerName",
                                 400)


def test_provider_the_pool_does_not_support(ci: Any, ciam: Any, public_ci: Any,
                                            peers: Peers, main_provider: str) -> None:
    pool = _pool(ci, ciam, [main_provider])
    token = peers.main.token("web-app")
    for name in ("graph.facebook.com", "accounts.google.com",
                 "cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"):
        with pytest.raises(ClientError) as refused:
            public_ci.get_id(IdentityPoolId=pool, Logins={name: token})
        assert error_of(refused) == UNSUPPORTED


def test_expired_token(ci: Any, ciam: Any, public_ci: Any, peers: Peers,
                       main_provider: str) -> None:
    pool = _pool(ci, ciam, [main_provider])
    now = int(time.time())
    expired = forge_token(peers.main.rsa_key,
                          {"iss": peers.main.issuer, "aud": "web-app", "sub": "mallory",
                           "iat": now - 7200, "exp": now - 3600}, kid="rsa-1")
    with pytest.raises(ClientError) as refused:
        public_ci.get_id(IdentityPoolId=pool, Logins={login_name(main_provider): expired})
    code, message, status = error_of(refused)
    assert (code, status) == ("NotAuthorizedException", 400)
    assert message.startswith("Invalid login token. Token expired")


def test_forged_and_wrong_audience_tokens(ci: Any, ciam: Any, public_ci: Any, peers: Peers,
                                          main_provider: str) -> None:
    pool = _pool(ci, ciam, [main_provider])
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = forge_token(stranger, {"iss": peers.main.issuer, "aud": "web-app",
                                    "sub": "mallory"}, kid="rsa-1")
    wrong_aud = peers.main.token("other-aud")
    for token in (forged, wrong_aud):
        with pytest.raises(ClientError) as refused:
            public_ci.get_id(IdentityPoolId=pool, Logins={login_name(main_provider): token})
        code, message, _ = error_of(refused)
        assert code == "NotAuthorizedException" and message.startswith("Invalid login token.")


def test_identity_of_another_pool(cog: Server, ci: Any, ciam: Any, public_ci: Any,
                                  peers: Peers, main_provider: str,
                                  other_provider: str) -> None:
    mine = _pool(ci, ciam, [main_provider])
    theirs = _pool(ci, ciam, [other_provider])
    victim = public_ci.get_id(IdentityPoolId=theirs, Logins={
        login_name(other_provider): peers.other.token("elsewhere")})["IdentityId"]
    # A valid login of my pool does not open an identity of their pool.
    with pytest.raises(ClientError) as refused:
        public_ci.get_credentials_for_identity(
            IdentityId=victim, Logins={login_name(main_provider): peers.main.token("web-app")})
    assert error_of(refused) == UNSUPPORTED
    # Nor does a login of mine that belongs to another identity of my pool.
    mine_id = public_ci.get_id(IdentityPoolId=mine, Logins={
        login_name(main_provider): peers.main.token("admin-app")})["IdentityId"]
    with pytest.raises(ClientError) as refused:
        public_ci.get_credentials_for_identity(
            IdentityId=mine_id,
            Logins={login_name(main_provider): peers.main.token("sales-app")})
    assert error_of(refused)[0] == "NotAuthorizedException"
    # Developer calls name their pool: an identity of another pool is not found there.
    dev = unique("login.dev")
    ci.update_identity_pool(IdentityPoolId=mine, IdentityPoolName="mine",
                            AllowUnauthenticatedIdentities=False,
                            OpenIdConnectProviderARNs=[main_provider],
                            DeveloperProviderName=dev)
    with pytest.raises(ClientError) as missing:
        ci.get_open_id_token_for_developer_identity(IdentityPoolId=mine, IdentityId=victim,
                                                    Logins={dev: "x"})
    assert error_of(missing)[0] == "ResourceNotFoundException"
    # An unknown identity id.
    with pytest.raises(ClientError) as missing:
        public_ci.get_credentials_for_identity(
            IdentityId="us-east-1:00000000-0000-0000-0000-000000000000")
    assert error_of(missing) == ("ResourceNotFoundException", "Identity "
                                 "'us-east-1:00000000-0000-0000-0000-000000000000' not found.",
                                 400)


def test_another_accounts_user_cannot_manage_the_pool(cog: Server, ci: Any, ciam: Any) -> None:
    pool = ci.create_identity_pool(IdentityPoolName="locked",
                                   AllowUnauthenticatedIdentities=False)["IdentityPoolId"]
    name = unique("nobody")
    ciam.create_user(UserName=name)
    key = ciam.create_access_key(UserName=name)["AccessKey"]
    theirs = cog.client("cognito-identity", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as denied:
        theirs.describe_identity_pool(IdentityPoolId=pool)
    code, message, _ = error_of(denied)
    assert code == "AccessDeniedException"
    assert "cognito-identity:DescribeIdentityPool" in message


def test_cloudtrail_events(cog: Server, ci: Any, ciam: Any, public_ci: Any, peers: Peers,
                           main_provider: str) -> None:
    pool = _pool(ci, ciam, [main_provider])
    logins = {login_name(main_provider): peers.main.token("web-app")}
    identity = public_ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    creds = public_ci.get_credentials_for_identity(IdentityId=identity, Logins=logins)
    events = [e for e in cog.audit_events()
              if e.get("eventSource") == "cognito-identity.amazonaws.com"]
    get_id = next(e for e in events if e["eventName"] == "GetId"
                  and (e.get("responseElements") or {}).get("identityId") == identity)
    assert get_id["userIdentity"] == {"type": "Unknown", "principalId": "Anonymous"}
    assert get_id["requestParameters"] == {
        "identityPoolId": pool,
        "logins": {login_name(main_provider): "HIDDEN_DUE_TO_SECURITY_REASONS"}}
    assert get_id["recipientAccountId"] == ACCOUNT_ID
    got = next(e for e in events if e["eventName"] == "GetCredentialsForIdentity"
               and (e.get("requestParameters") or {}).get("identityId") == identity)
    elements = got["responseElements"]
    assert elements["credentials"]["accessKeyId"] == creds["Credentials"]["AccessKeyId"]
    text = str(got)
    assert creds["Credentials"]["SecretKey"] not in text
    assert logins[login_name(main_provider)] not in text  # never the IdP's token
    created = next(e for e in events if e["eventName"] == "CreateIdentityPool"
                   and (e.get("responseElements") or {}).get("identityPoolId") == pool)
    assert created["userIdentity"]["type"] == "Root"
    assert created["readOnly"] is False
    described = [e for e in events if e["eventName"] == "SetIdentityPoolRoles"]
    assert described and described[-1]["requestParameters"]["identityPoolId"]
