"""AssumeRoleWithSAML verification against responses issued by a real pysaml2 IdP."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

import pytest
from lxml import etree

from opensts.errors import AccessDenied, InvalidParameterValue, ValidationError
from opensts.federation.errors import (
    ExpiredTokenException,
    IDPRejectedClaim,
    InvalidIdentityToken,
)
from opensts.federation.saml import (
    SamlIdentity,
    name_qualifier,
    parse_metadata,
    verify_saml_response,
)

from .pki import self_signed
from .saml_idp import (
    ACCOUNT,
    AES128_CBC,
    AES256_GCM,
    PROVIDER_ARN,
    PROVIDER_NAME,
    ROLE_ARN,
    SamlIdp,
    b64,
    default_identity,
)

ATTR = "https://aws.amazon.com/SAML/Attributes/"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"


def verify(idp: SamlIdp, xml: str, **kw: Any) -> SamlIdentity:
    kw.setdefault("now", dt.datetime.now(dt.UTC))
    kw.setdefault("metadata", parse_metadata(idp.metadata_xml()))
    return verify_saml_response(
        b64(xml),
        provider_arn=PROVIDER_ARN,
        provider_name=PROVIDER_NAME,
        account_id=ACCOUNT,
        **kw,
    )


# --- accepted responses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sign_response", "sign_assertion"), [(True, True), (True, False), (False, True)]
)
def test_signed_response_or_assertion_is_accepted(
    idp: SamlIdp, sign_response: bool, sign_assertion: bool
) -> None:
    xml = idp.response(sign_response=sign_response, sign_assertion=sign_assertion)
    ident = verify(idp, xml)
    assert ident.issuer == idp.entity_id
    assert ident.subject == "alice-id"
    assert ident.subject_type == "persistent"
    assert ident.audience == "https://signin.aws.amazon.com/saml"
    assert ident.session_name == "alice"
    assert ident.role_pairs == ((ROLE_ARN, PROVIDER_ARN),)
    assert ident.has_role_pair(ROLE_ARN, PROVIDER_ARN)
    assert ident.assertion_id.startswith("id-")
    assert ident.name_qualifier == name_qualifier(idp.entity_id, ACCOUNT, PROVIDER_NAME)


def test_name_qualifier_follows_the_documented_pseudocode() -> None:
    expected = base64.b64encode(
        hashlib.sha1(
            b"https://example.com/saml123456789012/MySAMLIdP", usedforsecurity=False
        ).digest()
    ).decode()
    assert name_qualifier("https://example.com/saml", "123456789012", "MySAMLIdP") == expected
    assert expected == "1uAJanUnBc2XeUkHURMht+xam2c="


def test_condition_keys_and_aws_attributes(idp: SamlIdp) -> None:
    identity = default_identity(
        **{
            ATTR + "Role": [
                f"{PROVIDER_ARN},{ROLE_ARN}",  # reversed order, as many IdPs emit it
                f"arn:aws:iam::{ACCOUNT}:role/Other,{PROVIDER_ARN}",
            ],
            ATTR + "SessionDuration": ["1800"],
            ATTR + "SourceIdentity": ["alice@example.com"],
            ATTR + "PrincipalTag:Project": ["Pegasus"],
            ATTR + "PrincipalTag:CostCenter": ["987654"],
            ATTR + "TransitiveTagKeys": ["Project"],
            "eduPersonAffiliation": ["staff", "member"],
            "eduPersonPrincipalName": ["alice@example.com"],
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": [
                "alice@example.com"
            ],
        }
    )
    xml = idp.response(
        identity,
        name_id="transient-123",
        name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
        session_not_on_or_after="2099-01-01T00:00:00Z",
    )
    ident = verify(idp, xml)
    assert ident.role_pairs == (
        (ROLE_ARN, PROVIDER_ARN),
        (f"arn:aws:iam::{ACCOUNT}:role/Other", PROVIDER_ARN),
    )
    assert ident.session_duration == 1800
    assert ident.source_identity == "alice@example.com"
    assert ident.principal_tags == {"Project": "Pegasus", "CostCenter": "987654"}
    assert ident.transitive_tag_keys == ("Project",)
    assert ident.session_not_on_or_after == dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    keys = ident.condition_keys()
    assert keys["saml:aud"] == "https://signin.aws.amazon.com/saml"
    assert keys["saml:iss"] == idp.entity_id
    assert keys["saml:sub"] == "transient-123"
    assert keys["saml:sub_type"] == "transient"
    assert keys["saml:doc"] == f"{ACCOUNT}/{PROVIDER_NAME}"
    assert keys["saml:namequalifier"] == ident.name_qualifier
    assert keys["saml:edupersonaffiliation"] == ["staff", "member"]
    assert keys["saml:edupersonprincipalname"] == "alice@example.com"
    assert keys["saml:mail"] == "alice@example.com"


def test_unprefixed_name_id_format_is_returned_whole(idp: SamlIdp) -> None:
    fmt = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    ident = verify(idp, idp.response(name_id="a@example.com", name_id_format=fmt))
    assert ident.subject_type == fmt


def test_key_rollover_second_metadata_key_verifies(tmp_path: Any) -> None:
    old, new = self_signed("old"), self_signed("new")
    signer = SamlIdp(tmp_path / "new", keys=[new])
    published = SamlIdp(tmp_path / "md", keys=[old, new])
    ident = verify(signer, signer.response(), metadata=parse_metadata(published.metadata_xml()))
    assert ident.subject == "alice-id"


@pytest.mark.parametrize("alg", [AES256_GCM, AES128_CBC])
@pytest.mark.parametrize("sign_response", [True, False])
def test_encrypted_assertion_is_decrypted(idp: SamlIdp, alg: str, sign_response: bool) -> None:
    sp = self_signed("aws sp encryption")
    other = self_signed("rotated out")
    xml = idp.response(encrypt_cert=sp.cert_pem, encrypt_alg=alg, sign_response=sign_response)
    assert "EncryptedAssertion" in xml and "alice-id" not in xml
    ident = verify(idp, xml, decryption_keys=[other.key_pem, sp.key_pem], require_encryption=True)
    assert ident.subject == "alice-id"
    assert ident.session_name == "alice"


def test_encrypted_assertion_with_wrong_key(idp: SamlIdp) -> None:
    sp = self_signed("aws sp encryption")
    xml = idp.response(encrypt_cert=sp.cert_pem)
    with pytest.raises(InvalidIdentityToken, match="decrypt"):
        verify(idp, xml, decryption_keys=[self_signed("wrong").key_pem])
    with pytest.raises(InvalidIdentityToken, match="decrypt"):
        verify(idp, xml)


def test_triple_des_encryption_is_refused(idp: SamlIdp) -> None:
    """pysaml2's default XML-Enc algorithm is 3DES-CBC; AWS decrypts AES only."""
    sp = self_signed("aws sp encryption")
    xml = idp.response(encrypt_cert=sp.cert_pem, pysaml2_encryption=True)
    assert "tripledes-cbc" in xml
    with pytest.raises(InvalidIdentityToken, match="decrypt"):
        verify(idp, xml, decryption_keys=[sp.key_pem])


