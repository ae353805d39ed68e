"""Analyzers: CreateAnalyzer, GetAnalyzer, ListAnalyzers, UpdateAnalyzer, DeleteAnalyzer."""

from __future__ import annotations

from typing import Any

from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.wire.params import Params


def analyzer_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:access-analyzer:{region}:{account_id}:analyzer/{name}"


@operation("access-analyzer", "ListAnalyzers", read_only=True)
def list_analyzers(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.require_caller()
    ctx.authorize("access-analyzer:ListAnalyzers",
                  f"arn:aws:access-analyzer:{ctx.meta.region}:{caller.account_id}:*")
    raw = params.raw()
    ctx.audit.request_parameters = {k: raw[k] for k in ("type", "maxResults") if k in raw}
    return {"analyzers": []}
