"""XML-DSig verification of a SAML Response or Assertion (xmldsig-core, saml-core-2.0-os §5).

signxml does the cryptography. What this module adds is the SAML shape of a valid signature:
an enveloped signature that is a direct child of the signed element and references that
element's own ``ID`` (saml-core §5.4.2), made with a key from the provider's metadata. Callers
must read only the tree returned here: signxml rebuilds it from the canonicalised bytes that
were actually digested, so wrapped or comment-split content never reaches them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cryptography.exceptions
from cryptography import x509
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from opensts.federation.errors import InvalidIdentityToken
from opensts.federation.saml.xmlsafe import make_parser, qname

SIGNATURE_INVALID = "Response signature invalid"


def has_signature(element: etree._Element) -> bool:
    """Whether ``element`` carries an enveloped signature as a direct child."""
    return element.find(qname("ds", "Signature")) is not None


def verify_signed(
    element: etree._Element, certificates: Sequence[x509.Certificate]
) -> etree._Element:
    """Verify ``element``'s enveloped signature and return the signed element only.

    Each metadata certificate is tried in turn (key rollover). The certificate in the message's
    ``KeyInfo`` is never trusted by itself. Raises ``InvalidIdentityToken`` "Response signature
    invalid" for a missing, broken or foreign signature.
    """
    element_id = element.get("ID")
    if not element_id or not has_signature(element):
        raise InvalidIdentityToken(SIGNATURE_INVALID)
    for certificate in certificates:
        config = SignatureConfiguration(
            # Only a signature that is a direct child of the element counts (saml-core §5.4.1).
            location="./",
            expect_references=1,
            # Metadata certificates carry keys; their dates do not bound key validity
            # (SAML V2.0 Metadata Interoperability Profile §2.4.1).
            verification_time=certificate.not_valid_before_utc,
            ignore_ambiguous_key_info=True,
        )
        try:
            result = XMLVerifier().verify(
                element,
                x509_cert=certificate,
                expect_config=config,
                parser=make_parser(),
                id_attribute="ID",
            )
        except (SignXMLException, cryptography.exceptions.InvalidSignature):
            continue
        except (ValueError, TypeError, KeyError, etree.LxmlError):
            # Malformed signature elements (bad base64, unknown algorithm URI) are refusals,
            # not crashes.
            continue
        signed = result.signed_xml  # type: ignore[union-attr]
        if signed is None or signed.tag != element.tag or signed.get("ID") != element_id:
            # The one reference pointed at some other element: not a signature over this one.
            continue
        return signed
    raise InvalidIdentityToken(SIGNATURE_INVALID)
