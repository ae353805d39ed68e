"""AWS's SAML attributes and the attribute → ``saml:*`` condition-key mappings.

Sources: IAM User Guide "Configure SAML assertions for the authentication response" (Role,
RoleSessionName, SessionDuration, SourceIdentity, PrincipalTag:*, TransitiveTagKeys) and
"Available keys for SAML-based AWS STS federation" (eduPerson, eduOrg, AD FS claims, X.500).
"""

from __future__ import annotations

AWS_ATTR = "https://aws.amazon.com/SAML/Attributes/"
ROLE = AWS_ATTR + "Role"
ROLE_SESSION_NAME = AWS_ATTR + "RoleSessionName"
SESSION_DURATION = AWS_ATTR + "SessionDuration"
SOURCE_IDENTITY = AWS_ATTR + "SourceIdentity"
PRINCIPAL_TAG_PREFIX = AWS_ATTR + "PrincipalTag:"
TRANSITIVE_TAG_KEYS = AWS_ATTR + "TransitiveTagKeys"

_EDU_PERSON = "urn:oid:1.3.6.1.4.1.5923.1.1.1."
_EDU_ORG = "urn:oid:1.3.6.1.4.1.5923.1.2.1."
_AD_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"

# SAML attribute Name → (condition key without the "saml:" prefix, multi-valued?).
# Multi-valued keys are the ones AWS documents as lists (to be used with ForAnyValue/ForAllValues).
CONDITION_KEY_ATTRIBUTES: dict[str, tuple[str, bool]] = {
    _EDU_PERSON + "1": ("edupersonaffiliation", True),
    _EDU_PERSON + "2": ("edupersonnickname", True),
    _EDU_PERSON + "3": ("edupersonorgdn", False),
    _EDU_PERSON + "4": ("edupersonorgunitdn", True),
    _EDU_PERSON + "5": ("edupersonprimaryaffiliation", False),
    _EDU_PERSON + "6": ("edupersonprincipalname", False),
    _EDU_PERSON + "7": ("edupersonentitlement", True),
    _EDU_PERSON + "8": ("edupersonprimaryorgunitdn", False),
    _EDU_PERSON + "9": ("edupersonscopedaffiliation", True),
    _EDU_PERSON + "10": ("edupersontargetedid", True),
    _EDU_PERSON + "11": ("edupersonassurance", True),
    _EDU_ORG + "2": ("eduorghomepageuri", True),
    _EDU_ORG + "3": ("eduorgidentityauthnpolicyuri", True),
    _EDU_ORG + "4": ("eduorglegalname", True),
    _EDU_ORG + "5": ("eduorgsuperioruri", True),
    _EDU_ORG + "6": ("eduorgwhitepagesuri", True),
    "urn:oid:2.5.4.3": ("cn", True),
    _AD_CLAIMS + "name": ("name", False),
    "http://schemas.xmlsoap.org/claims/CommonName": ("commonName", False),
    _AD_CLAIMS + "givenname": ("givenName", False),
    _AD_CLAIMS + "surname": ("surname", False),
    _AD_CLAIMS + "emailaddress": ("mail", False),
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/primarygroupsid": ("uid", False),
    # X.500 attribute types given as bare OIDs, as AWS lists them ("2.4.5.42" is AWS's
    # spelling for givenName and is kept for compatibility; the real OID is 2.5.4.42).
    "2.5.4.3": ("commonName", False),
    "2.5.4.4": ("surname", False),
    "2.4.5.42": ("givenName", False),
    "2.5.4.42": ("givenName", False),
    "2.5.4.45": ("x500UniqueIdentifier", False),
    "0.9.2342.19200300100.1.1": ("uid", False),
    "0.9.2342.19200300100.1.3": ("mail", False),
    "0.9.2342.19200300.100.1.45": ("organizationStatus", False),
}
