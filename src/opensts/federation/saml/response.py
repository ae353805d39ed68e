"""Verification of the base64 ``samlp:Response`` passed to AssumeRoleWithSAML.

Order of checks: size, base64, hardened parse, status, signature (Response or Assertion),
decryption, then every rule of saml-profiles-2.0-os §4.1.4.3 and of the IAM User Guide
("Configure SAML assertions for the authentication response") on the signed content only,
and last the caller's replay check so that refused responses never burn an assertion ID.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from opensts.errors import AccessDenied, InvalidParameterValue, ValidationError
from opensts.federation.errors import ExpiredTokenException, IDPRejectedClaim, InvalidIdentityToken
from opensts.federation.saml import attributes as attr
from opensts.federation.saml.encryption import decrypt_assertion, load_private_keys
from opensts.federation.saml.identity import SamlIdentity, name_qualifier, subject_type
from opensts.federation.saml.metadata import SamlMetadata
from opensts.federation.saml.signature import has_signature, verify_signed
from opensts.federation.saml.timeutil import parse_datetime
from opensts.federation.saml.xmlsafe import parse_untrusted, qname, text_of

# STS model: SAMLAssertion is 4..100000 characters (IAM quotas: "SAML authentication response
# base64 encoded: 100,000 characters").
MAX_ASSERTION_CHARS = 100_000
MIN_ASSERTION_CHARS = 4
AWS_AUDIENCE = "urn:amazon:webservices"
DEFAULT_SKEW = timedelta(minutes=5)
# ExpiredTokenException "Token must be redeemed within 5 minutes of issuance" (observed STS).
DEFAULT_MAX_AGE = timedelta(minutes=5)
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
UNSPECIFIED_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

_RECIPIENTS = frozenset(
    {
        "https://signin.aws.amazon.com/saml",
        "https://signin.aws.amazon.com/static/saml",
    }
)
_REGIONAL_RECIPIENT = re.compile(r"https://[a-z]{2}(?:-[a-z]+)+-\d+\.signin\.aws\.amazon\.com/saml")
_SESSION_NAME = re.compile(r"[a-zA-Z_0-9+=,.@-]{2,64}")
_TAG_KEY = re.compile(r"[\w\s.:/=+\-@]{1,128}")
_TAG_VALUE = re.compile(r"[\w\s.:/=+\-@]{0,256}")
_ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/.+")
_SAML_PROVIDER_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:saml-provider/[\w.-]+")
MAX_SESSION_TAGS = 50

MSG_SESSION_NAME_REQUIRED = "RoleSessionName is required in AuthnResponse"
MSG_SESSION_NAME_INVALID = "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"
MSG_SOURCE_IDENTITY = (
    'Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"'
)
MSG_ISSUER = "Issuer not present in specified provider"
MSG_AUDIENCE = "Response does not contain the required audience."
MSG_EXPIRED = "Response has expired"
MSG_NOT_YET_VALID = "Response is not yet valid"
MSG_TOO_OLD = "Token must be redeemed within 5 minutes of issuance"
MSG_NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithSAML"


def is_aws_recipient(url: str) -> bool:
    """Whether ``url`` is an AWS sign-in SAML endpoint (global, regional or ``/static``)."""
    return url in _RECIPIENTS or _REGIONAL_RECIPIENT.fullmatch(url) is not None


def _invalid(reason: str) -> InvalidIdentityToken:
    return InvalidIdentityToken(f"Invalid SAML response: {reason}")


def verify_saml_response(
    saml_assertion_b64: str,
    *,
    provider_arn: str,
    provider_name: str,
    account_id: str,
    metadata: SamlMetadata,
    decryption_keys: Sequence[str | bytes] = (),
    now: datetime,
    seen: Callable[[str], bool] | None = None,
    require_encryption: bool = False,
    clock_skew: timedelta = DEFAULT_SKEW,
    max_age: timedelta = DEFAULT_MAX_AGE,
    extra_recipients: Collection[str] = (),
) -> SamlIdentity:
    """Verify an AssumeRoleWithSAML ``SAMLAssertion`` and return the identity it asserts.

    ``decryption_keys`` are the provider's PEM private keys; ``require_encryption`` is
    AssertionEncryptionMode ``Required``. ``seen(assertion_id)`` returns True when the ID was
    already used (AWS itself accepts a response again within its validity window, so replay
    refusal is the caller's choice). ``now`` must be timezone-aware.
    """
    if len(saml_assertion_b64) > MAX_ASSERTION_CHARS:
        raise ValidationError(
            "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_ASSERTION_CHARS}"
        )
    if len(saml_assertion_b64) < MIN_ASSERTION_CHARS:
        raise ValidationError(
            "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy "
            f"constraint: Member must have length greater than or equal to {MIN_ASSERTION_CHARS}"
        )
    try:
        raw = base64.b64decode("".join(saml_assertion_b64.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid("the assertion is not valid base64") from exc

    response = parse_untrusted(raw, _invalid)
    if response.tag != qname("samlp", "Response"):
        raise _invalid("the document is not a samlp:Response")
    if response.get("Version") != "2.0":
        raise _invalid("only SAML 2.0 responses are supported")
    _check_status(response)

    certificates = metadata.signing_certificates
    if has_signature(response):
        # Exclusive canonicalisation drops namespace declarations that only the ciphertext
        # uses; keep the received document's ones as context for the decrypted plaintext.
        received = _single_assertion(response)
        response = verify_signed(response, certificates)
        assertion = _single_assertion(response)
        if assertion.tag == qname("saml", "EncryptedAssertion"):
            assertion = decrypt_assertion(assertion, _keys(decryption_keys), received.nsmap)
        elif require_encryption:
            raise _invalid("the assertion must be encrypted")
    else:
        assertion = _single_assertion(response)
        if assertion.tag == qname("saml", "EncryptedAssertion"):
            assertion = decrypt_assertion(assertion, _keys(decryption_keys), assertion.nsmap)
        elif require_encryption:
            raise _invalid("the assertion must be encrypted")
        assertion = verify_signed(assertion, certificates)

    recipients = frozenset(extra_recipients)
    destination = response.get("Destination")
    if destination is not None and not (is_aws_recipient(destination) or destination in recipients):
        raise _invalid("the response Destination is not an AWS sign-in endpoint")
    response_issuer = response.find(qname("saml", "Issuer"))
    if response_issuer is not None and text_of(response_issuer) != metadata.entity_id:
        raise InvalidIdentityToken(MSG_ISSUER)

    return _read_assertion(
        assertion,
        provider_arn=provider_arn,
        provider_name=provider_name,
        account_id=account_id,
        metadata=metadata,
        now=now,
        seen=seen,
        skew=clock_skew,
        max_age=max_age,
        recipients=recipients,
    )


def _keys(pems: Sequence[str | bytes]) -> list[rsa.RSAPrivateKey]:
    try:
        return load_private_keys(pems)
    except (ValueError, TypeError) as exc:
        raise _invalid("the provider's decryption key could not be loaded") from exc


def _check_status(response: etree._Element) -> None:
    status = response.find(qname("samlp", "Status"))
    code = status.find(qname("samlp", "StatusCode")) if status is not None else None
    value = code.get("Value") if code is not None else None
    if value != STATUS_SUCCESS:
        raise IDPRejectedClaim(
            f"The identity provider did not report success: {value or 'no status'}"
        )


def _single_assertion(response: etree._Element) -> etree._Element:
    found = [
        child
        for child in response
        if child.tag in (qname("saml", "Assertion"), qname("saml", "EncryptedAssertion"))
    ]
    if len(found) != 1:
        raise _invalid("the response must contain exactly one assertion")
    return found[0]


def _time(value: str | None, what: str) -> datetime | None:
    return None if value is None else parse_datetime(value, _invalid, what)


def _read_assertion(
    assertion: etree._Element,
    *,
    provider_arn: str,
    provider_name: str,
    account_id: str,
    metadata: SamlMetadata,
    now: datetime,
    seen: Callable[[str], bool] | None,
    skew: timedelta,
    max_age: timedelta,
    recipients: frozenset[str],
) -> SamlIdentity:
    if assertion.get("Version") != "2.0":
        raise _invalid("only SAML 2.0 assertions are supported")
    assertion_id = assertion.get("ID") or ""
    if text_of(assertion.find(qname("saml", "Issuer"))) != metadata.entity_id:
        raise InvalidIdentityToken(MSG_ISSUER)

    issued = _time(assertion.get("IssueInstant"), "IssueInstant")
    if issued is None:
        raise _invalid("the assertion has no IssueInstant")
    if now + skew < issued:
        raise ExpiredTokenException(MSG_NOT_YET_VALID)
    if now - skew > issued + max_age:
        raise ExpiredTokenException(MSG_TOO_OLD)

    subject_el = assertion.find(qname("saml", "Subject"))
    name_ids = subject_el.findall(qname("saml", "NameID")) if subject_el is not None else []
    if len(name_ids) != 1 or not text_of(name_ids[0]):
        raise AccessDenied(MSG_NOT_AUTHORIZED)
    name_id = name_ids[0]
    subject = text_of(name_id)
    format_ = name_id.get("Format") or UNSPECIFIED_FORMAT

    assert subject_el is not None
    recipient, confirmation_expiry = _bearer_confirmation(subject_el, now, skew, recipients)
    not_on_or_after = _conditions(assertion, now, skew)
    if not_on_or_after is None or confirmation_expiry < not_on_or_after:
        not_on_or_after = confirmation_expiry

    attributes = _attributes(assertion)
    session_name = _session_name(attributes)
    session_duration = _session_duration(attributes)
    source_identity = _source_identity(attributes)
    tags, transitive = _tags(attributes)
    role_pairs = _role_pairs(attributes)

    session_end: datetime | None = None
    for statement in assertion.findall(qname("saml", "AuthnStatement")):
        value = _time(statement.get("SessionNotOnOrAfter"), "SessionNotOnOrAfter")
        if value is not None and (session_end is None or value < session_end):
            session_end = value
    if session_end is not None and session_end <= now - skew:
        raise ExpiredTokenException(MSG_EXPIRED)

    if seen is not None and seen(assertion_id):
        raise _invalid("the assertion has already been used")

    return SamlIdentity(
        issuer=metadata.entity_id,
        subject=subject,
        subject_type=subject_type(format_),
        name_qualifier=name_qualifier(metadata.entity_id, account_id, provider_name),
        audience=recipient,
        assertion_id=assertion_id,
        provider_arn=provider_arn,
        account_id=account_id,
        provider_name=provider_name,
        role_pairs=role_pairs,
        session_name=session_name,
        not_on_or_after=not_on_or_after,
        session_duration=session_duration,
        session_not_on_or_after=session_end,
        source_identity=source_identity,
        principal_tags=tags,
        transitive_tag_keys=transitive,
        attributes=attributes,
    )


def _bearer_confirmation(
    subject: etree._Element, now: datetime, skew: timedelta, recipients: frozenset[str]
) -> tuple[str, datetime]:
    """The one bearer SubjectConfirmation's Recipient and NotOnOrAfter (profiles §4.1.4.2)."""
    confirmations = [
        c
        for c in subject.findall(qname("saml", "SubjectConfirmation"))
        if c.get("Method") == BEARER
    ]
    if len(confirmations) != 1:
        raise _invalid("exactly one bearer SubjectConfirmation is required")
    data = confirmations[0].find(qname("saml", "SubjectConfirmationData"))
    if data is None:
        raise _invalid("SubjectConfirmationData is required")
    recipient = (data.get("Recipient") or "").strip()
    if not (is_aws_recipient(recipient) or recipient in recipients):
        raise _invalid("SubjectConfirmationData Recipient is not an AWS sign-in endpoint")
    expiry = _time(data.get("NotOnOrAfter"), "NotOnOrAfter")
    if expiry is None:
        raise _invalid("SubjectConfirmationData NotOnOrAfter is required")
    if expiry <= now - skew:
        raise ExpiredTokenException(MSG_EXPIRED)
    not_before = _time(data.get("NotBefore"), "NotBefore")
    if not_before is not None and now + skew < not_before:
        raise ExpiredTokenException(MSG_NOT_YET_VALID)
    return recipient, expiry


def _conditions(assertion: etree._Element, now: datetime, skew: timedelta) -> datetime | None:
    conditions = assertion.find(qname("saml", "Conditions"))
    if conditions is None:
        raise InvalidIdentityToken(MSG_AUDIENCE)
    not_before = _time(conditions.get("NotBefore"), "NotBefore")
    if not_before is not None and now + skew < not_before:
        raise ExpiredTokenException(MSG_NOT_YET_VALID)
    not_on_or_after = _time(conditions.get("NotOnOrAfter"), "NotOnOrAfter")
    if not_on_or_after is not None and not_on_or_after <= now - skew:
        raise ExpiredTokenException(MSG_EXPIRED)
    # Every AudienceRestriction must name us (saml-core §2.5.1.4), and at least one must exist.
    restrictions = conditions.findall(qname("saml", "AudienceRestriction"))
    if not restrictions:
        raise InvalidIdentityToken(MSG_AUDIENCE)
    for restriction in restrictions:
        audiences = {text_of(a) for a in restriction.findall(qname("saml", "Audience"))}
        if AWS_AUDIENCE not in audiences:
            raise InvalidIdentityToken(MSG_AUDIENCE)
    return not_on_or_after


def _attributes(assertion: etree._Element) -> dict[str, tuple[str, ...]]:
    values: dict[str, list[str]] = {}
    for statement in assertion.findall(qname("saml", "AttributeStatement")):
        for attribute in statement.findall(qname("saml", "Attribute")):
            name = attribute.get("Name")
            if not name:
                continue
            bucket = values.setdefault(name, [])
            for value in attribute.findall(qname("saml", "AttributeValue")):
                bucket.append(text_of(value))
    return {name: tuple(v) for name, v in values.items()}


def _session_name(attributes: dict[str, tuple[str, ...]]) -> str:
    values = attributes.get(attr.ROLE_SESSION_NAME)
    if not values:
        raise InvalidIdentityToken(MSG_SESSION_NAME_REQUIRED)
    if len(values) != 1 or not _SESSION_NAME.fullmatch(values[0]):
        raise InvalidIdentityToken(MSG_SESSION_NAME_INVALID)
    return values[0]


def _session_duration(attributes: dict[str, tuple[str, ...]]) -> int | None:
    values = attributes.get(attr.SESSION_DURATION)
    if not values:
        return None
    text = values[0]
    if len(values) != 1 or not text.isdecimal() or not 900 <= int(text) <= 43200:
        raise InvalidIdentityToken(
            "SessionDuration in AuthnResponse must be an integer between 900 and 43200"
        )
    return int(text)


def _source_identity(attributes: dict[str, tuple[str, ...]]) -> str | None:
    values = attributes.get(attr.SOURCE_IDENTITY)
    if not values:
        return None
    value = values[0]
    if len(values) != 1 or not _SESSION_NAME.fullmatch(value) or value.lower().startswith("aws:"):
        raise InvalidIdentityToken(MSG_SOURCE_IDENTITY)
    return value


def _tags(attributes: dict[str, tuple[str, ...]]) -> tuple[dict[str, str], tuple[str, ...]]:
    tags: dict[str, str] = {}
    lowered: set[str] = set()
    for name, values in attributes.items():
        if not name.startswith(attr.PRINCIPAL_TAG_PREFIX):
            continue
        key = name[len(attr.PRINCIPAL_TAG_PREFIX) :]
        if not _TAG_KEY.fullmatch(key) or key.lower().startswith("aws:"):
            raise InvalidIdentityToken(f"PrincipalTag key in AuthnResponse is invalid: {key}")
        if len(values) != 1:
            raise InvalidIdentityToken(
                f"PrincipalTag:{key} in AuthnResponse must have exactly one value"
            )
        if not _TAG_VALUE.fullmatch(values[0]) or values[0].lower().startswith("aws:"):
            raise InvalidIdentityToken(f"PrincipalTag:{key} value in AuthnResponse is invalid")
        if key.lower() in lowered:
            raise InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        lowered.add(key.lower())
        tags[key] = values[0]
    if len(tags) > MAX_SESSION_TAGS:
        raise InvalidIdentityToken(
            f"AuthnResponse carries more than {MAX_SESSION_TAGS} PrincipalTag attributes"
        )
    transitive = tuple(dict.fromkeys(attributes.get(attr.TRANSITIVE_TAG_KEYS, ())))
    for key in transitive:
        if key.lower() not in lowered:
            raise InvalidParameterValue(
                "The specified transitive tag key must be included in the requested tags."
            )
    return tags, transitive


def _role_pairs(attributes: dict[str, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    """``(role_arn, provider_arn)`` pairs from the Role attribute, in either written order."""
    pairs: list[tuple[str, str]] = []
    for value in attributes.get(attr.ROLE, ()):
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 2:
            continue
        first, second = parts
        if _ROLE_ARN.fullmatch(first) and _SAML_PROVIDER_ARN.fullmatch(second):
            pair = (first, second)
        elif _ROLE_ARN.fullmatch(second) and _SAML_PROVIDER_ARN.fullmatch(first):
            pair = (second, first)
        else:
            continue
        if pair not in pairs:
            pairs.append(pair)
    if not pairs:
        raise _invalid("the Role attribute must list at least one role and provider ARN pair")
    return tuple(pairs)
