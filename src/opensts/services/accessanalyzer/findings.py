"""Findings: ListFindings, ListFindingsV2, GetFinding, GetFindingV2, UpdateFindings,
GetFindingsStatistics, and the analyzed resources (ListAnalyzedResources,
GetAnalyzedResource). Every call first brings the analyzer up to date (analysis.refresh).

GetFinding/GetFindingV2 need access-analyzer:GetFinding, ListFindings/ListFindingsV2
access-analyzer:ListFindings (API reference: "both use access-analyzer:GetFinding").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opensts.analyzer import findings as model
from opensts.analyzer.external import BUCKET
from opensts.analyzer.findings import Finding
from opensts.analyzer.model import Analyzer
from opensts.services.accessanalyzer.analysis import lock_for
from opensts.services.accessanalyzer.archive_rules import check_filter
from opensts.services.accessanalyzer.common import (
    FINDING_TYPE,
    analyzer_by_arn,
    body,
    page,
    store_of,
)
from opensts.services.accessanalyzer.errors import (
    ResourceNotFoundException,
    ValidationException,
    invalid,
)
from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.wire.params import Params

SERVICE = "access-analyzer"
EXTERNAL = "ExternalAccess"
_SORTABLE = {"id": "id", "resource": "resource", "resourceType": "resource_type",
             "resourceOwnerAccount": "resource_owner", "status": "status",
             "createdAt": "created", "updatedAt": "updated", "analyzedAt": "analyzed"}

# Unused-access analyzers (services/accessanalyzer/unused.py) register how to list their
# findings as GetFindingV2-shaped dicts (id, status, resourceType, ..., findingType,
# findingDetails); ListFindingsV2/GetFindingV2 then serve them.
UnusedLister = Callable[[CallContext, Analyzer], list[dict[str, Any]]]
UNUSED_FINDINGS: dict[str, UnusedLister] = {}


def finding_v1(f: Finding) -> dict[str, Any]:
    a = f.access
    return {"id": f.id, "principal": a.principal_map(), "action": list(a.actions),
            "resource": f.resource, "isPublic": a.is_public, "resourceType": f.resource_type,
            "condition": a.condition_map(), "createdAt": f.created, "analyzedAt": f.analyzed,
            "updatedAt": f.updated, "status": f.status, "resourceOwnerAccount": f.resource_owner,
            "error": a.error,
            "sources": [{"type": "POLICY"}] if f.resource_type == BUCKET else None}


def summary_v2(f: Finding) -> dict[str, Any]:
    return {"analyzedAt": f.analyzed, "createdAt": f.created, "error": f.access.error,
            "id": f.id, "resource": f.resource, "resourceType": f.resource_type,
            "resourceOwnerAccount": f.resource_owner, "status": f.status,
            "updatedAt": f.updated, "findingType": EXTERNAL}


def details_v2(f: Finding) -> dict[str, Any]:
    a = f.access
    return {"externalAccessDetails": {
        "action": list(a.actions), "condition": a.condition_map(), "isPublic": a.is_public,
        "principal": a.principal_map(),
        "sources": [{"type": "POLICY"}] if f.resource_type == BUCKET else None}}


def _filtered(ctx: CallContext, analyzer: Analyzer, params: Params) -> list[Finding]:
    raw = body(params)
    criteria = check_filter(raw["filter"]) if raw.get("filter") else {}
    found = [f for f in store_of(ctx).list_analyzer_findings(analyzer.arn)
             if model.matches(criteria, f)]
    sort = raw.get("sort") or {}
    attribute = sort.get("attributeName")
    if attribute is not None:
        field = _SORTABLE.get(attribute)
        if field is None:
            raise invalid("sort.attributeName", f"Invalid sort attribute: {attribute}.")
        found.sort(key=lambda f: getattr(f, field),
                   reverse=sort.get("orderBy", "ASC") == "DESC")
    return found


def _audit(ctx: CallContext, raw: Any, *names: str) -> None:
    ctx.audit.request_parameters = {n: raw[n] for n in names if raw.get(n) is not None}


@operation(SERVICE, "ListFindings", read_only=True)
def list_findings(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "filter", "sort", "maxResults")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:ListFindings",
                               fresh=True)
    if analyzer.type not in ("ACCOUNT", "ORGANIZATION"):
        raise ValidationException("ListFindings is supported only for external access "
                                  "analyzers; use ListFindingsV2.", reason="notSupported")
    items, following = page(_filtered(ctx, analyzer, params), params)
    return {"findings": [finding_v1(f) for f in items], "nextToken": following}


@operation(SERVICE, "ListFindingsV2", read_only=True)
def list_findings_v2(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "filter", "sort", "maxResults")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:ListFindings",
                               fresh=True)
    lister = UNUSED_FINDINGS.get(analyzer.type)
    if lister is not None:
        rows = _filtered_rows(lister(ctx, analyzer), params)
        items, following = page(rows, params)
        return {"findings": [{k: v for k, v in r.items() if k != "findingDetails"}
                             for r in items], "nextToken": following}
    items2, following = page(_filtered(ctx, analyzer, params), params)
    return {"findings": [summary_v2(f) for f in items2], "nextToken": following}


def _filtered_rows(rows: list[dict[str, Any]], params: Params) -> list[dict[str, Any]]:
    """ListFindingsV2's filter and sort over GetFindingV2-shaped rows (unused access)."""
    raw = body(params)
    criteria = check_filter(raw["filter"]) if raw.get("filter") else {}

    def fields(row: dict[str, Any]) -> dict[str, Any]:
        return {k: (("true" if v else "false") if isinstance(v, bool) else v)
                for k, v in row.items() if isinstance(v, str | bool)}

    found = [r for r in rows if model.matches_fields(criteria, fields(r))]
    sort = raw.get("sort") or {}
    attribute = sort.get("attributeName")
    if attribute is not None:
        if attribute not in _SORTABLE:
            raise invalid("sort.attributeName", f"Invalid sort attribute: {attribute}.")
        found.sort(key=lambda r: str(r.get(attribute) or ""),
                   reverse=sort.get("orderBy", "ASC") == "DESC")
    return found


