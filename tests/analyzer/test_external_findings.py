"""Findings across re-analyses and archive-rule filters (opensts.analyzer.findings), pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opensts.analyzer.external import ROLE, Access, Resource
from opensts.analyzer.findings import Finding, finding_id, matches, reconcile, statistics

ARN = "arn:aws:access-analyzer:us-east-1:111111111111:analyzer/a"
RES = Resource(ROLE, "arn:aws:iam::111111111111:role/r", "111111111111", "{}")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
THIRD = Access((("AWS", "333333333333"),), ("sts:AssumeRole",))
WITH_ID = Access((("AWS", "333333333333"),), ("sts:AssumeRole",),
                 (("sts:ExternalId", "x"),))


def test_same_access_keeps_its_id_and_status() -> None:
    [first] = reconcile(ARN, RES, [THIRD], [], [], T0)
    assert first.status == "ACTIVE" and first.id == finding_id(ARN, RES.arn, THIRD)
    archived = Finding(**{**first.__dict__, "status": "ARCHIVED"})
    [again] = reconcile(ARN, RES, [THIRD], [archived], [], T1)
    assert again.id == first.id and again.status == "ARCHIVED" and again.analyzed == T1
    assert again.created == T0


def test_changed_access_is_a_new_finding_and_the_old_resolves() -> None:
    [first] = reconcile(ARN, RES, [THIRD], [], [], T0)
    changed = {f.status: f for f in reconcile(ARN, RES, [WITH_ID], [first], [], T1)}
    assert changed["RESOLVED"].id == first.id and changed["RESOLVED"].updated == T1
    assert changed["ACTIVE"].access == WITH_ID and changed["ACTIVE"].id != first.id


def test_access_back_after_resolution_is_active_again_through_the_rules() -> None:
    [first] = reconcile(ARN, RES, [THIRD], [], [], T0)
    [resolved] = reconcile(ARN, RES, [], [first], [], T1)
    assert resolved.status == "RESOLVED"
    [back] = reconcile(ARN, RES, [THIRD], [resolved], [], T1)
    assert back.status == "ACTIVE" and back.id == first.id
    rule = {"principal.AWS": {"eq": ["333333333333"]}}
    [archived] = reconcile(ARN, RES, [THIRD], [resolved], [rule], T1)
    assert archived.status == "ARCHIVED"


def test_criteria_eq_neq_contains_exists() -> None:
    [f] = reconcile(ARN, RES, [WITH_ID], [], [], T0)
    assert matches({"condition.sts:ExternalId": {"exists": True}}, f)
    assert not matches({"condition.aws:SourceIp": {"exists": True}}, f)
    assert matches({"condition.aws:SourceIp": {"exists": False}}, f)
    assert matches({"resource": {"contains": ["role/"]}}, f)
    assert not matches({"resource": {"neq": [RES.arn]}}, f)
    assert matches({"isPublic": {"eq": ["false"]}, "resourceType": {"eq": [ROLE]}}, f)
    assert not matches({"isPublic": {"eq": ["false"]}, "status": {"eq": ["ARCHIVED"]}}, f)
    assert not matches({"principal.Federated": {"eq": ["x"]}}, f)


def test_statistics_count_by_status_and_kind() -> None:
    public = Access((("AWS", "*"),), ("sts:AssumeRole",), (), True)
    found = reconcile(ARN, RES, [THIRD, public], [], [], T0)
    stats = statistics(found)
    assert stats["totalActiveFindings"] == 2
    assert stats["resourceTypeStatistics"][ROLE] == {
        "totalActiveCrossAccount": 1, "totalActivePublic": 1, "totalActiveErrors": 0}


def test_criteria_over_plain_fields() -> None:
    from opensts.analyzer.findings import matches_fields

    row = {"id": "f1", "findingType": "UnusedIAMRole", "status": "ACTIVE"}
    assert matches_fields({"findingType": {"eq": ["UnusedIAMRole"]}}, row)
    assert not matches_fields({"findingType": {"neq": ["UnusedIAMRole"]}}, row)
    assert matches_fields({}, row)