def test_required_encryption_refuses_plaintext(idp: SamlIdp) -> None:
    with pytest.raises(InvalidIdentityToken, match="must be encrypted"):
        verify(idp, idp.response(), require_encryption=True)


# --- signature attacks --------------------------------------------------------------------


def _tree(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode())


def _s(root: etree._Element) -> str:
    return etree.tostring(root).decode()


def _splice(root: etree._Element, old: etree._Element, signed_xml: str) -> str:
    """Put signed XML text in place of ``old`` without lxml re-prefixing its namespaces.

    Moving a signed element between lxml documents may rename clashing prefixes, which
    changes its canonical form; an IdP serialises its document once, so splice text instead.
    """
    marker = etree.Element("splice-here")
    old.getparent().replace(old, marker)  # type: ignore[union-attr]
    return _s(root).replace("<splice-here/>", signed_xml)


def test_unsigned_response_is_refused(idp: SamlIdp) -> None:
    xml = idp.response(sign_response=False, sign_assertion=False)
    with pytest.raises(InvalidIdentityToken, match=r"^Response signature invalid$") as info:
        verify(idp, xml)
    assert info.value.code == "InvalidIdentityToken" and info.value.status == 400


def test_response_signed_by_attacker_key_is_refused(idp: SamlIdp, attacker_idp: SamlIdp) -> None:
    forged = attacker_idp.response()  # same entity ID, attacker's key in KeyInfo
    with pytest.raises(InvalidIdentityToken, match="Response signature invalid"):
        verify(idp, forged)


