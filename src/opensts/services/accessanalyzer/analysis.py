"""Keeping an external-access analyzer's findings current.

Findings are recomputed on demand: every call that reads findings first brings the analyzer
up to date with the store. Nothing is recomputed when neither the store generation (every
directory write moves it: a trust policy, a bucket policy, an account joining the
organization) nor the zone of trust changed since the last analysis; otherwise only the
resources whose policy (or zone) changed are analyzed again, found by a digest of what the
analysis saw. So a finding is never staler than the store, and an unchanged directory costs
one generation read.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from opensts.analyzer import external
from opensts.analyzer.findings import Finding, reconcile
from opensts.analyzer.model import AnalyzedResource, Analyzer
from opensts.analyzer.zone import EXTERNAL_TYPES, Zone, account_zone, organization_zone
from opensts.directory.errors import NotFound

ACCESS_ANALYZER_PRINCIPAL = "access-analyzer.amazonaws.com"
# Past this many changed resources, the analyzer's findings are read in one query rather
# than one query per resource.
_BULK = 50


def zone_for(store: Any, analyzer: Analyzer) -> Zone:
    org = store.find_organization_for_account(analyzer.account_id)
    members = [a.account_id for a in store.list_org_accounts(org.org_id)] if org else []
    if analyzer.type.startswith("ORGANIZATION"):
        if org is None:  # the organization is gone: nothing but the account is trusted
            return account_zone(analyzer.account_id)
        return organization_zone(org.org_id, members)
    return account_zone(analyzer.account_id, org.org_id if org else None, members)


def digest(resource: external.Resource, zone_fingerprint: str) -> str:
    text = "\n".join([resource.type, resource.policy or "", str(resource.restrict_public),
                      zone_fingerprint])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def refresh(store: Any, analyzer: Analyzer, now: datetime) -> Analyzer:
    """Bring ``analyzer``'s findings up to date; returns the analyzer as saved."""
    if analyzer.type not in EXTERNAL_TYPES:
        return analyzer  # unused-access analyzers are kept by their own module
    generation = store.generation()
    zone = zone_for(store, analyzer)
    fingerprint = zone.fingerprint()
    if analyzer.generation == generation and analyzer.zone == fingerprint:
        return analyzer
    analyze_changes(store, analyzer, zone, generation, now)
    try:
        return store.get_analyzer(analyzer.arn)  # type: ignore[no-any-return]
    except NotFound:
        return analyzer


def analyze_changes(store: Any, analyzer: Analyzer, zone: Zone, generation: int,
                    now: datetime, *, analyze: Callable[..., Any] = external.analyze) -> int:
    """Re-analyze the resources that changed; returns how many were analyzed."""
    fingerprint = zone.fingerprint()
    current = store.analyzable_resources(zone.accounts, analyzer.region)
    previous = {r.arn: r for r in store.list_analyzed_resources(analyzer.arn)}
    changed: list[tuple[external.Resource, Any, str]] = []
    for resource, created in current:
        d = digest(resource, fingerprint)
        seen = previous.get(resource.arn)
        if seen is None or seen.digest != d:
            changed.append((resource, created, d))
    present = {r.arn for r, _ in current}
    gone = [arn for arn in previous if arn not in present]
    if not changed and not gone and analyzer.generation == generation \
            and analyzer.zone == fingerprint:
        return 0
    rules = [r.filter for r in store.list_archive_rules(analyzer.arn)]
    by_resource: dict[str, list[Finding]] = {}
    if len(changed) + len(gone) > _BULK:
        for f in store.list_analyzer_findings(analyzer.arn):
            by_resource.setdefault(f.resource, []).append(f)
    else:
        for arn in [r.arn for r, _, _ in changed] + gone:
            by_resource[arn] = store.list_analyzer_findings(analyzer.arn, arn)
    updates: list[Finding] = []
    records: list[AnalyzedResource] = []
    for resource, created, d in changed:
        accesses = analyze(resource, zone)
        updates.extend(reconcile(analyzer.arn, resource, accesses,
                                 by_resource.get(resource.arn, ()), rules, now))
        records.append(AnalyzedResource(analyzer.arn, resource.arn, resource.type,
                                        resource.owner, d, now, created))
    for arn in gone:
        old = previous[arn]
        stub = external.Resource(old.type, arn, old.owner, None)
        updates.extend(reconcile(analyzer.arn, stub, (), by_resource.get(arn, ()), rules, now))
    last = (changed[-1][0].arn, now) if changed else None
    with contextlib.suppress(NotFound):  # the analyzer was deleted while we analyzed
        store.save_analysis(analyzer.arn, generation=generation, zone=fingerprint,
                            seen=records, gone=gone, findings=updates, last=last)
    return len(changed) + len(gone)


def can_administer_organization(store: Any, account_id: str) -> bool:
    """The organization's management account, or its delegated administrator for IAM
    Access Analyzer (access-analyzer-settings: only they create organization analyzers)."""
    org = store.find_organization_for_account(account_id)
    if org is None:
        return False
    if org.management_account_id == account_id:
        return True
    admins: Sequence[Any] = store.list_delegated_admins(
        org.org_id, service_principal=ACCESS_ANALYZER_PRINCIPAL, account_id=account_id)
    return bool(admins)
