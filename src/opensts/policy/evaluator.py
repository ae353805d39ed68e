"""The authorization decision.

Order and rules from "Policy evaluation logic" and its sub-pages
(reference_policies_evaluation-logic_policy-eval-denyallow, -basics, -cross-account) and
"Session policies" (access_policies.html#policies_session):

1. An explicit Deny in any applicable policy (SCP, RCP, resource, identity, boundary,
   session) is final.
2. RCPs: every level from the root to the account must allow (AWS attaches
   RCPFullAWSAccess everywhere; callers pass it explicitly here).
3. SCPs: every level must allow. They govern the principals of the account (not service,
   anonymous or federated-identity callers).
4. Same account: a resource-based policy Allow grants access on its own when it names the
   caller's own ARN (user, assumed-role session, federated-user session) or ``*``; naming
   the role (or the IAM user behind a federated user) is still limited by the boundary and
   session policy; naming the account delegates to the account's identity policies.
   Otherwise identity ∩ boundary ∩ session must allow.
5. Cross account: the caller's side (identity ∩ boundary ∩ session) and the resource's
   policy must both allow.
6. Role trust policies and KMS key policies must explicitly allow (``resource_must_allow``),
   and a user named in a trust policy still needs its permissions boundary to allow
   ``sts:AssumeRole`` (id_roles_update-role-trust-policy).
7. The account root is allowed everything in its own account unless denied (by an SCP,
   a resource policy, or the task policy of an AssumeRoot session).
8. Quirk: a resource-policy Deny with NotPrincipal always denies a caller that has a
   permissions boundary (reference_policies_elements_notprincipal).

Session policies (inline and managed) are combined as one set: any Allow counts, any Deny
wins. A federated-user session without session policies has no identity-based permissions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from opensts.policy.model import PolicyEntry, PolicySet, PrincipalKind, Request
from opensts.policy.parser import Statement
from opensts.policy.principals import (
    VIA_ISSUER,
    VIA_NONE,
    VIA_SELF,
    VIA_WILDCARD,
    Via,
)

DecisionName = Literal["allowed", "explicitDeny", "implicitDeny"]


@dataclass(frozen=True)
class MatchedStatement:
    source_id: str
    policy_type: str  # identity | resource | boundary | session | scp | rcp
    index: int
    sid: str | None
    effect: str
    level: int | None = None  # SCP/RCP level, 0 = root

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "sourcePolicyId": self.source_id,
            "sourcePolicyType": self.policy_type,
            "statementIndex": self.index,
            "sid": self.sid,
            "effect": self.effect,
        }
        if self.level is not None:
            d["level"] = self.level
        return d


@dataclass
class Decision:
    """The outcome, with the statements that decided it.

    ``decision`` uses IAM SimulatePolicy's EvalDecision strings. Detailed per-statement
    explanations are computed only when asked for (``explain()``/``to_dict()``), by
    re-walking the same compiled statements with tracing on.
    """

    decision: DecisionName
    allowed: bool
    matched_statements: list[MatchedStatement]
    missing_context_values: list[str]
    boundary_decision: str | None
    reason: str = ""
    _request: Request | None = field(default=None, repr=False, compare=False)
    _policies: PolicySet | None = field(default=None, repr=False, compare=False)

    def trace(self) -> list[dict[str, Any]]:
        from opensts.policy.explain import trace

        assert self._request is not None and self._policies is not None
        return trace(self._request, self._policies)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "allowed": self.allowed,
            "reason": self.reason,
            "matchedStatements": [m.to_dict() for m in self.matched_statements],
            "missingContextValues": list(self.missing_context_values),
            "permissionsBoundaryDecision": self.boundary_decision,
            "policies": self.trace() if self._request is not None else None,
        }

    def explain(self) -> str:
        from opensts.policy.explain import render

        return render(self)


_MEMO_SIZE = 256
# Module-level names for enum members: see principals.VIA_NONE.
_ROOT = PrincipalKind.ROOT
_ROLE = PrincipalKind.ROLE
_USER = PrincipalKind.USER
_FEDERATED_USER = PrincipalKind.FEDERATED_USER


def _matched(st: Statement, source: str, ptype: str, level: int | None) -> MatchedStatement:
    """The record of ``st`` matching, built once per (source, type, level).

    A frozen dataclass costs about as much to construct as the rest of a statement match, and
    the same few records recur in every decision over the same policies."""
    key = (source, ptype, level)
    m = st.matched_memo.get(key)
    if m is None:
        if len(st.matched_memo) >= _MEMO_SIZE:
            st.matched_memo.clear()  # one Policy text reused under many source ids
        m = st.matched_memo[key] = MatchedStatement(
            source, ptype, st.index, st.sid, st.effect, level
        )
    return m


def _scan(
    entries: Sequence[PolicyEntry],
    ptype: str,
    req: Request,
    missing: set[str],
    denies: list[MatchedStatement],
    level: int | None = None,
) -> list[MatchedStatement]:
    """Match one policy group: append its applicable Denies to ``denies`` (so the caller's
    list keeps evaluation order without copying) and return its applicable Allows."""
    allows: list[MatchedStatement] = []
    action = req._action  # type: ignore[attr-defined]
    ctx = req._ctx  # type: ignore[attr-defined]
    resource = req.resource
    for source, policy in entries:
        # Most policies have no statement for a given action: a memo hit, no call.
        statements = policy.by_action.get(action)
        if statements is None:
            statements = policy.statements_for(action)
        for st in statements:
            if st.check_resource and not st.resource_matches(resource, ctx):
                continue
            if st.conditions:
                for key, key_l in st.condition_keys:
                    if key_l not in ctx:
                        missing.add(key)
                if not _conditions_hold(st, ctx):
                    continue
            m = st.matched_memo.get((source, ptype, level)) or _matched(st, source, ptype, level)
            (denies if st.is_deny else allows).append(m)
    return allows


def _conditions_hold(st: Statement, ctx: Any) -> bool:
    # A plain loop: all() over a generator costs more than one or two conditions do.
    for c in st.conditions:  # noqa: SIM110
        if not c.evaluate(ctx):
            return False
    return True


def _scan_resource(
    entry: PolicyEntry,
    req: Request,
    has_boundary: bool,
    missing: set[str],
    denies: list[MatchedStatement],
) -> tuple[list[MatchedStatement], Via]:
    """The resource policy, as ``_scan``; also returns the most specific way an Allow named
    the caller."""
    allows: list[MatchedStatement] = []
    best = VIA_NONE
    source, policy = entry
    principal = req.principal
    ctx = req._ctx  # type: ignore[attr-defined]
    bounded_iam = has_boundary and principal.is_iam
    for st in policy.statements_for(req._action):  # type: ignore[attr-defined]
        if st.check_resource and not st.resource_matches(req.resource, ctx):
            continue
        via = principal_via(st, principal, bounded_iam)
        if via == VIA_NONE:
            continue
        if st.conditions:
            for key, key_l in st.condition_keys:
                if key_l not in ctx:
                    missing.add(key)
            if not _conditions_hold(st, ctx):
                continue
        m = _matched(st, source, "resource", None)
        if st.is_deny:
            denies.append(m)
        else:
            allows.append(m)
            best = max(best, via)
    return allows, best


def principal_via(st: Statement, principal: Any, bounded_iam: bool) -> Via:
    pm = st.principal
    if pm is None:
        return VIA_WILDCARD
    if st.not_principal:
        # The boundary quirk: Deny+NotPrincipal "will always deny any IAM principal that
        # has a permissions boundary policy attached, regardless of the values specified".
        if bounded_iam or not pm.excludes(principal):
            return VIA_WILDCARD
        return VIA_NONE
    return pm.match(principal)


def _all_levels(
    levels: Sequence[Sequence[PolicyEntry]],
    ptype: str,
    req: Request,
    missing: set[str],
    denies: list[MatchedStatement],
    allows: list[MatchedStatement],
) -> bool:
    """Scan SCP/RCP levels; True when every level has an applicable Allow."""
    ok = True
    for i, level in enumerate(levels):
        level_allows = _scan(level, ptype, req, missing, denies, i)
        if level_allows:
            allows.extend(level_allows)
        else:
            ok = False
    return ok


def evaluate(request: Request, policies: PolicySet) -> Decision:
    """Decide ``request`` under ``policies``. Pure: no I/O, no parsing, no clock."""
    p = request.principal
    kind = p.kind
    missing: set[str] = set()
    denies: list[MatchedStatement] = []
    is_iam = p.is_iam
    has_boundary = is_iam and policies.boundary is not None

    # Allows of each group; None when the group does not apply to this caller.
    identity = boundary = session = None
    boundary_decision = None
    if is_iam and kind == _ROOT:
        # The root user's own policies allow everything; a root session from AssumeRoot
        # also carries its task policy here, whose Deny statements scope the session.
        _scan(policies.identity, "identity", request, missing, denies)
    elif is_iam:
        identity = _scan(policies.identity, "identity", request, missing, denies)
        if policies.boundary is not None:
            before = len(denies)
            boundary = _scan((policies.boundary,), "boundary", request, missing, denies)
            boundary_decision = (
                "explicitDeny"
                if len(denies) > before
                else "allowed"
                if boundary
                else "implicitDeny"
            )
        if policies.session is not None:
            session = _scan(policies.session, "session", request, missing, denies)

    resource_via = VIA_NONE
    resource_allows: list[MatchedStatement] = []
    if policies.resource is not None:
        resource_allows, resource_via = _scan_resource(
            policies.resource, request, has_boundary, missing, denies
        )

    scp_ok = True
    scp_allows: list[MatchedStatement] = []
    if policies.scps and is_iam:
        scp_ok = _all_levels(policies.scps, "scp", request, missing, denies, scp_allows)
    rcp_ok = True
    rcp_allows: list[MatchedStatement] = []
    if policies.rcps:
        rcp_ok = _all_levels(policies.rcps, "rcp", request, missing, denies, rcp_allows)

    missing_list = sorted(missing)

    def done(name: DecisionName, matched: list[MatchedStatement], reason: str) -> Decision:
        return Decision(
            name,
            name == "allowed",
            matched,
            missing_list,
            boundary_decision,
            reason,
            request,
            policies,
        )

    if denies:
        return done("explicitDeny", denies, "an applicable statement explicitly denies")
    if not rcp_ok:
        return done("implicitDeny", [], "a resource control policy level does not allow")
    if not scp_ok:
        return done("implicitDeny", [], "a service control policy level does not allow")

    if kind == _ROLE and resource_via == VIA_SELF:
        resource_via = VIA_ISSUER  # a role ARN is limited by boundary and session policy
    org = scp_allows + rcp_allows
    same_account = request.resource_account is None or request.resource_account == p.account

    if not is_iam:
        # Service, anonymous and federated-identity callers have only the resource policy.
        if resource_via != VIA_NONE:
            return done("allowed", resource_allows + org, "the resource-based policy allows")
        return done("implicitDeny", [], "no resource-based policy allows this caller")

    if kind == _ROOT:
        if policies.resource_must_allow and resource_via == VIA_NONE:
            return done("implicitDeny", [], "the trust/key policy does not allow the caller")
        if same_account or resource_via != VIA_NONE:
            return done("allowed", resource_allows + org, "the account root user")
        return done("implicitDeny", [], "cross-account: no resource-based policy allows")

    assert identity is not None
    # Identity side: identity ∩ boundary ∩ session.
    bound_ok = boundary is None or bool(boundary)
    # A federated-user session without session policies grants nothing.
    session_ok = bool(session) if session is not None else kind != _FEDERATED_USER
    limits_ok = bound_ok and session_ok
    identity_ok = bool(identity) and limits_ok
    side = identity + (boundary or []) + (session or [])

    if policies.resource_must_allow and resource_via == VIA_NONE:
        return done("implicitDeny", [], "the trust/key policy does not allow the caller")

    if not same_account:
        if identity_ok and resource_via != VIA_NONE:
            return done(
                "allowed",
                side + resource_allows + org,
                "cross-account: identity side and resource policy both allow",
            )
        if not identity_ok:
            return done("implicitDeny", [], "cross-account: the caller's policies do not allow")
        return done("implicitDeny", [], "cross-account: no resource-based policy allows")

    if resource_via >= VIA_SELF:
        if policies.resource_must_allow and kind == _USER and not bound_ok:
            return done(
                "implicitDeny",
                [],
                "the trust policy names the user, but its "
                "permissions boundary does not allow the action",
            )
        return done("allowed", resource_allows + org, "the resource-based policy names the caller")
    if resource_via == VIA_ISSUER and limits_ok:
        return done(
            "allowed",
            resource_allows + org,
            "the resource-based policy names the caller's role or user",
        )
    if identity_ok:
        extra = resource_allows if resource_via != VIA_NONE else []
        return done("allowed", side + extra + org, "identity-based policies allow")
    if not identity:
        return done("implicitDeny", [], "no identity-based policy allows")
    if not bound_ok:
        return done("implicitDeny", [], "the permissions boundary does not allow")
    return done("implicitDeny", [], "the session policy does not allow")
