"""GetFindingRecommendation for ``UnusedPermission`` findings — pure.

"IAM Access Analyzer unused access recommendations" (IAM User Guide): for each policy of the
principal that grants unused permissions, either detach it (it grants nothing that was used)
or replace it with a policy that keeps only what was used. Each step is an
``UnusedPermissionsRecommendedStep``: ``recommendedAction`` ``DETACH_POLICY`` or
``CREATE_POLICY`` (with ``recommendedPolicy``), ``existingPolicyId`` naming the policy,
``policyUpdatedAt`` when it was last changed (where known).

The rewrite works on statements: Deny statements stay as they are; in an Allow statement
each Action pattern is kept when every action it stands for was used, else replaced by the
used actions it covers (none: dropped); an Allow NotAction statement becomes the list of the
used actions it covers. Resources and conditions are kept, so the new policy never grants
more than the old one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opensts.analyzer.unused import every_action, expand
from opensts.policy.glob import glob


@dataclass(frozen=True, slots=True)
class ExistingPolicy:
    policy_id: str  # a managed policy's ARN, or an inline policy's name
    document: str
    updated: datetime | None = None


def recommended_steps(
    policies: Sequence[ExistingPolicy], used: Mapping[str, datetime], cutoff: datetime
) -> list[dict[str, Any]]:
    """The ``RecommendedStep`` list; ``used`` is keyed by lower-cased action."""
    recent = frozenset(a for a, when in used.items() if when >= cutoff)
    steps: list[dict[str, Any]] = []
    for policy in policies:
        try:
            doc = json.loads(policy.document)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        rewritten, changed = _rewrite(doc, recent)
        if not changed:
            continue
        step: dict[str, Any] = {"existingPolicyId": policy.policy_id}
        if policy.updated is not None:
            step["policyUpdatedAt"] = policy.updated
        allows = [s for s in rewritten["Statement"] if s.get("Effect") == "Allow"]
        if not allows:
            step["recommendedAction"] = "DETACH_POLICY"
        else:
            step["recommendedAction"] = "CREATE_POLICY"
            step["recommendedPolicy"] = json.dumps(rewritten, indent=2)
        steps.append({"unusedPermissionsRecommendedStep": step})
    return steps


def _rewrite(doc: dict[str, Any], recent: frozenset[str]) -> tuple[dict[str, Any], bool]:
    raw = doc.get("Statement")
    statements = [raw] if isinstance(raw, dict) else list(raw or [])
    out: list[dict[str, Any]] = []
    changed = False
    for s in statements:
        if not isinstance(s, dict) or s.get("Effect") != "Allow":
            out.append(s)
            continue
        if "NotAction" in s:
            patterns = _listed(s["NotAction"])
            matchers = [glob(p.lower()) for p in patterns]
            kept = sorted(a for a in every_action() if a.lower() in recent
                          and not any(m(a.lower()) for m in matchers))
            changed = True
            if kept:
                rest = {k: v for k, v in s.items() if k != "NotAction"}
                out.append({**rest, "Action": kept[0] if len(kept) == 1 else kept})
            continue
        actions: list[str] = []
        for pattern in _listed(s.get("Action")):
            covered = expand(pattern)
            if covered and all(a.lower() in recent for a in covered):
                actions.append(pattern)
                continue
            used_here = [a for a in covered if a.lower() in recent]
            actions.extend(used_here)
            changed = True
        if actions:
            out.append({**s, "Action": actions[0] if len(actions) == 1 else actions})
    result = {k: v for k, v in doc.items() if k != "Statement"}
    result["Statement"] = out
    return result, changed


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value or () if isinstance(v, str)]