def finding_by_id(ctx: CallContext, analyzer: Analyzer, finding_id: str) -> Finding:
    """The finding ``finding_id`` of ``analyzer`` (ResourceNotFoundException otherwise)."""
    return _one(ctx, analyzer, finding_id)


def _one(ctx: CallContext, analyzer: Analyzer, finding_id: str) -> Finding:
    found: Finding | None = store_of(ctx).find_analyzer_finding(analyzer.arn, finding_id)
    if found is not None:
        return found
    raise ResourceNotFoundException(f"Finding {finding_id} not found.", finding_id,
                                    FINDING_TYPE)


@operation(SERVICE, "GetFinding", read_only=True)
def get_finding(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "id")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:GetFinding",
                               fresh=True)
    if analyzer.type not in ("ACCOUNT", "ORGANIZATION"):
        raise ValidationException("GetFinding is supported only for external access "
                                  "analyzers; use GetFindingV2.", reason="notSupported")
    return {"finding": finding_v1(_one(ctx, analyzer, raw["id"]))}


@operation(SERVICE, "GetFindingV2", read_only=True)
def get_finding_v2(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "id")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:GetFinding",
                               fresh=True)
    lister = UNUSED_FINDINGS.get(analyzer.type)
    if lister is not None:
        for row in lister(ctx, analyzer):
            if row.get("id") == raw["id"]:
                return row
        raise ResourceNotFoundException(f"Finding {raw['id']} not found.", raw["id"],
                                        FINDING_TYPE)
    f = _one(ctx, analyzer, raw["id"])
    return {**summary_v2(f), "findingDetails": [details_v2(f)]}


@operation(SERVICE, "UpdateFindings")
def update_findings(ctx: CallContext, params: Params) -> None:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "status", "ids", "resourceArn")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:UpdateFindings",
                               fresh=True)
    ids, resource = raw.get("ids"), raw.get("resourceArn")
    if not ids and not resource:
        raise ValidationException("Either ids or resourceArn must be specified.",
                                  reason="fieldValidationFailed",
                                  fields=[("ids", "ids or resourceArn is required")])
    store = store_of(ctx)
    known = {f.id: f for f in store.list_analyzer_findings(analyzer.arn)}
    chosen = list(ids or [])
    for fid in chosen:
        if fid not in known:
            raise ResourceNotFoundException(f"Finding {fid} not found.", fid, FINDING_TYPE)
    if resource:
        chosen += [f.id for f in known.values() if f.resource == resource]
    with lock_for(analyzer.arn):
        store.set_findings_status(analyzer.arn, chosen, raw["status"], ctx.meta.now)
    return None


@operation(SERVICE, "GetFindingsStatistics", read_only=True)
def get_findings_statistics(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:GetFindingsStatistics",
                               fresh=True)
    lister = UNUSED_FINDINGS.get(analyzer.type)
    if lister is not None:
        summarize = getattr(_unused_module(), "unused_statistics", None)
        if summarize is None:
            raise ValidationException("GetFindingsStatistics is not available for this "
                                      "analyzer type.", reason="notSupported")
        return {"findingsStatistics": [
                    {"unusedAccessFindingsStatistics": summarize(lister(ctx, analyzer))}],
                "lastUpdatedAt": ctx.meta.now}
    stats = model.statistics(store_of(ctx).list_analyzer_findings(analyzer.arn))
    return {"findingsStatistics": [{"externalAccessFindingsStatistics": stats}],
            "lastUpdatedAt": analyzer.last_resource_at or analyzer.created}


def _unused_module() -> Any:
    import importlib

    try:
        return importlib.import_module("opensts.services.accessanalyzer.unused")
    except ModuleNotFoundError:
        return None


@operation(SERVICE, "ListAnalyzedResources", read_only=True)
def list_analyzed_resources(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "resourceType")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"],
                               "access-analyzer:ListAnalyzedResources", fresh=True)
    rows = store_of(ctx).list_analyzed_resources(analyzer.arn)
    if raw.get("resourceType"):
        rows = [r for r in rows if r.type == raw["resourceType"]]
    items, following = page(rows, params)
    return {"analyzedResources": [{"resourceArn": r.arn, "resourceOwnerAccount": r.owner,
                                   "resourceType": r.type} for r in items],
            "nextToken": following}


@operation(SERVICE, "GetAnalyzedResource", read_only=True)
def get_analyzed_resource(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "resourceArn")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:GetAnalyzedResource",
                               fresh=True)
    store = store_of(ctx)
    for r in store.list_analyzed_resources(analyzer.arn):
        if r.arn == raw["resourceArn"]:
            active = [f for f in store.list_analyzer_findings(analyzer.arn, r.arn)
                      if f.status == "ACTIVE"]
            actions = sorted({a for f in active for a in f.access.actions})
            return {"resource": {
                "resourceArn": r.arn, "resourceType": r.type, "createdAt": r.created,
                "analyzedAt": r.analyzed, "updatedAt": r.analyzed,
                "isPublic": any(f.access.is_public for f in active),
                "actions": actions or None, "resourceOwnerAccount": r.owner,
                "status": "ACTIVE" if active else None}}
    raise ResourceNotFoundException(f"Resource {raw['resourceArn']} not found.",
                                    raw["resourceArn"], raw.get("resourceType") or "")
