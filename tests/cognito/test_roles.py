"""Role choice by role mappings (opensts.cognito.roles), pure: every match type, rule
order, token claims, AmbiguousRoleResolution, unauthenticated identities."""

from __future__ import annotations

from typing import Any

import pytest

from opensts.cognito import UNAUTHENTICATED_SESSION_POLICY, choose_role
from opensts.cognito.roles import rule_matches

ROLES = {"authenticated": "arn:aws:iam::111122223333:role/auth",
         "unauthenticated": "arn:aws:iam::111122223333:role/guest"}


@pytest.mark.parametrize(("match", "value", "claim", "expected"), [
    ("Equals", "admins", "admins", True),
    ("Equals", "admins", "admins2", False),
    ("Equals", "ops", ["eng", "ops"], True),
    ("Contains", "dmi", "admins", True),
    ("Contains", "xyz", "admins", False),
    ("StartsWith", "sales", "sales-emea", True),
    ("StartsWith", "emea", "sales-emea", False),
    ("NotEqual", "guest", "admins", True),
    ("NotEqual", "admins", "admins", False),
    ("Equals", "true", True, True),
])
def test_match_types(match: str, value: str, claim: Any, expected: bool) -> None:
    rule = {"Claim": "c", "MatchType": match, "Value": value, "RoleARN": "r"}
    assert rule_matches(rule, {"c": claim}) is expected


def test_an_absent_claim_matches_no_rule_not_even_not_equal() -> None:
    rule = {"Claim": "c", "MatchType": "NotEqual", "Value": "x", "RoleARN": "r"}
    assert not rule_matches(rule, {})


def _rules(ambiguous: str) -> dict[str, Any]:
    return {"idp": {"Type": "Rules", "AmbiguousRoleResolution": ambiguous,
                    "RulesConfiguration": {"Rules": [
                        {"Claim": "dept", "MatchType": "Equals", "Value": "a", "RoleARN": "A"},
                        {"Claim": "dept", "MatchType": "StartsWith", "Value": "a",
                         "RoleARN": "B"}]}}}


def test_first_matching_rule_wins_and_ambiguity_resolves() -> None:
    assert choose_role(ROLES, _rules("Deny"), authenticated=True,
                       logins=[("idp", {"dept": "a"})]).role_arn == "A"
    assert choose_role(ROLES, _rules("Deny"), authenticated=True,
                       logins=[("idp", {"dept": "ab"})]).role_arn == "B"
    denied = choose_role(ROLES, _rules("Deny"), authenticated=True,
                         logins=[("idp", {"dept": "z"})])
    assert denied.role_arn is None and denied.refusal == "ambiguous-deny"
    assert choose_role(ROLES, _rules("AuthenticatedRole"), authenticated=True,
                       logins=[("idp", {"dept": "z"})]).role_arn == ROLES["authenticated"]
    # A login of a provider without a mapping: the authenticated role.
    assert choose_role(ROLES, _rules("Deny"), authenticated=True,
                       logins=[("other", {})]).role_arn == ROLES["authenticated"]


def test_unauthenticated_identities_get_the_guest_role_only() -> None:
    assert choose_role(ROLES, _rules("Deny"), authenticated=False).role_arn == \
        ROLES["unauthenticated"]
    assert choose_role({}, {}, authenticated=False).refusal == "no-role"


def test_scope_down_policy_is_valid_and_excludes_iam_and_sts() -> None:
    from opensts.policy import PolicyKind, parse_policy

    parse_policy(UNAUTHENTICATED_SESSION_POLICY, PolicyKind.SESSION)
    assert '"s3:*"' in UNAUTHENTICATED_SESSION_POLICY
    assert "iam:" not in UNAUTHENTICATED_SESSION_POLICY
    assert "sts:" not in UNAUTHENTICATED_SESSION_POLICY
