"""Unused-access findings across analyses: ids, statuses, archive rules, statistics (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from opensts.analyzer.unused import UnusedFinding
from opensts.analyzer.unused_findings import (
    reconcile_unused,
    unused_finding_id,
    unused_statistics,
)

ANALYZER = "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/u"
T0 = datetime(2026, 12, 1, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
T2 = T0 + timedelta(hours=2)
ROLE = "arn:aws:iam::123456789012:role/r"


def role_finding(last: datetime | None = None) -> UnusedFinding:
    details: dict[str, Any] = {"lastAccessed": last} if last else {}
    return UnusedFinding(f"UnusedIAMRole|{ROLE}", "UnusedIAMRole", ROLE, "AWS::IAM::Role",
                         "123456789012", ({"unusedIamRoleDetails": details},))


def test_same_unused_access_keeps_its_id_and_status_and_resolves_when_gone() -> None:
    everything, changed = reconcile_unused(ANALYZER, [role_finding()], [], [], T0)
    [first] = everything
    assert changed == everything and first.status == "ACTIVE" and first.created == T0
    assert first.id == unused_finding_id(ANALYZER, f"UnusedIAMRole|{ROLE}")
    # Archived by the user, then analyzed again with new details: still archived, same id.
    archived = [replace(first, status="ARCHIVED")]
    again, changed = reconcile_unused(ANALYZER, [role_finding(T0)], archived, [], T1)
    assert [(f.id, f.status, f.updated) for f in again] == [(first.id, "ARCHIVED", T1)]
    assert again[0].details == ({"unusedIamRoleDetails": {"lastAccessed": T0}},)
    # Unchanged: nothing to save.
    assert reconcile_unused(ANALYZER, [role_finding(T0)], again, [], T1)[1] == []
    # Gone (the role was used): RESOLVED with its last details; back again: ACTIVE.
    resolved, changed = reconcile_unused(ANALYZER, [], again, [], T2)
    assert [(f.status, f.details) for f in resolved] == [("RESOLVED", again[0].details)]
    back, _ = reconcile_unused(ANALYZER, [role_finding(T0)], resolved, [], T2)
    assert [(f.status, f.created) for f in back] == [("ACTIVE", T0)]


def test_archive_rules_apply_to_new_findings_by_finding_type() -> None:
    rule = {"findingType": {"eq": ["UnusedIAMRole"]}}
    [f], _ = reconcile_unused(ANALYZER, [role_finding()], [], [rule], T0)
    assert f.status == "ARCHIVED"
    other = {"findingType": {"eq": ["UnusedPermission"]}}
    [f], _ = reconcile_unused(ANALYZER, [role_finding()], [], [other], T0)
    assert f.status == "ACTIVE"


def test_other_analyzers_give_other_ids() -> None:
    assert unused_finding_id(ANALYZER, "k") != unused_finding_id(ANALYZER + "2", "k")


def test_statistics() -> None:
    rows = [{"status": "ACTIVE", "findingType": "UnusedIAMRole", "resourceOwnerAccount": "1"},
            {"status": "ACTIVE", "findingType": "UnusedIAMRole", "resourceOwnerAccount": "2"},
            {"status": "ACTIVE", "findingType": "UnusedPermission", "resourceOwnerAccount": "2"},
            {"status": "ARCHIVED", "findingType": "UnusedIAMRole", "resourceOwnerAccount": "1"},
            {"status": "RESOLVED", "findingType": "UnusedIAMRole", "resourceOwnerAccount": "1"}]
    assert unused_statistics(rows) == {
        "unusedAccessTypeStatistics": [{"unusedAccessType": "UnusedIAMRole", "total": 2},
                                       {"unusedAccessType": "UnusedPermission", "total": 1}],
        "topAccounts": [
            {"account": "2", "numberOfActiveFindings": 2,
             "details": {"UnusedIAMRole": 1, "UnusedPermission": 1}},
            {"account": "1", "numberOfActiveFindings": 1, "details": {"UnusedIAMRole": 1}}],
        "totalActiveFindings": 3, "totalArchivedFindings": 1, "totalResolvedFindings": 1}
