"""SAML 2.0 metadata of an identity provider (saml-metadata-2.0-os).

What AWS keeps from the document uploaded with CreateSAMLProvider: the IdP's entity ID (the
``Issuer`` responses must carry), the signing certificates (several are allowed so an IdP can
roll its key over) and ``validUntil``. Per the SAML V2.0 Metadata Interoperability Profile
(§2.4.1) the certificates are only carriers of keys: their own validity dates are not used.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from opensts.errors import InvalidInput
from opensts.federation.saml.timeutil import parse_datetime
from opensts.federation.saml.xmlsafe import parse_untrusted, qname, text_of

# IAM CreateSAMLProvider: SAMLMetadataDocument is at most 10,000,000 characters.
MAX_METADATA_CHARS = 10_000_000
# IAM: "the X.509 key must be at least 1024 bits".
MIN_RSA_BITS = 1024


@dataclass(frozen=True)
class SamlMetadata:
    """The parts of an IdP's metadata that response verification needs."""

    entity_id: str
    signing_certificates: tuple[x509.Certificate, ...]
    valid_until: datetime | None = None


def _fail(reason: str) -> InvalidInput:
    return InvalidInput(f"Could not parse metadata: {reason}")


def parse_metadata(xml: str | bytes) -> SamlMetadata:
    """Parse an IdP metadata document into :class:`SamlMetadata`.

    Accepts an ``md:EntityDescriptor`` or an ``md:EntitiesDescriptor`` holding exactly one
    entity with an ``md:IDPSSODescriptor``. Signing keys are the ``md:KeyDescriptor`` elements
    whose ``use`` is ``signing`` or absent (saml-metadata-2.0-os §2.4.1.1). Raises
    ``InvalidInput`` for anything else.
    """
    if isinstance(xml, str):
        if len(xml) > MAX_METADATA_CHARS:
            raise _fail(f"the document is longer than {MAX_METADATA_CHARS} characters")
        data = xml.encode("utf-8")
    else:
        if len(xml) > MAX_METADATA_CHARS * 4:
            raise _fail(f"the document is longer than {MAX_METADATA_CHARS} characters")
        data = xml
    if data.startswith(b"\xef\xbb\xbf"):
        raise _fail("the document must be UTF-8 without a byte order mark")
    root = parse_untrusted(data, _fail)

    valid_until = _valid_until(root)
    entity = _idp_entity(root)
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id:
        raise _fail("the EntityDescriptor has no entityID")
    if valid_until is None:
        valid_until = _valid_until(entity)

    idp = entity.find(qname("md", "IDPSSODescriptor"))
    assert idp is not None  # _idp_entity only returns entities that have one
    idp_until = _valid_until(idp)
    if idp_until is not None and (valid_until is None or idp_until < valid_until):
        valid_until = idp_until

    certificates: list[x509.Certificate] = []
    for descriptor in idp.findall(qname("md", "KeyDescriptor")):
        if descriptor.get("use", "signing") != "signing":
            continue
        for cert_el in descriptor.iterfind(f".//{qname('ds', 'X509Certificate')}"):
            certificate = _load_certificate(text_of(cert_el))
            if certificate not in certificates:
                certificates.append(certificate)
    if not certificates:
        raise _fail("the IDPSSODescriptor has no signing certificate")
    return SamlMetadata(entity_id, tuple(certificates), valid_until)


def _idp_entity(root: etree._Element) -> etree._Element:
    if root.tag == qname("md", "EntityDescriptor"):
        candidates = [root]
    elif root.tag == qname("md", "EntitiesDescriptor"):
        candidates = list(root.iter(qname("md", "EntityDescriptor")))
    else:
        raise _fail("the root element must be md:EntityDescriptor or md:EntitiesDescriptor")
    idps = [c for c in candidates if c.find(qname("md", "IDPSSODescriptor")) is not None]
    if not idps:
        raise _fail("no EntityDescriptor with an IDPSSODescriptor was found")
    if len(idps) > 1:
        raise _fail("the document describes more than one identity provider")
    return idps[0]


def _valid_until(element: etree._Element) -> datetime | None:
    value = element.get("validUntil")
    if value is None:
        return None
    return parse_datetime(value, _fail, "validUntil")


def _load_certificate(b64: str) -> x509.Certificate:
    try:
        der = base64.b64decode("".join(b64.split()), validate=True)
        certificate = x509.load_der_x509_certificate(der)
        key = certificate.public_key()
    except (binascii.Error, ValueError) as exc:
        raise _fail("an X509Certificate is not a valid base64 DER certificate") from exc
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise _fail(f"the signing key must be at least {MIN_RSA_BITS} bits")
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise _fail("the signing key must be an RSA or EC key")
    return certificate
