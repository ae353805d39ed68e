"""A real SAML IdP for tests: pysaml2's ``saml2.server.Server`` signing with xmlsec1.

It issues Responses to AWS's service provider (entity ``urn:amazon:webservices``, ACS
``https://signin.aws.amazon.com/saml``), the way Okta, AD FS or Keycloak would.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

from lxml import etree
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.sigver import pre_encryption_part
from signxml import XMLSigner, methods

from .pki import KeyPair, self_signed

AWS_ACS = "https://signin.aws.amazon.com/saml"
ACCOUNT = "123456789012"
PROVIDER_NAME = "TestIdP"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/{PROVIDER_NAME}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/FederatedDev"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
AES128_CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"

AWS_SP_METADATA = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
  entityID="urn:amazon:webservices">
 <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"
   WantAssertionsSigned="true">
  <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
  <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    Location="{AWS_ACS}" index="1" isDefault="true"/>
 </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def default_identity(**extra: list[str]) -> dict[str, list[str]]:
    identity = {
        "https://aws.amazon.com/SAML/Attributes/Role": [f"{ROLE_ARN},{PROVIDER_ARN}"],
        "https://aws.amazon.com/SAML/Attributes/RoleSessionName": ["alice"],
    }
    identity.update(extra)
    return identity


class SamlIdp:
    """One IdP entity; ``keys`` beyond the first only appear in metadata (rollover)."""

    def __init__(
        self,
        workdir: Path,
        *,
        entity_id: str = "https://idp.example.test/saml",
        keys: list[KeyPair] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.entity_id = entity_id
        self.keys = keys or [self_signed("idp signing")]
        self.signing = self.keys[0]
        (workdir / "idp.key").write_text(self.signing.key_pem)
        (workdir / "idp.crt").write_text(self.signing.cert_pem)
        self.workdir = workdir
        conf: dict[str, Any] = {
            "entityid": entity_id,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            ("https://idp.example.test/sso", BINDING_HTTP_REDIRECT)
                        ]
                    },
                    "policy": {
                        "default": {"lifetime": {"minutes": 15}, "name_form": NAME_FORMAT_URI}
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                }
            },
            "key_file": str(workdir / "idp.key"),
            "cert_file": str(workdir / "idp.crt"),
            "metadata": {"inline": [AWS_SP_METADATA]},
            "xmlsec_binary": shutil.which("xmlsec1"),
            "signing_algorithm": RSA_SHA256,
            "digest_algorithm": SHA256,
            "delete_tmpfiles": True,
        }
        self.config = IdPConfig().load(conf)
        self.server = Server(config=self.config)

    def metadata_xml(self) -> str:
        """The IdP's metadata as pysaml2 publishes it, with every rollover key added."""
        xml = entity_descriptor(self.config).to_string().decode()
        if len(self.keys) == 1:
            return xml
        root = etree.fromstring(xml.encode())
        md = "urn:oasis:names:tc:SAML:2.0:metadata"
        ds = "http://www.w3.org/2000/09/xmldsig#"
        idp = root.find(f"{{{md}}}IDPSSODescriptor")
        assert idp is not None
        for pair in self.keys[1:]:
            descriptor = etree.SubElement(idp, f"{{{md}}}KeyDescriptor", use="signing")
            info = etree.SubElement(descriptor, f"{{{ds}}}KeyInfo")
            data = etree.SubElement(info, f"{{{ds}}}X509Data")
            etree.SubElement(data, f"{{{ds}}}X509Certificate").text = pair.cert_b64
            idp.insert(0, descriptor)
        return etree.tostring(root).decode()

    def response(
        self,
        identity: dict[str, list[str]] | None = None,
        *,
        name_id: str = "alice-id",
        name_id_format: str = NAMEID_FORMAT_PERSISTENT,
        destination: str = AWS_ACS,
        sign_response: bool = True,
        sign_assertion: bool = True,
        encrypt_cert: str | None = None,
        encrypt_alg: str = AES256_GCM,
        pysaml2_encryption: bool = False,
        session_not_on_or_after: str | None = None,
    ) -> str:
        """A serialized ``samlp:Response`` produced by pysaml2."""
        kwargs: dict[str, Any] = {}
        if pysaml2_encryption:
            kwargs.update(encrypt_assertion=True, encrypt_cert_assertion=encrypt_cert)
        response = self.server.create_authn_response(
            identity if identity is not None else default_identity(),
            None,
            destination,
            "urn:amazon:webservices",
            name_id=NameID(format=name_id_format, text=name_id),
            sign_response=sign_response and not (encrypt_cert and not pysaml2_encryption),
            sign_assertion=sign_assertion,
            session_not_on_or_after=session_not_on_or_after,
            authn={
                "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                "authn_auth": "https://idp.example.test/login",
            },
            sign_alg=RSA_SHA256,
            digest_alg=SHA256,
            **kwargs,
        )
        xml = str(response)
        if encrypt_cert and not pysaml2_encryption:
            # pysaml2's own path hardwires 3DES; AWS decrypts AES-CBC/AES-GCM, so drive the
            # same xmlsec1 backend with an AES template.
            cert_file = self.workdir / "sp-enc.crt"
            cert_file.write_text(encrypt_cert)
            body = "".join(encrypt_cert.strip().splitlines()[1:-1])
            key_type = {AES256_GCM: "aes-256", AES128_CBC: "aes-128"}[encrypt_alg]
            xml = self.server.sec.encrypt_assertion(
                _wrap_for_encryption(xml),
                str(cert_file),
                pre_encryption_part(msg_enc=encrypt_alg, encrypt_cert=body),
                key_type=key_type,
            )
            if sign_response:
                xml = self.sign(xml)
        return xml

    def sign(self, xml: str | bytes, *, key: KeyPair | None = None) -> str:
        """Enveloped-sign the root element (placed after its Issuer, as saml-core §5 wants)."""
        pair = key or self.signing
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
        for old in root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature"):
            root.remove(old)
        placeholder = etree.Element(
            "{http://www.w3.org/2000/09/xmldsig#}Signature", Id="placeholder"
        )
        issuer = root.find("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer")
        root.insert(root.index(issuer) + 1 if issuer is not None else 0, placeholder)
        signed = XMLSigner(
            method=methods.enveloped,
            signature_algorithm="rsa-sha256",
            digest_algorithm="sha256",
            c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
        ).sign(root, key=pair.key_pem, cert=pair.cert_pem, reference_uri=root.get("ID"))
        return etree.tostring(signed).decode()


def _wrap_for_encryption(xml: str) -> str:
    """Move the Assertion into an EncryptedAssertion, where xmlsec1's template expects it."""
    saml = "urn:oasis:names:tc:SAML:2.0:assertion"
    root = etree.fromstring(xml.encode())
    assertion = root.find(f"{{{saml}}}Assertion")
    assert assertion is not None
    wrapper = etree.Element(f"{{{saml}}}EncryptedAssertion")
    root.replace(assertion, wrapper)
    wrapper.append(assertion)
    return etree.tostring(root).decode()


def b64(xml: str | bytes) -> str:
    return base64.b64encode(xml.encode() if isinstance(xml, str) else xml).decode()
