"""Why a decision came out as it did: per policy, per statement, per element.

Built on demand from the same compiled statements the evaluator uses (Cedar keeps
``Diagnostics`` next to each response the same way); the fast path never pays for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opensts.policy.model import IAM_KINDS, PolicyEntry, PolicySet, Request
from opensts.policy.parser import Statement
from opensts.policy.principals import Via

if TYPE_CHECKING:
    from opensts.policy.evaluator import Decision


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trace_statement(st: Statement, req: Request, bounded_iam: bool = False) -> dict[str, Any]:
    from opensts.policy.evaluator import principal_via

    ctx = req._ctx  # type: ignore[attr-defined]
    action_el = "NotAction" if st.not_action else "Action"
    out: dict[str, Any] = {"statement": st.index, "sid": st.sid, "effect": st.effect}
    action_ok = st.action_matches(req._action)  # type: ignore[attr-defined]
    out["action"] = {
        "element": action_el,
        "values": _as_list(st.raw[action_el]),
        "matched": action_ok,
    }
    ok = action_ok
    if st.resources is not None:
        el = "NotResource" if st.not_resource else "Resource"
        seen: dict[str, str | None] = {}
        r_ok = st.resource_matches(req.resource, ctx, seen)
        out["resource"] = {"element": el, "values": _as_list(st.raw[el]), "matched": r_ok}
        if seen:
            out["resource"]["variables"] = seen
        ok = ok and r_ok
    if st.principal is not None:
        via = principal_via(st, req.principal, bounded_iam)
        el = "NotPrincipal" if st.not_principal else "Principal"
        out["principal"] = {
            "element": el,
            "values": st.principal.names(),
            "matched": via != Via.NONE,
            "via": via.name.lower(),
        }
        ok = ok and via != Via.NONE
    conds = []
    for c in st.conditions:
        seen = {}
        result = c.evaluate(ctx, seen)
        raw = ctx.get(c.key_l)
        entry: dict[str, Any] = {
            "operator": c.operator,
            "key": c.key,
            "requestValue": list(raw) if isinstance(raw, tuple) else raw,
            "policyValues": list(c.values),
            "matched": result,
        }
        if seen:
            entry["variables"] = seen
        conds.append(entry)
        ok = ok and result
    if conds:
        out["conditions"] = conds
    out["matched"] = ok
    return out


def _trace_group(
    entries: Sequence[PolicyEntry],
    ptype: str,
    req: Request,
    level: int | None = None,
    bounded_iam: bool = False,
) -> list[dict[str, Any]]:
    out = []
    for source, policy in entries:
        stmts = [trace_statement(st, req, bounded_iam) for st in policy.statements]
        item: dict[str, Any] = {"source": source, "type": ptype, "statements": stmts}
        if level is not None:
            item["level"] = level
        out.append(item)
    return out


def trace(req: Request, policies: PolicySet) -> list[dict[str, Any]]:
    """Every statement of every policy, with what matched and why not."""
    groups: list[dict[str, Any]] = []
    is_iam = req.principal.kind in IAM_KINDS
    for i, level in enumerate(policies.scps if is_iam else ()):
        groups += _trace_group(level, "scp", req, i)
    for i, level in enumerate(policies.rcps):
        groups += _trace_group(level, "rcp", req, i)
    if is_iam:
        groups += _trace_group(policies.identity, "identity", req)
        if policies.boundary is not None:
            groups += _trace_group((policies.boundary,), "boundary", req)
        if policies.session is not None:
            groups += _trace_group(policies.session, "session", req)
    if policies.resource is not None:
        bounded = is_iam and policies.boundary is not None
        groups += _trace_group((policies.resource,), "resource", req, bounded_iam=bounded)
    return groups


def _why_not(st: dict[str, Any]) -> str:
    if not st["action"]["matched"]:
        return f"{st['action']['element']} does not cover the action"
    res = st.get("resource")
    if res is not None and not res["matched"]:
        vars_ = res.get("variables")
        if vars_ and any(v is None for v in vars_.values()):
            missing = ", ".join(k for k, v in vars_.items() if v is None)
            return f"{res['element']} uses {missing} which has no value"
        return f"{res['element']} does not cover the resource"
    pr = st.get("principal")
    if pr is not None and not pr["matched"]:
        return f"{pr['element']} does not name the caller"
    for c in st.get("conditions", ()):
        if not c["matched"]:
            got = "missing" if c["requestValue"] is None else repr(c["requestValue"])
            extra = ""
            if c.get("variables"):
                extra = (
                    " (variables: "
                    + ", ".join(f"{k}={v!r}" for k, v in c["variables"].items())
                    + ")"
                )
            return (
                f"condition {c['operator']} {c['key']} failed: request value {got}, "
                f"policy values {c['policyValues']}{extra}"
            )
    return "matched"


def _resolved(st: dict[str, Any]) -> str:
    """The policy variables a matching statement resolved, e.g. `` (${aws:username}='alice')``."""
    seen: dict[str, Any] = {}
    res = st.get("resource")
    if res is not None:
        seen.update(res.get("variables") or {})
    for c in st.get("conditions", ()):
        seen.update(c.get("variables") or {})
    if not seen:
        return ""
    return " (" + ", ".join(f"{k}={v!r}" for k, v in seen.items()) + ")"


def render(decision: Decision) -> str:
    req = decision._request
    assert req is not None
    p = req.principal
    lines = [
        f"Decision: {decision.decision} — {decision.reason}",
        f"Request: {p.kind.value} {p.arn} → {req.action} on {req.resource}"
        + (f" (resource account {req.resource_account})" if req.resource_account else ""),
    ]
    if decision.boundary_decision is not None:
        lines.append(f"Permissions boundary: {decision.boundary_decision}")
    if decision.missing_context_values:
        lines.append("Missing context values: " + ", ".join(decision.missing_context_values))
    for m in decision.matched_statements:
        where = m.policy_type + (f" level {m.level}" if m.level is not None else "")
        sid = f" (Sid {m.sid})" if m.sid else ""
        lines.append(f"  decisive: {m.effect} {where} {m.source_id} Statement[{m.index}]{sid}")
    for group in decision.trace():
        where = group["type"] + (f" level {group['level']}" if "level" in group else "")
        lines.append(f"[{where}] {group['source']}")
        for st in group["statements"]:
            sid = f" (Sid {st['sid']})" if st["sid"] else ""
            verdict = "MATCH" + _resolved(st) if st["matched"] else "no match: " + _why_not(st)
            lines.append(f"    Statement[{st['statement']}]{sid} {st['effect']}: {verdict}")
    return "\n".join(lines)
