"""IAM Access Analyzer in the SQL store (migration 12): analyzers, archive rules, analyzed
resources and findings.

These rows describe the directory; they are not part of it: their writes do not move the
store generation (which the analyzer itself reads to know when to re-analyze, and which the
caches of the authorizer's reads follow). Each re-analysis is saved in one transaction
(``save_analysis``), so a finding never outlives the analysis that resolved it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from opensts.analyzer.external import BUCKET, ROLE, Access, Resource
from opensts.analyzer.findings import Finding
from opensts.analyzer.model import AnalyzedResource, Analyzer, ArchiveRule, Criteria
from opensts.directory.errors import AlreadyExists, NotFound
from opensts.store import schema as s
from opensts.store._base import SqlBase

_a = s.analyzers
_r = s.analyzer_archive_rules
_res = s.analyzer_resources
_f = s.analyzer_findings


def _analyzer(r: Any) -> Analyzer:
    return Analyzer(r.arn, r.account_id, r.region, r.name, r.type, r.created, r.status,
                    r.configuration or {}, r.tags or {}, r.last_resource, r.last_resource_at,
                    int(r.generation), r.zone)


def _rule(r: Any) -> ArchiveRule:
    return ArchiveRule(r.analyzer_arn, r.name, r.filter or {}, r.created, r.updated)


def access_to_json(a: Access) -> dict[str, Any]:
    return {"principal": [list(p) for p in a.principal], "actions": list(a.actions),
            "condition": [list(c) for c in a.condition], "isPublic": a.is_public,
            "error": a.error, "sources": list(a.sources)}


def access_from_json(v: Any) -> Access:
    return Access(tuple((k, x) for k, x in v["principal"]), tuple(v["actions"]),
                  tuple((k, x) for k, x in v["condition"]), bool(v["isPublic"]), v.get("error"),
                  tuple(v.get("sources") or ()))


def _finding(r: Any) -> Finding:
    return Finding(r.id, r.analyzer_arn, r.resource, r.resource_type, r.owner,
                   access_from_json(r.access), r.status, r.created, r.analyzed, r.updated)


def _finding_values(f: Finding) -> dict[str, Any]:
    return {"resource": f.resource, "resource_type": f.resource_type, "owner": f.resource_owner,
            "status": f.status, "access": access_to_json(f.access), "created": f.created,
            "analyzed": f.analyzed, "updated": f.updated}


class AnalyzerMixin(SqlBase):
    # -- analyzers ------------------------------------------------------------------------
    def create_analyzer(self, analyzer: Analyzer, rules: Sequence[ArchiveRule] = ()) -> None:
        """The analyzer and its inline archive rules, in one transaction; AlreadyExists."""
        with self._write(bump=False) as conn:
            values = {"arn": analyzer.arn, "account_id": analyzer.account_id,
                      "region": analyzer.region, "name": analyzer.name, "type": analyzer.type,
                      "status": analyzer.status, "created": analyzer.created,
                      "configuration": dict(analyzer.configuration),
                      "tags": dict(analyzer.tags), "generation": -1, "zone": ""}
            self._insert(conn, _a, values, "analyzer", analyzer.arn)
            for rule in rules:
                self._insert(conn, _r, {"analyzer_arn": analyzer.arn, "name": rule.name,
                                        "filter": dict(rule.filter), "created": rule.created,
                                        "updated": rule.updated}, "archive_rule", rule.name)

    def get_analyzer(self, arn: str) -> Analyzer:
        with self._read() as conn:
            return _analyzer(self._one(conn, sa.select(_a).where(_a.c.arn == arn),
                                       "analyzer", arn))

    def list_analyzers(self, account_id: str, region: str) -> list[Analyzer]:
        with self._read() as conn:
            rows = conn.execute(sa.select(_a).where(_a.c.account_id == account_id,
                                                    _a.c.region == region).order_by(_a.c.arn))
            return [_analyzer(r) for r in rows]

    def list_all_analyzers(self) -> list[Analyzer]:
        with self._read() as conn:
            return [_analyzer(r) for r in conn.execute(sa.select(_a).order_by(_a.c.arn))]

    def set_analyzer_fields(self, arn: str, **fields: Any) -> None:
        """Update configuration, tags or status of an analyzer; NotFound."""
        allowed = {"configuration", "tags", "status"}
        if not set(fields) <= allowed:
            raise ValueError(f"unknown analyzer fields {sorted(set(fields) - allowed)}")
        with self._write(bump=False) as conn:
            done = conn.execute(sa.update(_a).where(_a.c.arn == arn).values(
                **fields, generation=-1))  # re-analyze under the new settings
            if done.rowcount == 0:
                raise NotFound("analyzer", arn)

    def delete_analyzer(self, arn: str) -> None:
        with self._write(bump=False) as conn:
            for table in (_r, _res, _f):
                conn.execute(sa.delete(table).where(table.c.analyzer_arn == arn))
            if conn.execute(sa.delete(_a).where(_a.c.arn == arn)).rowcount == 0:
                raise NotFound("analyzer", arn)

    # -- archive rules --------------------------------------------------------------------
    def put_archive_rule(self, analyzer_arn: str, name: str, criteria: Criteria,
                         now: datetime, *, create: bool) -> ArchiveRule:
        """Create (AlreadyExists) or update (NotFound) a rule of an existing analyzer."""
        with self._write(bump=False) as conn:
            self._one(conn, sa.select(_a.c.arn).where(_a.c.arn == analyzer_arn),
                      "analyzer", analyzer_arn)
            where = (_r.c.analyzer_arn == analyzer_arn, _r.c.name == name)
            if create:
                self._insert(conn, _r, {"analyzer_arn": analyzer_arn, "name": name,
                                        "filter": dict(criteria), "created": now,
                                        "updated": now}, "archive_rule", name)
            elif conn.execute(sa.update(_r).where(*where).values(
                    filter=dict(criteria), updated=now)).rowcount == 0:
                raise NotFound("archive_rule", name)
            return _rule(self._one(conn, sa.select(_r).where(*where), "archive_rule", name))

    def list_archive_rules(self, analyzer_arn: str) -> list[ArchiveRule]:
        with self._read() as conn:
            rows = conn.execute(sa.select(_r).where(_r.c.analyzer_arn == analyzer_arn)
                                .order_by(_r.c.name))
            return [_rule(r) for r in rows]

    def delete_archive_rule(self, analyzer_arn: str, name: str) -> None:
        with self._write(bump=False) as conn:
            if conn.execute(sa.delete(_r).where(_r.c.analyzer_arn == analyzer_arn,
                                                _r.c.name == name)).rowcount == 0:
                raise NotFound("archive_rule", name)

    # -- analysis -------------------------------------------------------------------------
    def analyzable_resources(self, account_ids: Iterable[str], region: str) -> list[Resource]:
        """Role trust policies and bucket policies (buckets of ``region``) of the accounts,
        in two queries of plain columns (this runs on every re-analysis)."""
        accounts = sorted(set(account_ids))
        b = s.buckets
        with self._read() as conn:
            rows = conn.execute(sa.select(s.roles.c.arn, s.roles.c.account_id,
                                          s.roles.c.trust_policy)
                                .where(s.roles.c.account_id.in_(accounts)))
            out = [Resource(ROLE, arn, owner, policy) for arn, owner, policy in rows]
            buckets = conn.execute(sa.select(b.c.name, b.c.account_id, b.c.policy,
                                             b.c.restrict_public_buckets)
                                   .where(b.c.account_id.in_(accounts), b.c.region == region))
            out.extend(Resource(BUCKET, f"arn:aws:s3:::{name}", owner, policy, bool(restrict))
                       for name, owner, policy, restrict in buckets)
        return out

    def list_analyzed_resources(self, analyzer_arn: str, arns: Sequence[str] | None = None
                                ) -> list[AnalyzedResource]:
        q = sa.select(_res).where(_res.c.analyzer_arn == analyzer_arn)
        chunks = [None] if arns is None else list(_chunks(list(arns), 500))
        out: list[AnalyzedResource] = []
        with self._read() as conn:
            for chunk in chunks:
                query = q if chunk is None else q.where(_res.c.arn.in_(chunk))
                out.extend(AnalyzedResource(r.analyzer_arn, r.arn, r.type, r.owner, r.digest,
                                            r.analyzed, r.created)
                           for r in conn.execute(query.order_by(_res.c.arn)))
        return out

    def list_analyzed_digests(self, analyzer_arn: str) -> dict[str, str]:
        with self._read() as conn:
            return dict(conn.execute(sa.select(_res.c.arn, _res.c.digest).where(  # type: ignore[arg-type]
                _res.c.analyzer_arn == analyzer_arn)).all())

    def list_analyzer_findings(self, analyzer_arn: str, resource: str | None = None
                               ) -> list[Finding]:
        q = sa.select(_f).where(_f.c.analyzer_arn == analyzer_arn)
        if resource is not None:
            q = q.where(_f.c.resource == resource)
        with self._read() as conn:
            return [_finding(r) for r in conn.execute(q.order_by(_f.c.id))]

    def find_analyzer_finding(self, analyzer_arn: str, finding_id: str) -> Finding | None:
        with self._read() as conn:
            row = conn.execute(sa.select(_f).where(_f.c.analyzer_arn == analyzer_arn,
                                                   _f.c.id == finding_id)).first()
        return None if row is None else _finding(row)

    def save_analysis(self, analyzer_arn: str, *, generation: int, zone: str,
                      seen: Sequence[AnalyzedResource], gone: Sequence[str],
                      findings: Sequence[Finding], last: tuple[str, datetime] | None) -> None:
        """One re-analysis: resources seen (upserted) and gone, changed findings, the state
        it was computed from. NotFound if the analyzer was deleted meanwhile."""
        with self._write(bump=False) as conn:
            values: dict[str, Any] = {"generation": generation, "zone": zone}
            if last is not None:
                values.update(last_resource=last[0], last_resource_at=last[1])
            if conn.execute(sa.update(_a).where(_a.c.arn == analyzer_arn).values(
                    **values)).rowcount == 0:
                raise NotFound("analyzer", analyzer_arn)
            for chunk in _chunks(list(gone), 500):
                conn.execute(sa.delete(_res).where(_res.c.analyzer_arn == analyzer_arn,
                                                   _res.c.arn.in_(chunk)))
            for chunk in _chunks([r.arn for r in seen], 500):
                conn.execute(sa.delete(_res).where(_res.c.analyzer_arn == analyzer_arn,
                                                   _res.c.arn.in_(chunk)))
            if seen:
                conn.execute(sa.insert(_res), [
                    {"analyzer_arn": analyzer_arn, "arn": r.arn, "type": r.type,
                     "owner": r.owner, "digest": r.digest, "analyzed": r.analyzed,
                     "created": r.created} for r in seen])
            for chunk in _chunks([f.id for f in findings], 500):
                conn.execute(sa.delete(_f).where(_f.c.analyzer_arn == analyzer_arn,
                                                 _f.c.id.in_(chunk)))
            if findings:
                conn.execute(sa.insert(_f), [
                    {"analyzer_arn": analyzer_arn, "id": f.id, **_finding_values(f)}
                    for f in findings])

    def set_findings_status(self, analyzer_arn: str, ids: Sequence[str], status: str,
                            now: datetime) -> int:
        """UpdateFindings: ACTIVE/ARCHIVED for the given (not RESOLVED) findings."""
        with self._write(bump=False) as conn:
            done = 0
            for chunk in _chunks(list(ids), 500):
                done += conn.execute(sa.update(_f).where(
                    _f.c.analyzer_arn == analyzer_arn, _f.c.id.in_(chunk),
                    _f.c.status != "RESOLVED").values(status=status, updated=now)).rowcount
            return done


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


__all__ = ["AlreadyExists", "AnalyzerMixin"]
