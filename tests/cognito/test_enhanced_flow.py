"""The enhanced flow through boto3: GetId then GetCredentialsForIdentity, for guests
(unauthenticated identities, scoped down as AWS does) and for users signed in at a real
OIDC IdP (tests/peers/oidc-provider), with rules-based and token-based role choice."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, unique

from .conftest import (
    TOKEN_ROLE_A,
    TOKEN_ROLE_B,
    Peers,
    cognito_trust,
    error_of,
    login_name,
    make_role,
)

IAM_READ = ["iam:ListUsers", "iam:ListRoles"]


def _pool(ci: Any, **kwargs: Any) -> str:
    return str(ci.create_identity_pool(IdentityPoolName=unique("pool").replace("-", "_"),
                                       **{"AllowUnauthenticatedIdentities": False,
                                          **kwargs})["IdentityPoolId"])


def _creds(cog: Server, result: dict[str, Any], service: str = "iam") -> Any:
    c = result["Credentials"]
    return cog.client(service, c["AccessKeyId"], c["SecretKey"], c["SessionToken"])


def test_guest_credentials_are_scoped_down(cog: Server, ci: Any, ciam: Any,
                                           public_ci: Any) -> None:
    pool = _pool(ci, AllowUnauthenticatedIdentities=True)
    guest = make_role(ciam, cognito_trust(pool, "unauthenticated"), IAM_READ)
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={"unauthenticated": guest})
    identity = public_ci.get_id(IdentityPoolId=pool, AccountId=ACCOUNT_ID)["IdentityId"]
    assert identity.startswith("us-east-1:")
    result = public_ci.get_credentials_for_identity(IdentityId=identity)
    assert result["IdentityId"] == identity
    assert set(result["Credentials"]) == {"AccessKeyId", "SecretKey", "SessionToken",
                                          "Expiration"}
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")
    who = _creds(cog, result, "sts").get_caller_identity()
    assert who["Arn"] == (f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/"
                          f"{guest.rsplit('/', 1)[1]}/CognitoIdentityCredentials")
    # The role allows iam:ListUsers, the automatic scope-down of guests does not.
    with pytest.raises(ClientError) as denied:
        _creds(cog, result).list_users()
    assert error_of(denied)[0] == "AccessDenied"
    # A guest identity is one per GetId call, each its own.
    assert public_ci.get_id(IdentityPoolId=pool)["IdentityId"] != identity


def test_guests_refused_when_the_pool_does_not_allow_them(ci: Any, public_ci: Any) -> None:
    pool = _pool(ci)
    with pytest.raises(ClientError) as refused:
        public_ci.get_id(IdentityPoolId=pool)
    assert error_of(refused) == ("NotAuthorizedException",
                                 "Unauthenticated access is not supported for this "
                                 "identity pool.", 400)


def test_signed_in_user_gets_the_authenticated_role(cog: Server, ci: Any, ciam: Any,
                                                    public_ci: Any, peers: Peers,
                                                    main_provider: str) -> None:
    pool = _pool(ci, OpenIdConnectProviderARNs=[main_provider])
    user = make_role(ciam, cognito_trust(pool, "authenticated"), IAM_READ)
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={"authenticated": user})
    logins = {login_name(main_provider): peers.main.token("web-app")}
    identity = public_ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    # The same user (iss, sub) is the same identity on every sign-in.
    again = {login_name(main_provider): peers.main.token("web-app")}
    assert public_ci.get_id(IdentityPoolId=pool, Logins=again)["IdentityId"] == identity
    result = public_ci.get_credentials_for_identity(IdentityId=identity, Logins=logins)
    _creds(cog, result).list_users()  # not scoped down: the role's permissions apply
    described = ci.describe_identity(IdentityId=identity)
    assert described["Logins"] == [login_name(main_provider)]
    listed = ci.list_identities(IdentityPoolId=pool, MaxResults=10)["Identities"]
    assert [i["IdentityId"] for i in listed] == [identity]
    # An authenticated identity is not handed out without one of its logins.
    with pytest.raises(ClientError) as forbidden:
        public_ci.get_credentials_for_identity(IdentityId=identity)
    assert error_of(forbidden) == ("NotAuthorizedException",
                                   f"Access to Identity '{identity}' is forbidden.", 400)


def test_trust_policy_must_name_the_pool(ci: Any, ciam: Any, public_ci: Any) -> None:
    pool = _pool(ci, AllowUnauthenticatedIdentities=True)
    other = _pool(ci, AllowUnauthenticatedIdentities=True)
    role = make_role(ciam, cognito_trust(other, "unauthenticated"), IAM_READ)
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={"unauthenticated": role})
    identity = public_ci.get_id(IdentityPoolId=pool)["IdentityId"]
    with pytest.raises(ClientError) as refused:
        public_ci.get_credentials_for_identity(IdentityId=identity)
    assert error_of(refused) == ("InvalidIdentityPoolConfigurationException",
                                 "Invalid identity pool configuration. Check assigned IAM "
                                 "roles for this pool.", 400)


def _rules_pool(ci: Any, ciam: Any, provider: str, ambiguous: str
                ) -> tuple[str, dict[str, str]]:
    pool = _pool(ci, OpenIdConnectProviderARNs=[provider])
    trust = cognito_trust(pool, "authenticated")
    roles = {k: make_role(ciam, trust, IAM_READ) for k in ("default", "admins", "sales",
                                                           "ops")}
    ci.set_identity_pool_roles(
        IdentityPoolId=pool, Roles={"authenticated": roles["default"]},
        RoleMappings={login_name(provider): {
            "Type": "Rules", "AmbiguousRoleResolution": ambiguous,
            "RulesConfiguration": {"Rules": [
                {"Claim": "department", "MatchType": "Equals", "Value": "admins",
                 "RoleARN": roles["admins"]},
                {"Claim": "department", "MatchType": "StartsWith", "Value": "sales",
                 "RoleARN": roles["sales"]},
                {"Claim": "groups", "MatchType": "Contains", "Value": "op",
                 "RoleARN": roles["ops"]},
            ]}}})
    return pool, roles


def _role_of(cog: Server, public_ci: Any, pool: str, provider: str, token: str) -> str:
    logins = {login_name(provider): token}
    identity = public_ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    result = public_ci.get_credentials_for_identity(IdentityId=identity, Logins=logins)
    arn = _creds(cog, result, "sts").get_caller_identity()["Arn"]
    return str(arn.split("/")[1])


def test_rules_choose_the_role(cog: Server, ci: Any, ciam: Any, public_ci: Any,
                               peers: Peers, main_provider: str) -> None:
    pool, roles = _rules_pool(ci, ciam, main_provider, "AuthenticatedRole")
    name = {k: v.rsplit("/", 1)[1] for k, v in roles.items()}
    # First matching rule wins: admin-app has department=admins (rule 1) and groups ops.
    assert _role_of(cog, public_ci, pool, main_provider,
                    peers.main.token("admin-app")) == name["admins"]
    assert _role_of(cog, public_ci, pool, main_provider,
                    peers.main.token("sales-app")) == name["sales"]
    # No rule matches: AmbiguousRoleResolution AuthenticatedRole.
    assert _role_of(cog, public_ci, pool, main_provider,
                    peers.main.token("web-app")) == name["default"]
    got = ci.get_identity_pool_roles(IdentityPoolId=pool)
    assert got["Roles"] == {"authenticated": roles["default"]}
    mapping = got["RoleMappings"][login_name(main_provider)]
    assert mapping["Type"] == "Rules" and len(mapping["RulesConfiguration"]["Rules"]) == 3


def test_ambiguous_role_resolution_deny(ci: Any, ciam: Any, public_ci: Any, peers: Peers,
                                        main_provider: str) -> None:
    pool, _ = _rules_pool(ci, ciam, main_provider, "Deny")
    logins = {login_name(main_provider): peers.main.token("web-app")}
    identity = public_ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    with pytest.raises(ClientError) as denied:
        public_ci.get_credentials_for_identity(IdentityId=identity, Logins=logins)
    assert error_of(denied) == ("NotAuthorizedException",
                                "The ambiguous role mapping rules denied this request.", 400)


def test_token_role_mapping(cog: Server, ci: Any, ciam: Any, public_ci: Any, peers: Peers,
                            main_provider: str) -> None:
    pool = _pool(ci, OpenIdConnectProviderARNs=[main_provider])
    trust = cognito_trust(pool, "authenticated")
    for arn in (TOKEN_ROLE_A, TOKEN_ROLE_B):
        ciam.create_role(RoleName=arn.rsplit("/", 1)[1], AssumeRolePolicyDocument=trust)
    ci.set_identity_pool_roles(
        IdentityPoolId=pool, Roles={},
        RoleMappings={login_name(main_provider): {"Type": "Token",
                                                   "AmbiguousRoleResolution": "Deny"}})
    name = login_name(main_provider)

    def session_role(client: str, **kwargs: Any) -> str:
        logins = {name: peers.main.token(client)}
        identity = public_ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
        result = public_ci.get_credentials_for_identity(IdentityId=identity, Logins=logins,
                                                        **kwargs)
        return str(_creds(cog, result, "sts").get_caller_identity()["Arn"].split("/")[1])

    assert session_role("preferred") == "cog-token-b"  # cognito:preferred_role
    assert session_role("two-roles", CustomRoleArn=TOKEN_ROLE_A) == "cog-token-a"
    with pytest.raises(ClientError) as ambiguous:  # two roles, none chosen: Deny
        session_role("two-roles")
    assert error_of(ambiguous)[0] == "NotAuthorizedException"
    with pytest.raises(ClientError) as not_in_token:  # a role the token does not offer
        session_role("two-roles", CustomRoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/other")
    assert error_of(not_in_token)[0] == "InvalidParameterException"


def test_unlink_identity(ci: Any, public_ci: Any, peers: Peers, main_provider: str) -> None:
    pool = _pool(ci, OpenIdConnectProviderARNs=[main_provider])
    logins = {login_name(main_provider): peers.main.token("web-app")}
    identity = public_ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    with pytest.raises(ClientError) as wrong:
        public_ci.unlink_identity(IdentityId=identity,
                                  Logins={login_name(main_provider):
                                          peers.main.token("admin-app")},
                                  LoginsToRemove=[login_name(main_provider)])
    assert error_of(wrong)[0] == "NotAuthorizedException"
    public_ci.unlink_identity(IdentityId=identity, Logins=logins,
                              LoginsToRemove=[login_name(main_provider)])
    assert "Logins" not in ci.describe_identity(IdentityId=identity)
