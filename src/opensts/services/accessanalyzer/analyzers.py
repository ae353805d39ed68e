"""Analyzers: CreateAnalyzer, GetAnalyzer, ListAnalyzers, UpdateAnalyzer, DeleteAnalyzer."""

from __future__ import annotations

from typing import Any

from opensts.analyzer.model import Analyzer, ArchiveRule
from opensts.analyzer.zone import ORGANIZATION_TYPES
from opensts.directory.errors import AlreadyExists
from opensts.services.accessanalyzer.analysis import (
    can_administer_organization,
    forget,
    refresh,
)
from opensts.services.accessanalyzer.archive_rules import check_filter
from opensts.services.accessanalyzer.common import (
    ANALYZER_TYPE,
    RULE_NAME,
    analyzer_arn,
    analyzer_by_name,
    body,
    check_name,
    page,
    store_of,
)
from opensts.services.accessanalyzer.errors import (
    ConflictException,
    ServiceQuotaExceededException,
    ValidationException,
    invalid,
)
from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.wire.params import Params

SERVICE = "access-analyzer"
MAX_ANALYZERS = 50  # per account and region (OpenSTS's bound; AWS's quotas differ by type)
UNUSED_TYPES = frozenset({"ACCOUNT_UNUSED_ACCESS", "ORGANIZATION_UNUSED_ACCESS"})
DEFAULT_UNUSED_AGE = 90
MAX_UNUSED_AGE = 365


def summary(a: Analyzer) -> dict[str, Any]:
    out: dict[str, Any] = {"arn": a.arn, "name": a.name, "type": a.type,
                           "createdAt": a.created, "lastResourceAnalyzed": a.last_resource,
                           "lastResourceAnalyzedAt": a.last_resource_at,
                           "tags": dict(a.tags), "status": a.status}
    if a.configuration:
        out["configuration"] = dict(a.configuration)
    return out


def _configuration(kind: str, raw: Any) -> dict[str, Any]:
    if kind in UNUSED_TYPES:
        unused = dict((raw or {}).get("unusedAccess") or {})
        unused.setdefault("unusedAccessAge", DEFAULT_UNUSED_AGE)
        age = unused["unusedAccessAge"]
        # The model's documentation: "a value between 1 and 365 days" (no range trait).
        if isinstance(age, bool) or not isinstance(age, int) or not 1 <= age <= MAX_UNUSED_AGE:
            raise invalid("configuration.unusedAccess.unusedAccessAge",
                          f"Value '{age}' at 'configuration.unusedAccess.unusedAccessAge' "
                          f"failed to satisfy constraint: Member must be between 1 and "
                          f"{MAX_UNUSED_AGE} days.")
        return {"unusedAccess": unused}
    if raw and raw.get("unusedAccess"):
        raise invalid("configuration", "Unused access configuration is supported only for "
                                       "unused access analyzers.")
    return dict(raw or {})


@operation(SERVICE, "CreateAnalyzer")
def create_analyzer(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    caller = ctx.require_caller()
    name = check_name("analyzerName", raw["analyzerName"])
    kind = raw["type"]
    arn = analyzer_arn(ctx.meta.region, caller.account_id, name)
    tags = dict(raw.get("tags") or {})
    ctx.authorize("access-analyzer:CreateAnalyzer", arn,
                  context={f"aws:RequestTag/{k}": v for k, v in tags.items()}
                  | ({"aws:TagKeys": list(tags)} if tags else {}))
    ctx.audit.request_parameters = {"analyzerName": name, "type": kind}
    store = store_of(ctx)
    if kind in ORGANIZATION_TYPES and not can_administer_organization(store,
                                                                      caller.account_id):
        raise ValidationException(
            "You must be the organization's management account or delegated administrator "
            "for IAM Access Analyzer to create an analyzer with the organization as the zone "
            "of trust.", reason="notSupported")
    if kind not in ("ACCOUNT", "ORGANIZATION") and kind not in UNUSED_TYPES:
        raise ValidationException(f"OpenSTS does not support analyzers of type {kind}.",
                                  reason="notSupported")
    configuration = _configuration(kind, raw.get("configuration"))
    rules = []
    for index, rule in enumerate(raw.get("archiveRules") or []):
        rule_name = check_name(f"archiveRules.{index + 1}.ruleName", rule["ruleName"],
                               RULE_NAME)
        rules.append(ArchiveRule(arn, rule_name, check_filter(rule["filter"]),
                                 ctx.meta.now, ctx.meta.now))
    if len(store.list_analyzers(caller.account_id, ctx.meta.region)) >= MAX_ANALYZERS:
        raise ServiceQuotaExceededException(
            f"You can create at most {MAX_ANALYZERS} analyzers per account and Region.",
            arn, ANALYZER_TYPE)
    analyzer = Analyzer(arn, caller.account_id, ctx.meta.region, name, kind, ctx.meta.now,
                        "ACTIVE", configuration, tags)
    try:
        store.create_analyzer(analyzer, rules)
    except AlreadyExists:
        raise ConflictException(f"Analyzer {name} already exists.", name,
                                ANALYZER_TYPE) from None
    ctx.audit.response_elements = {"arn": arn}
    return {"arn": arn}


@operation(SERVICE, "GetAnalyzer", read_only=True)
def get_analyzer(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = body(params)["analyzerName"]
    ctx.audit.request_parameters = {"analyzerName": name}
    analyzer = analyzer_by_name(ctx, name, "access-analyzer:GetAnalyzer")
    analyzer = refresh(store_of(ctx), analyzer, ctx.meta.now)
    return {"analyzer": summary(analyzer)}


@operation(SERVICE, "ListAnalyzers", read_only=True)
def list_analyzers(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.require_caller()
    ctx.authorize("access-analyzer:ListAnalyzers", "*")
    raw = body(params)
    ctx.audit.request_parameters = {k: raw[k] for k in ("type", "maxResults") if k in raw}
    found = store_of(ctx).list_analyzers(caller.account_id, ctx.meta.region)
    if raw.get("type"):
        found = [a for a in found if a.type == raw["type"]]
    items, following = page(found, params)
    return {"analyzers": [summary(a) for a in items], "nextToken": following}


@operation(SERVICE, "UpdateAnalyzer")
def update_analyzer(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    name = raw["analyzerName"]
    ctx.audit.request_parameters = {"analyzerName": name}
    analyzer = analyzer_by_name(ctx, name, "access-analyzer:UpdateAnalyzer")
    if analyzer.type not in UNUSED_TYPES and raw.get("configuration"):
        raise invalid("configuration", "Only unused access analyzers can be updated.")
    configuration = _configuration(analyzer.type, raw.get("configuration"))
    store_of(ctx).set_analyzer_fields(analyzer.arn, configuration=configuration)
    return {"configuration": configuration}


@operation(SERVICE, "DeleteAnalyzer")
def delete_analyzer(ctx: CallContext, params: Params) -> None:
    name = body(params)["analyzerName"]
    ctx.audit.request_parameters = {"analyzerName": name}
    analyzer = analyzer_by_name(ctx, name, "access-analyzer:DeleteAnalyzer")
    store_of(ctx).delete_analyzer(analyzer.arn)
    store_of(ctx).delete_access_previews(analyzer.arn)  # its previews go with it
    forget(analyzer.arn)
    return None
