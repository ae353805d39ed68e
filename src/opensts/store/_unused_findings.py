"""Unused-access findings in the SQL store: rows of ``analyzer_findings`` (migration 12).

They share the table of external-access findings, so UpdateFindings, DeleteAnalyzer and
the finding ids work alike for both. Their ``access`` JSON holds the external fields empty
(what ``_analyzer.access_from_json`` reads) plus ``findingType`` and ``findingDetails``
(timestamps as ISO 8601 text). Like the other analyzer rows, these writes do not move the
store generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from opensts.analyzer.unused_findings import StoredUnused
from opensts.store import schema as s
from opensts.store._base import SqlBase

_f = s.analyzer_findings
_EMPTY_ACCESS = {"principal": [], "actions": [], "condition": [], "isPublic": False,
                 "error": None, "sources": []}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, key: str = "") -> Any:
    if key == "lastAccessed" and isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(value, dict):
        return {k: _decode(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class UnusedFindingsMixin(SqlBase):
    def list_unused_findings(self, analyzer_arn: str) -> list[StoredUnused]:
        with self._read() as conn:
            rows = conn.execute(sa.select(_f).where(_f.c.analyzer_arn == analyzer_arn)
                                .order_by(_f.c.id)).all()
        out = []
        for r in rows:
            access = r.access or {}
            if "findingType" not in access:
                continue  # an external-access finding
            out.append(StoredUnused(
                r.id, r.analyzer_arn, access["findingType"], r.resource, r.resource_type,
                r.owner, r.status, tuple(_decode(access.get("findingDetails") or [])),
                r.created, r.updated, _when(access.get("recommendationStartedAt"))))
        return out

    def save_unused_findings(self, analyzer_arn: str, findings: Sequence[StoredUnused]
                             ) -> None:
        """Upsert changed findings in one transaction; nothing if the analyzer is gone."""
        if not findings:
            return
        with self._write(bump=False) as conn:
            if conn.execute(sa.select(s.analyzers.c.arn).where(
                    s.analyzers.c.arn == analyzer_arn)).first() is None:
                return  # deleted meanwhile: its findings went with it
            ids = [f.id for f in findings]
            for i in range(0, len(ids), 500):
                conn.execute(sa.delete(_f).where(_f.c.analyzer_arn == analyzer_arn,
                                                 _f.c.id.in_(ids[i:i + 500])))
            conn.execute(sa.insert(_f), [
                {"analyzer_arn": analyzer_arn, "id": f.id, "resource": f.resource,
                 "resource_type": f.resource_type, "owner": f.resource_owner,
                 "status": f.status, "created": f.created, "analyzed": f.updated,
                 "updated": f.updated,
                 "access": {**_EMPTY_ACCESS, "findingType": f.finding_type,
                            "findingDetails": _encode(list(f.details)),
                            "recommendationStartedAt": _encode(f.recommendation_started)}}
                for f in findings])

    def start_unused_recommendation(self, analyzer_arn: str, finding_id: str,
                                    when: datetime) -> bool:
        """GenerateFindingRecommendation, remembered with the finding (every node and
        worker sees it); False if there is no such unused-access finding."""
        with self._write(bump=False) as conn:
            row = conn.execute(sa.select(_f.c.access).where(
                _f.c.analyzer_arn == analyzer_arn, _f.c.id == finding_id)).first()
            if row is None or "findingType" not in (row.access or {}):
                return False
            conn.execute(sa.update(_f).where(
                _f.c.analyzer_arn == analyzer_arn, _f.c.id == finding_id).values(
                access={**row.access, "recommendationStartedAt": when.isoformat()}))
            return True
