"""Unused access for analyzers of type ACCOUNT_UNUSED_ACCESS / ORGANIZATION_UNUSED_ACCESS:
the records the pure analysis (``opensts.analyzer.unused``) reads, built from the store and
the audit log.

What the server records, and what each finding type reads:

* RoleLastUsed (``roles.last_used``, set on AssumeRole*) → ``UnusedIAMRole``;
* AccessKeyLastUsed (``access_keys.last_used``, set when a long-term key's signature
  verifies) → ``UnusedIAMUserAccessKey``;
* PasswordLastUsed (``users.password_last_used``, set by a sign-in page password check)
  → ``UnusedIAMUserPassword``;
* the audit log's CloudTrail events, per principal and action (the server has no separate
  service-last-accessed data: its audit log records every call it serves, allowed or
  denied, as last-accessed information counts attempts) → ``UnusedPermission``.

Last-used bookkeeping does not move the store generation, so every read here goes past the
cache (``CachingStore.uncached``). The audit log is read incrementally: each file once,
the live files from where the last read stopped.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opensts.analyzer import unused
from opensts.analyzer.model import Analyzer
from opensts.analyzer.unused_findings import reconcile_unused, unused_statistics
from opensts.analyzer.unused_recommendation import ExistingPolicy, recommended_steps
from opensts.audit.log import streams
from opensts.directory.errors import NotFound
from opensts.directory.records import EntityKind, Role, User
from opensts.policy import catalog
from opensts.s3 import actions as s3_actions
from opensts.services.accessanalyzer.analysis import lock_for
from opensts.services.accessanalyzer.common import analyzer_by_arn, body, page
from opensts.services.accessanalyzer.errors import ResourceNotFoundException, ValidationException
from opensts.services.accessanalyzer.findings import UNUSED_FINDINGS
from opensts.services.authz import UNRESOLVED
from opensts.services.context import CallContext
from opensts.services.iam.common import every
from opensts.services.registry import operation
from opensts.services.runtime import Runtime
from opensts.wire.params import Params

# GetFindingsStatistics (findings.py) summarizes this module's rows with it.
__all__ = ["current_findings", "list_unused", "unused_statistics"]

UNUSED_TYPES = frozenset({"ACCOUNT_UNUSED_ACCESS", "ORGANIZATION_UNUSED_ACCESS"})
#: Service namespaces whose calls the server serves and so records per action: their unused
#: actions are listed; any other service is reported as a whole (it cannot be called here).
ACTION_LEVEL = frozenset({"iam", "sts", "organizations", "s3", "access-analyzer", "signin"})


def current_findings(
    runtime: Runtime, *, account_id: str, analyzer_type: str,
    configuration: Mapping[str, Any] | None, now: datetime,
) -> list[unused.UnusedFinding]:
    """The unused-access findings of one analyzer, as of ``now``."""
    settings = unused.configuration(configuration)
    settings = unused.Settings(settings.age_days, settings.exclusions, ACTION_LEVEL)
    roles: list[unused.RoleRecord] = []
    users: list[unused.UserRecord] = []
    for account in analyzed_accounts(runtime, account_id, analyzer_type):
        roles.extend(role_records(runtime, account))
        users.extend(user_records(runtime, account))
    return unused.analyze(roles, users, usage_index(runtime).refresh(), settings, now)


def list_unused(ctx: CallContext, analyzer: Analyzer) -> list[dict[str, Any]]:
    """The hook of ListFindingsV2/GetFindingV2 (``findings.UNUSED_FINDINGS``): analyze now,
    keep ids and statuses (reconcile_unused), save what changed, answer GetFindingV2 rows.
    Usage moves no store generation, so every read analyzes (AWS scans periodically)."""
    runtime, now = ctx.runtime, ctx.meta.now
    current = current_findings(runtime, account_id=analyzer.account_id,
                               analyzer_type=analyzer.type,
                               configuration=analyzer.configuration, now=now)
    store: Any = runtime.store
    # Read, reconcile and save under the analyzer's lock, which UpdateFindings and archive
    # rules also take: a status set meanwhile is not overwritten.
    with lock_for(analyzer.arn):
        rules = [r.filter for r in store.list_archive_rules(analyzer.arn)]
        everything, changed = reconcile_unused(
            analyzer.arn, current, store.list_unused_findings(analyzer.arn), rules, now)
        store.save_unused_findings(analyzer.arn, changed)
    return [f.v2(now) for f in everything]


for _type in UNUSED_TYPES:
    UNUSED_FINDINGS[_type] = list_unused


def analyzed_accounts(runtime: Runtime, account_id: str, analyzer_type: str) -> list[str]:
    """The analyzer's account, or every account of its organization."""
    if analyzer_type != "ORGANIZATION_UNUSED_ACCESS":
        return [account_id]
    store = runtime.store
    org = store.find_organization_for_account(account_id)
    if org is None:
        return [account_id]
    return sorted({m.account_id for m in store.list_org_accounts(org.org_id)} | {account_id})


