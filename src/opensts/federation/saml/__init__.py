"""SAML 2.0 Web Browser SSO responses for AssumeRoleWithSAML.

Implements the checks of saml-profiles-2.0-os §4.1.4.3 (bearer subject confirmation, audience,
recipient, validity window, one-time use) as AWS applies them (IAM User Guide,
"Configure SAML assertions for the authentication response"), plus XML-DSig verification with
signxml and XML-Enc decryption of ``EncryptedAssertion`` (AssertionEncryptionMode).
"""

from opensts.federation.saml.identity import SamlIdentity, name_qualifier
from opensts.federation.saml.metadata import SamlMetadata, parse_metadata
from opensts.federation.saml.response import verify_saml_response

__all__ = [
    "SamlIdentity",
    "SamlMetadata",
    "name_qualifier",
    "parse_metadata",
    "verify_saml_response",
]
