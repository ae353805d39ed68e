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
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def lock_for(analyzer_arn: str) -> threading.Lock:
    """One re-analysis or status change of an analyzer at a time in this process: a
    re-analysis writes back the statuses it read, so an UpdateFindings in between would be
    lost. (Across processes the window stays: a status change can be undone by a
    concurrent re-analysis on another node; see the README.)"""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(analyzer_arn, threading.Lock())


def forget(analyzer_arn: str) -> None:
    """Drop this process's memo of a deleted analyzer."""
    with _SEEN_LOCK:
        _SEEN.pop(analyzer_arn, None)
    with _LOCKS_GUARD:
        _LOCKS.pop(analyzer_arn, None)


def refresh(store: Any, analyzer: Analyzer, now: datetime) -> Analyzer:
    """Bring ``analyzer``'s findings up to date; returns the analyzer as saved."""
    if analyzer.type not in EXTERNAL_TYPES:
        return analyzer  # unused-access analyzers are kept by their own module
    generation = store.generation()
    zone = zone_for(store, analyzer)
    fingerprint = zone.fingerprint()
    if analyzer.generation == generation and analyzer.zone == fingerprint:
        return analyzer
    with lock_for(analyzer.arn):
        try:
            latest = store.get_analyzer(analyzer.arn)  # another thread may have done it
        except NotFound:
            return analyzer
        if latest.generation != generation or latest.zone != fingerprint:
            analyze_changes(store, latest, zone, generation, now)
    try:
        return store.get_analyzer(analyzer.arn)  # type: ignore[no-any-return]
    except NotFound:
        return analyzer


@dataclass
class _Seen:
    """What this process last saw of an analyzer's resources: the policy text (and bucket
    setting) of each, valid for the analysis saved at ``generation`` under ``zone``. It
    spares re-reading and re-hashing every digest; another process's newer analysis moves
    the analyzer's generation, and the memo is then not used."""

    generation: int
    zone: str
    policies: dict[str, tuple[str | None, bool]]


_SEEN: dict[str, _Seen] = {}
_SEEN_LOCK = threading.Lock()


def analyze_changes(store: Any, analyzer: Analyzer, zone: Zone, generation: int,
                    now: datetime, *, analyze: Callable[..., Any] = external.analyze) -> int:
    """Re-analyze the resources that changed; returns how many were analyzed."""
    fingerprint = zone.fingerprint()
    current: list[external.Resource] = store.analyzable_resources(zone.accounts,
                                                                  analyzer.region)
    with _SEEN_LOCK:
        memo = _SEEN.get(analyzer.arn)
    if memo is not None and memo.generation == analyzer.generation \
            and memo.zone == fingerprint:
        before = memo.policies
        changed = [r for r in current if before.get(r.arn, _UNSEEN) !=
                   (r.policy, r.restrict_public)]
        present = {r.arn for r in current}
        gone = [arn for arn in before if arn not in present]
    else:
        digests = store.list_analyzed_digests(analyzer.arn)
        changed = [r for r in current if digests.get(r.arn) != digest(r, fingerprint)]
        present = {r.arn for r in current}
        gone = [arn for arn in digests if arn not in present]
    if changed or gone or analyzer.generation != generation or analyzer.zone != fingerprint:
        _save(store, analyzer, zone, changed, gone, generation, now, analyze)
    with _SEEN_LOCK:
        _SEEN[analyzer.arn] = _Seen(generation, fingerprint,
                                    {r.arn: (r.policy, r.restrict_public) for r in current})
    return len(changed) + len(gone)


_UNSEEN = (None, None)


def _save(store: Any, analyzer: Analyzer, zone: Zone, changed: list[external.Resource],
          gone: list[str], generation: int, now: datetime, analyze: Callable[..., Any]
          ) -> None:
    fingerprint = zone.fingerprint()
    zone_rules = [r.filter for r in store.list_archive_rules(analyzer.arn)]
    touched = [r.arn for r in changed] + gone
    previous = {r.arn: r for r in store.list_analyzed_resources(
        analyzer.arn, None if len(touched) > _BULK else touched)}
    by_resource: dict[str, list[Finding]] = {}
    if len(touched) > _BULK:
        for f in store.list_analyzer_findings(analyzer.arn):
            by_resource.setdefault(f.resource, []).append(f)
    else:
        for arn in touched:
            by_resource[arn] = store.list_analyzer_findings(analyzer.arn, arn)
    updates: list[Finding] = []
    records: list[AnalyzedResource] = []
    for resource in changed:
        accesses = analyze(resource, zone)
        updates.extend(reconcile(analyzer.arn, resource, accesses,
                                 by_resource.get(resource.arn, ()), zone_rules, now))
        old = previous.get(resource.arn)
        records.append(AnalyzedResource(analyzer.arn, resource.arn, resource.type,
                                        resource.owner, digest(resource, fingerprint), now,
                                        old.created if old else now))
    for arn in gone:
        was = previous.get(arn)
        stub = external.Resource(was.type if was else "", arn, was.owner if was else "", None)
        updates.extend(reconcile(analyzer.arn, stub, (), by_resource.get(arn, ()), zone_rules,
                                 now))
    last = (changed[-1].arn, now) if changed else None
    with contextlib.suppress(NotFound):  # the analyzer was deleted while we analyzed
        store.save_analysis(analyzer.arn, generation=generation, zone=fingerprint,
                            seen=records, gone=gone, findings=updates, last=last)


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