def _fresh(runtime: Runtime) -> Any:
    return getattr(runtime.store, "uncached", runtime.store)


def _policies(runtime: Runtime, account_id: str, kind: str, name: str) -> unused.PolicyTexts:
    ps = runtime.authorizer.entity_policies(account_id, kind, name)
    boundary = ps.boundary
    return unused.PolicyTexts(
        identity=tuple(policy.text for _, policy in ps.identity),
        boundary=boundary[1].text if boundary is not None else None,
        unresolved_boundary=boundary is not None and boundary[0].endswith(UNRESOLVED),
        scp_levels=tuple(tuple(policy.text for _, policy in level) for level in ps.scps))


def _tags(entity: Role | User) -> dict[str, str]:
    return {t.key: t.value for t in entity.tags}


def role_records(runtime: Runtime, account_id: str) -> Iterator[unused.RoleRecord]:
    store = _fresh(runtime)
    for role in every(lambda **kw: store.list_roles(account_id, **kw)):
        yield unused.RoleRecord(role.account_id, role.arn, role.role_id, role.path,
                                role.created, role.last_used,
                                _deferred(runtime, account_id, "role", role.name), _tags(role))


def _deferred(runtime: Runtime, account_id: str, kind: str, name: str
              ) -> Callable[[], unused.PolicyTexts]:
    def load() -> unused.PolicyTexts:
        try:
            return _policies(runtime, account_id, kind, name)
        except NotFound:
            return unused.PolicyTexts()  # deleted meanwhile: grants nothing
    return load


def user_records(runtime: Runtime, account_id: str) -> Iterator[unused.UserRecord]:
    store = _fresh(runtime)
    for user in every(lambda **kw: store.list_users(account_id, **kw)):
        try:
            keys = store.list_access_keys(account_id, user.name)
        except NotFound:
            continue  # deleted meanwhile
        try:
            password_created = store.get_login_profile(account_id, user.name).created
        except NotFound:
            password_created = None
        yield unused.UserRecord(
            user.account_id, user.arn, user.user_id, user.created,
            _deferred(runtime, account_id, "user", user.name),
            tuple(unused.AccessKeyRecord(k.access_key_id, k.status == "Active", k.created,
                                         k.last_used.when if k.last_used else None)
                  for k in keys),
            password_created, user.password_last_used, _tags(user))


# -- recommendations ------------------------------------------------------------------------


