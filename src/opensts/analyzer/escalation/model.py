"""The directory as the escalation analysis sees it: a read-only snapshot of principals, their
policy sets, groups, managed policies and organization data.

The snapshot is built outside (``opensts.cli.analyze_store`` reads the store with the same
``Authorizer.entity_policies`` that SimulatePrincipalPolicy uses), so everything here is pure.
Evaluation goes through ``opensts.policy.evaluate`` only: one engine decides every move.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from opensts.analyzer.escalation.steps import Step, step
from opensts.policy import Policy, PolicySet, Principal, PrincipalKind, Request, evaluate
from opensts.policy.model import PolicyEntry

EntityKind = Literal["user", "role"]
Context = dict[str, str | list[str]]

#: The region the analysis asks about (aws:RequestedRegion, and the region of the ARNs of the
#: compute resources the PassRole moves create).
REGION = "us-east-1"
#: The session name of an analysed role's session (its assumed-role ARN).
SESSION_NAME = "opensts-analysis"


@dataclass(frozen=True)
class Entity:
    """A user or role and everything its decisions depend on."""

    arn: str
    kind: EntityKind
    account: str
    name: str
    unique_id: str
    tags: Mapping[str, str]
    policies: PolicySet  # identity (groups included) + boundary + SCP levels; no resource
    groups: tuple[str, ...] = ()  # group ARNs (users)
    managed: tuple[str, ...] = ()  # managed policy ARNs in effect, directly or via a group
    has_login_profile: bool = False
    access_keys: int = 0
    trust: Policy | None = None  # roles
    instance_profiles: tuple[str, ...] = ()  # roles: instance profiles holding the role


@dataclass(frozen=True)
class Group:
    arn: str
    account: str
    name: str
    members: tuple[str, ...]  # user ARNs
    policies: tuple[PolicyEntry, ...]
    managed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Managed:
    """A managed policy with every version (for SetDefaultPolicyVersion)."""

    arn: str
    account: str  # "aws" for AWS managed policies
    default_version: str
    versions: Mapping[str, Policy]


@dataclass
class Directory:
    entities: dict[str, Entity]
    groups: dict[str, Group] = field(default_factory=dict)
    managed: dict[str, Managed] = field(default_factory=dict)
    org_of: dict[str, str] = field(default_factory=dict)  # account -> organization id
    rcps: dict[str, Sequence[Sequence[PolicyEntry]]] = field(default_factory=dict)
    # bucket name -> (owner account, its policy)
    buckets: dict[str, tuple[str, PolicyEntry | None]] = field(default_factory=dict)
    now: datetime | None = None

    def in_account(self, account: str) -> list[Entity]:
        return [e for e in self.entities.values() if e.account == account]


def principal_of(entity: Entity) -> Principal:
    """The caller an entity acts as: a user itself, a role through a session of it."""
    if entity.kind == "user":
        return Principal(PrincipalKind.USER, entity.arn, entity.account,
                         unique_id=entity.unique_id)
    return Principal(
        PrincipalKind.ASSUMED_ROLE,
        f"arn:aws:sts::{entity.account}:assumed-role/{entity.name}/{SESSION_NAME}",
        entity.account, issuer_arn=entity.arn, unique_id=entity.unique_id)


def principal_context(entity: Entity, directory: Directory) -> Context:
    """The request context keys the directory determines for a caller (as services/authz.py
    computes them). Keys the caller chooses per request (aws:SourceIp, MFA, sts:ExternalId,
    the session name...) are left out: a condition on them shows up as missing and makes the
    step *conditional*, never silently allowed or denied."""
    ctx: Context = {
        "aws:PrincipalAccount": entity.account,
        "aws:PrincipalArn": entity.arn,
        "aws:SecureTransport": "true",
        "aws:RequestedRegion": REGION,
        "aws:PrincipalIsAWSService": "false",
        "aws:ViaAWSService": "false",
        "aws:userid": entity.unique_id if entity.kind == "user"
        else f"{entity.unique_id}:{SESSION_NAME}",
    }
    if directory.now is not None:
        ctx["aws:CurrentTime"] = directory.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        ctx["aws:EpochTime"] = str(int(directory.now.timestamp()))
    if entity.kind == "user":
        ctx["aws:username"] = entity.name
    org = directory.org_of.get(entity.account)
    if org is not None:
        ctx["aws:PrincipalOrgID"] = org
    for key, value in entity.tags.items():
        ctx[f"aws:PrincipalTag/{key}"] = value
    return ctx


def resource_tag_context(tags: Mapping[str, str]) -> Context:
    out: Context = {}
    for key, value in tags.items():
        out[f"aws:ResourceTag/{key}"] = value
        out[f"iam:ResourceTag/{key}"] = value
    return out


def with_policies(entity: Entity, **changes: object) -> Entity:
    return dataclasses.replace(entity, **changes)  # type: ignore[arg-type]


def decide(
    directory: Directory,
    actor: Entity,
    action: str,
    resource: str,
    *,
    resource_account: str | None = None,
    resource_policy: PolicyEntry | None = None,
    trust: bool = False,
    extra: Mapping[str, str | list[str]] | None = None,
    note: str = "",
) -> Step | None:
    """One request by ``actor``, decided by the policy engine with the actor's identity
    policies, boundary and SCPs, the resource's policy (a trust policy with ``trust``) and
    the RCPs of the resource's account for the services RCPs cover (services/authz.py
    RCP_SERVICES). The step with its statements, or None if it cannot be made."""
    ctx = principal_context(actor, directory)
    if extra:
        ctx.update(extra)
    target_account = resource_account or actor.account
    rcps: Sequence[Sequence[PolicyEntry]] = ()
    if action.partition(":")[0].lower() in ("sts", "s3"):
        rcps = directory.rcps.get(target_account, ())
    policies = dataclasses.replace(actor.policies, resource=resource_policy,
                                   resource_must_allow=trust, rcps=rcps)
    request = Request(principal_of(actor), action, resource,
                      resource_account=resource_account, context=ctx)
    return step(evaluate(request, policies), policies, action, resource, note)
