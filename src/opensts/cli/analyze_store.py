"""Read the directory into the escalation analysis's snapshot (``analyzer.escalation.model``).

A principal's policy set is the one SimulatePrincipalPolicy evaluates,
``Authorizer.entity_policies`` (identity policies with its groups', the permissions boundary —
a boundary that no longer resolves stands in as a deny of everything — and the SCP levels
above its account); RCPs are ``Authorizer.rcps``. Nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from opensts.analyzer.escalation.model import Directory, Entity, Group, Managed
from opensts.analyzer.escalation.moves import ATTACH_CANDIDATES
from opensts.directory.errors import NotFound
from opensts.directory.records import Page
from opensts.directory.store import Store
from opensts.errors import MalformedPolicyDocument
from opensts.policy import Policy, PolicyKind, parse_policy
from opensts.services.authz import Authorizer, stored_resource_policy

T = TypeVar("T")


def _pages(fetch: Callable[..., Page[T]], *args: Any) -> Iterator[T]:
    marker: str | None = None
    while True:
        page = fetch(*args, marker=marker, max_items=1000)
        yield from page.items
        marker = page.marker
        if marker is None:
            return


def _managed_arns(sources: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for s, _ in sources if "#inline:" not in s))


def load(store: Store, now: datetime) -> tuple[Directory, list[str]]:
    """The snapshot and notes on what could not be read (each one said to the user)."""
    # entity_policies and rcps read the store only; the key ring is for session tokens.
    authorizer = Authorizer(store, None)  # type: ignore[arg-type]
    directory = Directory(entities={}, now=now)
    notes: list[str] = []
    wanted: set[str] = set(ATTACH_CANDIDATES)
    for account in store.list_accounts():
        acct = account.account_id
        org = store.find_organization_for_account(acct)
        if org is not None:
            directory.org_of[acct] = org.org_id
        directory.rcps[acct] = authorizer.rcps(acct, "sts:AssumeRole")
        for group in _pages(store.list_groups, acct):
            members = tuple(u.arn for u in _pages(store.list_group_members, acct, group.name))
            policies = authorizer.entity_policies(acct, "group", group.name).identity
            managed = _managed_arns(policies)
            wanted.update(managed)
            directory.groups[group.arn] = Group(group.arn, acct, group.name, members,
                                                tuple(policies), managed)
        for user in _pages(store.list_users, acct):
            pset = authorizer.entity_policies(acct, "user", user.name)
            try:
                store.get_login_profile(acct, user.name)
                login = True
            except NotFound:
                login = False
            groups = tuple(g.arn for g in _pages(store.list_groups_for_user, acct, user.name))
            managed = _managed_arns(pset.identity)
            wanted.update(managed)
            directory.entities[user.arn] = Entity(
                user.arn, "user", acct, user.name, user.user_id,
                {t.key: t.value for t in user.tags}, pset, groups, managed, login,
                len(store.list_access_keys(acct, user.name)))
        for role in _pages(store.list_roles, acct):
            try:
                trust = parse_policy(role.assume_role_policy, PolicyKind.TRUST)
            except MalformedPolicyDocument:
                notes.append(f"{role.arn}: its trust policy does not parse; left out")
                continue
            pset = authorizer.entity_policies(acct, "role", role.name)
            managed = _managed_arns(pset.identity)
            wanted.update(managed)
            profiles = tuple(p.arn for p in _pages(store.list_instance_profiles_for_role,
                                                   acct, role.name))
            directory.entities[role.arn] = Entity(
                role.arn, "role", acct, role.name, role.role_id,
                {t.key: t.value for t in role.tags}, pset, (), managed, trust=trust,
                instance_profiles=profiles)
        wanted.update(p.arn for p in _pages(
            lambda a=acct, **kw: store.list_policies(a, scope="Local", **kw)))
    for arn in sorted(wanted):
        try:
            versions = store.list_policy_versions(arn)
            policy = store.get_managed_policy(arn)
        except NotFound:
            continue
        parsed: dict[str, Policy] = {}
        for v in versions:
            try:
                parsed[v.version_id] = parse_policy(v.document, PolicyKind.IDENTITY)
            except MalformedPolicyDocument:
                notes.append(f"{arn} version {v.version_id} does not parse; left out")
        if policy.default_version_id in parsed:
            directory.managed[arn] = Managed(arn, policy.account_id or "aws",
                                             policy.default_version_id, parsed)
    for bucket in store.list_buckets():
        source = f"arn:aws:s3:::{bucket.name}"
        directory.buckets[bucket.name] = (bucket.account_id, stored_resource_policy(
            source, bucket.policy, " (does not parse)") if bucket.policy else None)
    return directory, notes