def test_tampered_name_id_breaks_the_signature(idp: SamlIdp) -> None:
    xml = idp.response(sign_response=True, sign_assertion=False)
    with pytest.raises(InvalidIdentityToken, match="Response signature invalid"):
        verify(idp, xml.replace(">alice-id<", ">admin<"))


def test_tampered_then_resigned_with_attacker_key(idp: SamlIdp, attacker_idp: SamlIdp) -> None:
    xml = idp.response(sign_response=False, sign_assertion=True)
    root = _tree(xml)
    assertion = root.find(f"{{{SAML}}}Assertion")
    assert assertion is not None
    name_id = assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID")
    assert name_id is not None
    name_id.text = "admin"
    resigned = _splice(root, assertion, attacker_idp.sign(_s(assertion)))
    assert verify(attacker_idp, resigned).subject == "admin"  # well-formed, only the key differs
    with pytest.raises(InvalidIdentityToken, match="Response signature invalid"):
        verify(idp, resigned)


def test_wrapping_second_unsigned_assertion(idp: SamlIdp) -> None:
    """XSW: an evil unsigned assertion placed before the genuine signed one."""
    xml = idp.response(sign_response=False, sign_assertion=True)
    root = _tree(xml)
    genuine = root.find(f"{{{SAML}}}Assertion")
    assert genuine is not None
    evil = etree.fromstring(etree.tostring(genuine))
    evil.remove(evil.find(f"{{{DS}}}Signature"))
    evil.set("ID", "evil")
    evil.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = "admin"  # type: ignore[union-attr]
    root.insert(root.index(genuine), evil)
    with pytest.raises(InvalidIdentityToken, match="exactly one assertion"):
        verify(idp, _s(root))


def test_wrapping_signed_assertion_moved_inside_evil_one(idp: SamlIdp) -> None:
    """XSW: evil assertion takes the genuine one's place and signature; genuine hidden inside."""
    xml = idp.response(sign_response=False, sign_assertion=True)
    root = _tree(xml)
    genuine = root.find(f"{{{SAML}}}Assertion")
    assert genuine is not None
    evil = etree.fromstring(etree.tostring(genuine))
    evil.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = "admin"  # type: ignore[union-attr]
    for variant_id in ("evil", genuine.get("ID")):
        candidate = etree.fromstring(etree.tostring(evil))
        candidate.set("ID", variant_id)  # type: ignore[arg-type]
        hidden = etree.fromstring(etree.tostring(genuine))
        hidden.remove(hidden.find(f"{{{DS}}}Signature"))
        advice = etree.SubElement(candidate, f"{{{SAML}}}Advice")
        advice.append(hidden)
        doc = _tree(xml)
        doc.replace(doc.find(f"{{{SAML}}}Assertion"), candidate)
        with pytest.raises(InvalidIdentityToken, match="Response signature invalid"):
            verify(idp, _s(doc))


def test_wrapping_signed_response_moved_into_extensions(idp: SamlIdp) -> None:
    """XSW on the Response: the genuine signed Response is hidden under an evil one."""
    genuine = _tree(idp.response(sign_response=True, sign_assertion=False))
    evil = etree.fromstring(etree.tostring(genuine))
    evil.set("ID", "evil-response")
    evil.find(f"{{{SAML}}}Assertion/{{{SAML}}}Subject/{{{SAML}}}NameID").text = "admin"  # type: ignore[union-attr]
    extensions = etree.Element(f"{{{SAMLP}}}Extensions")
    signature = evil.find(f"{{{DS}}}Signature")
    assert signature is not None
    evil.insert(evil.index(signature) + 1, extensions)
    hidden = etree.fromstring(etree.tostring(genuine))
    hidden.remove(hidden.find(f"{{{DS}}}Signature"))
    extensions.append(hidden)
    with pytest.raises(InvalidIdentityToken, match="Response signature invalid"):
        verify(idp, _s(evil))


