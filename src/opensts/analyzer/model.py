"""Records of Access Analyzer's state: analyzers and archive rules (findings: findings.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Criteria = Mapping[str, Mapping[str, Any]]  # FilterCriteriaMap: key -> Criterion


@dataclass(frozen=True)
class Analyzer:
    arn: str
    account_id: str
    region: str
    name: str
    type: str
    created: datetime
    status: str = "ACTIVE"
    configuration: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    last_resource: str | None = None
    last_resource_at: datetime | None = None
    # What the findings were last computed from: the store generation and the zone.
    generation: int = -1
    zone: str = ""


@dataclass(frozen=True)
class ArchiveRule:
    analyzer_arn: str
    name: str
    filter: Criteria
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class AnalyzedResource:
    """One resource the analyzer looked at: what it saw (``digest``) and when."""

    analyzer_arn: str
    arn: str
    type: str
    owner: str
    digest: str
    analyzed: datetime
    created: datetime
