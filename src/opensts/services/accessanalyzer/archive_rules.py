"""Archive rules: Create/Get/List/Update/DeleteArchiveRule and ApplyArchiveRule.

Filter keys are those of access-analyzer-reference-filter-keys for external access; a
criterion needs at least one of eq, neq, contains, exists (API_Criterion).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opensts.analyzer.findings import matches
from opensts.analyzer.model import ArchiveRule, Criteria
from opensts.directory.errors import AlreadyExists, NotFound
from opensts.services.accessanalyzer.analysis import lock_for
from opensts.services.accessanalyzer.common import (
    RULE_NAME,
    RULE_TYPE,
    analyzer_by_arn,
    analyzer_by_name,
    analyzer_for_rule,
    body,
    check_name,
    page,
    store_of,
)
from opensts.services.accessanalyzer.errors import (
    ConflictException,
    ResourceNotFoundException,
    invalid,
)
from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.wire.params import Params

SERVICE = "access-analyzer"
FILTER_KEYS = frozenset({
    "id", "resource", "resourceType", "resourceOwnerAccount", "isPublic", "status", "error",
    "principal.AWS", "principal.Federated", "principal.CanonicalUser", "findingType",
    "resourceControlPolicyRestriction",
})
MAX_RULES = 100  # per analyzer (AWS's quota)


def check_filter(raw: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, Mapping) or not raw:
        raise invalid("filter", "The filter must have at least one criterion.")
    out: dict[str, dict[str, Any]] = {}
    for key, criterion in raw.items():
        if key not in FILTER_KEYS and not key.startswith("condition."):
            raise invalid(f"filter.{key}", f"Invalid filter key: {key}.")
        present = {k: v for k, v in dict(criterion or {}).items() if v is not None}
        if not present:
            raise invalid(f"filter.{key}", "A criterion needs one of eq, neq, contains, "
                                           "exists.")
        out[key] = present
    return out


def rule_summary(rule: ArchiveRule) -> dict[str, Any]:
    return {"ruleName": rule.name, "filter": dict(rule.filter), "createdAt": rule.created,
            "updatedAt": rule.updated}


def _find(ctx: CallContext, analyzer_arn: str, name: str) -> ArchiveRule:
    for rule in store_of(ctx).list_archive_rules(analyzer_arn):
        if rule.name == name:
            return rule  # type: ignore[no-any-return]
    raise ResourceNotFoundException(f"Archive rule {name} not found.", name, RULE_TYPE)


@operation(SERVICE, "CreateArchiveRule")
def create_archive_rule(ctx: CallContext, params: Params) -> None:
    raw = body(params)
    ctx.audit.request_parameters = {"analyzerName": raw["analyzerName"],
                                    "ruleName": raw["ruleName"]}
    analyzer = analyzer_for_rule(ctx, raw["analyzerName"], raw["ruleName"],
                                 "access-analyzer:CreateArchiveRule")
    name = check_name("ruleName", raw["ruleName"], RULE_NAME)
    criteria = check_filter(raw["filter"])
    if len(store_of(ctx).list_archive_rules(analyzer.arn)) >= MAX_RULES:
        from opensts.services.accessanalyzer.errors import ServiceQuotaExceededException

        raise ServiceQuotaExceededException(
            f"An analyzer can have at most {MAX_RULES} archive rules.", name, RULE_TYPE)
    try:
        store_of(ctx).put_archive_rule(analyzer.arn, name, criteria, ctx.meta.now,
                                           create=True)
    except AlreadyExists:
        raise ConflictException(f"Archive rule {name} already exists.", name,
                                RULE_TYPE) from None
    _apply(ctx, analyzer.arn, criteria)  # rules apply to the existing findings too
    return None


@operation(SERVICE, "GetArchiveRule", read_only=True)
def get_archive_rule(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    ctx.audit.request_parameters = {"analyzerName": raw["analyzerName"],
                                    "ruleName": raw["ruleName"]}
    analyzer = analyzer_for_rule(ctx, raw["analyzerName"], raw["ruleName"],
                                 "access-analyzer:GetArchiveRule")
    return {"archiveRule": rule_summary(_find(ctx, analyzer.arn, raw["ruleName"]))}


@operation(SERVICE, "ListArchiveRules", read_only=True)
def list_archive_rules(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    ctx.audit.request_parameters = {"analyzerName": raw["analyzerName"]}
    analyzer = analyzer_by_name(ctx, raw["analyzerName"], "access-analyzer:ListArchiveRules")
    rules, following = page(store_of(ctx).list_archive_rules(analyzer.arn), params)
    return {"archiveRules": [rule_summary(r) for r in rules], "nextToken": following}


@operation(SERVICE, "UpdateArchiveRule")
def update_archive_rule(ctx: CallContext, params: Params) -> None:
    raw = body(params)
    ctx.audit.request_parameters = {"analyzerName": raw["analyzerName"],
                                    "ruleName": raw["ruleName"]}
    analyzer = analyzer_for_rule(ctx, raw["analyzerName"], raw["ruleName"],
                                 "access-analyzer:UpdateArchiveRule")
    criteria = check_filter(raw["filter"])
    try:
        store_of(ctx).put_archive_rule(analyzer.arn, raw["ruleName"], criteria,
                                           ctx.meta.now, create=False)
    except NotFound:
        raise ResourceNotFoundException(f"Archive rule {raw['ruleName']} not found.",
                                        raw["ruleName"], RULE_TYPE) from None
    return None


@operation(SERVICE, "DeleteArchiveRule")
def delete_archive_rule(ctx: CallContext, params: Params) -> None:
    raw = body(params)
    ctx.audit.request_parameters = {"analyzerName": raw["analyzerName"],
                                    "ruleName": raw["ruleName"]}
    analyzer = analyzer_for_rule(ctx, raw["analyzerName"], raw["ruleName"],
                                 "access-analyzer:DeleteArchiveRule")
    try:
        store_of(ctx).delete_archive_rule(analyzer.arn, raw["ruleName"])
    except NotFound:
        raise ResourceNotFoundException(f"Archive rule {raw['ruleName']} not found.",
                                        raw["ruleName"], RULE_TYPE) from None
    return None


@operation(SERVICE, "ApplyArchiveRule")
def apply_archive_rule(ctx: CallContext, params: Params) -> None:
    """Retroactively archive the ACTIVE findings the rule matches."""
    raw = body(params)
    ctx.audit.request_parameters = {"analyzerArn": raw["analyzerArn"],
                                    "ruleName": raw["ruleName"]}
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:ApplyArchiveRule",
                               fresh=True)
    rule = _find(ctx, analyzer.arn, raw["ruleName"])
    _apply(ctx, analyzer.arn, rule.filter)
    return None


def _apply(ctx: CallContext, analyzer_arn: str, criteria: Criteria) -> None:
    store = store_of(ctx)
    with lock_for(analyzer_arn):
        ids = [f.id for f in store.list_analyzer_findings(analyzer_arn)
               if f.status == "ACTIVE" and matches(criteria, f)]
        if ids:
            store.set_findings_status(analyzer_arn, ids, "ARCHIVED", ctx.meta.now)