def test_comment_injection_in_name_id_does_not_truncate(idp: SamlIdp) -> None:
    """The IdP signed "alice@example.com.evil.test"; a comment must not shorten it."""
    for sign_response in (True, False):
        xml = idp.response(
            name_id="alice@example.com.evil.test",
            sign_response=sign_response,
            sign_assertion=not sign_response,
        )
        injected = xml.replace(
            ">alice@example.com.evil.test<", ">alice@example.com<!---->.evil.test<"
        )
        assert injected != xml
        assert verify(idp, injected).subject == "alice@example.com.evil.test"


def test_signature_with_sha1_is_refused(idp: SamlIdp) -> None:
    """pysaml2's default is rsa-sha1; only SHA-2 signatures are accepted."""
    response = idp.server.create_authn_response(
        default_identity(),
        None,
        "https://signin.aws.amazon.com/saml",
        "urn:amazon:webservices",
        name_id=None,
        userid="alice-id",
        sign_response=True,
        sign_assertion=True,
        sign_alg="http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        digest_alg="http://www.w3.org/2000/09/xmldsig#sha1",
    )
    with pytest.raises(InvalidIdentityToken, match="Response signature invalid"):
        verify(idp, str(response))


# --- hostile XML ------------------------------------------------------------------------------


XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" Version="2.0">&xxe;
</samlp:Response>"""

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + ']><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol9;'
    + "</samlp:Response>"
)


@pytest.mark.parametrize("doc", [XXE, LAUGHS, XXE.encode("utf-16").decode("latin-1")])
def test_dtds_and_entities_are_refused(idp: SamlIdp, doc: str) -> None:
    raw = doc.encode("latin-1") if doc.startswith("\xff\xfe") else doc.encode()
    with pytest.raises(InvalidIdentityToken, match="DTDs and entity"):
        verify_saml_response(
            base64.b64encode(raw).decode(),
            provider_arn=PROVIDER_ARN,
            provider_name=PROVIDER_NAME,
            account_id=ACCOUNT,
            metadata=parse_metadata(idp.metadata_xml()),
            now=dt.datetime.now(dt.UTC),
        )


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ("!!!not base64!!!", "base64"),
        (base64.b64encode(b"<unclosed").decode(), "well-formed"),
        (base64.b64encode(b"<a/>").decode(), "samlp:Response"),
        (base64.b64encode(b"\x00\xff\x00binary").decode(), "XML"),
    ],
)
def test_garbage_is_invalid_identity_token(idp: SamlIdp, payload: str, match: str) -> None:
    with pytest.raises(InvalidIdentityToken, match=match):
        verify_saml_response(
            payload,
            provider_arn=PROVIDER_ARN,
            provider_name=PROVIDER_NAME,
            account_id=ACCOUNT,
            metadata=parse_metadata(idp.metadata_xml()),
            now=dt.datetime.now(dt.UTC),
        )


def test_size_limit_is_a_validation_error(idp: SamlIdp) -> None:
    with pytest.raises(ValidationError, match="less than or equal to 100000"):
        verify_saml_response(
            "A" * 100_001,
            provider_arn=PROVIDER_ARN,
            provider_name=PROVIDER_NAME,
            account_id=ACCOUNT,
            metadata=parse_metadata(idp.metadata_xml()),
            now=dt.datetime.now(dt.UTC),
        )


# --- validity window, audience, recipient, issuer, replay ---------------------------------------


def test_expired_response(idp: SamlIdp) -> None:
    xml = idp.response()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with pytest.raises(ExpiredTokenException, match="Response has expired") as info:
        verify(idp, xml, now=later, max_age=dt.timedelta(days=1))
    assert info.value.code == "ExpiredTokenException" and info.value.status == 400


def test_must_be_redeemed_within_five_minutes(idp: SamlIdp) -> None:
    xml = idp.response()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)
    with pytest.raises(ExpiredTokenException, match="within 5 minutes of issuance"):
        verify(idp, xml, now=later)
    # Within the window plus the default 5-minute skew it is still fine.
    verify(idp, xml, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=9))


def test_not_yet_valid(idp: SamlIdp) -> None:
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    with pytest.raises(ExpiredTokenException, match="not yet valid"):
        verify(idp, idp.response(), now=earlier)


def test_skew_is_configurable(idp: SamlIdp) -> None:
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)
    xml = idp.response()
    verify(idp, xml, now=earlier)
    with pytest.raises(ExpiredTokenException):
        verify(idp, xml, now=earlier, clock_skew=dt.timedelta(seconds=30))


def test_expired_session_not_on_or_after(idp: SamlIdp) -> None:
    xml = idp.response(session_not_on_or_after="2001-01-01T00:00:00Z")
    with pytest.raises(ExpiredTokenException, match="expired"):
        verify(idp, xml)


def test_wrong_recipient(idp: SamlIdp) -> None:
    xml = idp.response(destination="https://evil.example/saml")
    with pytest.raises(InvalidIdentityToken, match=r"Destination|Recipient"):
        verify(idp, xml)


@pytest.mark.parametrize(
    "recipient",
    [
        "https://signin.aws.amazon.com/saml",
        "https://eu-west-1.signin.aws.amazon.com/saml",
        "https://us-gov-west-1.signin.aws.amazon.com/saml",
        "https://signin.aws.amazon.com/static/saml",
    ],
)
def test_every_aws_recipient_is_accepted(idp: SamlIdp, recipient: str) -> None:
    assert verify(idp, idp.response(destination=recipient)).audience == recipient


def test_extra_recipient_for_a_self_hosted_endpoint(idp: SamlIdp) -> None:
    url = "https://sts.internal.test/saml"
    xml = idp.response(destination=url)
    assert verify(idp, xml, extra_recipients={url}).audience == url


def _resign_assertion(idp: SamlIdp, edit: Any) -> str:
    """Take a pysaml2 response, edit its assertion, have the IdP key sign the assertion."""
    root = _tree(idp.response(sign_response=False, sign_assertion=False))
    assertion = root.find(f"{{{SAML}}}Assertion")
    assert assertion is not None
    edit(assertion)
    return _splice(root, assertion, idp.sign(_s(assertion)))


def test_resign_helper_produces_accepted_response(idp: SamlIdp) -> None:
    assert verify(idp, _resign_assertion(idp, lambda a: None)).subject == "alice-id"


def test_wrong_audience(idp: SamlIdp) -> None:
    def edit(a: etree._Element) -> None:
        a.find(f".//{{{SAML}}}Audience").text = "urn:someone:else"  # type: ignore[union-attr]

    with pytest.raises(
        InvalidIdentityToken, match=r"^Response does not contain the required audience\.$"
    ):
        verify(idp, _resign_assertion(idp, edit))


def test_missing_audience_restriction(idp: SamlIdp) -> None:
    def edit(a: etree._Element) -> None:
        conditions = a.find(f"{{{SAML}}}Conditions")
        conditions.remove(conditions.find(f"{{{SAML}}}AudienceRestriction"))  # type: ignore[union-attr]

    with pytest.raises(InvalidIdentityToken, match="required audience"):
        verify(idp, _resign_assertion(idp, edit))


def test_two_bearer_confirmations(idp: SamlIdp) -> None:
    def edit(a: etree._Element) -> None:
        subject = a.find(f"{{{SAML}}}Subject")
        confirmation = subject.find(f"{{{SAML}}}SubjectConfirmation")  # type: ignore[union-attr]
        subject.append(etree.fromstring(etree.tostring(confirmation)))  # type: ignore[union-attr]

    with pytest.raises(InvalidIdentityToken, match="exactly one bearer"):
        verify(idp, _resign_assertion(idp, edit))


def test_confirmation_without_not_on_or_after(idp: SamlIdp) -> None:
    def edit(a: etree._Element) -> None:
        data = a.find(f".//{{{SAML}}}SubjectConfirmationData")
        del data.attrib["NotOnOrAfter"]  # type: ignore[union-attr]

    with pytest.raises(InvalidIdentityToken, match="NotOnOrAfter is required"):
        verify(idp, _resign_assertion(idp, edit))


def test_missing_name_id_is_access_denied(idp: SamlIdp) -> None:
    def edit(a: etree._Element) -> None:
        subject = a.find(f"{{{SAML}}}Subject")
        subject.remove(subject.find(f"{{{SAML}}}NameID"))  # type: ignore[union-attr]

    with pytest.raises(AccessDenied, match="Not authorized to perform sts:AssumeRoleWithSAML"):
        verify(idp, _resign_assertion(idp, edit))


def test_wrong_issuer(tmp_path: Any, idp: SamlIdp) -> None:
    other = SamlIdp(tmp_path, entity_id="https://other-idp.test/saml", keys=[idp.signing])
    with pytest.raises(InvalidIdentityToken, match=r"^Issuer not present in specified provider$"):
        verify(idp, other.response())


def test_failed_status_is_idp_rejected_claim(idp: SamlIdp) -> None:
    root = _tree(idp.response(sign_response=False, sign_assertion=True))
    code = root.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusCode")
    assert code is not None
    code.set("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
    with pytest.raises(IDPRejectedClaim) as info:
        verify(idp, _s(root))
    assert info.value.status == 403 and info.value.code == "IDPRejectedClaim"


def test_replayed_assertion_id(idp: SamlIdp) -> None:
    used: set[str] = set()

    def seen(assertion_id: str) -> bool:
        if assertion_id in used:
            return True
        used.add(assertion_id)
        return False

    xml = idp.response()
    first = verify(idp, xml, seen=seen)
    assert used == {first.assertion_id}
    with pytest.raises(InvalidIdentityToken, match="already been used"):
        verify(idp, xml, seen=seen)
    # A refused response does not burn its ID.
    other = idp.response()
    with pytest.raises(ExpiredTokenException):
        verify(idp, other, seen=seen, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    assert len(used) == 1


# --- AWS attributes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "error", "match"),
    [
        ({ATTR + "RoleSessionName": []}, InvalidIdentityToken, "^RoleSessionName is required"),
        (
            {ATTR + "RoleSessionName": ["has space"]},
            InvalidIdentityToken,
            r"RoleSessionName in AuthnResponse must match \[a-zA-Z_0-9\+=,\.@-\]\{2,64\}",
        ),
        ({ATTR + "RoleSessionName": ["x" * 65]}, InvalidIdentityToken, "must match"),
        ({ATTR + "RoleSessionName": ["a", "b"]}, InvalidIdentityToken, "must match"),
        ({ATTR + "SourceIdentity": ["aws:admin"]}, InvalidIdentityToken, 'not begin with "aws:"'),
        ({ATTR + "SessionDuration": ["60"]}, InvalidIdentityToken, "SessionDuration"),
        ({ATTR + "Role": ["not,arns"]}, InvalidIdentityToken, "Role attribute"),
        (
            {ATTR + "PrincipalTag:a": ["1"], ATTR + "TransitiveTagKeys": ["b"]},
            InvalidParameterValue,
            "transitive tag key must be included",
        ),
        (
            {ATTR + "PrincipalTag:Dept": ["1"], ATTR + "PrincipalTag:dept": ["2"]},
            InvalidParameterValue,
            "Duplicate tag keys",
        ),
        ({ATTR + "PrincipalTag:aws:x": ["1"]}, InvalidIdentityToken, "PrincipalTag"),
    ],
)
def test_bad_aws_attributes(
    idp: SamlIdp, extra: dict[str, list[str]], error: type[Exception], match: str
) -> None:
    identity = default_identity(**extra)
    identity = {k: v for k, v in identity.items() if v}
    with pytest.raises(error, match=match):
        verify(idp, idp.response(identity))
