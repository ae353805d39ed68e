"""What the Access Analyzer handlers share: ARNs, lookups, paging, authorization."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from opensts.analyzer.model import Analyzer
from opensts.directory.errors import NotFound
from opensts.services.accessanalyzer.analysis import refresh
from opensts.services.accessanalyzer.errors import ResourceNotFoundException, invalid
from opensts.services.context import CallContext

T = TypeVar("T")


def body(params: Any) -> Any:
    """The request's members (rest-json: any JSON value, already checked against the model)."""
    return params.raw()


def store_of(ctx: CallContext) -> Any:
    """The store, with the Access Analyzer methods (store/_analyzer.py) that the directory's
    Store protocol does not declare."""
    return ctx.runtime.store

ANALYZER_TYPE = "AWS::AccessAnalyzer::Analyzer"
RULE_TYPE = "AWS::AccessAnalyzer::ArchiveRule"
FINDING_TYPE = "AWS::AccessAnalyzer::Finding"
# The model's patterns are not anchored (Smithy); names go into ARNs, so here they are.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,254}\Z")
RULE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,254}\Z")
_ARN = re.compile(r"arn:aws:access-analyzer:([a-z0-9-]+):(\d{12}):analyzer/([^/]+)\Z")


def analyzer_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:access-analyzer:{region}:{account_id}:analyzer/{name}"


def rule_arn(analyzer: str, rule: str) -> str:
    return f"{analyzer}/archive-rule/{rule}"


def check_name(field: str, value: str, pattern: re.Pattern[str] = NAME) -> str:
    if not pattern.match(value):
        raise invalid(field, f"Value '{value}' at '{field}' failed to satisfy constraint: "
                             f"Member must satisfy regular expression pattern: "
                             f"{pattern.pattern.removesuffix(chr(92) + 'Z')}")
    return value


def analyzer_by_name(ctx: CallContext, name: str, action: str) -> Analyzer:
    caller = ctx.require_caller()
    arn = analyzer_arn(ctx.meta.region, caller.account_id, name)
    ctx.authorize(action, arn)
    return _get(ctx, arn)


def analyzer_for_rule(ctx: CallContext, name: str, rule: str, action: str) -> Analyzer:
    """The analyzer of an archive rule, after authorizing ``action`` on the rule's ARN."""
    caller = ctx.require_caller()
    arn = analyzer_arn(ctx.meta.region, caller.account_id, name)
    ctx.authorize(action, rule_arn(arn, rule))
    return _get(ctx, arn)


def analyzer_by_arn(ctx: CallContext, arn: str, action: str, *, fresh: bool = False
                    ) -> Analyzer:
    """The analyzer an ARN names, after authorizing ``action`` on it. An ARN of another
    account or region is not found (analyzers are regional and not shared)."""
    caller = ctx.require_caller()
    ctx.authorize(action, arn)
    m = _ARN.match(arn)
    if m is None or m.group(1) != ctx.meta.region or m.group(2) != caller.account_id:
        raise ResourceNotFoundException(f"Analyzer {arn} not found.", arn, ANALYZER_TYPE)
    analyzer = _get(ctx, arn)
    if fresh:
        analyzer = refresh(store_of(ctx), analyzer, ctx.meta.now)
    return analyzer


def _get(ctx: CallContext, arn: str) -> Analyzer:
    try:
        return store_of(ctx).get_analyzer(arn)  # type: ignore[no-any-return]
    except NotFound:
        raise ResourceNotFoundException(f"Analyzer {arn} not found.", arn,
                                        ANALYZER_TYPE) from None


def page(items: Sequence[T], params: Any, default: int = 100) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token of the next (an opaque offset)."""
    raw = body(params)
    size = raw.get("maxResults") or default
    start = 0
    token = raw.get("nextToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("o:"))
        except (ValueError, UnicodeDecodeError):
            raise invalid("nextToken", "Invalid nextToken.") from None
        if start < 0 or start > len(items):
            raise invalid("nextToken", "Invalid nextToken.")
    end = start + max(1, int(size))
    following = base64.urlsafe_b64encode(f"o:{end}".encode()).decode() \
        if end < len(items) else None
    return list(items[start:end]), following
