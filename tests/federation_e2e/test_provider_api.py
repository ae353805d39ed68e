"""IAM identity-provider operations through boto3 (IAM API reference: CreateSAMLProvider …
UpdateOpenIDConnectProviderThumbprint), against the real server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, unique
from tests.federation.pki import self_signed
from tests.federation.saml_idp import SamlIdp
from tests.sts.helpers import allow, doc, error_of

from .helpers import create_saml_provider


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    return error_of(exc.value)


# -- SAML ----------------------------------------------------------------------------------


def test_saml_provider_lifecycle(fiam: Any, idp: SamlIdp) -> None:
    name = unique("okta")
    created = fiam.create_saml_provider(
        Name=name, SAMLMetadataDocument=idp.metadata_xml(),
        Tags=[{"Key": "team", "Value": "platform"}],
    )
    arn = created["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/{name}"
    assert created["Tags"] == [{"Key": "team", "Value": "platform"}]

    got = fiam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == idp.metadata_xml()
    assert len(got["SAMLProviderUUID"]) >= 22 and got["SAMLProviderUUID"].isalnum()
    assert got["SAMLProviderUUID"] == got["SAMLProviderUUID"].upper()
    # No validUntil in the metadata: AWS dates the provider a century ahead.
    assert got["ValidUntil"].year - got["CreateDate"].year == 100
    assert got["Tags"] == [{"Key": "team", "Value": "platform"}]
    assert "PrivateKeyList" not in got

    listed = {p["Arn"]: p for p in fiam.list_saml_providers()["SAMLProviderList"]}
    assert listed[arn]["CreateDate"] == got["CreateDate"]

    fiam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "TEAM", "Value": "security"},
                                                      {"Key": "env", "Value": "prod"}])
    tags = fiam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"TEAM": "security", "env": "prod"}
    fiam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["team"])
    assert fiam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [
        {"Key": "env", "Value": "prod"}]

    with pytest.raises(ClientError) as dup:
        fiam.create_saml_provider(Name=name, SAMLMetadataDocument=idp.metadata_xml())
    assert _err(dup)[:2] == ("EntityAlreadyExists", 409)

    fiam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as gone:
        fiam.get_saml_provider(SAMLProviderArn=arn)
    assert _err(gone) == ("NoSuchEntity", 404, f"Manifest not found for arn {arn}")
    assert arn not in {p["Arn"] for p in fiam.list_saml_providers()["SAMLProviderList"]}


def test_metadata_valid_until_is_reported(fiam: Any, idp: SamlIdp) -> None:
    xml = idp.metadata_xml().replace(
        "<ns0:EntityDescriptor", '<ns0:EntityDescriptor validUntil="2031-05-06T07:08:09Z"', 1)
    assert "validUntil" in xml
    _, arn = create_saml_provider(fiam, _Fixed(xml))  # type: ignore[arg-type]
    got = fiam.get_saml_provider(SAMLProviderArn=arn)
    assert got["ValidUntil"].isoformat() == "2031-05-06T07:08:09+00:00"


class _Fixed:
    def __init__(self, xml: str) -> None:
        self.xml = xml

    def metadata_xml(self) -> str:
        return self.xml


@pytest.mark.parametrize(
    ("kwargs", "code", "fragment"),
    [
        ({"Name": "bad name!"}, "ValidationError", "regular expression pattern: [\\w._-]+"),
        ({"Name": "x" * 129}, "ValidationError", "less than or equal to 128"),
        ({"SAMLMetadataDocument": "<notmetadata>" + "a" * 1000 + "</notmetadata>"},
         "InvalidInput", "Could not parse metadata"),
        ({"AssertionEncryptionMode": "Sometimes"}, "ValidationError", "Member must satisfy enum"),
        ({"AssertionEncryptionMode": "Required"}, "InvalidInput", "AddPrivateKey"),
        ({"AddPrivateKey": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"},
         "InvalidInput", "not a valid"),
    ],
)
def test_create_saml_provider_validation(
    fiam: Any, idp: SamlIdp, kwargs: dict[str, str], code: str, fragment: str
) -> None:
    args = {"Name": unique("v"), "SAMLMetadataDocument": idp.metadata_xml(), **kwargs}
    with pytest.raises(ClientError) as bad:
        fiam.create_saml_provider(**args)
    got_code, status, message = _err(bad)
    assert (got_code, status) == (code, 400)
    assert fragment in message
    # The sensitive private key is never echoed back.
    assert "nope" not in message


def test_private_keys_add_rotate_remove(fiam: Any, idp: SamlIdp) -> None:
    first, second, third = (self_signed(n) for n in ("k1", "k2", "k3"))
    _, arn = create_saml_provider(fiam, idp, AssertionEncryptionMode="Required",
                                  AddPrivateKey=first.key_pem)
    got = fiam.get_saml_provider(SAMLProviderArn=arn)
    assert got["AssertionEncryptionMode"] == "Required"
    [key1] = got["PrivateKeyList"]
    assert 22 <= len(key1["KeyId"]) <= 64 and key1["KeyId"].isupper()
    assert "Timestamp" in key1

    fiam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=second.key_pem)
    keys = fiam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]
    assert keys[0]["KeyId"] == key1["KeyId"] and len(keys) == 2
    with pytest.raises(ClientError) as full:
        fiam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=third.key_pem)
    assert _err(full)[:2] == ("LimitExceeded", 409)

    fiam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=key1["KeyId"])
    [remaining] = fiam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]
    assert remaining["KeyId"] == keys[1]["KeyId"]
    # Required mode cannot be left without a key.
    with pytest.raises(ClientError) as last:
        fiam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=remaining["KeyId"])
    assert _err(last)[0] == "InvalidInput"
    fiam.update_saml_provider(SAMLProviderArn=arn, AssertionEncryptionMode="Allowed")
    fiam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=remaining["KeyId"])
    got = fiam.get_saml_provider(SAMLProviderArn=arn)
    assert got["AssertionEncryptionMode"] == "Allowed" and "PrivateKeyList" not in got
    with pytest.raises(ClientError) as unknown:
        fiam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey="A" * 26)
    assert _err(unknown)[0] == "InvalidInput"


def test_update_saml_metadata(fiam: Any, idp: SamlIdp, tmp_path: Any) -> None:
    _, arn = create_saml_provider(fiam, idp)
    other = SamlIdp(tmp_path / "other", entity_id="https://other.opensts.test/saml")
    assert fiam.update_saml_provider(SAMLProviderArn=arn,
                                     SAMLMetadataDocument=other.metadata_xml()
                                     )["SAMLProviderArn"] == arn
    assert "other.opensts.test" in fiam.get_saml_provider(
        SAMLProviderArn=arn)["SAMLMetadataDocument"]
    with pytest.raises(ClientError) as nothing:
        fiam.update_saml_provider(SAMLProviderArn=arn)
    assert _err(nothing)[0] == "InvalidInput"


def test_malformed_and_missing_saml_arns(fiam: Any) -> None:
    with pytest.raises(ClientError) as bad:
        fiam.get_saml_provider(SAMLProviderArn="arn:aws:iam::123:not-a-provider")
    assert _err(bad)[:2] == ("InvalidInput", 400)
    missing = f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/none-such"
    for call in (fiam.get_saml_provider, fiam.delete_saml_provider,
                 fiam.list_saml_provider_tags):
        with pytest.raises(ClientError) as gone:
            call(SAMLProviderArn=missing)
        assert _err(gone)[:2] == ("NoSuchEntity", 404)


# -- OpenID Connect ------------------------------------------------------------------------


def test_oidc_provider_lifecycle(fiam: Any) -> None:
    host = f"{unique('idp')}.example.test"
    url = f"https://{host}:8443/realms/main"
    created = fiam.create_open_id_connect_provider(
        Url=url, ClientIDList=["app-1", "app-1", "app-2"], ThumbprintList=["a" * 40],
        Tags=[{"Key": "owner", "Value": "me"}])
    arn = created["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}:8443/realms/main"
    got = fiam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == f"{host}:8443/realms/main"
    assert got["ClientIDList"] == ["app-1", "app-2"]
    assert got["ThumbprintList"] == ["a" * 40]
    assert got["Tags"] == [{"Key": "owner", "Value": "me"}]
    assert arn in {p["Arn"] for p in
                   fiam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}

    fiam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app-3")
    fiam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app-3")
    fiam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                        ClientID="app-1")
    fiam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                        ClientID="never-there")
    got = fiam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["app-2", "app-3"]

    fiam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn,
                                                    ThumbprintList=["B" * 40, "c" * 40])
    assert fiam.get_open_id_connect_provider(
        OpenIDConnectProviderArn=arn)["ThumbprintList"] == ["B" * 40, "c" * 40]

    fiam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                      Tags=[{"Key": "env", "Value": "dev"}])
    fiam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["owner"])
    assert fiam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}]

    with pytest.raises(ClientError) as dup:
        fiam.create_open_id_connect_provider(Url=url, ClientIDList=["x"])
    assert _err(dup)[:2] == ("EntityAlreadyExists", 409)

    fiam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as gone:
        fiam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert _err(gone) == ("NoSuchEntity", 404, f"OpenIDConnect Provider not found for arn {arn}")


def test_entra_style_arn_keeps_the_trailing_slash(fiam: Any) -> None:
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    url = f"https://sts.windows.net/{tenant}/"
    arn = fiam.create_open_id_connect_provider(Url=url, ClientIDList=["api://app"])[
        "OpenIDConnectProviderArn"]
    try:
        assert arn == f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/sts.windows.net/{tenant}/"
        assert fiam.get_open_id_connect_provider(
            OpenIDConnectProviderArn=arn)["Url"] == f"sts.windows.net/{tenant}/"
    finally:
        fiam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"Url": "http://plain.example.test"}, "InvalidInput"),
        ({"Url": "https://q.example.test/path?x=1"}, "InvalidInput"),
        ({"Url": "https://f.example.test/path#frag"}, "InvalidInput"),
        ({"Url": "https://"}, "InvalidInput"),
        ({"Url": "https://user:pw@u.example.test"}, "InvalidInput"),
        ({"Url": "https://" + "h" * 260}, "ValidationError"),
        ({"ThumbprintList": ["z" * 40]}, "InvalidInput"),
        ({"ThumbprintList": ["a" * 41]}, "ValidationError"),
        ({"ThumbprintList": [c * 40 for c in "abcdef"]}, "LimitExceeded"),
    ],
)
def test_create_oidc_provider_validation(fiam: Any, kwargs: dict[str, Any], code: str) -> None:
    args = {"Url": f"https://{unique('v')}.example.test", "ClientIDList": ["a"], **kwargs}
    with pytest.raises(ClientError) as bad:
        fiam.create_open_id_connect_provider(**args)
    assert _err(bad)[0] == code


def test_provider_operations_are_authorized(fed: Server, fiam: Any, new_fed_user: Any,
                                            idp: SamlIdp) -> None:
    _, saml_arn = create_saml_provider(fiam, idp)
    oidc_arn = fiam.create_open_id_connect_provider(
        Url=f"https://{unique('authz')}.example.test", ClientIDList=["a"])[
        "OpenIDConnectProviderArn"]
    _, key, secret = new_fed_user(doc(allow("iam:GetSAMLProvider", saml_arn)))
    user_iam = fed.client("iam", key, secret)
    assert user_iam.get_saml_provider(SAMLProviderArn=saml_arn)["SAMLMetadataDocument"]
    with pytest.raises(ClientError) as denied:
        user_iam.delete_saml_provider(SAMLProviderArn=saml_arn)
    code, status, message = _err(denied)
    assert (code, status) == ("AccessDenied", 403)
    assert f"iam:DeleteSAMLProvider on resource: {saml_arn}" in message
    with pytest.raises(ClientError) as denied_oidc:
        user_iam.get_open_id_connect_provider(OpenIDConnectProviderArn=oidc_arn)
    assert f"iam:GetOpenIDConnectProvider on resource: {oidc_arn}" in _err(denied_oidc)[2]
    with pytest.raises(ClientError):
        user_iam.list_saml_providers()
    fiam.get_saml_provider(SAMLProviderArn=saml_arn)  # still there


def test_private_key_never_reaches_the_audit_log(fed: Server, fiam: Any, idp: SamlIdp) -> None:
    pair = self_signed("audit")
    create_saml_provider(fiam, idp, AddPrivateKey=pair.key_pem)
    body = "".join(pair.key_pem.strip().splitlines()[1:-1])[:40]
    events = [e for e in fed.audit_events() if e.get("eventName") == "CreateSAMLProvider"]
    assert events
    assert all(body not in json.dumps(e) for e in fed.audit_events())
    hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert any((e.get("requestParameters") or {}).get("addPrivateKey") == hidden for e in events)
