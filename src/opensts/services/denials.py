"""What a denial tells whom: which side refused, and the encoded authorization message.

Cross-account secrecy. An encoded message belongs to one account, the account whose
policies refused (``refusal_owner``), and holds only that account's side of the decision
(``one_sides_view``): the caller's identity policies, boundary, session policies and SCPs,
or the resource's policy (a role's trust policy) and RCPs, never both. The owner is sealed
into the message (AES-GCM, ``credentials.tokens``: unreadable and unforgeable without the
server's key), and DecodeAuthorizationMessage opens it only for principals of that account
that also hold ``sts:DecodeAuthorizationMessage`` (services/sts/identity.py). So a caller
denied by another account's trust policy gets a message it cannot decode and can hand to
that account's administrators; a caller denied by its own policies across accounts decodes
its own side and never sees the trust policy. The operator's record
(``opensts audit explain``) is not filtered: the operator owns every account.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from opensts.credentials.tokens import KeyRing
from opensts.policy import Decision, PolicySet
from opensts.services.context import Caller, RequestMeta

# DecodeAuthorizationMessage's EncodedMessage length limit (STS API reference).
MAX_ENCODED = 10240
MESSAGE_LIFETIME = 3600

# Where a refusal came from, by the evaluator's implicit-deny reasons (policy/evaluator.py).
_IMPLICIT_SIDES = (
    ("resource control policy", "rcp"),
    ("service control policy", "scp"),
    ("trust/key policy", "trust"),
    ("trust policy names the user, but its permissions boundary", "boundary"),
    ("caller's policies do not allow", "identity"),
    ("no resource-based policy allows", "resource"),
    ("permissions boundary", "boundary"),
    ("session policy", "session"),
    ("identity-based polic", "identity"),
)
CALLER_TYPES = frozenset({"identity", "boundary", "session", "scp"})
RESOURCE_SIDES = frozenset({"trust", "resource", "rcp"})


def refused_by(decision: Decision) -> str:
    """Which policies refused: ``identity`` (the caller's identity policies), ``boundary``,
    ``session``, ``scp``, ``rcp``, ``trust`` (a role's trust policy) or ``resource`` (another
    resource-based policy)."""
    trust = decision._policies is not None and decision._policies.resource_must_allow
    side = None
    if decision.decision == "explicitDeny":
        side = next((m.policy_type for m in decision.matched_statements if m.effect == "Deny"),
                    None)
    if side is None:
        side = next((s for marker, s in _IMPLICIT_SIDES if marker in decision.reason),
                    "identity")
        if ("caller's policies do not allow" in decision.reason
                and decision.boundary_decision == "implicitDeny"
                and _allows(decision)):
            side = "boundary"  # across accounts the evaluator names only "the caller's"
    return "trust" if side == "resource" and trust else side


def _allows(decision: Decision) -> list[dict[str, Any]]:
    """The identity policies with an Allow that applied (an implicit deny lists no matched
    statements, so they are found again from the trace; only on this rare path)."""
    if decision._request is None or decision._policies is None:
        return []
    return [group for group in decision.trace() if group["type"] == "identity"
            and any(st["matched"] and st["effect"] == "Allow" for st in group["statements"])]


def refusal_owner(decision: Decision, caller_account: str, resource_account: str | None) -> str:
    """The account whose policies refused: the only one whose principals may decode the
    encoded message. Trust, resource and RCP refusals belong to the resource's account;
    identity, boundary, session and SCP refusals to the caller's."""
    if resource_account and refused_by(decision) in RESOURCE_SIDES:
        return resource_account
    return caller_account


def one_sides_view(decision: Decision, *, caller_side: bool) -> Decision:
    """``decision`` as one account may see it across accounts: the policies, deciding
    statements and missing keys of its own side only. The trace is rebuilt from the kept
    policies, so the other account's policies, their statements and the keys they test
    never appear."""
    policies = decision._policies
    if policies is None:
        return dataclasses.replace(decision, matched_statements=[], missing_context_values=[])
    if caller_side:
        kept = dataclasses.replace(policies, resource=None, rcps=())
    else:
        kept = PolicySet(resource=policies.resource, rcps=policies.rcps,
                         resource_must_allow=policies.resource_must_allow)
    matched = [m for m in decision.matched_statements
               if (m.policy_type in CALLER_TYPES) == caller_side]
    view = dataclasses.replace(
        decision, matched_statements=matched, _policies=kept,
        boundary_decision=decision.boundary_decision if caller_side else None)
    if view._request is None:
        return dataclasses.replace(view, missing_context_values=[])
    missing = sorted({c["key"] for group in view.trace() for st in group["statements"]
                      for c in st.get("conditions", ()) if c["requestValue"] is None})
    return dataclasses.replace(view, missing_context_values=missing)


def encode_message(
    keyring: KeyRing,
    caller: Caller,
    action: str,
    resource: str,
    decision: Decision,
    meta: RequestMeta,
    *,
    resource_account: str | None = None,
    owner: str | None = None,
) -> str:
    """The sealed message: AWS's decoded shape (allowed, explicitDeny, matchedStatements,
    failures, context) plus ``refusedBy`` and our rendered ``explanation``, for ``owner``'s
    account only, valid one hour."""
    owner = owner or refusal_owner(decision, caller.account_id, resource_account)
    view = decision
    if resource_account is not None and resource_account != caller.account_id:
        view = one_sides_view(decision, caller_side=owner == caller.account_id)
    body: dict[str, Any] = {
        "allowed": False,
        "explicitDeny": decision.decision == "explicitDeny",
        "matchedStatements": {"items": [m.to_dict() for m in view.matched_statements]},
        "failures": {"items": []},
        "context": {
            "principal": {"id": caller.principal_id, "arn": caller.arn},
            "action": action,
            "resource": resource,
        },
        "refusedBy": refused_by(decision),
        "explanation": view.explain() if view._request is not None else view.reason,
    }
    claims = {"kind": "authz", "exp": int(meta.now.timestamp()) + MESSAGE_LIFETIME,
              "account": owner, "body": body}
    sealed = keyring.seal(claims)
    if len(sealed) > MAX_ENCODED:
        # EncodedMessage is at most 10,240 characters, so a long trace is cut to its
        # deciding lines; the operator's record keeps it whole.
        head = body["explanation"].split("\n[", 1)[0]
        body["explanation"] = head + "\n[per-statement trace omitted: too long]"
        sealed = keyring.seal(claims)
    if len(sealed) > MAX_ENCODED:
        body["explanation"] = view.reason
        body["matchedStatements"]["items"] = body["matchedStatements"]["items"][:10]
        sealed = keyring.seal(claims)
    return sealed


def denial_message(principal_arn: str, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied wording, including the reason clause AWS added in 2021."""
    base = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    reason = _reason(action, decision)
    return f"{base} {reason}" if reason else base


_POLICY_TYPE_NAMES = {
    "identity": "an identity-based policy",
    "resource": "a resource-based policy",
    "boundary": "a permissions boundary",
    "session": "a session policy",
    "scp": "a service control policy",
    "rcp": "a resource control policy",
}


def _reason(action: str, decision: Decision) -> str:
    if decision.decision == "explicitDeny":
        denying = [m for m in decision.matched_statements if m.effect == "Deny"]
        kind = _POLICY_TYPE_NAMES.get(denying[0].policy_type, "a policy") if denying else "a policy"
        return f"with an explicit deny in {kind}"
    why = decision.reason
    for marker, noun in (
        ("service control policy", "service control policy"),
        ("resource control policy", "resource control policy"),
        ("permissions boundary", "permissions boundary"),
        ("session policy", "session policy"),
        ("trust/key policy", "resource-based policy"),
        ("resource-based policy allows", "resource-based policy"),
    ):
        if marker in why:
            return f"because no {noun} allows the {action} action"
    return f"because no identity-based policy allows the {action} action"