def recommendation_steps(
    runtime: Runtime, *, principal_arn: str, configuration: Mapping[str, Any] | None,
    now: datetime,
) -> list[dict[str, Any]] | None:
    """The recommended steps for the unused permissions of a role or user, from its own
    inline and attached policies (a group's policies are shared with other users, so they
    are not rewritten for one of them). None when the principal no longer exists."""
    _, _, _, _, account_id, resource = (principal_arn.split(":", 5) + [""] * 6)[:6]
    kind_text, _, path_name = resource.partition("/")
    if kind_text not in ("role", "user"):
        return None
    kind: EntityKind = "role" if kind_text == "role" else "user"
    name = path_name.rsplit("/", 1)[-1]
    store = _fresh(runtime)
    try:
        entity = (store.get_role(account_id, name) if kind == "role"
                  else store.get_user(account_id, name))
    except NotFound:
        return None
    if entity.arn != principal_arn:
        return None
    policies: list[ExistingPolicy] = []
    for policy_name in every(lambda **kw: store.list_inline_policies(
            kind, account_id, name, **kw)):
        try:
            inline = store.get_inline_policy(kind, account_id, name, policy_name)
        except NotFound:
            continue
        policies.append(ExistingPolicy(policy_name, inline.document))
    for attached in every(lambda **kw: store.list_attached_policies(
            kind, account_id, name, **kw)):
        try:
            managed = store.get_managed_policy(attached.arn)
        except NotFound:
            continue
        policies.append(ExistingPolicy(managed.arn, managed.document, managed.updated))
    principal_id = entity.role_id if isinstance(entity, Role) else entity.user_id
    used = usage_index(runtime).refresh().get(principal_id, {})
    age = unused.configuration(configuration).age_days
    return recommended_steps(policies, used, now - timedelta(days=age))


RECOMMENDATION = "UnusedPermissionRecommendation"


def _finding_row(ctx: CallContext, analyzer: Analyzer, finding_id: str) -> dict[str, Any]:
    if analyzer.type not in UNUSED_TYPES:
        raise ValidationException("Recommendations are only available for unused access "
                                  "findings.", reason="other")
    for row in list_unused(ctx, analyzer):
        if row["id"] == finding_id:
            return row
    raise ResourceNotFoundException(f"Finding {finding_id} not found.", finding_id,
                                    "AWS::AccessAnalyzer::Finding")


@operation("access-analyzer", "GenerateFindingRecommendation")
def generate_finding_recommendation(ctx: CallContext, params: Params) -> None:
    """Starts the recommendation of an UnusedPermission finding; computed at once here, so
    GetFindingRecommendation answers SUCCEEDED (AWS answers IN_PROGRESS for a while)."""
    raw = body(params)
    ctx.audit.request_parameters = {k: raw[k] for k in ("analyzerArn", "id") if k in raw}
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"],
                               "access-analyzer:GenerateFindingRecommendation")
    row = _finding_row(ctx, analyzer, raw["id"])
    if row["findingType"] != "UnusedPermission":
        raise ValidationException("Recommendations are only available for findings of type "
                                  "UnusedPermission.", reason="other")
    store: Any = ctx.runtime.store
    with lock_for(analyzer.arn):
        store.start_unused_recommendation(analyzer.arn, raw["id"], ctx.meta.now)


