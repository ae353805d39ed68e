"""ValidatePolicy, CheckNoNewAccess, CheckAccessNotGranted, CheckNoPublicAccess.

The analyses are pure (opensts.analyzer.validate / checks); these handlers authorize the
call (the four actions act on no resource type, so on ``*``), page ValidatePolicy's
findings, and turn a policy the checks cannot read into InvalidParameterException. The
Check* documents are ``sensitive`` in the service model, so the audit record leaves them
out, as CloudTrail does.
"""

from __future__ import annotations

from typing import Any

from opensts.analyzer import checks
from opensts.analyzer.validate import TRUST_RESOURCE_TYPE, validate
from opensts.policy.model import PolicyKind
from opensts.services.accessanalyzer.errors import AnalyzerError, invalid
from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.wire.params import Params

DEFAULT_PAGE = 100


class InvalidParameterException(AnalyzerError):
    code = "InvalidParameterException"
    status = 400


def _body(params: Params) -> dict[str, Any]:
    """The decoded input members (Params.raw is typed for the query protocol's strings)."""
    return dict(params.raw())


def _authorize(ctx: CallContext, action: str) -> None:
    ctx.require_caller()
    ctx.authorize(f"access-analyzer:{action}", "*")


@operation("access-analyzer", "ValidatePolicy", read_only=True)
def validate_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    _authorize(ctx, "ValidatePolicy")
    raw = _body(params)
    ctx.audit.request_parameters = {
        k: raw[k] for k in ("policyType", "validatePolicyResourceType", "locale", "maxResults")
        if k in raw}
    page: int = raw["maxResults"] if raw.get("maxResults") is not None else DEFAULT_PAGE
    if page < 1:
        raise invalid("maxResults", "Value at 'maxResults' failed to satisfy constraint: "
                                    "Member must have value greater than or equal to 1")
    start = 0
    token = raw.get("nextToken")
    if token is not None:
        if not token.isdigit():
            raise invalid("nextToken", "Invalid pagination token")
        start = int(token)
    # The locale is taken and ignored: findings are in English.
    found = validate(raw["policyDocument"], raw["policyType"],
                     raw.get("validatePolicyResourceType"))
    if token is not None and start > len(found):
        raise invalid("nextToken", "Invalid pagination token")
    chunk = found[start:start + page]
    out: dict[str, Any] = {"findings": [f.wire() for f in chunk]}
    if start + page < len(found):
        out["nextToken"] = str(start + page)
    return out


def _kind(policy_type: str) -> PolicyKind:
    return PolicyKind.IDENTITY if policy_type == "IDENTITY_POLICY" else PolicyKind.RESOURCE


def _parse(text: str, kind: PolicyKind, field: str) -> Any:
    try:
        return checks.parse(text, kind)
    except checks.InvalidPolicyDocument as exc:
        raise InvalidParameterException(f"Invalid {field}: {exc}") from None


@operation("access-analyzer", "CheckNoNewAccess", read_only=True)
def check_no_new_access(ctx: CallContext, params: Params) -> dict[str, Any]:
    _authorize(ctx, "CheckNoNewAccess")
    raw = _body(params)
    ctx.audit.request_parameters = {"policyType": raw["policyType"]}
    kind = _kind(raw["policyType"])
    new = _parse(raw["newPolicyDocument"], kind, "newPolicyDocument")
    existing = _parse(raw["existingPolicyDocument"], kind, "existingPolicyDocument")
    return checks.check_no_new_access(new, existing).wire()


@operation("access-analyzer", "CheckAccessNotGranted", read_only=True)
def check_access_not_granted(ctx: CallContext, params: Params) -> dict[str, Any]:
    _authorize(ctx, "CheckAccessNotGranted")
    raw = _body(params)
    access = raw["access"]
    ctx.audit.request_parameters = {"policyType": raw["policyType"], "access": access}
    entry = access[0] if access else {}
    actions = entry.get("actions") or []
    resources = entry.get("resources") or []
    if not actions and not resources:
        raise InvalidParameterException(
            "The access must specify at least one action or one resource.")
    for action in actions:
        if action != "*" and (":" not in action or action.startswith(":")):
            raise InvalidParameterException(f"Invalid action in access: {action}")
    for resource in resources:
        if resource != "*" and not resource.startswith("arn:"):
            raise InvalidParameterException(f"Invalid resource in access: {resource}")
    policy = _parse(raw["policyDocument"], _kind(raw["policyType"]), "policyDocument")
    return checks.check_access_not_granted(policy, actions, resources).wire()


@operation("access-analyzer", "CheckNoPublicAccess", read_only=True)
def check_no_public_access(ctx: CallContext, params: Params) -> dict[str, Any]:
    _authorize(ctx, "CheckNoPublicAccess")
    raw = _body(params)
    resource_type = raw["resourceType"]
    ctx.audit.request_parameters = {"resourceType": resource_type}
    kind = PolicyKind.TRUST if resource_type == TRUST_RESOURCE_TYPE else PolicyKind.RESOURCE
    policy = _parse(raw["policyDocument"], kind, "policyDocument")
    return checks.check_no_public_access(policy, resource_type).wire()
