"""ValidatePolicy's findings: AWS's finding types, issue codes and learn-more links.

The issue codes are those of the IAM User Guide's "IAM policy validation check reference"
(access-analyzer-reference-policy-checks): each check's heading in upper snake case
("Error – Missing action" is ``MISSING_ACTION``), with its finding type, and a
``learnMoreLink`` to the heading's anchor on that page. The ``details`` texts follow the
page's "In programmatic calls to the AWS CLI or AWS API" messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from opensts.analyzer.spans import Position, Span

ERROR = "ERROR"
SECURITY_WARNING = "SECURITY_WARNING"
WARNING = "WARNING"
SUGGESTION = "SUGGESTION"

_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html"
_ANCHOR_KIND = {
    ERROR: "error",
    SECURITY_WARNING: "security-warning",
    WARNING: "general-warning",
    SUGGESTION: "suggestion",
}

#: Every issue code this server reports, with its finding type (the page's heading kind).
CODES: dict[str, str] = {
    # errors
    "JSON_SYNTAX_ERROR": ERROR,
    "DATA_TYPE_MISMATCH": ERROR,
    "INVALID_POLICY_ELEMENT": ERROR,
    "INVALID_VERSION": ERROR,
    "MISSING_STATEMENT": ERROR,
    "MISSING_EFFECT": ERROR,
    "INVALID_EFFECT": ERROR,
    "MISSING_ACTION": ERROR,
    "MISSING_RESOURCE": ERROR,
    "MISSING_PRINCIPAL": ERROR,
    "UNSUPPORTED_PRINCIPAL": ERROR,
    "UNSUPPORTED_ELEMENT_COMBINATION": ERROR,
    "UNIQUE_SIDS_REQUIRED": ERROR,
    "UNSUPPORTED_SID": ERROR,
    "INVALID_ACTION": ERROR,
    "INVALID_SERVICE_IN_ACTION": ERROR,
    "INVALID_CONDITION_OPERATOR": ERROR,
    "NULL_WITH_IF_EXISTS": ERROR,
    "INVALID_CONDITION_KEY_FORMAT": ERROR,
    "DUPLICATE_KEYS_WITH_DIFFERENT_CASE": ERROR,
    "INVALID_GLOBAL_CONDITION_KEY": ERROR,
    "INVALID_SERVICE_CONDITION_KEY": ERROR,
    "INVALID_PRINCIPAL_FORMAT": ERROR,
    "INVALID_PRINCIPAL_KEY": ERROR,
    "UNSUPPORTED_WILDCARD_IN_PRINCIPAL": ERROR,
    "INVALID_ARN_PREFIX": ERROR,
    "MISSING_ARN_FIELD": ERROR,
    "INVALID_PARTITION": ERROR,
    "ARN_REGION_NOT_ALLOWED": ERROR,
    "INVALID_ARN_ACCOUNT": ERROR,
    "INVALID_ARN_SERVICE_CASE": ERROR,
    "INVALID_ARN_RESOURCE": ERROR,
    "ARN_ACCOUNT_NOT_ALLOWED": ERROR,
    "INVALID_SERVICE": ERROR,
    "VARIABLE_UNSUPPORTED_IN_VERSION": ERROR,
    "SCP_SYNTAX_ERROR_PRINCIPAL": ERROR,
    "ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL": ERROR,
    "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE": ERROR,
    "UNSUPPORTED_ACTION_IN_POLICY": ERROR,
    "UNSUPPORTED_RESOURCE_ARN_IN_POLICY": ERROR,
    "PRIVATE_IP_ADDRESS": ERROR,
    "PRIVATE_NOT_IP_ADDRESS": ERROR,
    # general warnings
    "MISSING_VERSION": WARNING,
    "UNIQUE_SIDS_RECOMMENDED": WARNING,
    "WILDCARD_WITHOUT_LIKE_OPERATOR": WARNING,
    "TYPE_MISMATCH_BOOLEAN": WARNING,
    "TYPE_MISMATCH_DATE": WARNING,
    "TYPE_MISMATCH_IP_RANGE": WARNING,
    "TYPE_MISMATCH_NUMBER": WARNING,
    "TYPE_MISMATCH_STRING": WARNING,
    "POLICY_SIZE_EXCEEDS_IDENTITY_POLICY_QUOTA": WARNING,
    "POLICY_SIZE_EXCEEDS_ROLE_TRUST_POLICY_QUOTA": WARNING,
    # security warnings
    "ALLOW_WITH_NOT_PRINCIPAL": SECURITY_WARNING,
    "FORALLVALUES_WITH_SINGLE_VALUED_KEY": SECURITY_WARNING,
    "PASS_ROLE_WITH_NOT_RESOURCE": SECURITY_WARNING,
    "PASS_ROLE_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE": SECURITY_WARNING,
    "PASS_ROLE_WITH_NOT_ACTION_AND_NOT_RESOURCE": SECURITY_WARNING,
    "PASS_ROLE_WITH_STAR_IN_RESOURCE": SECURITY_WARNING,
    "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE": SECURITY_WARNING,
    "PASS_ROLE_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION": SECURITY_WARNING,
    "MISSING_CONDITION_KEY_FOR_OIDC_PRINCIPAL": SECURITY_WARNING,
    "MISSING_GITHUB_REPO_CONDITION_KEY": SECURITY_WARNING,
    # suggestions
    "EMPTY_ARRAY_ACTION": SUGGESTION,
    "EMPTY_ARRAY_RESOURCE": SUGGESTION,
    "EMPTY_ARRAY_PRINCIPAL": SUGGESTION,
    "EMPTY_ARRAY_CONDITION": SUGGESTION,
    "EMPTY_ARRAY_CONDITION_FORALLVALUES": SUGGESTION,
    "EMPTY_ARRAY_CONDITION_FORANYVALUE": SUGGESTION,
    "EMPTY_ARRAY_CONDITION_IFEXISTS": SUGGESTION,
    "EMPTY_OBJECT_CONDITION": SUGGESTION,
    "EMPTY_OBJECT_PRINCIPAL": SUGGESTION,
    "EMPTY_SID_VALUE": SUGGESTION,
    "NULL_WITH_QUALIFIER": SUGGESTION,
    "REDUNDANT_ACTION": SUGGESTION,
    "REDUNDANT_RESOURCE": SUGGESTION,
    "WILDCARD_IN_SERVICE_NAME": SUGGESTION,
    "PRIVATE_IP_ADDRESS_SUBSET": SUGGESTION,
    "PRIVATE_NOT_IP_ADDRESS_SUBSET": SUGGESTION,
    "IMPROVE_IP_RANGE": SUGGESTION,
    "REDUNDANT_STATEMENT": SUGGESTION,
}


def learn_more_link(code: str) -> str:
    kind = _ANCHOR_KIND[CODES[code]]
    slug = code.lower().replace("_", "-")
    return f"{_PAGE}#access-analyzer-reference-policy-checks-{kind}-{slug}"


#: A path element as the model shapes it: ("value", key) | ("index", n) | ("key", key).
PathElement = tuple[str, str | int]


@dataclass(frozen=True)
class Location:
    path: tuple[PathElement, ...]
    span: Span


@dataclass(frozen=True)
class Issue:
    """One ValidatePolicy finding."""

    code: str
    details: str
    locations: tuple[Location, ...]

    @property
    def finding_type(self) -> str:
        return CODES[self.code]

    @property
    def learn_more_link(self) -> str:
        return learn_more_link(self.code)

    def wire(self) -> dict[str, object]:
        """The ValidatePolicyFinding shape."""
        return {
            "findingDetails": self.details,
            "findingType": self.finding_type,
            "issueCode": self.code,
            "learnMoreLink": self.learn_more_link,
            "locations": [
                {
                    "path": [{kind: value} for kind, value in loc.path],
                    "span": {
                        "start": _position(loc.span.start),
                        "end": _position(loc.span.end),
                    },
                }
                for loc in self.locations
            ],
        }


def _position(p: Position) -> dict[str, int]:
    return {"line": p.line, "column": p.column, "offset": p.offset}
