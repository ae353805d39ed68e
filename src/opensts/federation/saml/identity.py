"""The verified result of an AssumeRoleWithSAML assertion."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from opensts.federation.saml.attributes import CONDITION_KEY_ATTRIBUTES

NAMEID_FORMAT_PREFIX = "urn:oasis:names:tc:SAML:2.0:nameid-format:"


def name_qualifier(issuer: str, account_id: str, provider_name: str) -> str:
    """``BASE64(SHA1(Issuer + AccountId + "/" + ProviderFriendlyName))``.

    STS API reference, AssumeRoleWithSAML ``NameQualifier``: the issuer is concatenated
    directly with ``saml:doc``; the digest is the raw 20-byte SHA-1, standard base64.
    """
    material = f"{issuer}{account_id}/{provider_name}".encode()
    # SHA-1 is what the AWS formula specifies; it names a user, it protects nothing.
    return base64.b64encode(hashlib.sha1(material, usedforsecurity=False).digest()).decode()


def subject_type(name_id_format: str) -> str:
    """``SubjectType``: the NameID Format with the SAML 2.0 nameid-format prefix removed."""
    if name_id_format.startswith(NAMEID_FORMAT_PREFIX):
        return name_id_format[len(NAMEID_FORMAT_PREFIX) :]
    return name_id_format


@dataclass(frozen=True)
class SamlIdentity:
    """A SAML assertion that passed every check, reduced to what STS uses."""

    issuer: str
    subject: str
    subject_type: str
    name_qualifier: str
    audience: str
    assertion_id: str
    provider_arn: str
    account_id: str
    provider_name: str
    role_pairs: tuple[tuple[str, str], ...]
    session_name: str
    not_on_or_after: datetime
    session_duration: int | None = None
    session_not_on_or_after: datetime | None = None
    source_identity: str | None = None
    principal_tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def has_role_pair(self, role_arn: str, principal_arn: str) -> bool:
        """Whether the assertion's Role attribute lists this role with this provider."""
        return (role_arn, principal_arn) in self.role_pairs

    @property
    def doc(self) -> str:
        """``saml:doc``: ``<account-id>/<provider-friendly-name>``."""
        return f"{self.account_id}/{self.provider_name}"

    def condition_keys(self) -> dict[str, str | list[str]]:
        """The ``saml:*`` keys available in the role trust policy.

        IAM User Guide, "Available keys for SAML-based AWS STS federation": ``saml:aud`` is the
        SubjectConfirmationData Recipient, not the AudienceRestriction. Attribute-mapped keys
        follow :data:`CONDITION_KEY_ATTRIBUTES`; when two attributes map to one key, the first
        one in that table wins ("only one claim will be mapped").
        """
        keys: dict[str, str | list[str]] = {
            "saml:aud": self.audience,
            "saml:iss": self.issuer,
            "saml:sub": self.subject,
            "saml:sub_type": self.subject_type,
            "saml:doc": self.doc,
            "saml:namequalifier": self.name_qualifier,
        }
        for attribute_name, (key, multi) in CONDITION_KEY_ATTRIBUTES.items():
            values = self.attributes.get(attribute_name)
            name = f"saml:{key}"
            if not values or name in keys:
                continue
            keys[name] = list(values) if multi else values[0]
        return keys
