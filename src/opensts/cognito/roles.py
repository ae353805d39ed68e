"""Which role an identity gets (Developer Guide, "Using role-based access control").

* Unauthenticated identities get the pool's ``unauthenticated`` role.
* Authenticated ones get the ``authenticated`` role unless the login provider has a role
  mapping:
  - ``Token``: the token's ``cognito:preferred_role``, else its one ``cognito:roles`` role,
    else (several roles) the ``CustomRoleArn`` the caller chose among them;
  - ``Rules``: the first rule (in order) whose claim matches (Equals, Contains, StartsWith,
    NotEqual) gives the role;
  - no answer: ``AmbiguousRoleResolution`` decides, ``AuthenticatedRole`` (the pool's
    authenticated role) or ``Deny``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RoleChoice:
    role_arn: str | None
    refusal: str | None = None  # "no-role" | "ambiguous-deny" | "custom-role"
    detail: str = ""


def _values(claim: Any) -> list[str]:
    if isinstance(claim, str):
        return [claim]
    if isinstance(claim, (int, float, bool)):
        return [str(claim).lower() if isinstance(claim, bool) else str(claim)]
    if isinstance(claim, list):
        return [v for v in claim if isinstance(v, str)]
    return []


def rule_matches(rule: Mapping[str, str], claims: Mapping[str, Any]) -> bool:
    if rule["Claim"] not in claims:
        return False
    values, wanted, kind = _values(claims[rule["Claim"]]), rule["Value"], rule["MatchType"]
    if kind == "Equals":
        return wanted in values
    if kind == "Contains":
        return any(wanted in v for v in values)
    if kind == "StartsWith":
        return any(v.startswith(wanted) for v in values)
    if kind == "NotEqual":
        return bool(values) and wanted not in values
    return False


def _token_role(claims: Mapping[str, Any], custom_role_arn: str | None) -> str | None:
    preferred = claims.get("cognito:preferred_role")
    roles = _values(claims.get("cognito:roles"))
    if custom_role_arn is not None:
        return custom_role_arn if custom_role_arn in roles or custom_role_arn == preferred \
            else None
    if isinstance(preferred, str) and preferred:
        return preferred
    return roles[0] if len(roles) == 1 else None


def choose_role(
    roles: Mapping[str, str],
    mappings: Mapping[str, Mapping[str, Any]],
    *,
    authenticated: bool,
    logins: Sequence[tuple[str, Mapping[str, Any]]] = (),
    custom_role_arn: str | None = None,
) -> RoleChoice:
    """``logins``: (provider name, verified claims) in the request's order."""
    if not authenticated:
        arn = roles.get("unauthenticated")
        return RoleChoice(arn) if arn else RoleChoice(None, "no-role", "no unauthenticated role")
    for provider, claims in logins:
        mapping = mappings.get(provider)
        if mapping is None:
            continue
        chosen: str | None = None
        if mapping.get("Type") == "Token":
            chosen = _token_role(claims, custom_role_arn)
            if chosen is None and custom_role_arn is not None:
                return RoleChoice(None, "custom-role",
                                  f"{custom_role_arn} is not among the token's cognito:roles")
        else:
            rules = (mapping.get("RulesConfiguration") or {}).get("Rules") or []
            chosen = next((r["RoleARN"] for r in rules if rule_matches(r, claims)), None)
        if chosen is not None:
            return RoleChoice(chosen, None, f"role mapping of {provider}")
        if mapping.get("AmbiguousRoleResolution") == "Deny":
            return RoleChoice(None, "ambiguous-deny",
                              f"no rule of the role mapping of {provider} matched")
        break  # AuthenticatedRole: the pool's authenticated role
    arn = roles.get("authenticated")
    return RoleChoice(arn) if arn else RoleChoice(None, "no-role", "no authenticated role")
