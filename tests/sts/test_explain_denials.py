"""Every AssumeRole* denial is explainable (issue 12): the operator runs
``opensts audit explain REQUEST_ID``; principals of the account whose policies refused decode
the encoded message after AWS's text, and nobody else can (cross-account secrecy)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, BIN, Server, unique
from tests.sts.helpers import allow, creds, doc, error_of, trust

ENCODED = ". Encoded authorization failure message: "
NewUser = Callable[..., tuple[str, str, str]]


def explain(server: Server, request_id: str, *args: str) -> tuple[int, str]:
    """``opensts audit explain``, waiting briefly for the record (written off the request
    path, fdatasynced by the decision log's thread)."""
    deadline = time.monotonic() + 10
    while True:
        result = subprocess.run(
            [str(BIN / "opensts"), "audit", "explain", request_id,
             "--data-dir", str(server.data_dir), *args],
            capture_output=True, text=True, timeout=60, env=dict(os.environ))
        if result.returncode != 2 or time.monotonic() > deadline:
            return result.returncode, result.stdout + result.stderr
        time.sleep(0.1)


def denied(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, str]:
    """(code, message, request id) of a call that must fail."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    code, _, message = error_of(caught.value)
    return code, message, caught.value.response["ResponseMetadata"]["RequestId"]


def decode(server: Server, who: dict[str, str], message: str) -> dict[str, Any]:
    encoded = message.split(ENCODED, 1)[1]
    answer = server.client("sts", **who).decode_authorization_message(EncodedMessage=encoded)
    return dict(json.loads(answer["DecodedMessage"]))


def keys(key: str, secret: str) -> dict[str, str]:
    return {"key": key, "secret": secret}


CALLER_POLICY = doc(allow(["sts:AssumeRole", "sts:DecodeAuthorizationMessage"]))


def test_same_account_trust_denial_is_explained_and_decodable(
    server: Server, iam: Any, new_user: NewUser
) -> None:
    other, _, _ = new_user()
    name, key, secret = new_user(CALLER_POLICY)
    role = iam.create_role(RoleName=unique("only-other"), AssumeRolePolicyDocument=trust(
        {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{other}"}))["Role"]["Arn"]
    code, message, request_id = denied(server.client("sts", key, secret).assume_role,
                                       RoleArn=role, RoleSessionName="s1")
    caller = f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
    # AWS's text first, the encoded message after it.
    assert code == "AccessDenied"
    assert message.startswith(f"User: {caller} is not authorized to perform: sts:AssumeRole "
                              f"on resource: {role}")
    body = decode(server, keys(key, secret), message)
    assert body["allowed"] is False and body["refusedBy"] == "trust"
    assert body["context"]["action"] == "sts:AssumeRole"
    assert f"[resource] {role}" in body["explanation"]
    assert "Principal does not name the caller" in body["explanation"]

    status, out = explain(server, request_id)
    assert status == 1, out
    assert "Operation: AssumeRole (sts:AssumeRole on " + role in out
    assert f"Refused by: the role's trust policy (account {ACCOUNT_ID})" in out
    assert f"Trust policy of {role} as evaluated:" in out
    assert f"trust policy of {role} Statement[0] does not apply: Principal does not name the " \
        "caller" in out
    assert other in out  # the trust policy's text itself
    status, raw = explain(server, request_id, "--json")
    record = json.loads(raw)
    assert record["refusedBy"] == "trust" and record["principal"] == caller
    assert record["trustPolicy"]["document"]["Statement"][0]["Principal"]["AWS"].endswith(other)
    # `policy explain --request-id` is the same implementation.
    same = subprocess.run([str(BIN / "opensts"), "policy", "explain", "--request-id", request_id,
                           "--data-dir", str(server.data_dir)], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ))
    assert same.returncode == 1 and same.stdout.strip() == explain(server, request_id)[1].strip()


def test_a_failing_external_id_condition_is_named(
    server: Server, iam: Any, new_user: NewUser
) -> None:
    _, key, secret = new_user(CALLER_POLICY)
    role = iam.create_role(RoleName=unique("ext"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "RequireExternalId", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "expected-id"}}}]}))["Role"]["Arn"]
    sts = server.client("sts", key, secret)
    sts.assume_role(RoleArn=role, RoleSessionName="ok", ExternalId="expected-id")
    _, message, request_id = denied(sts.assume_role, RoleArn=role, RoleSessionName="s1",
                                    ExternalId="wrong-id")
    status, out = explain(server, request_id)
    assert status == 1, out
    assert "Refused by: the role's trust policy" in out
    assert (f"trust policy of {role} Statement[0] (Sid RequireExternalId) does not apply: "
            "condition StringEquals sts:ExternalId failed (request value 'wrong-id', policy "
            "values ['expected-id'])") in out
    body = decode(server, keys(key, secret), message)
    assert "sts:ExternalId failed: request value 'wrong-id'" in body["explanation"]


def test_the_callers_own_policy_refusing_is_told_apart(
    server: Server, iam: Any, new_user: NewUser
) -> None:
    _, key, secret = new_user(doc(allow("sts:DecodeAuthorizationMessage")))
    role = iam.create_role(RoleName=unique("acct"), AssumeRolePolicyDocument=trust(
        {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}))["Role"]["Arn"]
    _, message, request_id = denied(server.client("sts", key, secret).assume_role,
                                    RoleArn=role, RoleSessionName="s1")
    assert "because no identity-based policy allows the sts:AssumeRole action" in message
    assert decode(server, keys(key, secret), message)["refusedBy"] == "identity"
    status, out = explain(server, request_id)
    assert status == 1 and "Refused by: the caller's identity-based policies" in out, out


def test_a_permissions_boundary_refusing_is_told_apart(
    server: Server, iam: Any, new_user: NewUser
) -> None:
    boundary = iam.create_policy(PolicyName=unique("bound"), PolicyDocument=doc(
        allow("sts:DecodeAuthorizationMessage")))["Policy"]["Arn"]
    _, key, secret = new_user(CALLER_POLICY, PermissionsBoundary=boundary)
    role = iam.create_role(RoleName=unique("acct"), AssumeRolePolicyDocument=trust(
        {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}))["Role"]["Arn"]
    _, message, request_id = denied(server.client("sts", key, secret).assume_role,
                                    RoleArn=role, RoleSessionName="s1")
    assert decode(server, keys(key, secret), message)["refusedBy"] == "boundary"
    status, out = explain(server, request_id)
    assert status == 1 and "Refused by: the caller's permissions boundary" in out, out
    assert f"no Allow statement for sts:AssumeRole in permissions boundary {boundary}" in out
    assert f"[boundary] {boundary}" in out


def test_refusals_no_policy_decided_are_recorded(server: Server, new_user: NewUser) -> None:
    _, key, secret = new_user(CALLER_POLICY)
    missing = f"arn:aws:iam::{ACCOUNT_ID}:role/{unique('nope')}"
    _, message, request_id = denied(server.client("sts", key, secret).assume_role,
                                    RoleArn=missing, RoleSessionName="s1")
    assert ENCODED not in message  # the same answer as any refusal: names are not probed
    status, out = explain(server, request_id)
    assert status == 1 and "Decision: denied — the role does not exist" in out, out
    assert "Refused by: a rule of STS itself" in out


# -- across accounts -------------------------------------------------------------------


@pytest.fixture(scope="module")
def member(server: Server) -> str:
    orgs = server.client("organizations")
    try:
        orgs.describe_organization()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AWSOrganizationsNotInUseException":
            raise
        orgs.create_organization(FeatureSet="ALL")
    name = unique("acct")
    status = orgs.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"
    return str(status["AccountId"])


@pytest.fixture(scope="module")
def member_admin(server: Server, member: str) -> dict[str, str]:
    """A session in the member account with every permission (its
    OrganizationAccountAccessRole), reached from a user of the management account."""
    iam = server.client("iam")
    name = unique("admin")
    iam.create_user(UserName=name)
    role = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(
        allow("sts:AssumeRole", role)))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return creds(server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
        RoleArn=role, RoleSessionName="admin"))


def test_cross_account_trust_denial_is_decodable_only_by_the_roles_account(
    server: Server, new_user: NewUser, member: str, member_admin: dict[str, str]
) -> None:
    member_iam = server.client("iam", **member_admin)
    stranger = f"arn:aws:iam::{member}:root"
    role = member_iam.create_role(RoleName=unique("private"), AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{
            "Sid": "SecretPartnerOnly", "Effect": "Allow", "Principal": {"AWS": stranger},
            "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    _, key, secret = new_user(CALLER_POLICY)
    code, message, request_id = denied(server.client("sts", key, secret).assume_role,
                                       RoleArn=role, RoleSessionName="s1")
    assert code == "AccessDenied" and ENCODED in message
    assert "SecretPartnerOnly" not in message  # sealed, not merely encoded
    # The caller (another account) may not decode the role account's trust policy...
    with pytest.raises(ClientError) as refused:
        decode(server, keys(key, secret), message)
    refusal = error_of(refused.value)
    assert refusal[:2] == ("AccessDenied", 403)
    assert "sts:DecodeAuthorizationMessage" in refusal[2] and "SecretPartnerOnly" not in refusal[2]
    # ...but the role's account may: its policy, its decision.
    body = decode(server, member_admin, message)
    assert body["refusedBy"] == "trust"
    assert "SecretPartnerOnly" in body["explanation"]
    assert "[identity]" not in body["explanation"]  # the caller's side is not its to see
    # The operator sees everything, with who refused.
    status, out = explain(server, request_id)
    assert status == 1, out
    assert f"Refused by: the role's trust policy (account {member})" in out
    assert "SecretPartnerOnly" in out and "[identity]" in out


def test_cross_account_identity_refusal_shows_the_caller_only_its_own_side(
    server: Server, new_user: NewUser, member: str, member_admin: dict[str, str]
) -> None:
    member_iam = server.client("iam", **member_admin)
    role = member_iam.create_role(RoleName=unique("partner"), AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{
            "Sid": "TrustTheManagementAccount", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringLike": {"sts:RoleSessionName": "partner-*"}}}]}))["Role"]["Arn"]
    _, key, secret = new_user(doc(allow("sts:DecodeAuthorizationMessage")))
    _, message, _ = denied(server.client("sts", key, secret).assume_role,
                           RoleArn=role, RoleSessionName="partner-1")
    body = decode(server, keys(key, secret), message)  # its own policies refused: its message
    assert body["refusedBy"] == "identity"
    assert "[identity]" in body["explanation"]
    assert "TrustTheManagementAccount" not in body["explanation"]
    assert f"[resource] {role}" not in body["explanation"]
    assert "sts:RoleSessionName" not in body["explanation"]  # not even the keys it tests
    with pytest.raises(ClientError) as refused:
        decode(server, member_admin, message)
    assert error_of(refused.value)[:2] == ("AccessDenied", 403)


# -- federation ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saml(server: Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    from tests.federation.saml_idp import SamlIdp

    idp = SamlIdp(tmp_path_factory.mktemp("explain-idp"), entity_id="https://idp.explain.test")
    arn = server.client("iam").create_saml_provider(
        Name=unique("idp"), SAMLMetadataDocument=idp.metadata_xml())["SAMLProviderArn"]
    return idp, str(arn)


def _assertion(idp: Any, role: str, provider: str) -> str:
    from tests.federation.saml_idp import b64

    attr = "https://aws.amazon.com/SAML/Attributes/"
    return str(b64(idp.response({f"{attr}Role": [f"{role},{provider}"],
                                 f"{attr}RoleSessionName": ["alice"]}, name_id="alice-id")))


def test_a_saml_trust_condition_denial_is_explained(
    server: Server, iam: Any, saml: tuple[Any, str]
) -> None:
    from tests.federation_e2e.helpers import unsigned_sts

    idp, provider = saml
    role = iam.create_role(RoleName=unique("saml"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "OnlyBob", "Effect": "Allow", "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"saml:sub": "bob-id"}}}]}))["Role"]["Arn"]
    code, message, request_id = denied(unsigned_sts(server).assume_role_with_saml,
                                       RoleArn=role, PrincipalArn=provider,
                                       SAMLAssertion=_assertion(idp, role, provider))
    assert (code, message) == ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
    status, out = explain(server, request_id)
    assert status == 1, out
    assert "Operation: AssumeRoleWithSAML" in out
    assert "Refused by: the role's trust policy" in out
    assert (f"trust policy of {role} Statement[0] (Sid OnlyBob) does not apply: condition "
            "StringEquals saml:sub failed (request value 'alice-id', policy values "
            "['bob-id'])") in out


def test_an_assertion_that_does_not_verify_is_explained(
    server: Server, iam: Any, saml: tuple[Any, str], tmp_path: Path
) -> None:
    from tests.federation.saml_idp import SamlIdp
    from tests.federation_e2e.helpers import unsigned_sts

    _, provider = saml
    forger = SamlIdp(tmp_path / "forger", entity_id="https://idp.explain.test")
    role = iam.create_role(RoleName=unique("saml"), AssumeRolePolicyDocument=trust(
        {"Federated": provider}, "sts:AssumeRoleWithSAML"))["Role"]["Arn"]
    code, message, request_id = denied(unsigned_sts(server).assume_role_with_saml,
                                       RoleArn=role, PrincipalArn=provider,
                                       SAMLAssertion=_assertion(forger, role, provider))
    assert code == "InvalidIdentityToken"
    status, out = explain(server, request_id)
    assert status == 1, out
    assert "Refused by: the identity provider's assertion or token (it did not verify)" in out
    assert f"Answered: InvalidIdentityToken: {message}" in out
    assert f"did not verify against {provider}" in out


def test_a_web_identity_token_that_does_not_verify_is_explained(
    server: Server, iam: Any
) -> None:
    import jwt

    from tests.federation_e2e.helpers import unsigned_sts

    issuer = "https://issuer.unregistered.example"
    role = iam.create_role(RoleName=unique("web"), AssumeRolePolicyDocument=trust(
        {"Federated": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/issuer.unregistered.example"},
        "sts:AssumeRoleWithWebIdentity"))["Role"]["Arn"]
    token = jwt.encode({"iss": issuer, "aud": "ci-app", "sub": "repo:org/x", "exp":
                        int(time.time()) + 300}, "not-a-real-key-but-long-enough-for-hs256",
                       algorithm="HS256")
    code, message, request_id = denied(unsigned_sts(server).assume_role_with_web_identity,
                                       RoleArn=role, RoleSessionName="s1",
                                       WebIdentityToken=token)
    assert code == "InvalidIdentityToken"
    status, out = explain(server, request_id)
    assert status == 1, out
    assert "Operation: AssumeRoleWithWebIdentity" in out
    assert f"Answered: InvalidIdentityToken: {message}" in out
    assert "Refused by: the identity provider's assertion or token" in out
    assert f"iss='{issuer}', aud='ci-app', sub='repo:org/x'" in out
    assert f"no OIDC provider of account {ACCOUNT_ID} has this issuer" in out
    assert token not in out  # the token itself is a credential: never recorded
    status, raw = explain(server, request_id, "--json")
    assert token.split(".")[2] not in raw
