"""The Principal and NotPrincipal elements.

Rules (reference_policies_elements_principal):

* ``"Principal": "*"`` and ``{"AWS": "*"}`` match everyone, anonymous callers included.
* ``AWS`` names an account (12-digit id or ``arn:aws:iam::ACCT:root``), an IAM user or role,
  an assumed-role session, a federated-user session, or a unique id that IAM substituted
  for a deleted entity. Naming a role matches that role's sessions; naming an IAM user
  matches the federated-user sessions it created (reference_policies_evaluation-logic).
  ARNs compare case-sensitively ("the user name part of the ARN is case sensitive").
  Wildcards other than a lone ``*`` are not allowed.
* ``Service`` names service principals; ``Federated`` names OIDC/SAML providers (or the
  well-known web identity providers); ``CanonicalUser`` names an S3 canonical user id.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

from opensts.errors import MalformedPolicyDocument
from opensts.policy.model import Principal, PrincipalKind

_PARTITION = r"arn:aws(?:-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?"
_AWS_PRINCIPAL = re.compile(
    r"(?:\d{12}"
    rf"|{_PARTITION}:iam::\d{{12}}:(?:root|user/.+|role/.+)"
    rf"|{_PARTITION}:sts::\d{{12}}:(?:assumed-role/[^/]+/.+|federated-user/.+)"
    r"|A[A-Z0-9]{3}[A-Z0-9]{16,})\Z"
)
_KEYS = ("AWS", "Federated", "Service", "CanonicalUser")


class Via(enum.IntEnum):
    """How a Principal element matched; higher is more specific."""

    NONE = 0
    ACCOUNT = 1  # the account (root ARN or id): delegates to the account's IAM policies
    ISSUER = 2  # the role behind a session, or the IAM user behind a federated user
    SELF = 3  # the caller's own ARN (or service/provider name, or unique id)
    WILDCARD = 4  # "*"


# Enum members are read through a descriptor in Python 3.11 (~65 ns each, as much as the
# rest of a match); the matching code reads these module-level names instead.
VIA_NONE = Via.NONE
VIA_ACCOUNT = Via.ACCOUNT
VIA_ISSUER = Via.ISSUER
VIA_SELF = Via.SELF
VIA_WILDCARD = Via.WILDCARD
_SERVICE = PrincipalKind.SERVICE
_ROOT = PrincipalKind.ROOT
_FEDERATED_KINDS = (PrincipalKind.WEB_IDENTITY, PrincipalKind.SAML)


class PrincipalMatcher:
    """A compiled Principal/NotPrincipal element."""

    __slots__ = ("aws", "canonical", "federated", "raw", "service", "wildcard")

    def __init__(self, value: object):
        self.raw = value
        self.wildcard = False
        self.aws: frozenset[str] = frozenset()
        self.service: frozenset[str] = frozenset()
        self.federated: frozenset[str] = frozenset()
        self.canonical: frozenset[str] = frozenset()
        if value == "*":
            self.wildcard = True
            return
        if not isinstance(value, Mapping) or not value:
            raise MalformedPolicyDocument(f"Invalid principal in policy: {_show(value)}")
        for key, entries in value.items():
            if key not in _KEYS:
                raise MalformedPolicyDocument(f'Invalid principal in policy: "{key}"')
            items = [entries] if isinstance(entries, str) else entries
            if (
                not isinstance(items, list)
                or not items
                or not all(isinstance(i, str) and i for i in items)
            ):
                raise MalformedPolicyDocument(f'Invalid principal in policy: "{key}"')
            for item in items:
                if item == "*":
                    if key != "AWS":
                        raise MalformedPolicyDocument(
                            f'Invalid principal in policy: "{key}":"{item}"'
                        )
                    self.wildcard = True
                elif (
                    "*" in item or "?" in item or (key == "AWS" and not _AWS_PRINCIPAL.match(item))
                ):
                    raise MalformedPolicyDocument(f'Invalid principal in policy: "{key}":"{item}"')
            clean = frozenset(i for i in items if i != "*")
            if key == "AWS":
                self.aws = self.aws | clean
            elif key == "Service":
                self.service = self.service | frozenset(i.lower() for i in clean)
            elif key == "Federated":
                self.federated = self.federated | clean
            else:
                self.canonical = self.canonical | clean

    def match(self, p: Principal) -> Via:
        if self.wildcard:
            return VIA_WILDCARD
        kind = p.kind
        if p.is_iam:
            aws = self.aws
            if not aws:
                return VIA_NONE
            if not aws.isdisjoint(p._own_ids):  # type: ignore[attr-defined]
                return VIA_SELF
            if not aws.isdisjoint(p._issuer_ids):  # type: ignore[attr-defined]
                return VIA_ISSUER
            if not aws.isdisjoint(p._account_ids):  # type: ignore[attr-defined]
                return VIA_ACCOUNT
            return VIA_NONE
        if kind == _SERVICE:
            return VIA_SELF if p.arn.lower() in self.service else VIA_NONE
        if kind in _FEDERATED_KINDS:
            return VIA_SELF if p.arn in self.federated else VIA_NONE
        return VIA_NONE

    def excludes(self, p: Principal) -> bool:
        """NotPrincipal: True when the caller is exempted from the Deny.

        reference_policies_elements_notprincipal: "you must also specify the account ARN of
        the not-denied principal. Otherwise, the policy might deny access to the entire
        account"; AWS checks the account, then the role, then the session. So an IAM caller
        is exempt only when its account *and* its own or its role's identifier are listed.
        (iam-simulate exempts on the principal alone: a documented divergence.)
        """
        if self.wildcard:
            return True
        if p.is_iam:
            aws = self.aws
            if aws.isdisjoint(p._account_ids):  # type: ignore[attr-defined]
                return False
            if p.kind == _ROOT:
                return True
            return not (
                aws.isdisjoint(p._own_ids)  # type: ignore[attr-defined]
                and aws.isdisjoint(p._issuer_ids)  # type: ignore[attr-defined]
            )
        return self.match(p) != VIA_NONE

    def names(self) -> list[str]:
        out = ["*"] if self.wildcard else []
        for label, group in (
            ("AWS", self.aws),
            ("Service", self.service),
            ("Federated", self.federated),
            ("CanonicalUser", self.canonical),
        ):
            out.extend(f"{label}:{v}" for v in sorted(group))
        return out


def _show(value: object) -> str:
    return value if isinstance(value, str) else type(value).__name__
