"""The custom policy checks: CheckNoNewAccess, CheckAccessNotGranted, CheckNoPublicAccess.

Each answers PASS only when it has a proof, and FAIL (with the statements that stand in
the way) otherwise: an analysis that cannot decide a question says "may grant". The proofs
are syntactic and deliberately simple, so each step is easy to check by hand:

* Conditions only narrow a statement (they are ANDed), so an Allow is taken to apply
  whatever its conditions say, and a statement is contained in another only when the
  other's conditions are all among its own, verbatim.
* Wildcards: a pattern contains another when it is ``*``, equal, matches the other as a
  plain string while the other has no wildcard, or is ``prefix*`` of it (for ARNs only
  when the star is past the fifth colon, where a star may span colons). Two patterns may
  overlap unless no string matches both (a search over pairs of positions; a policy
  variable counts as ``*``).
* A Deny proves "not granted" only when it applies to everyone, unconditionally, to all
  of the access asked about. In CheckNoNewAccess a Deny of the existing policy must be
  kept verbatim in the new one, or be disjoint from each new Allow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from opensts.errors import MalformedPolicyDocument
from opensts.policy.model import PolicyKind
from opensts.policy.parser import Policy, Statement, parse_policy
from opensts.policy.wildcard import GlobSet
from opensts.s3.public import statement_is_public

PASS = "PASS"  # noqa: S105  (a check result, not a password)
FAIL = "FAIL"
_VARIABLE = re.compile(r"\$\{[^}]*\}")


class InvalidPolicyDocument(ValueError):
    """The document is not a policy IAM would take (its message says why)."""


@dataclass(frozen=True)
class Reason:
    description: str
    statement_index: int | None = None
    statement_id: str | None = None

    def wire(self) -> dict[str, object]:
        out: dict[str, object] = {"description": self.description}
        if self.statement_index is not None:
            out["statementIndex"] = self.statement_index
        if self.statement_id is not None:
            out["statementId"] = self.statement_id
        return out


@dataclass(frozen=True)
class CheckResult:
    result: str
    message: str
    reasons: tuple[Reason, ...] = ()

    def wire(self) -> dict[str, object]:
        return {"result": self.result, "message": self.message,
                "reasons": [r.wire() for r in self.reasons]}


def parse(text: str, kind: PolicyKind) -> Policy:
    try:
        return parse_policy(text, kind)
    except MalformedPolicyDocument as exc:
        raise InvalidPolicyDocument(exc.message) from None


# --- patterns ------------------------------------------------------------------------------


def _wild(text: str) -> bool:
    return "*" in text or "?" in text or "${" in text


def _overlap(a: str, b: str, *, fold: bool) -> bool:
    """Whether some string matches both glob patterns (``*``, ``?``; variables as ``*``).
    Stars are taken to span anything, which can only widen the answer."""
    if fold:
        a, b = a.lower(), b.lower()
    a, b = _VARIABLE.sub("*", a), _VARIABLE.sub("*", b)
    seen = {(0, 0)}
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if i == len(a) and j == len(b):
            return True
        steps = []
        x = a[i] if i < len(a) else None
        y = b[j] if j < len(b) else None
        if x == "*":
            steps.append((i + 1, j))
            if y is not None:
                steps.append((i, j + 1))
        if y == "*":
            steps.append((i, j + 1))
            if x is not None:
                steps.append((i + 1, j))
        if x is not None and y is not None and x != "*" and y != "*" and (
                x == y or x == "?" or y == "?"):
            steps.append((i + 1, j + 1))
        for step in steps:
            if step not in seen:
                seen.add(step)
                todo.append(step)
    return False


def _contains(broad: str, narrow: str, *, arn: bool) -> bool:
    """Every string ``narrow`` matches, ``broad`` matches too (sufficient, not necessary)."""
    if broad == "*" or broad == narrow or (not arn and broad.lower() == narrow.lower()):
        return True
    if "${" in broad:
        return False
    if not _wild(narrow):
        return GlobSet([broad], ignore_case=not arn, arn=arn)(narrow if arn else narrow.lower())
    prefix = broad[:-1]
    if broad.endswith("*") and not _wild(prefix) and (not arn or prefix.count(":") >= 5):
        return narrow.startswith(prefix) if arn else narrow.lower().startswith(prefix.lower())
    return False


def _listed(st: Statement, element: str) -> list[str]:
    raw = st.raw.get(element)
    if raw is None:
        return []
    return [raw] if isinstance(raw, str) else list(raw)


# --- CheckAccessNotGranted ------------------------------------------------------------------


def _may_grant(st: Statement, action: str | None, resource: str | None) -> bool:
    """Whether the Allow ``st`` can apply to ``action`` (None: any) on ``resource``."""
    if action is not None:
        patterns = _listed(st, "NotAction" if st.not_action else "Action")
        if st.not_action:
            if any(_contains(p, action, arn=False) for p in patterns):
                return False
        elif not any(_overlap(p, action, fold=True) for p in patterns):
            return False
    if resource is not None and (st.resources is not None):
        patterns = _listed(st, "NotResource" if st.not_resource else "Resource")
        if st.not_resource:
            if any(_contains(p, resource, arn=True) for p in patterns):
                return False
        elif not any(_overlap(p, resource, fold=False) for p in patterns):
            return False
    return True


def _denies_all(st: Statement, action: str | None, resource: str | None) -> bool:
    """Whether the Deny ``st`` refuses everyone ``action`` on ``resource``, always."""
    if st.conditions or st.not_principal:
        return False
    if st.principal is not None and not st.principal.wildcard:
        return False
    patterns = _listed(st, "NotAction" if st.not_action else "Action")
    if st.not_action:
        if action is None or any(_overlap(p, action, fold=True) for p in patterns):
            return False
    elif not any(_contains(p, action or "*", arn=False) for p in patterns):
        return False
    if st.resources is None:
        return True
    patterns = _listed(st, "NotResource" if st.not_resource else "Resource")
    if st.not_resource:
        return resource is not None and not any(
            _overlap(p, resource, fold=False) for p in patterns)
    return any(_contains(p, resource or "*", arn=True) for p in patterns)


def check_access_not_granted(policy: Policy, actions: Sequence[str],
                             resources: Sequence[str]) -> CheckResult:
    """FAIL when the policy may allow one of ``actions`` (on any resource, or on one of
    ``resources``), or any action on one of ``resources`` when no action is given."""
    wanted_actions: list[str | None] = list(actions) or [None]
    wanted_resources: list[str | None] = list(resources) or [None]
    pairs = [(a, r) for a in wanted_actions for r in wanted_resources]
    reasons = []
    for st in policy.statements:
        if st.is_deny:
            continue
        if any(_may_grant(st, a, r) and not any(_denies_all(d, a, r)
                                                for d in policy.statements if d.is_deny)
               for a, r in pairs):
            reasons.append(Reason(
                f"One or more of the listed actions or resources in the statement with index: "
                f"{st.index}.", st.index, st.sid))
    if reasons:
        return CheckResult(FAIL, "The policy document grants access to perform one or more of "
                                 "the listed actions or resources.", tuple(reasons))
    return CheckResult(PASS, "The policy document does not grant access to perform the listed "
                             "actions or resources.")


# --- CheckNoNewAccess -----------------------------------------------------------------------


def _principal_contains(e: Statement, n: Statement) -> bool:
    if e.principal is None and n.principal is None:
        return True
    if e.principal is None or n.principal is None:
        return False
    if e.principal.wildcard:
        return True
    if n.principal.wildcard:
        return False
    return (n.principal.aws <= e.principal.aws and n.principal.service <= e.principal.service
            and n.principal.federated <= e.principal.federated
            and n.principal.canonical <= e.principal.canonical)


def _element_contains(e: Statement, n: Statement, names: tuple[str, str], *, arn: bool) -> bool:
    plain, negated = names
    e_neg, n_neg = (e.not_resource, n.not_resource) if arn else (e.not_action, n.not_action)
    e_items, n_items = _listed(e, negated if e_neg else plain), _listed(n, negated if n_neg
                                                                         else plain)
    if arn and plain not in e.raw and negated not in e.raw:
        return True  # no Resource element: the resource the policy is attached to, all of it
    if arn and plain not in n.raw and negated not in n.raw:
        return not e_neg and "*" in e_items
    if not e_neg:
        if "*" in e_items:
            return True
        if n_neg:
            return False
        return all(any(_contains(x, y, arn=arn) for x in e_items) for y in n_items)
    if n_neg:  # both exclude: the new one must exclude at least what the existing one does
        return all(any(_contains(y, x, arn=arn) for y in n_items) for x in e_items)
    return all(not any(_overlap(x, y, fold=not arn) for x in e_items) for y in n_items)


def _condition_set(st: Statement) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(c.operator.lower(), c.key_l, tuple(sorted(c.values))) for c in st.conditions}


def _statement_contains(e: Statement, n: Statement) -> bool:
    return (_principal_contains(e, n)
            and _element_contains(e, n, ("Action", "NotAction"), arn=False)
            and _element_contains(e, n, ("Resource", "NotResource"), arn=True)
            and _condition_set(e) <= _condition_set(n))


def _may_overlap(d: Statement, n: Statement) -> bool:
    """Whether the Deny ``d`` and the Allow ``n`` can apply to one request."""
    if d.not_action or n.not_action:
        return True
    return any(_overlap(x, y, fold=True) for x in _listed(d, "Action")
               for y in _listed(n, "Action"))


def _canonical(st: Statement) -> str:
    return json.dumps(st.raw, sort_keys=True)


def check_no_new_access(new: Policy, existing: Policy) -> CheckResult:
    """PASS only when every request the new policy allows, the existing one allows."""
    reasons: list[Reason] = []
    variables = "${" in new.text or "${" in existing.text
    kept = {_canonical(s) for s in new.statements if s.is_deny}
    lost_denies = [d for d in existing.statements if d.is_deny and _canonical(d) not in kept]
    for n in new.statements:
        if n.is_deny:
            continue
        why = None
        if variables and new.version != existing.version:
            why = "policy variables are read differently by the two policy versions"
        elif not any(_statement_contains(e, n) for e in existing.statements if not e.is_deny):
            why = "no statement of the existing policy allows all that it allows"
        else:
            lost = next((d for d in lost_denies if _may_overlap(d, n)), None)
            if lost is not None:
                why = (f"the existing policy's Deny statement with index {lost.index} is not "
                       "kept in the new policy")
        if why:
            reasons.append(Reason(f"New access in the statement with index: {n.index}: {why}.",
                                  n.index, n.sid))
    if reasons:
        return CheckResult(FAIL, "The modified permissions grant new access compared to your "
                                 "existing policy.", tuple(reasons))
    return CheckResult(PASS, "The modified permissions do not grant new access compared to "
                             "your existing policy.")


# --- CheckNoPublicAccess --------------------------------------------------------------------


def check_no_public_access(policy: Policy, resource_type: str) -> CheckResult:
    """Amazon S3's definition of a public policy (s3.public), statement by statement, for
    every resource type: a grant is non-public only when its principal, or a condition on
    one of the keys S3 lists, is fixed. Keys S3 does not list (kms:CallerAccount,
    sts:ExternalId, ...) do not make a grant private here: that errs toward FAIL."""
    reasons = tuple(
        Reason(f"Public access granted in the following statement with index: {st.index}.",
               st.index, st.sid)
        for st in policy.statements if statement_is_public(st))
    if reasons:
        return CheckResult(FAIL, f"The resource policy grants public access for the given "
                                 f"resource type {resource_type}.", reasons)
    return CheckResult(PASS, f"The resource policy does not grant public access for the given "
                             f"resource type {resource_type}.")
