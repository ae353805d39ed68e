"""The issue's seed scenarios, end to end through boto3 against the real server.

(b) SourceIdentity from a SAML attribute, visible in the audit log through role chaining into
    another account of the organization (IAM User Guide,
    id_credentials_temp_control-access_monitor);
(c) tenant isolation with the JWT tags claim and ``${aws:PrincipalTag/TenantID}`` in a resource
    ARN (id_session-tags, reference_policies_variables);
(d) an Entra-ID-shaped issuer ``https://host:port/<tenant-guid>/`` with ``aud``/``sub``
    conditions (the ARN and condition keys keep the trailing slash).
Scenario (a), regional sign-in endpoints in ``SAML:aud``, is in test_saml_e2e.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, unique
from tests.federation.saml_idp import SamlIdp, b64
from tests.sts.helpers import allow, creds, doc, error_of

from .conftest import Peers
from .helpers import ATTR, create_saml_provider, federated_trust, make_role, saml_identity
from .helpers import unsigned_sts as anon


@pytest.fixture(scope="module")
def member_account(fed: Server) -> str:
    orgs = fed.client("organizations")
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


def member_admin(fed: Server, new_fed_user: Any, account: str) -> dict[str, str]:
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    _, key, secret = new_fed_user(doc(allow("sts:AssumeRole", role)))
    return creds(fed.client("sts", key, secret).assume_role(RoleArn=role,
                                                            RoleSessionName="admin"))


def test_b_source_identity_survives_role_chaining_into_a_member_account(
    fed: Server, fiam: Any, idp: SamlIdp, new_fed_user: Any, member_account: str
) -> None:
    _, provider = create_saml_provider(fiam, idp)
    target_name = unique("audited")
    target = f"arn:aws:iam::{member_account}:role/{target_name}"
    saml_role = make_role(
        fiam, federated_trust(provider, ["sts:AssumeRoleWithSAML", "sts:SetSourceIdentity"]),
        doc(allow(["sts:AssumeRole", "sts:SetSourceIdentity"], target)))
    member_iam = fed.client("iam", **member_admin(fed, new_fed_user, member_account))
    member_iam.create_role(
        RoleName=target_name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": saml_role},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]}]}))
    member_iam.put_role_policy(RoleName=target_name, PolicyName="p",
                               PolicyDocument=doc(allow("iam:ListRoles")))

    identity = saml_identity(saml_role, provider, "alice",
                             **{f"{ATTR}SourceIdentity": ["alice@corp.example"]})
    federated = anon(fed).assume_role_with_saml(RoleArn=saml_role, PrincipalArn=provider,
                                                SAMLAssertion=b64(idp.response(identity)))
    assert federated["SourceIdentity"] == "alice@corp.example"
    sts = fed.client("sts", **creds(federated))
    chained = sts.assume_role(RoleArn=target, RoleSessionName="chained")
    assert chained["SourceIdentity"] == "alice@corp.example"
    assert chained["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{member_account}:")
    fed.client("iam", **creds(chained)).list_roles()
    # The source identity is immutable along the chain.
    with pytest.raises(ClientError) as changed:
        sts.assume_role(RoleArn=target, RoleSessionName="other", SourceIdentity="mallory")
    assert error_of(changed.value)[:2] == ("AccessDenied", 403)

    events = fed.audit_events()
    saml_event = next(e for e in events if e.get("eventName") == "AssumeRoleWithSAML"
                      and (e.get("responseElements") or {}).get("assumedRoleUser", {}).get("arn")
                      == federated["AssumedRoleUser"]["Arn"])
    assert saml_event["requestParameters"]["sourceIdentity"] == "alice@corp.example"
    assert saml_event["userIdentity"]["type"] == "SAMLUser"
    chain_event = next(e for e in events if e.get("eventName") == "AssumeRole"
                       and e.get("errorCode") is None
                       and (e.get("responseElements") or {}).get("assumedRoleUser", {}).get(
                           "arn") == chained["AssumedRoleUser"]["Arn"])
    assert chain_event["userIdentity"]["arn"] == federated["AssumedRoleUser"]["Arn"]
    assert chain_event["userIdentity"]["sessionContext"]["sourceIdentity"] == (
        "alice@corp.example")
    # The caller's account records the call; the role it reached is in the member account.
    assert chain_event["recipientAccountId"] == ACCOUNT_ID
    assert {"ARN": target, "accountId": member_account, "type": "AWS::IAM::Role"} in (
        chain_event["resources"])
    member_call = next(e for e in events if e.get("eventName") == "ListRoles"
                       and e["userIdentity"].get("arn") == chained["AssumedRoleUser"]["Arn"])
    assert member_call["userIdentity"]["accountId"] == member_account
    assert member_call["userIdentity"]["sessionContext"]["sourceIdentity"] == (
        "alice@corp.example")
    dumped = json.dumps(events)
    for response in (federated, chained):
        assert response["Credentials"]["SecretAccessKey"] not in dumped


def test_c_tenant_isolation_with_principal_tag_in_resource_arn(
    fed: Server, fiam: Any, peers: Peers
) -> None:
    provider = _main_provider(fiam, peers)
    prefix = peers.main.issuer.removeprefix("https://")
    role = make_role(
        fiam,
        federated_trust(provider, ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
                        {"StringEquals": {f"{prefix}:aud": "tenants"},
                         "StringLike": {"aws:RequestTag/TenantID": "tenant-*"}}),
        doc(allow("iam:GetUser",
                  f"arn:aws:iam::{ACCOUNT_ID}:user/${{aws:PrincipalTag/TenantID}}/*")))
    users = {}
    for tenant in ("tenant-a", "tenant-b"):
        users[tenant] = unique(tenant)
        fiam.create_user(UserName=users[tenant], Path=f"/{tenant}/")
    sessions = {
        tenant: fed.client("iam", **creds(anon(fed).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName=tenant, WebIdentityToken=peers.main.token(tenant))))
        for tenant in ("tenant-a", "tenant-b")
    }
    for tenant, other in (("tenant-a", "tenant-b"), ("tenant-b", "tenant-a")):
        own = sessions[tenant].get_user(UserName=users[tenant])["User"]
        assert own["Path"] == f"/{tenant}/"
        with pytest.raises(ClientError) as denied:
            sessions[tenant].get_user(UserName=users[other])
        code, status, message = error_of(denied.value)
        assert (code, status) == ("AccessDenied", 403)
        assert f"user/{other}/{users[other]}" in message


def test_d_entra_id_shaped_issuer_with_aud_and_sub(
    fed: Server, fiam: Any, peers: Peers
) -> None:
    issuer = peers.tenant.issuer
    assert issuer.endswith(f"/{peers.tenant_id}/")
    provider = fiam.create_open_id_connect_provider(
        Url=issuer, ClientIDList=["api://opensts-entra"])["OpenIDConnectProviderArn"]
    prefix = issuer.removeprefix("https://")
    assert provider == f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{prefix}"
    assert provider.endswith("/")
    role = make_role(fiam, federated_trust(provider, "sts:AssumeRoleWithWebIdentity", {
        "StringEquals": {f"{prefix}:aud": "api://opensts-entra", f"{prefix}:sub": "entra-app"}}))
    response = anon(fed).assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="entra", WebIdentityToken=peers.tenant.token("entra-app"))
    assert response["Provider"] == provider
    assert response["Audience"] == "api://opensts-entra"
    assert response["SubjectFromWebIdentityToken"] == "entra-app"
    with pytest.raises(ClientError) as other:
        anon(fed).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="entra",
            WebIdentityToken=peers.tenant.token("entra-other"))
    assert error_of(other.value)[:2] == ("AccessDenied", 403)


def _main_provider(fiam: Any, peers: Peers) -> str:
    """The main peer's provider (created here or by another test module)."""
    arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{peers.main.issuer.removeprefix('https://')}"
    try:
        fiam.create_open_id_connect_provider(Url=peers.main.issuer,
                                             ClientIDList=["web-app", "tenants"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    return arn
