"""Findings from accesses, their statuses across re-analyses, and archive-rule filters (pure).

IAM User Guide, access-analyzer-work-with-findings: "If the updated policy shares a resource
that is already identified in a finding, but with different permissions or conditions, a new
finding is generated ... If the access in the first finding is removed, that finding is
updated to a status of Resolved. The status of all findings remains Active until you archive
them or remove the access that generated the finding." A finding's id is derived from what
it reports (analyzer, resource, principal, actions, condition), so the same access keeps its
id, and its ACTIVE/ARCHIVED status, across every re-analysis; new findings pass through the
analyzer's archive rules (access-analyzer-archive-rules: rules apply to new and updated
findings automatically).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from opensts.analyzer.external import Access, Resource

_NAMESPACE = uuid.UUID("7d3b1c2e-5a40-4f3c-9a51-0c7e8f1d2a64")
STATUSES = ("ACTIVE", "ARCHIVED", "RESOLVED")


@dataclass(frozen=True)
class Finding:
    id: str
    analyzer_arn: str
    resource: str
    resource_type: str
    resource_owner: str
    access: Access
    status: str
    created: datetime
    analyzed: datetime
    updated: datetime

    def fields(self) -> dict[str, Any]:
        """The finding as filter criteria see it (access-analyzer-reference-filter-keys)."""
        out: dict[str, Any] = {
            "id": self.id, "resource": self.resource, "resourceType": self.resource_type,
            "resourceOwnerAccount": self.resource_owner, "status": self.status,
            "isPublic": "true" if self.access.is_public else "false",
        }
        if self.access.error:
            out["error"] = self.access.error
        for key, value in self.access.principal:
            out[f"principal.{key}"] = value
        for key, value in self.access.condition:
            out[f"condition.{key}"] = value
        return out


def finding_id(analyzer_arn: str, resource: str, access: Access) -> str:
    name = "\n".join([analyzer_arn, resource, repr(access.principal), repr(access.actions),
                      repr(access.condition), str(access.is_public), access.error or ""])
    return str(uuid.uuid5(_NAMESPACE, name))


def reconcile(
    analyzer_arn: str,
    resource: Resource,
    accesses: Sequence[Access],
    existing: Iterable[Finding],
    rules: Sequence[Mapping[str, Mapping[str, Any]]],
    now: datetime,
) -> list[Finding]:
    """The findings of ``resource`` after a re-analysis found ``accesses``: the changed or
    new ones only (an unchanged finding is not returned). Findings whose access is gone
    become RESOLVED; an access found again keeps its finding (a RESOLVED one comes back
    ACTIVE, then archive rules apply, as to a new one)."""
    before = {f.id: f for f in existing}
    changed: list[Finding] = []
    seen: set[str] = set()
    for access in accesses:
        fid = finding_id(analyzer_arn, resource.arn, access)
        seen.add(fid)
        old = before.get(fid)
        if old is not None and old.status != "RESOLVED":
            if old.analyzed != now:
                changed.append(replace(old, analyzed=now))
            continue
        fresh = Finding(fid, analyzer_arn, resource.arn, resource.type, resource.owner,
                        access, "ACTIVE", old.created if old else now, now, now)
        if any(matches(rule, fresh) for rule in rules):
            fresh = replace(fresh, status="ARCHIVED")
        changed.append(fresh)
    for fid, old in before.items():
        if fid not in seen and old.status != "RESOLVED":
            changed.append(replace(old, status="RESOLVED", analyzed=now, updated=now))
    return changed


def matches(criteria: Mapping[str, Mapping[str, Any]], finding: Finding) -> bool:
    """Whether every criterion holds (API_Criterion: eq, neq, contains, exists)."""
    return matches_fields(criteria, finding.fields())


def matches_fields(criteria: Mapping[str, Mapping[str, Any]], fields: Mapping[str, Any]
                   ) -> bool:
    """``matches`` over a finding's filter fields given as a mapping (booleans as
    ``"true"``/``"false"``, as the filter's string values compare)."""
    for key, criterion in criteria.items():
        value = fields.get(key)
        exists = criterion.get("exists")
        if exists is not None and bool(exists) != (value is not None):
            return False
        if criterion.get("eq") is not None and (
                value is None or str(value) not in [str(v) for v in criterion["eq"]]):
            return False
        if criterion.get("neq") is not None and (
                value is not None and str(value) in [str(v) for v in criterion["neq"]]):
            return False
        if criterion.get("contains") is not None and (
                value is None or not any(str(v) in str(value) for v in criterion["contains"])):
            return False
    return True


def statistics(findings: Iterable[Finding]) -> dict[str, Any]:
    """GetFindingsStatistics' externalAccessFindingsStatistics."""
    by_type: dict[str, dict[str, int]] = {}
    totals = {"ACTIVE": 0, "ARCHIVED": 0, "RESOLVED": 0}
    for f in findings:
        totals[f.status] = totals.get(f.status, 0) + 1
        entry = by_type.setdefault(f.resource_type, {"totalActiveCrossAccount": 0,
                                                     "totalActivePublic": 0,
                                                     "totalActiveErrors": 0})
        if f.status != "ACTIVE":
            continue
        if f.access.error:
            entry["totalActiveErrors"] += 1
        elif f.access.is_public:
            entry["totalActivePublic"] += 1
        else:
            entry["totalActiveCrossAccount"] += 1
    return {"resourceTypeStatistics": by_type, "totalActiveFindings": totals["ACTIVE"],
            "totalArchivedFindings": totals["ARCHIVED"],
            "totalResolvedFindings": totals["RESOLVED"]}
