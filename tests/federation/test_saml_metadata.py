from __future__ import annotations

from pathlib import Path

import pytest

from opensts.errors import InvalidInput
from opensts.federation.saml import parse_metadata

from .pki import self_signed
from .saml_idp import SamlIdp


def test_pysaml2_metadata_is_parsed(idp: SamlIdp) -> None:
    md = parse_metadata(idp.metadata_xml())
    assert md.entity_id == "https://idp.example.test/saml"
    assert md.signing_certificates == (idp.signing.cert,)
    assert md.valid_until is None


def test_rollover_keeps_every_signing_certificate(tmp_path: Path) -> None:
    old, new = self_signed("old"), self_signed("new")
    idp = SamlIdp(tmp_path, keys=[new, old])
    md = parse_metadata(idp.metadata_xml())
    assert set(md.signing_certificates) == {old.cert, new.cert}


def test_valid_until_and_entities_descriptor(idp: SamlIdp) -> None:
    inner = idp.metadata_xml()
    inner = inner[inner.index("<ns0:EntityDescriptor") :] if "<?xml" in inner else inner
    doc = (
        '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'validUntil="2030-01-02T03:04:05Z">' + inner + "</md:EntitiesDescriptor>"
    )
    md = parse_metadata(doc)
    assert md.entity_id == idp.entity_id
    assert md.valid_until is not None and md.valid_until.year == 2030


def _md(body: str) -> str:
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.test">'
        + body
        + "</md:EntityDescriptor>"
    )


def _idp_with(cert_b64: str, use: str = "signing") -> str:
    return _md(
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f'<md:KeyDescriptor use="{use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f"{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        "</md:IDPSSODescriptor>"
    )


def test_encryption_only_key_is_not_a_signing_key() -> None:
    with pytest.raises(InvalidInput, match="no signing certificate"):
        parse_metadata(_idp_with(self_signed("x").cert_b64, use="encryption"))


def test_key_without_use_is_a_signing_key() -> None:
    pair = self_signed("x")
    doc = _idp_with(pair.cert_b64).replace(' use="signing"', "")
    assert parse_metadata(doc).signing_certificates == (pair.cert,)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ("<not-closed", "not well-formed"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTD"),
        (
            '<!DOCTYPE md SYSTEM "http://127.0.0.1:9/evil.dtd">'
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>',
            "DTD",
        ),
        ('<md:Foo xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>', "root element"),
        (_md(""), "IDPSSODescriptor"),
        (_idp_with("not base64!"), "X509Certificate"),
        (_idp_with("AAAA"), "X509Certificate"),
    ],
)
def test_bad_metadata_is_invalid_input(doc: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as info:
        parse_metadata(doc)
    assert info.value.code == "InvalidInput" and info.value.status == 400
    assert info.value.message.startswith("Could not parse metadata")


def test_dsa_key_is_refused() -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import dsa
    from cryptography.x509.oid import NameOID

    key = dsa.generate_private_key(2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsa")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der_b64 = "".join(cert.public_bytes(serialization.Encoding.PEM).decode().splitlines()[1:-1])
    with pytest.raises(InvalidInput, match="RSA or EC"):
        parse_metadata(_idp_with(der_b64))


def test_missing_entity_id() -> None:
    doc = _idp_with(self_signed("x").cert_b64).replace('entityID="https://idp.test"', "")
    with pytest.raises(InvalidInput, match="entityID"):
        parse_metadata(doc)
