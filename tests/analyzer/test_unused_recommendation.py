"""GetFindingRecommendation's steps for unused permissions (pure part)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from opensts.analyzer.unused_recommendation import ExistingPolicy, recommended_steps

NOW = datetime(2026, 12, 4, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)
UPDATED = NOW - timedelta(days=300)


def doc(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def step(steps: list[dict[str, object]], index: int = 0) -> dict[str, object]:
    return steps[index]["unusedPermissionsRecommendedStep"]  # type: ignore[return-value]


def test_policy_granting_only_unused_permissions_is_detached() -> None:
    s3_only = ExistingPolicy("arn:aws:iam::123456789012:policy/s3", doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), UPDATED)
    steps = recommended_steps([s3_only], {"iam:listusers": NOW}, CUTOFF)
    assert steps == [{"unusedPermissionsRecommendedStep": {
        "existingPolicyId": "arn:aws:iam::123456789012:policy/s3",
        "policyUpdatedAt": UPDATED, "recommendedAction": "DETACH_POLICY"}}]


def test_mixed_policy_is_replaced_by_one_keeping_what_was_used() -> None:
    mixed = ExistingPolicy("p", doc(
        {"Effect": "Allow", "Action": ["s3:*", "iam:ListUsers", "iam:Get*"],
         "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}))
    used = {"iam:listusers": NOW, "iam:getuser": NOW, "s3:getobject": CUTOFF - timedelta(1)}
    [found] = recommended_steps([mixed], used, CUTOFF)
    got = found["unusedPermissionsRecommendedStep"]
    assert got["recommendedAction"] == "CREATE_POLICY"
    assert got["existingPolicyId"] == "p" and "policyUpdatedAt" not in got
    new = json.loads(got["recommendedPolicy"])
    assert new["Statement"] == [
        {"Effect": "Allow", "Action": ["iam:ListUsers", "iam:GetUser"], "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]


def test_fully_used_policy_has_no_step_and_not_action_is_made_explicit() -> None:
    used_all = ExistingPolicy("used", doc({"Effect": "Allow", "Action": "iam:ListUsers",
                                           "Resource": "*"}))
    not_iam = ExistingPolicy("n", doc({"Effect": "Allow", "NotAction": "iam:*",
                                       "Resource": "*"}))
    steps = recommended_steps([used_all, not_iam],
                              {"iam:listusers": NOW, "sts:getcalleridentity": NOW}, CUTOFF)
    assert len(steps) == 1 and step(steps)["existingPolicyId"] == "n"
    assert json.loads(step(steps)["recommendedPolicy"])["Statement"] == [  # type: ignore[arg-type]
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]