@operation("access-analyzer", "GetFindingRecommendation", read_only=True)
def get_finding_recommendation(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = body(params)
    ctx.audit.request_parameters = {k: raw[k] for k in ("analyzerArn", "id", "maxResults")
                                    if k in raw}
    analyzer = analyzer_by_arn(ctx, raw["analyzerArn"],
                               "access-analyzer:GetFindingRecommendation")
    row = _finding_row(ctx, analyzer, raw["id"])
    store: Any = ctx.runtime.store
    started = next((f.recommendation_started for f in store.list_unused_findings(analyzer.arn)
                    if f.id == raw["id"]), None)
    if started is None:
        raise ResourceNotFoundException(
            f"Recommendation for finding {raw['id']} not found. Call "
            "GenerateFindingRecommendation first.", raw["id"], "AWS::AccessAnalyzer::Finding")
    out: dict[str, Any] = {"startedAt": started, "completedAt": started,
                           "resourceArn": row["resource"], "recommendationType": RECOMMENDATION}
    steps = recommendation_steps(ctx.runtime, principal_arn=row["resource"],
                                 configuration=analyzer.configuration, now=ctx.meta.now)
    if steps is None:
        out.update(status="FAILED", error={
            "code": "ResourceNotFound",
            "message": f"The principal {row['resource']} no longer exists."})
        return out
    items, following = page(steps, params, default=10)
    out.update(status="SUCCEEDED", recommendedSteps=items, nextToken=following)
    return out


# -- the audit log, per principal and action ------------------------------------------------


def usage_index(runtime: Runtime) -> UsageIndex:
    index = runtime.extras.get("unused_usage")
    if not isinstance(index, UsageIndex):
        index = runtime.extras["unused_usage"] = UsageIndex(runtime.audit.directory)
    return index


class UsageIndex:
    """The last time each principal (by unique id) called each action, from the audit log.

    Taking the latest time is idempotent, so a segment read twice (a live file renamed by
    rotation, then compressed) changes nothing; each file is read once, the live files
    from the offset reached last time (kept by inode and first line, which a rename
    keeps)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.last: dict[str, dict[str, datetime]] = {}
        self._done: set[tuple[str, int]] = set()  # compressed segments read: (name, inode)
        # Plain files: (inode, first line) -> bytes read. The first line (it holds a random
        # eventID) tells a renamed segment from a new file that reuses a freed inode.
        self._offsets: dict[tuple[int, bytes], int] = {}
        self._lock = threading.Lock()

    def refresh(self) -> dict[str, dict[str, datetime]]:
        with self._lock:
            seen: set[tuple[int, bytes]] = set()
            for paths in streams(self.directory).values():
                for path in paths:
                    self._read(path, seen)
            self._offsets = {k: v for k, v in self._offsets.items() if k in seen}
            return {k: dict(v) for k, v in self.last.items()}

    def _read(self, path: Path, seen: set[tuple[int, bytes]]) -> None:
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return  # compressed and removed meanwhile: its .gz comes next time
        with handle:
            inode = os.fstat(handle.fileno()).st_ino
            if path.suffix == ".gz":
                if (path.name, inode) not in self._done:
                    with gzip.open(handle, "rb") as lines:
                        for line in lines:
                            self._take(line)
                    self._done.add((path.name, inode))
                return
            head = handle.readline(65536)
            if not head.endswith(b"\n"):
                return  # no complete line yet
            key = (inode, head)
            seen.add(key)
            start = self._offsets.get(key, 0)
            handle.seek(start)
            data = handle.read()
        cut = data.rfind(b"\n") + 1  # a line being written is read next time
        for line in data[:cut].splitlines():
            self._take(line)
        self._offsets[key] = start + cut

    def _take(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            event = json.loads(line)
        except ValueError:
            return
        found = used_by(event)
        if found is None:
            return
        principal_id, actions, when = found
        mine = self.last.setdefault(principal_id, {})
        for action in actions:
            if action not in mine or when > mine[action]:
                mine[action] = when


def used_by(event: Mapping[str, Any]) -> tuple[str, tuple[str, ...], datetime] | None:
    """(principal unique id, lower-cased actions, time) of one CloudTrail event: an IAM
    user's own call, or a call with a session of a role or user (its sessionIssuer)."""
    identity = event.get("userIdentity")
    if not isinstance(identity, dict):
        return None
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    if issuer.get("type") in ("Role", "IAMUser"):
        principal_id = issuer.get("principalId")
    elif identity.get("type") == "IAMUser":
        principal_id = identity.get("principalId")
    else:
        return None
    source, name = event.get("eventSource"), event.get("eventName")
    try:
        when = datetime.strptime(str(event.get("eventTime")), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC)
    except ValueError:
        return None
    if not (isinstance(principal_id, str) and isinstance(source, str)
            and isinstance(name, str)):
        return None
    return principal_id, event_actions(source.removesuffix(".amazonaws.com"), name), when


def event_actions(service: str, event_name: str) -> tuple[str, ...]:
    """The IAM actions a call stands for. S3 operations map through the gateway's table
    (ListObjectsV2 is s3:ListBucket); an eventName that is no action of the catalog but is a
    V2 of one (ListFindingsV2) is that action; otherwise the event name is the action."""
    if service == "s3":
        if event_name == "DeleteObjects":  # authorized per key (s3.actions.PER_KEY)
            return ("s3:deleteobject",)
        entries = s3_actions.table()["operations"].get(event_name, ())
        found = tuple(sorted({e["action"].lower() for e in entries if "when" not in e}))
        if found:
            return found
    action = f"{service}:{event_name}"
    if not catalog.action_exists(action) and event_name.endswith("V2"):
        shorter = action.removesuffix("V2")
        if catalog.action_exists(shorter):
            action = shorter
    return (action.lower(),)
