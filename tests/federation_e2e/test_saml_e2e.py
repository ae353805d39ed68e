"""AssumeRoleWithSAML end to end: a pysaml2 IdP's signed responses, its metadata imported with
CreateSAMLProvider, boto3's unsigned ``assume_role_with_saml``, then the session used
(STS API reference, AssumeRoleWithSAML; IAM User Guide, id_roles_providers_create_saml_assertions
and reference_policies_iam-condition-keys)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lxml import etree

from tests.conftest import ACCOUNT_ID, Server
from tests.federation.pki import self_signed
from tests.federation.saml_idp import AES128_CBC, AES256_GCM, SamlIdp, b64
from tests.sts.helpers import allow, creds, doc, error_of

from .helpers import (
    ATTR,
    AWS_ACS,
    create_saml_provider,
    expected_name_qualifier,
    federated_trust,
    make_role,
    saml_identity,
    unsigned_sts,
)

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture
def saml_setup(fiam: Any, idp: SamlIdp) -> dict[str, str]:
    name, provider_arn = create_saml_provider(fiam, idp)
    role_arn = make_role(fiam, federated_trust(provider_arn, "sts:AssumeRoleWithSAML"),
                         doc(allow(["iam:ListUsers", "iam:GetUser"])))
    return {"name": name, "provider": provider_arn, "role": role_arn}


def assume(fed: Server, setup: dict[str, str], assertion: str, **kwargs: Any) -> Any:
    return unsigned_sts(fed).assume_role_with_saml(
        RoleArn=setup["role"], PrincipalArn=setup["provider"], SAMLAssertion=assertion, **kwargs)


def test_assume_role_with_saml_through_boto3(
    fed: Server, idp: SamlIdp, saml_setup: dict[str, str]
) -> None:
    response = assume(fed, saml_setup, b64(idp.response(
        saml_identity(saml_setup["role"], saml_setup["provider"]), name_id="alice-id")))
    role_name = saml_setup["role"].rsplit("/", 1)[1]
    assert response["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/alice")
    assert response["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert response["Subject"] == "alice-id"
    assert response["SubjectType"] == "persistent"
    assert response["Issuer"] == idp.entity_id
    assert response["Audience"] == AWS_ACS
    expected_nq = expected_name_qualifier(idp.entity_id, saml_setup["name"])
    assert response["NameQualifier"] == expected_nq
    assert "PackedPolicySize" not in response and "SourceIdentity" not in response

    identity = fed.client("sts", **creds(response)).get_caller_identity()
    assert identity["Arn"] == response["AssumedRoleUser"]["Arn"]
    assert identity["UserId"] == response["AssumedRoleUser"]["AssumedRoleId"]
    fed.client("iam", **creds(response)).list_users()  # the role's policy applies

    event = next(e for e in reversed(fed.audit_events())
                 if e.get("eventName") == "AssumeRoleWithSAML" and e.get("errorCode") is None
                 and e["responseElements"]["assumedRoleUser"]["arn"] == identity["Arn"])
    assert event["userIdentity"]["type"] == "SAMLUser"
    assert event["userIdentity"]["principalId"] == f"{expected_nq}:alice-id"
    assert event["userIdentity"]["identityProvider"] == expected_nq
    assert event["userIdentity"]["userName"] == "alice-id"
    assert event["responseElements"]["nameQualifier"] == expected_nq
    assert "secretAccessKey" not in json.dumps(event)
    assert response["Credentials"]["SecretAccessKey"] not in json.dumps(fed.audit_events())
    types = {r["type"] for r in event["resources"]}
    assert types == {"AWS::IAM::Role", "AWS::IAM::SAMLProvider"}


def test_session_policy_gives_packed_size_and_limits_the_session(
    fed: Server, idp: SamlIdp, saml_setup: dict[str, str]
) -> None:
    response = assume(fed, saml_setup, b64(idp.response(
        saml_identity(saml_setup["role"], saml_setup["provider"]))),
        Policy=doc(allow("iam:GetUser")))
    assert 0 < response["PackedPolicySize"] <= 100
    iam = fed.client("iam", **creds(response))
    with pytest.raises(ClientError) as denied:
        iam.list_users()
    assert error_of(denied.value)[:2] == ("AccessDenied", 403)


def test_source_identity_and_session_tags_from_attributes(
    fed: Server, fiam: Any, idp: SamlIdp
) -> None:
    _, provider = create_saml_provider(fiam, idp)
    trust = federated_trust(provider, ["sts:AssumeRoleWithSAML", "sts:TagSession",
                                       "sts:SetSourceIdentity"])
    role = make_role(fiam, trust, doc(allow("iam:GetUser",
                                            "arn:aws:iam::*:user/${aws:PrincipalTag/Dept}/*")))
    identity = saml_identity(role, provider, **{
        f"{ATTR}SourceIdentity": ["alice@corp"],
        f"{ATTR}PrincipalTag:Dept": ["eng"],
    })
    response = unsigned_sts(fed).assume_role_with_saml(
        RoleArn=role, PrincipalArn=provider, SAMLAssertion=b64(idp.response(identity)))
    assert response["SourceIdentity"] == "alice@corp"
    assert response["PackedPolicySize"] > 0  # tags count toward the packed size
    fiam.create_user(UserName="saml-eng-user", Path="/eng/")
    fiam.create_user(UserName="saml-ops-user", Path="/ops/")
    session_iam = fed.client("iam", **creds(response))
    assert session_iam.get_user(UserName="saml-eng-user")["User"]["Path"] == "/eng/"
    with pytest.raises(ClientError):
        session_iam.get_user(UserName="saml-ops-user")

    # Without sts:TagSession / sts:SetSourceIdentity in the trust policy, both are refused.
    bare = make_role(fiam, federated_trust(provider, "sts:AssumeRoleWithSAML"))
    identity = saml_identity(bare, provider, **{f"{ATTR}PrincipalTag:Dept": ["eng"]})
    with pytest.raises(ClientError) as denied:
        unsigned_sts(fed).assume_role_with_saml(
            RoleArn=bare, PrincipalArn=provider, SAMLAssertion=b64(idp.response(identity)))
    assert error_of(denied.value) == ("AccessDenied", 403,
                                      "Not authorized to perform sts:TagSession")


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        ("saml:sub", "alice-id", "mallory-id"),
        ("saml:doc", None, f"{ACCOUNT_ID}/SomeOtherIdP"),
        ("saml:namequalifier", None, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ("SAML:aud", AWS_ACS, "https://eu-west-1.signin.aws.amazon.com/saml"),
    ],
)
def test_trust_conditions_on_saml_keys(
    fed: Server, fiam: Any, idp: SamlIdp, key: str, good: str | None, bad: str
) -> None:
    name, provider = create_saml_provider(fiam, idp)
    if key == "saml:doc":
        good = f"{ACCOUNT_ID}/{name}"
    if key == "saml:namequalifier":
        good = expected_name_qualifier(idp.entity_id, name)
    outcomes = []
    for value in (good, bad):
        role = make_role(fiam, federated_trust(provider, "sts:AssumeRoleWithSAML",
                                               {"StringEquals": {key: value}}))
        assertion = b64(idp.response(saml_identity(role, provider), name_id="alice-id"))
        try:
            unsigned_sts(fed).assume_role_with_saml(RoleArn=role, PrincipalArn=provider,
                                                    SAMLAssertion=assertion)
            outcomes.append("allowed")
        except ClientError as exc:
            assert error_of(exc) == ("AccessDenied", 403,
                                     "Not authorized to perform sts:AssumeRoleWithSAML")
            outcomes.append("denied")
    assert outcomes == ["allowed", "denied"]


def test_regional_sign_in_endpoints_listed_in_saml_aud(
    fed: Server, fiam: Any, idp: SamlIdp
) -> None:
    """Seed (a): failover between sign-in endpoints is allowed only for listed recipients."""
    _, provider = create_saml_provider(fiam, idp)
    listed = [AWS_ACS, "https://eu-west-1.signin.aws.amazon.com/saml"]
    role = make_role(fiam, federated_trust(provider, "sts:AssumeRoleWithSAML",
                                           {"StringEquals": {"SAML:aud": listed}}))
    for recipient in listed:
        response = unsigned_sts(fed).assume_role_with_saml(
            RoleArn=role, PrincipalArn=provider,
            SAMLAssertion=b64(idp.response(saml_identity(role, provider),
                                           destination=recipient)))
        assert response["Audience"] == recipient
    with pytest.raises(ClientError) as unlisted:
        unsigned_sts(fed).assume_role_with_saml(
            RoleArn=role, PrincipalArn=provider,
            SAMLAssertion=b64(idp.response(saml_identity(role, provider),
                                           destination="https://ap-south-1.signin.aws.amazon.com/saml")))
    assert error_of(unlisted.value)[:2] == ("AccessDenied", 403)


@pytest.mark.parametrize("alg", [AES256_GCM, AES128_CBC])
def test_encrypted_assertions_with_required_mode(
    fed: Server, fiam: Any, idp: SamlIdp, alg: str
) -> None:
    sp_key = self_signed("opensts sp encryption")
    _, provider = create_saml_provider(fiam, idp, AssertionEncryptionMode="Required",
                                       AddPrivateKey=sp_key.key_pem)
    role = make_role(fiam, federated_trust(provider, "sts:AssumeRoleWithSAML"))
    xml = idp.response(saml_identity(role, provider), encrypt_cert=sp_key.cert_pem,
                       encrypt_alg=alg)
    assert "EncryptedAssertion" in xml
    response = unsigned_sts(fed).assume_role_with_saml(RoleArn=role, PrincipalArn=provider,
                                                       SAMLAssertion=b64(xml))
    assert response["Subject"] == "alice-id"
    with pytest.raises(ClientError) as plain:
        unsigned_sts(fed).assume_role_with_saml(
            RoleArn=role, PrincipalArn=provider,
            SAMLAssertion=b64(idp.response(saml_identity(role, provider))))
    assert error_of(plain.value)[:2] == ("InvalidIdentityToken", 400)
    # Encrypted for another key: the provider cannot decrypt it.
    stranger = self_signed("stranger")
    with pytest.raises(ClientError) as wrong:
        unsigned_sts(fed).assume_role_with_saml(
            RoleArn=role, PrincipalArn=provider,
            SAMLAssertion=b64(idp.response(saml_identity(role, provider),
                                           encrypt_cert=stranger.cert_pem)))
    assert error_of(wrong.value)[:2] == ("InvalidIdentityToken", 400)


def test_replayed_assertion_is_refused(fed: Server, idp: SamlIdp,
                                       saml_setup: dict[str, str]) -> None:
    assertion = b64(idp.response(saml_identity(saml_setup["role"], saml_setup["provider"])))
    assume(fed, saml_setup, assertion)
    with pytest.raises(ClientError) as replay:
        assume(fed, saml_setup, assertion)
    assert error_of(replay.value)[:2] == ("InvalidIdentityToken", 400)


def test_role_pair_must_be_in_the_assertion(fed: Server, fiam: Any, idp: SamlIdp,
                                            saml_setup: dict[str, str]) -> None:
    other_role = make_role(fiam, federated_trust(saml_setup["provider"],
                                                 "sts:AssumeRoleWithSAML"))
    assertion = b64(idp.response(saml_identity(saml_setup["role"], saml_setup["provider"])))
    with pytest.raises(ClientError) as wrong:
        unsigned_sts(fed).assume_role_with_saml(
            RoleArn=other_role, PrincipalArn=saml_setup["provider"], SAMLAssertion=assertion)
    assert error_of(wrong.value) == ("AccessDenied", 403,
                                     "Not authorized to perform sts:AssumeRoleWithSAML")


def _resign_tampered(idp: SamlIdp, attacker: SamlIdp, identity: dict[str, list[str]]) -> str:
    xml = idp.response(identity, sign_response=False, sign_assertion=True)
    root = etree.fromstring(xml.encode())
    assertion = root.find(f"{{{SAML}}}Assertion")
    assert assertion is not None
    name_id = assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID")
    assert name_id is not None
    name_id.text = "admin"
    marker = etree.Element("splice-here")
    root.replace(assertion, marker)
    return etree.tostring(root).decode().replace(
        "<splice-here/>", attacker.sign(etree.tostring(assertion)))


def _wrapped(idp: SamlIdp, identity: dict[str, list[str]]) -> str:
    """XSW: an evil unsigned copy placed before the genuine signed assertion."""
    root = etree.fromstring(idp.response(identity, sign_response=False,
                                         sign_assertion=True).encode())
    genuine = root.find(f"{{{SAML}}}Assertion")
    assert genuine is not None
    evil = etree.fromstring(etree.tostring(genuine))
    evil.remove(evil.find(f"{{{DS}}}Signature"))
    evil.set("ID", "_evil")
    evil.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = "admin"  # type: ignore[union-attr]
    root.insert(root.index(genuine), evil)
    return etree.tostring(root).decode()


@pytest.mark.parametrize("attack", ["unsigned", "attacker-key", "resigned", "wrapping",
                                    "garbage"])
def test_attacks_answer_invalid_identity_token_on_the_wire(
    fed: Server, idp: SamlIdp, attacker_idp: SamlIdp, saml_setup: dict[str, str], attack: str
) -> None:
    identity = saml_identity(saml_setup["role"], saml_setup["provider"])
    xml = {
        "unsigned": lambda: idp.response(identity, sign_response=False, sign_assertion=False),
        "attacker-key": lambda: attacker_idp.response(identity),
        "resigned": lambda: _resign_tampered(idp, attacker_idp, identity),
        "wrapping": lambda: _wrapped(idp, identity),
        "garbage": lambda: "<not-saml/>",
    }[attack]()
    with pytest.raises(ClientError) as refused:
        assume(fed, saml_setup, b64(xml))
    code, status, _ = error_of(refused.value)
    assert (code, status) == ("InvalidIdentityToken", 400)
    assert refused.value.response["Error"]["Type"] == "Sender"


def test_unknown_provider_is_access_denied(fed: Server, idp: SamlIdp,
                                           saml_setup: dict[str, str]) -> None:
    missing = f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/NoSuchIdP"
    with pytest.raises(ClientError) as denied:
        unsigned_sts(fed).assume_role_with_saml(
            RoleArn=saml_setup["role"], PrincipalArn=missing,
            SAMLAssertion=b64(idp.response(saml_identity(saml_setup["role"], missing))))
    assert error_of(denied.value)[:2] == ("AccessDenied", 403)


def test_deleting_the_provider_stops_federation(fed: Server, fiam: Any, idp: SamlIdp,
                                                saml_setup: dict[str, str]) -> None:
    fiam.delete_saml_provider(SAMLProviderArn=saml_setup["provider"])
    with pytest.raises(ClientError) as denied:
        assume(fed, saml_setup, b64(idp.response(
            saml_identity(saml_setup["role"], saml_setup["provider"]))))
    assert error_of(denied.value)[:2] == ("AccessDenied", 403)
