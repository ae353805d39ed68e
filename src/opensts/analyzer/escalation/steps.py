"""One step of a move (an API call the actor makes) and the evidence for it: the engine's
decision and the statements that allowed it.

A step is *allowed* when the engine allows it with the context the directory determines;
*conditional* when it does not, but the decision depends on a key the caller picks per request
or the analysis cannot know (aws:SourceIp, aws:MultiFactorAuthPresent, sts:ExternalId...):
such a step is kept, marked with those keys, because dropping it could hide a real path (the
analysis says "maybe", never a false "no"). A step denied with no such key is impossible.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from opensts.policy import Decision, PolicySet
from opensts.policy.model import PolicyEntry

Outcome = Literal["allowed", "conditional"]

# Keys whose absence is a fact the directory states (no such tag, no organization, a request
# without tags), not an unknown: a condition failing on them fails for certain.
_KNOWN_PREFIXES = ("aws:principaltag/", "aws:resourcetag/", "iam:resourcetag/",
                   "aws:requesttag/")
_KNOWN = frozenset({
    "aws:principalorgid", "aws:username", "aws:userid", "aws:principalarn",
    "aws:principalaccount", "aws:requestedregion", "aws:securetransport", "aws:currenttime",
    "aws:epochtime", "iam:policyarn", "iam:passedtoservice", "aws:tagkeys",
    "aws:principalisawsservice", "aws:viaawsservice"})


def unknown_keys(missing: Iterable[str]) -> tuple[str, ...]:
    """The missing keys the analysis cannot know (the caller picks them per request)."""
    return tuple(k for k in missing
                 if k.lower() not in _KNOWN and not k.lower().startswith(_KNOWN_PREFIXES))


@dataclass(frozen=True)
class StatementRef:
    source: str  # policy ARN, "<entity arn>#inline:<name>", a role ARN for its trust policy
    policy_type: str  # identity | boundary | resource (trust) | scp | rcp
    index: int
    sid: str | None
    statement: str  # the statement's JSON text

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "policyType": self.policy_type, "index": self.index,
                "sid": self.sid, "statement": json.loads(self.statement)}

    def describe(self) -> str:
        sid = f" Sid {self.sid}" if self.sid else ""
        kind = self.policy_type
        if kind == "resource" and ":role/" in self.source:
            kind = "trust policy of"  # the only resource policy a role has
        return f"{kind} {self.source} statement {self.index}{sid}: {self.statement}"


@dataclass(frozen=True)
class Step:
    action: str
    resource: str
    outcome: Outcome
    statements: tuple[StatementRef, ...]
    unknown_keys: tuple[str, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "resource": self.resource,
                               "outcome": self.outcome,
                               "statements": [s.to_dict() for s in self.statements]}
        if self.unknown_keys:
            out["dependsOnKeys"] = list(self.unknown_keys)
        if self.note:
            out["note"] = self.note
        return out


def _entries(policies: PolicySet) -> Iterable[tuple[str, PolicyEntry]]:
    for entry in policies.identity:
        yield "identity", entry
    if policies.boundary is not None:
        yield "boundary", policies.boundary
    if policies.resource is not None:
        yield "resource", policies.resource
    for level in policies.scps:
        for entry in level:
            yield "scp", entry
    for level in policies.rcps:
        for entry in level:
            yield "rcp", entry


def _statement_text(policies: PolicySet, source: str, ptype: str, index: int) -> str:
    for kind, (src, policy) in _entries(policies):
        if kind == ptype and src == source and index < len(policy.statements):
            return json.dumps(policy.statements[index].raw, separators=(",", ":"))
    return "{}"


def _deny_depends_on_unknown(decision: Decision, policies: PolicySet) -> bool:
    """Whether an explicit deny came from a statement with a condition on a key the context
    lacks (it matched by the key's absence, e.g. ``BoolIfExists``; a caller who sends the key
    may not be denied)."""
    missing = {k.lower() for k in unknown_keys(decision.missing_context_values)}
    for m in decision.matched_statements:
        if m.effect != "Deny":
            continue
        for kind, (src, policy) in _entries(policies):
            if kind == m.policy_type and src == m.source_id and m.index < len(policy.statements):
                keys = {k for _, k in policy.statements[m.index].condition_keys}
                if not keys & missing:
                    return False
    return True


def _allow_depends_on_unknown(policies: PolicySet, action: str,
                              missing: tuple[str, ...]) -> bool:
    """Whether some Allow statement for ``action`` has a condition on an unknown key (so a
    request with the key could be allowed)."""
    unknown = {k.lower() for k in missing}
    action_l = action.lower()
    for _, (_, policy) in _entries(policies):
        for st in policy.statements_for(action_l):
            if not st.is_deny and any(k in unknown for _, k in st.condition_keys):
                return True
    return False


def _may_grant(policies: PolicySet, action: str) -> bool:
    """Whether an identity or resource policy has an Allow for ``action`` at all: without
    one, lifting a Deny leaves an implicit deny."""
    action_l = action.lower()
    entries = [*policies.identity, *([policies.resource] if policies.resource else [])]
    return any(not st.is_deny for _, p in entries for st in p.statements_for(action_l))


def step(decision: Decision, policies: PolicySet, action: str, resource: str,
         note: str = "") -> Step | None:
    """The step, or None when the engine refuses it whatever the unknown keys are."""
    missing = unknown_keys(decision.missing_context_values)
    if decision.allowed:
        refs = tuple(
            StatementRef(m.source_id, m.policy_type, m.index, m.sid,
                         _statement_text(policies, m.source_id, m.policy_type, m.index))
            for m in decision.matched_statements
            if m.effect == "Allow" and m.policy_type in ("identity", "resource", "boundary"))
        return Step(action, resource, "allowed", refs, missing, note)
    if not missing:
        return None
    if decision.decision == "explicitDeny" and not (
            _deny_depends_on_unknown(decision, policies) and _may_grant(policies, action)):
        return None
    if decision.decision == "implicitDeny" and not _allow_depends_on_unknown(
            policies, action, missing):
        return None  # the unknown keys are a Deny's, which cannot make an Allow appear
    return Step(action, resource, "conditional", (), missing, note)
