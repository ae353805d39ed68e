"""Access previews: CreateAccessPreview, GetAccessPreview, ListAccessPreviews,
ListAccessPreviewFindings.

A preview is computed while CreateAccessPreview runs (the analysis is the analyzer's own,
analyzer/previews.py over analyzer/external.py, and takes milliseconds), so GetAccessPreview
answers COMPLETED, or FAILED with statusReason INVALID_CONFIGURATION, from the first call;
AWS's clients poll while the status is CREATING and accept any other status at once. The
comparison is made with the analyzer's findings as they are when the preview is created
(the analyzer is brought up to date first), and kept with the preview, as AWS keeps a
preview's findings.

Each call is authorized as access-analyzer:<Operation> on the analyzer's ARN (the service
authorization reference: all four act on the Analyzer resource type) and audited with the
analyzer ARN and preview id (the proposed policies are not copied into the audit record).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from opensts.analyzer import previews as pure
from opensts.analyzer.external import Resource
from opensts.analyzer.model import Analyzer
from opensts.directory.errors import NotFound
from opensts.services.accessanalyzer.analysis import zone_for
from opensts.services.accessanalyzer.archive_rules import FILTER_KEYS
from opensts.services.accessanalyzer.common import analyzer_by_arn, body, page, store_of
from opensts.services.accessanalyzer.errors import (
    ConflictException,
    ResourceNotFoundException,
    ValidationException,
    invalid,
)
from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.store._previews import AccessPreviewRow
from opensts.wire.params import Params

SERVICE = "access-analyzer"
PREVIEW_TYPE = "AWS::AccessAnalyzer::AccessPreview"
PREVIEW_ANALYZER_TYPES = ("ACCOUNT", "ORGANIZATION")


def _audit(ctx: CallContext, raw: Any, *names: str) -> None:
    ctx.audit.request_parameters = {n: raw[n] for n in names if raw.get(n) is not None}


def _config_error(exc: pure.ConfigError) -> ValidationException:
    return ValidationException(f"1 validation error detected: {exc.message}",
                               fields=[(exc.field, exc.message)])


@operation(SERVICE, "CreateAccessPreview")
def create_access_preview(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:CreateAccessPreview",
                               fresh=True)
    if analyzer.type not in PREVIEW_ANALYZER_TYPES:
        raise invalid("analyzerArn", "Access previews can be created only with an external "
                                     "access analyzer (type ACCOUNT or ORGANIZATION).")
    if analyzer.status != "ACTIVE":
        raise invalid("analyzerArn", f"The analyzer {analyzer.arn} is not active.")
    configurations = raw["configurations"]
    try:
        arn, member, config = pure.single_configuration(configurations)
    except pure.ConfigError as exc:
        raise _config_error(exc) from None
    store = store_of(ctx)
    # Kept as a digest: the model puts no bound on the token's length.
    token = hashlib.sha256(raw["clientToken"].encode()).hexdigest() \
        if raw.get("clientToken") else None
    if token:
        earlier = store.find_access_preview_by_token(analyzer.arn, token)
        if earlier is not None and earlier.created >= analyzer.created:
            if dict(earlier.configurations) != dict(configurations):
                raise ConflictException("The clientToken was used with another "
                                        "configuration.", earlier.id, PREVIEW_TYPE)
            ctx.audit.response_elements = {"id": earlier.id}
            return {"id": earlier.id}  # a retry: the same preview (idempotencyToken)
    zone = zone_for(store, analyzer)
    preview_id = str(uuid.uuid4())
    now = ctx.meta.now
    status, reason, found = "COMPLETED", None, []
    try:
        proposal = _proposal(store, analyzer, zone, arn, member, config)
        accesses = pure.accesses(proposal, zone, _canonical_ids(zone.accounts))
        existing = store.list_analyzer_findings(analyzer.arn, arn)
        rules = [r.filter for r in store.list_archive_rules(analyzer.arn)]
        found = pure.compare(preview_id, analyzer.arn, proposal, accesses, existing, rules, now)
    except pure.ConfigError as exc:
        raise _config_error(exc) from None
    except pure.InvalidConfiguration:
        status, reason = "FAILED", "INVALID_CONFIGURATION"
    store.save_access_preview(AccessPreviewRow(preview_id, analyzer.arn, now, status, reason,
                                               configurations,
                                               [pure.to_json(f) for f in found], token))
    ctx.audit.response_elements = {"id": preview_id}
    return {"id": preview_id}


def _proposal(store: Any, analyzer: Analyzer, zone: Any, arn: str, member: str,
              config: Any) -> pure.Proposal:
    if member == "iamRole":
        owner = pure.role_account(arn)
    else:
        pure.bucket_name(arn)
        owner = analyzer.account_id
    current: Resource | None = None
    for resource in store.analyzable_resources(zone.accounts, analyzer.region):
        if resource.arn == arn:
            current = resource
            owner = resource.owner
            break
    if owner not in zone.accounts:
        raise pure.ConfigError("configurations", f"The resource {arn} is not in the "
                                                 f"analyzer's zone of trust.")
    if member == "s3Bucket":
        for point in (config.get("accessPoints") or {}):
            parts = point.split(":")
            if len(parts) < 6 or parts[4] != owner:
                raise pure.ConfigError(f"configurations.{arn}.s3Bucket.accessPoints",
                                       f"The access point {point} must belong to the bucket "
                                       f"owner's account {owner}.")
    return pure.propose(arn, member, config, owner, current)


def _canonical_ids(accounts: Any) -> list[str]:
    from opensts.s3.bucket_xml import canonical_user_id

    return [canonical_user_id(a) for a in accounts]


def _preview(ctx: CallContext, analyzer: Analyzer, preview_id: str) -> AccessPreviewRow:
    try:
        row: AccessPreviewRow = store_of(ctx).get_access_preview(analyzer.arn, preview_id)
    except NotFound:
        row = None  # type: ignore[assignment]
    # A preview older than its analyzer belongs to a deleted analyzer of the same name.
    if row is None or row.created < analyzer.created:
        raise ResourceNotFoundException(f"Access preview {preview_id} not found.", preview_id,
                                        PREVIEW_TYPE)
    return row


def _summary(row: AccessPreviewRow) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "analyzerArn": row.analyzer_arn,
                           "createdAt": row.created, "status": row.status}
    if row.status_reason:
        out["statusReason"] = {"code": row.status_reason}
    return out


@operation(SERVICE, "GetAccessPreview", read_only=True)
def get_access_preview(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "accessPreviewId")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:GetAccessPreview")
    row = _preview(ctx, analyzer, raw["accessPreviewId"])
    return {"accessPreview": {**_summary(row), "configurations": dict(row.configurations)}}


@operation(SERVICE, "ListAccessPreviews", read_only=True)
def list_access_previews(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "maxResults")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"], "access-analyzer:ListAccessPreviews")
    rows = [r for r in store_of(ctx).list_access_previews(analyzer.arn)
            if r.created >= analyzer.created]
    items, following = page(rows, params)
    return {"accessPreviews": [_summary(r) for r in items], "nextToken": following}


@operation(SERVICE, "ListAccessPreviewFindings", read_only=True)
def list_access_preview_findings(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    _audit(ctx, raw, "analyzerArn", "accessPreviewId", "filter", "maxResults")
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"],
                               "access-analyzer:ListAccessPreviewFindings")
    row = _preview(ctx, analyzer, raw["accessPreviewId"])
    if row.status != "COMPLETED":
        # ConflictException: "the access preview is not yet ready" (also a failed one).
        raise ConflictException(f"Access preview {row.id} is {row.status}; its findings are "
                                f"available once it is COMPLETED.", row.id, PREVIEW_TYPE)
    criteria = _criteria(raw.get("filter"))
    found = pure.filtered([pure.from_json(f) for f in row.findings], criteria)
    items, following = page(found, params)
    return {"findings": [pure.to_wire(f) for f in items], "nextToken": following}


def _criteria(raw: Any) -> dict[str, dict[str, Any]]:
    if not raw:
        return {}
    bad = pure.check_filter_keys(raw, FILTER_KEYS)
    if bad is not None:
        raise invalid(f"filter.{bad}", f"Invalid filter key: {bad}.")
    out: dict[str, dict[str, Any]] = {}
    for key, criterion in raw.items():
        present = {k: v for k, v in dict(criterion or {}).items() if v is not None}
        if not present:
            raise invalid(f"filter.{key}", "A criterion needs one of eq, neq, contains, "
                                           "exists.")
        out[key] = present
    return out
