"""Unused access, as IAM Access Analyzer's unused access analyzers report it — pure.

"Understanding unused access findings" and "Create an unused access analyzer" (IAM User
Guide) define four finding types over the IAM roles and users of the analyzed accounts:

* ``UnusedIAMRole``: a role not assumed within the tracking period (``unusedAccessAge``
  days, 1–365, default 90);
* ``UnusedIAMUserAccessKey``: an active access key of a user not used to sign a request
  within the period, one finding per key;
* ``UnusedIAMUserPassword``: a console password not used to sign in within the period;
* ``UnusedPermission``: services and actions that the principal's policies grant and that it
  did not call within the period, one finding per principal, one ``unusedPermissionDetails``
  per service.

"The analyzer will only evaluate permissions for IAM entities … that have existed for the
entire tracking period": a role, user, key or password younger than the period is no
finding. A role that is itself unused gets only its ``UnusedIAMRole`` finding (all of its
permissions are unused by definition). Service-linked roles are not analyzed (AWS manages
their permissions). Exclusions (``analysisRule.exclusions``) drop every finding of a
principal whose account or tags match one criterion.

Inputs are plain records built by the caller (``services.accessanalyzer.unused``) from the
store and the audit log; ``now`` is passed in. The result is what the findings store keeps:
each finding with a stable ``key`` (a recompute that finds the same unused access finds the
same key) and its ``findingDetails`` as GetFindingV2 returns them (botocore's
``FindingDetails`` union), timestamps as ``datetime``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from opensts.errors import AwsError
from opensts.policy import catalog
from opensts.policy.model import PolicyKind
from opensts.policy.parser import Policy, Statement, parse_policy

FindingType = Literal[
    "UnusedIAMRole", "UnusedIAMUserAccessKey", "UnusedIAMUserPassword", "UnusedPermission"
]
ResourceType = Literal["AWS::IAM::Role", "AWS::IAM::User"]

DEFAULT_AGE_DAYS = 90
MIN_AGE_DAYS = 1
MAX_AGE_DAYS = 365
SERVICE_LINKED_PATH = "/aws-service-role/"


@dataclass(frozen=True, slots=True)
class PolicyTexts:
    """The documents IAM evaluates for the principal's own requests: identity policies
    (inline, attached, and for a user its groups'), its permissions boundary and the SCPs
    above its account (one tuple per level, root first; empty: no SCPs apply).
    ``unresolved_boundary``: a boundary is set but its policy is gone (denies everything,
    as the authorizer treats it)."""

    identity: tuple[str, ...] = ()
    boundary: str | None = None
    unresolved_boundary: bool = False
    scp_levels: tuple[tuple[str, ...], ...] = ()


#: The documents, or a function that reads them when the analysis needs them (a role unused
#: as a whole needs none: its permissions are not analyzed).
Policies = PolicyTexts | Callable[[], PolicyTexts]


@dataclass(frozen=True, slots=True)
class RoleRecord:
    account_id: str
    arn: str
    role_id: str
    path: str
    created: datetime
    last_used: datetime | None
    policies: Policies
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccessKeyRecord:
    access_key_id: str
    active: bool
    created: datetime
    last_used: datetime | None


@dataclass(frozen=True, slots=True)
class UserRecord:
    account_id: str
    arn: str
    user_id: str
    created: datetime
    policies: Policies
    access_keys: tuple[AccessKeyRecord, ...] = ()
    password_created: datetime | None = None  # None: the user has no login profile
    password_last_used: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One ``AnalysisRuleCriteria``: an empty field matches every principal; a principal
    matches ``resource_tags`` when it carries every pair of one of the maps."""

    account_ids: frozenset[str] = frozenset()
    resource_tags: tuple[Mapping[str, str], ...] = ()

    def matches(self, account_id: str, tags: Mapping[str, str]) -> bool:
        if not self.account_ids and not self.resource_tags:
            return False  # an empty criterion excludes nothing
        if self.account_ids and account_id not in self.account_ids:
            return False
        return not self.resource_tags or any(
            all(tags.get(k) == v for k, v in wanted.items()) for wanted in self.resource_tags)


@dataclass(frozen=True, slots=True)
class Settings:
    """``age_days``: unusedAccessAge. ``action_level``: the service namespaces whose calls are
    recorded per action (the audit log records each call the server serves), so their
    unused actions are listed; other services are reported as a whole."""

    age_days: int = DEFAULT_AGE_DAYS
    exclusions: tuple[Exclusion, ...] = ()
    action_level: frozenset[str] = frozenset()


#: Last use of each action by one principal: lower-cased ``service:action`` → when.
Usage = Mapping[str, datetime]


@dataclass(frozen=True, slots=True)
class UnusedFinding:
    key: str
    finding_type: FindingType
    resource: str
    resource_type: ResourceType
    resource_owner_account: str
    details: tuple[dict[str, Any], ...]


def configuration(raw: Mapping[str, Any] | None) -> Settings:
    """Settings from an analyzer's ``configuration`` (the wire dict, already validated)."""
    unused = (raw or {}).get("unusedAccess") or {}
    age = unused.get("unusedAccessAge")
    rule = unused.get("analysisRule") or {}
    exclusions = tuple(
        Exclusion(frozenset(c.get("accountIds") or ()),
                  tuple(dict(t) for t in c.get("resourceTags") or ()))
        for c in rule.get("exclusions") or ())
    days = int(age) if age is not None else DEFAULT_AGE_DAYS
    # CreateAnalyzer refuses other ages; a stored one out of range must not break analysis.
    days = min(max(days, MIN_AGE_DAYS), MAX_AGE_DAYS)
    return Settings(age_days=days, exclusions=exclusions)


def analyze(
    roles: Iterable[RoleRecord],
    users: Iterable[UserRecord],
    usage: Mapping[str, Usage],
    settings: Settings,
    now: datetime,
) -> list[UnusedFinding]:
    """Every unused-access finding; ``usage`` is keyed by the principal's unique id."""
    cutoff = now - timedelta(days=settings.age_days)
    found: list[UnusedFinding] = []
    for role in roles:
        if role.path.startswith(SERVICE_LINKED_PATH) or _excluded(
                settings, role.account_id, role.tags):
            continue
        found.extend(_role_findings(role, usage.get(role.role_id, {}), settings, cutoff))
    for user in users:
        if _excluded(settings, user.account_id, user.tags):
            continue
        found.extend(_user_findings(user, usage.get(user.user_id, {}), settings, cutoff))
    return found


def _excluded(settings: Settings, account_id: str, tags: Mapping[str, str]) -> bool:
    return any(e.matches(account_id, tags) for e in settings.exclusions)


def _latest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _role_findings(
    role: RoleRecord, used: Usage, settings: Settings, cutoff: datetime
) -> list[UnusedFinding]:
    if role.created > cutoff:
        return []  # younger than the tracking period
    # A call made with the role's session is a use even if RoleLastUsed lagged behind.
    last = _latest(role.last_used, *used.values())
    if last is None or last < cutoff:
        details = {"unusedIamRoleDetails": _with_last({}, last)}
        return [UnusedFinding(f"UnusedIAMRole|{role.arn}", "UnusedIAMRole", role.arn,
                              "AWS::IAM::Role", role.account_id, (details,))]
    return _permission_findings(role.arn, "AWS::IAM::Role", role.account_id, role.policies,
                                used, settings, cutoff)


def _user_findings(
    user: UserRecord, used: Usage, settings: Settings, cutoff: datetime
) -> list[UnusedFinding]:
    if user.created > cutoff:
        return []
    found: list[UnusedFinding] = []
    for key in user.access_keys:
        if not key.active or key.created > cutoff:
            continue  # an inactive key cannot be used; a young one is not analyzed yet
        if key.last_used is None or key.last_used < cutoff:
            details = {"unusedIamUserAccessKeyDetails": _with_last(
                {"accessKeyId": key.access_key_id}, key.last_used)}
            found.append(UnusedFinding(
                f"UnusedIAMUserAccessKey|{user.arn}|{key.access_key_id}",
                "UnusedIAMUserAccessKey", user.arn, "AWS::IAM::User", user.account_id,
                (details,)))
    if user.password_created is not None and user.password_created <= cutoff and (
            user.password_last_used is None or user.password_last_used < cutoff):
        details = {"unusedIamUserPasswordDetails": _with_last({}, user.password_last_used)}
        found.append(UnusedFinding(f"UnusedIAMUserPassword|{user.arn}",
                                   "UnusedIAMUserPassword", user.arn, "AWS::IAM::User",
                                   user.account_id, (details,)))
    found.extend(_permission_findings(user.arn, "AWS::IAM::User", user.account_id,
                                      user.policies, used, settings, cutoff))
    return found


def _with_last(details: dict[str, Any], last: datetime | None) -> dict[str, Any]:
    if last is not None:
        details["lastAccessed"] = last
    return details


def _permission_findings(
    arn: str, resource_type: ResourceType, account_id: str, policies: Policies,
    used: Usage, settings: Settings, cutoff: datetime,
) -> list[UnusedFinding]:
    texts = policies if isinstance(policies, PolicyTexts) else policies()
    details = unused_permissions(granted_actions(texts), used, settings, cutoff)
    if not details:
        return []
    return [UnusedFinding(f"UnusedPermission|{arn}", "UnusedPermission", arn, resource_type,
                          account_id, tuple({"unusedPermissionDetails": d} for d in details))]


def unused_permissions(
    granted: tuple[str, ...], used: Usage, settings: Settings, cutoff: datetime
) -> list[dict[str, Any]]:
    """``UnusedPermissionDetails`` for each service with granted actions unused since
    ``cutoff``, by service namespace. A service not used at all is reported as a whole
    (its ``lastAccessed``, if ever); a partly used service of ``settings.action_level``
    lists its unused actions, each with its ``lastAccessed`` where recorded."""
    service_last: dict[str, datetime] = {}
    for action_l, when in used.items():
        service = action_l.split(":", 1)[0]
        if service not in service_last or when > service_last[service]:
            service_last[service] = when
    out: list[dict[str, Any]] = []
    for service, actions in _by_service(granted):
        last = service_last.get(service)
        if last is None or last < cutoff:
            out.append(_with_last({"serviceNamespace": service}, last))
            continue
        if service not in settings.action_level:
            continue  # used within the period, and not tracked per action
        unused = []
        for action in actions:
            action_last = used.get(action.lower())
            if action_last is None or action_last < cutoff:
                unused.append(_with_last({"action": action}, action_last))
        if unused:
            out.append({"serviceNamespace": service, "actions": unused, "lastAccessed": last})
    return out


@functools.lru_cache(maxsize=1024)
def _by_service(granted: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Granted actions grouped by service, both sorted (cached: ``*`` is 22,000 actions)."""
    grouped: dict[str, list[str]] = {}
    for action in granted:
        grouped.setdefault(action.split(":", 1)[0].lower(), []).append(action)
    return tuple((service, tuple(sorted(grouped[service], key=str.lower)))
                 for service in sorted(grouped))


# -- what the policies grant ---------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def granted_actions(policies: PolicyTexts) -> tuple[str, ...]:
    """Catalog actions that some identity statement allows and that no unconditional deny
    of every resource, the boundary or an SCP level takes away. Resources and conditions of
    Allow statements are not narrowed: an action allowed on some resource under some
    condition is granted (the finding is about what could be used). Cached by the
    documents: principals sharing policies (roles made from one template) cost one."""
    identity = _parsed(policies.identity, PolicyKind.IDENTITY)
    candidates: set[str] = set()
    for policy in identity:
        for s in policy.statements:
            if not s.is_deny:
                candidates.update(_statement_actions(s))
    if policies.unresolved_boundary:
        return ()
    # Each of these must allow the action, and none deny it outright.
    limits: list[list[Policy]] = []
    if policies.boundary is not None:
        limits.append(_parsed((policies.boundary,), PolicyKind.BOUNDARY))
    limits.extend(_parsed(level, PolicyKind.SCP) for level in policies.scp_levels)
    kept = []
    for action in candidates:
        action_l = action.lower()
        if _denied_everywhere(identity, action_l):
            continue
        if any(not _allows(limit, action_l) or _denied_everywhere(limit, action_l)
               for limit in limits):
            continue
        kept.append(action)
    return tuple(sorted(kept, key=str.lower))


def _parsed(texts: Sequence[str], kind: PolicyKind) -> list[Policy]:
    out = []
    for text in texts:
        try:
            out.append(parse_policy(text, kind))
        except AwsError:
            # Stored documents parsed when written; one that no longer does grants nothing
            # (and, as a boundary or SCP, lets nothing through: see _allows).
            continue
    return out


def _statement_actions(s: Statement) -> tuple[str, ...]:
    patterns = s.raw.get("NotAction" if s.not_action else "Action")
    listed = [patterns] if isinstance(patterns, str) else list(patterns or ())
    if s.not_action:
        return tuple(a for a in every_action() if s.action_matches(a.lower()))
    return tuple(a for p in listed for a in expand(p))


@functools.cache
def every_action() -> tuple[str, ...]:
    """Every action of the catalog, canonically spelled."""
    return tuple(catalog.expand_actions("*"))


@functools.lru_cache(maxsize=4096)
def expand(pattern: str) -> tuple[str, ...]:
    """The catalog actions an Action pattern stands for (cached: ``*`` is 22,000)."""
    if pattern.strip() == "*":
        return every_action()
    return tuple(catalog.expand_actions(pattern))


def _allows(policies: Sequence[Policy], action_l: str) -> bool:
    return any(not s.is_deny for p in policies for s in p.statements_for(action_l))


def _denied_everywhere(policies: Sequence[Policy], action_l: str) -> bool:
    """A Deny of the action on every resource with no condition: nothing can grant it."""
    return any(s.is_deny and not s.conditions and not s.check_resource
               for p in policies for s in p.statements_for(action_l))
