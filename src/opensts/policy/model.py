"""Inputs of an authorization decision: who asks, for what, and which policies apply.

The shapes follow the request context described in "Understanding how IAM works"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/intro-structure.html#intro-structure-request):
a principal, an action, a resource and a bag of condition keys.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opensts.policy.parser import Policy


class PolicyKind(enum.Enum):
    """Where a document is attached; decides which grammar rules apply to it."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    SCP = "scp"
    RCP = "rcp"
    BOUNDARY = "boundary"
    SESSION = "session"


class PrincipalKind(enum.Enum):
    ROOT = "root"
    USER = "user"
    ROLE = "role"
    ASSUMED_ROLE = "assumed-role"
    FEDERATED_USER = "federated-user"
    SERVICE = "service"
    ANONYMOUS = "anonymous"
    WEB_IDENTITY = "web-identity"
    SAML = "saml"


#: Principals that belong to an AWS account and are therefore subject to SCPs, boundaries
#: and identity policies.
IAM_KINDS = frozenset(
    {
        PrincipalKind.ROOT,
        PrincipalKind.USER,
        PrincipalKind.ROLE,
        PrincipalKind.ASSUMED_ROLE,
        PrincipalKind.FEDERATED_USER,
    }
)


def root_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


@dataclass(frozen=True)
class Principal:
    """The caller.

    ``arn`` is the principal's own identifier: an IAM ARN, an STS session ARN, a service
    principal name such as ``ec2.amazonaws.com``, or, for WEB_IDENTITY/SAML callers, the
    identity-provider name or ARN that a trust policy names under ``Federated``.
    ``issuer_arn`` is the role ARN (with path) behind an assumed-role session, or the IAM user
    ARN behind a federated-user session. ``unique_id`` (AIDA…/AROA…) lets policies that AWS
    rewrote to unique ids after a delete/recreate match only the original entity.
    """

    kind: PrincipalKind
    arn: str
    account: str | None
    issuer_arn: str | None = None
    unique_id: str | None = None
    #: kind in IAM_KINDS; derived, not an argument.
    is_iam: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Identifiers a Principal element may name, computed once per principal. The match
        # category matters for the same-account rules (see evaluator.py).
        own: set[str] = set()
        issuer: set[str] = set()
        account: set[str] = set()
        if self.kind in IAM_KINDS:
            own.add(self.arn)
            if self.unique_id:
                (issuer if self.kind == PrincipalKind.ASSUMED_ROLE else own).add(self.unique_id)
            if self.issuer_arn:
                issuer.add(self.issuer_arn)
            if self.account:
                account.update({self.account, root_arn(self.account)})
            if self.kind == PrincipalKind.ROOT:
                own.update(account)
        # Enum members hash in Python code, so the evaluator asks this flag instead of
        # looking the kind up in IAM_KINDS on every decision.
        object.__setattr__(self, "is_iam", self.kind in IAM_KINDS)
        object.__setattr__(self, "_own_ids", frozenset(own))
        object.__setattr__(self, "_issuer_ids", frozenset(issuer))
        object.__setattr__(self, "_account_ids", frozenset(account))


def _normalize_value(value: object) -> str | tuple[str, ...]:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return tuple(_normalize_value(v) for v in value)  # type: ignore[misc]
    return str(value)


@dataclass(frozen=True)
class Request:
    """One authorization question.

    Context key names are case-insensitive ("Condition element": "Condition key names are
    not case-sensitive"). A list value is a multivalued key; a string is a single value.
    ``resource_account`` None means the principal's own account.
    """

    principal: Principal
    action: str
    resource: str
    resource_account: str | None = None
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Most values are already strings; skip the call for them (one Request per decision).
        ctx = {
            k.lower(): v if type(v) is str else _normalize_value(v) for k, v in self.context.items()
        }
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "_action", self.action.lower())


PolicyEntry = tuple[str, "Policy"]


@dataclass
class PolicySet:
    """Every policy that applies to one request, each with a source id for explanations.

    ``session`` None means the principal is not a session or its session has no session
    policy; for a FEDERATED_USER that means the session grants nothing (GetFederationToken:
    "If you do not pass a policy … the resulting federated user session has no permissions").
    ``scps``/``rcps`` hold one inner sequence per level, root first, account last; empty means
    the account is not governed by that policy type.
    ``resource_must_allow``: role trust policies and KMS key policies "must explicitly allow
    access for principals" (reference_policies_evaluation-logic_policy-eval-denyallow).
    """

    identity: Sequence[PolicyEntry] = ()
    resource: PolicyEntry | None = None
    boundary: PolicyEntry | None = None
    session: Sequence[PolicyEntry] | None = None
    scps: Sequence[Sequence[PolicyEntry]] = ()
    rcps: Sequence[Sequence[PolicyEntry]] = ()
    resource_must_allow: bool = False
