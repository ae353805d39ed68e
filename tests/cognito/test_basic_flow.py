"""The basic flow and developer-authenticated identities through boto3: GetOpenIdToken /
GetOpenIdTokenForDeveloperIdentity, then STS AssumeRoleWithWebIdentity with the trust
policy of the Cognito Developer Guide; the token checked as a plain JOSE relying party."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, unique
from tests.federation_e2e.helpers import unsigned_sts

from .conftest import Peers, cognito_trust, error_of, login_name, make_role

ISSUER = "https://opensts.example.test/cognito-identity"


def _pool(ci: Any, **kwargs: Any) -> str:
    return str(ci.create_identity_pool(IdentityPoolName=unique("basic").replace("-", "_"),
                                       AllowUnauthenticatedIdentities=False,
                                       **kwargs)["IdentityPoolId"])


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_openid_token_then_assume_role_with_web_identity(
        cog: Server, ci: Any, ciam: Any, public_ci: Any, peers: Peers,
        main_provider: str) -> None:
    pool = _pool(ci, AllowClassicFlow=True, OpenIdConnectProviderARNs=[main_provider])
    logins = {login_name(main_provider): peers.main.token("web-app")}
    identity = public_ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    result = public_ci.get_open_id_token(IdentityId=identity, Logins=logins)
    assert result["IdentityId"] == identity
    claims = _claims(result["Token"])
    assert claims["iss"] == ISSUER and claims["aud"] == pool and claims["sub"] == identity
    assert claims["amr"][:2] == ["authenticated", login_name(main_provider)]
    assert 590 <= claims["exp"] - claims["iat"] <= 600  # valid for 10 minutes
    header = jwt.get_unverified_header(result["Token"])
    assert header["alg"] == "RS256" and header["kid"]

    role = make_role(ciam, cognito_trust(pool, "authenticated"), ["iam:ListUsers"])
    sts = unsigned_sts(cog)
    assumed = sts.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="app-user", WebIdentityToken=result["Token"])
    assert assumed["SubjectFromWebIdentityToken"] == identity
    assert assumed["Provider"] == "cognito-identity.amazonaws.com"
    assert assumed["Audience"] == pool
    # A role trusting unauthenticated identities only is refused this token (:amr).
    guest_only = make_role(ciam, cognito_trust(pool, "unauthenticated"), ["iam:ListUsers"])
    with pytest.raises(ClientError) as refused:
        sts.assume_role_with_web_identity(RoleArn=guest_only, RoleSessionName="xx",
                                          WebIdentityToken=result["Token"])
    assert error_of(refused)[0] == "AccessDenied"
    # Nor a role that trusts another pool (:aud).
    other = make_role(ciam, cognito_trust(_pool(ci), "authenticated"), ["iam:ListUsers"])
    with pytest.raises(ClientError) as refused:
        sts.assume_role_with_web_identity(RoleArn=other, RoleSessionName="xx",
                                          WebIdentityToken=result["Token"])
    assert error_of(refused)[0] == "AccessDenied"


def test_tampered_openid_token_is_refused(cog: Server, ci: Any, ciam: Any,
                                          public_ci: Any) -> None:
    pool = _pool(ci, AllowClassicFlow=True, DeveloperProviderName=unique("login.dev"))
    dev = ci.describe_identity_pool(IdentityPoolId=pool)["DeveloperProviderName"]
    token = ci.get_open_id_token_for_developer_identity(
        IdentityPoolId=pool, Logins={dev: "user-1"})["Token"]
    head, _body, sig = token.split(".")
    claims = _claims(token)
    claims["aud"] = "us-east-1:00000000-0000-0000-0000-000000000000"
    forged_body = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    role = make_role(ciam, cognito_trust(claims["aud"], "authenticated"), ["iam:ListUsers"])
    with pytest.raises(ClientError) as refused:
        unsigned_sts(cog).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="xx", WebIdentityToken=f"{head}.{forged_body}.{sig}")
    assert error_of(refused)[0] == "InvalidIdentityToken"


def test_classic_flow_off_refuses_get_open_id_token(ci: Any, public_ci: Any) -> None:
    pool = _pool(ci)
    ci.update_identity_pool(IdentityPoolId=pool, IdentityPoolName="p1",
                            AllowUnauthenticatedIdentities=True)
    identity = public_ci.get_id(IdentityPoolId=pool)["IdentityId"]
    with pytest.raises(ClientError) as refused:
        public_ci.get_open_id_token(IdentityId=identity)
    assert error_of(refused) == ("InvalidParameterException",
                                 "Basic (classic) flow is not enabled, please use enhanced "
                                 "flow.", 400)


def test_developer_identities(cog: Server, ci: Any, ciam: Any, public_ci: Any) -> None:
    dev = unique("login.example")
    pool = _pool(ci, DeveloperProviderName=dev)
    first = ci.get_open_id_token_for_developer_identity(
        IdentityPoolId=pool, Logins={dev: "alice"}, TokenDuration=120,
        PrincipalTags={"team": "blue"})
    identity = first["IdentityId"]
    claims = _claims(first["Token"])
    assert claims["exp"] - claims["iat"] == 120
    assert claims["amr"] == ["authenticated", dev, f"{dev}:{pool}:alice"]
    # Same developer user, same identity.
    again = ci.get_open_id_token_for_developer_identity(IdentityPoolId=pool,
                                                        Logins={dev: "alice"})
    assert again["IdentityId"] == identity
    # The enhanced flow with the developer token under cognito-identity.amazonaws.com.
    role = make_role(ciam, cognito_trust(pool, "authenticated"), ["iam:ListUsers"])
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={"authenticated": role})
    creds = public_ci.get_credentials_for_identity(
        IdentityId=identity, Logins={"cognito-identity.amazonaws.com": first["Token"]})
    c = creds["Credentials"]
    cog.client("iam", c["AccessKeyId"], c["SecretKey"], c["SessionToken"]).list_users()
    # Lookup, merge, unlink.
    looked = ci.lookup_developer_identity(IdentityPoolId=pool, DeveloperUserIdentifier="alice")
    assert looked["IdentityId"] == identity
    assert looked["DeveloperUserIdentifierList"] == ["alice"]
    bob = ci.get_open_id_token_for_developer_identity(IdentityPoolId=pool,
                                                      Logins={dev: "bob"})["IdentityId"]
    assert bob != identity
    merged = ci.merge_developer_identities(SourceUserIdentifier="bob",
                                           DestinationUserIdentifier="alice",
                                           DeveloperProviderName=dev, IdentityPoolId=pool)
    assert merged["IdentityId"] == identity
    users = ci.lookup_developer_identity(IdentityPoolId=pool, IdentityId=identity)
    assert sorted(users["DeveloperUserIdentifierList"]) == ["alice", "bob"]
    with pytest.raises(ClientError) as gone:
        ci.describe_identity(IdentityId=bob)
    assert error_of(gone)[0] == "ResourceNotFoundException"
    ci.unlink_developer_identity(IdentityId=identity, IdentityPoolId=pool,
                                 DeveloperProviderName=dev, DeveloperUserIdentifier="bob")
    users = ci.lookup_developer_identity(IdentityPoolId=pool, IdentityId=identity)
    assert users["DeveloperUserIdentifierList"] == ["alice"]


def test_developer_token_of_another_identity_does_not_open_this_one(
        ci: Any, ciam: Any, public_ci: Any) -> None:
    dev = unique("login.example")
    pool = _pool(ci, DeveloperProviderName=dev)
    role = make_role(ciam, cognito_trust(pool, "authenticated"), ["iam:ListUsers"])
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={"authenticated": role})
    alice = ci.get_open_id_token_for_developer_identity(IdentityPoolId=pool,
                                                        Logins={dev: "alice"})
    bob = ci.get_open_id_token_for_developer_identity(IdentityPoolId=pool,
                                                      Logins={dev: "bob"})
    with pytest.raises(ClientError) as refused:
        public_ci.get_credentials_for_identity(
            IdentityId=bob["IdentityId"],
            Logins={"cognito-identity.amazonaws.com": alice["Token"]})
    assert error_of(refused)[0] == "NotAuthorizedException"
