"""Unused-access findings across re-analyses: ids, statuses, archive rules (pure).

A finding's id is derived from the analyzer and what the finding is about (its type, the
principal, and for a key the key id), so the same unused access keeps its id and its ACTIVE
or ARCHIVED status across every re-analysis, while its details (lastAccessed, the unused
services) follow the data. A finding whose unused access is gone (the role was assumed, the
key used, the permission used or removed, the principal deleted) becomes RESOLVED and keeps
its last details; if the access becomes unused again, the finding comes back ACTIVE and
passes the archive rules as a new one does (as ``analyzer.findings.reconcile`` does for
external access).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from opensts.analyzer.external import Access
from opensts.analyzer.findings import Finding, matches
from opensts.analyzer.unused import UnusedFinding

_NAMESPACE = uuid.UUID("2f0b8f0e-6c1d-4d7e-9a3b-5e2c71a0d9c4")


@dataclass(frozen=True)
class StoredUnused:
    id: str
    analyzer_arn: str
    finding_type: str
    resource: str
    resource_type: str
    resource_owner: str
    status: str
    details: tuple[dict[str, Any], ...]
    created: datetime
    updated: datetime
    # When GenerateFindingRecommendation was last called for it (None: never).
    recommendation_started: datetime | None = None

    def v2(self, analyzed: datetime) -> dict[str, Any]:
        """The GetFindingV2 response (ListFindingsV2 drops ``findingDetails``)."""
        return {"id": self.id, "status": self.status, "resource": self.resource,
                "resourceType": self.resource_type, "resourceOwnerAccount": self.resource_owner,
                "createdAt": self.created, "analyzedAt": analyzed, "updatedAt": self.updated,
                "findingType": self.finding_type, "findingDetails": list(self.details)}


def unused_finding_id(analyzer_arn: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{analyzer_arn}\n{key}"))


@dataclass(frozen=True)
class _RuleView(Finding):
    """A finding as archive-rule criteria see it; ``findingType`` is a filter key of unused
    access findings (access-analyzer-reference-filter-keys)."""

    finding_type: str = ""

    def fields(self) -> dict[str, Any]:
        out = super().fields()
        out.pop("isPublic", None)
        out["findingType"] = self.finding_type
        return out


def _archived(rules: Sequence[Mapping[str, Mapping[str, Any]]], f: StoredUnused) -> bool:
    view = _RuleView(f.id, f.analyzer_arn, f.resource, f.resource_type, f.resource_owner,
                     Access((), ()), f.status, f.created, f.updated, f.updated,
                     finding_type=f.finding_type)
    return any(matches(rule, view) for rule in rules)


def reconcile_unused(
    analyzer_arn: str,
    current: Iterable[UnusedFinding],
    stored: Iterable[StoredUnused],
    rules: Sequence[Mapping[str, Mapping[str, Any]]],
    now: datetime,
) -> tuple[list[StoredUnused], list[StoredUnused]]:
    """(every finding after this analysis, the ones that changed and must be saved)."""
    before = {f.id: f for f in stored}
    after: dict[str, StoredUnused] = {}
    changed: list[StoredUnused] = []
    for found in current:
        fid = unused_finding_id(analyzer_arn, found.key)
        old = before.get(fid)
        if old is not None and old.status != "RESOLVED":
            if old.details == found.details:
                after[fid] = old
            else:
                after[fid] = replace(old, details=found.details, updated=now)
                changed.append(after[fid])
            continue
        fresh = StoredUnused(fid, analyzer_arn, found.finding_type, found.resource,
                             found.resource_type, found.resource_owner_account, "ACTIVE",
                             found.details, old.created if old else now, now)
        if _archived(rules, fresh):
            fresh = replace(fresh, status="ARCHIVED")
        after[fid] = fresh
        changed.append(fresh)
    for fid, old in before.items():
        if fid in after:
            continue
        if old.status == "RESOLVED":
            after[fid] = old
        else:
            after[fid] = replace(old, status="RESOLVED", updated=now)
            changed.append(after[fid])
    return sorted(after.values(), key=lambda f: (f.created, f.id)), changed


def unused_statistics(findings: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """GetFindingsStatistics' ``unusedAccessFindingsStatistics`` from GetFindingV2-shaped
    rows: totals by status, active findings by type, and the (at most ten) accounts with
    the most active findings."""
    totals = {"ACTIVE": 0, "ARCHIVED": 0, "RESOLVED": 0}
    by_type: dict[str, int] = {}
    by_account: dict[str, dict[str, int]] = {}
    for f in findings:
        totals[f["status"]] = totals.get(f["status"], 0) + 1
        if f["status"] != "ACTIVE":
            continue
        kind = str(f["findingType"])
        by_type[kind] = by_type.get(kind, 0) + 1
        counts = by_account.setdefault(str(f["resourceOwnerAccount"]), {})
        counts[kind] = counts.get(kind, 0) + 1
    top = sorted(by_account.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:10]
    return {
        "unusedAccessTypeStatistics": [{"unusedAccessType": k, "total": v}
                                       for k, v in sorted(by_type.items())],
        "topAccounts": [{"account": account, "numberOfActiveFindings": sum(counts.values()),
                         "details": dict(sorted(counts.items()))} for account, counts in top],
        "totalActiveFindings": totals["ACTIVE"], "totalArchivedFindings": totals["ARCHIVED"],
        "totalResolvedFindings": totals["RESOLVED"],
    }
