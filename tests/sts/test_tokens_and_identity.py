"""GetSessionToken, GetFederationToken, GetCallerIdentity, GetAccessKeyInfo, Decode... (STS API)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server
from tests.sts.helpers import allow, creds, deny, doc, error_of


def test_get_session_token_identity_and_what_it_may_call(server: Server, new_user: Any) -> None:
    name, key, secret = new_user(doc(allow(["iam:ListUsers", "sts:GetAccessKeyInfo"])))
    response = server.client("sts", key, secret).get_session_token(DurationSeconds=900)
    session = creds(response)
    assert session["key"].startswith("ASIA")
    identity = server.client("sts", **session).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
    assert identity["UserId"].startswith("AIDA")
    # STS API reference: without MFA these credentials cannot call IAM (InvalidClientTokenId,
    # as AWS answers), and no STS operation but AssumeRole and GetCallerIdentity.
    with pytest.raises(ClientError) as no_mfa:
        server.client("iam", **session).list_users()
    assert error_of(no_mfa.value)[:2] == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as other_sts:
        server.client("sts", **session).get_access_key_info(AccessKeyId=key)
    assert error_of(other_sts.value)[:2] == ("AccessDenied", 403)
    with pytest.raises(ClientError) as nested:
        server.client("sts", **session).get_session_token()
    assert error_of(nested.value) == (
        "AccessDenied",
        403,
        "Cannot call GetSessionToken with session credentials",
    )


def test_root_session_token_is_capped_at_one_hour(sts: Any) -> None:
    response = sts.get_session_token(DurationSeconds=129600)
    lifetime = response["Credentials"]["Expiration"].timestamp()
    import time

    assert lifetime - time.time() <= 3600 + 5


def test_federated_sessions_have_only_their_session_policies(
    server: Server, new_user: Any, organization: dict[str, Any]
) -> None:
    # GetFederationToken: the session has the intersection of the user's policies and the
    # session policies, and nothing without a session policy. Its credentials cannot call
    # IAM (InvalidClientTokenId) nor any STS operation but GetCallerIdentity; other services
    # (here Organizations) are governed by the policies.
    _, key, secret = new_user(
        doc(allow(["sts:GetFederationToken", "organizations:DescribeOrganization"]))
    )
    sts = server.client("sts", key, secret)
    bare = sts.get_federation_token(Name="bob")
    assert bare["FederatedUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:federated-user/bob"
    assert bare["FederatedUser"]["FederatedUserId"] == f"{ACCOUNT_ID}:bob"
    assert bare["PackedPolicySize"] == 0
    identity = server.client("sts", **creds(bare)).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:federated-user/bob"
    with pytest.raises(ClientError) as nothing:
        server.client("organizations", **creds(bare)).describe_organization()
    assert error_of(nothing.value)[0] == "AccessDeniedException"
    scoped = sts.get_federation_token(
        Name="bob", Policy=doc(allow("organizations:DescribeOrganization"))
    )
    org = server.client("organizations", **creds(scoped)).describe_organization()
    assert org["Organization"]["MasterAccountId"] == ACCOUNT_ID
    with pytest.raises(ClientError) as no_iam:
        server.client("iam", **creds(scoped)).list_users()
    assert error_of(no_iam.value)[:2] == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as nested:
        server.client("sts", **creds(scoped)).get_federation_token(Name="eve")
    assert error_of(nested.value)[0] == "AccessDenied"


def test_get_federation_token_requires_permission(server: Server, new_user: Any) -> None:
    _, key, secret = new_user()
    with pytest.raises(ClientError) as denied:
        server.client("sts", key, secret).get_federation_token(Name="bob")
    code, status, message = error_of(denied.value)
    assert (code, status) == ("AccessDenied", 403)
    assert f"sts:GetFederationToken on resource: arn:aws:sts::{ACCOUNT_ID}:federated-user/bob" in (
        message
    )


def test_get_caller_identity_is_never_denied(server: Server, new_user: Any) -> None:
    name, key, secret = new_user(doc(deny("*")))
    identity = server.client("sts", key, secret).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"


def test_get_access_key_info_decodes_the_account(sts: Any, server: Server) -> None:
    assert sts.get_access_key_info(AccessKeyId="ASIAY34FZKBOKMUTVV7A")["Account"] == "609629065308"
    issued = sts.get_session_token()["Credentials"]["AccessKeyId"]
    assert sts.get_access_key_info(AccessKeyId=issued)["Account"] == ACCOUNT_ID


def test_decode_authorization_message_explains_a_denial(server: Server, new_user: Any) -> None:
    _, key, secret = new_user(doc(allow("sts:DecodeAuthorizationMessage")))
    with pytest.raises(ClientError) as denied:
        server.client("iam", key, secret).list_roles()
    message = error_of(denied.value)[2]
    encoded = message.split("Encoded authorization failure message: ")[1]
    decoded = server.client("sts", key, secret).decode_authorization_message(EncodedMessage=encoded)
    body = json.loads(decoded["DecodedMessage"])
    assert body["allowed"] is False
    assert body["context"]["action"] == "iam:ListRoles"
    assert "identity" in body["explanation"].lower()
    with pytest.raises(ClientError) as bad:
        server.client("sts", key, secret).decode_authorization_message(EncodedMessage="garbage")
    assert error_of(bad.value)[:2] == ("InvalidAuthorizationMessageException", 400)


def test_mfa_protected_role_with_totp(server: Server, iam: Any, new_user: Any) -> None:
    import pyotp

    name, key, secret = new_user()
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"mfa-{name}")["VirtualMFADevice"]
    serial = device["SerialNumber"]
    seed = device["Base32StringSeed"]
    seed_text = seed.decode() if isinstance(seed, bytes) else seed
    totp = pyotp.TOTP(seed_text)
    import time

    now = time.time()
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=serial,
        AuthenticationCode1=totp.at(now - 30),
        AuthenticationCode2=totp.at(now),
    )
    role_arn = iam.create_role(
        RoleName=f"mfa-role-{name}",
        AssumeRolePolicyDocument=doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ),
    )["Role"]["Arn"]
    sts = server.client("sts", key, secret)
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=role_arn, RoleSessionName="nomfa")
    with pytest.raises(ClientError) as wrong:
        sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName="bad",
            SerialNumber=serial,
            TokenCode="000000" if totp.now() != "000000" else "111111",
        )
    assert "MultiFactorAuthentication failed" in error_of(wrong.value)[2]
    # The codes used for enabling were consumed; wait for a fresh window if needed.
    code = totp.at(time.time() + 30)
    response = sts.assume_role(
        RoleArn=role_arn, RoleSessionName="mfa", SerialNumber=serial, TokenCode=code
    )
    assert response["AssumedRoleUser"]["Arn"].endswith("/mfa")
    with pytest.raises(ClientError) as replay:
        sts.assume_role(
            RoleArn=role_arn, RoleSessionName="again", SerialNumber=serial, TokenCode=code
        )
    assert "MultiFactorAuthentication failed" in error_of(replay.value)[2]


def test_root_federation_token_is_limited_by_its_session_policy(
    server: Server, sts: Any, organization: dict[str, Any]
) -> None:
    scoped = creds(
        sts.get_federation_token(
            Name="rootfed", Policy=doc(allow("organizations:DescribeOrganization"))
        )
    )
    orgs = server.client("organizations", **scoped)
    assert orgs.describe_organization()["Organization"]["MasterAccountId"] == ACCOUNT_ID
    with pytest.raises(ClientError) as denied:
        orgs.list_accounts()
    assert error_of(denied.value)[0] == "AccessDeniedException"
