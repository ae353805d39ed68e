"""External access: who outside a zone of trust a resource policy lets in (pure).

Covered resource types: IAM role trust policies (``AWS::IAM::Role``) and S3 bucket policies
held by the gateway (``AWS::S3::Bucket``). For each Allow statement the analysis names the
principals outside the zone, the actions they get on the resource and the conditions that
limit them, the way IAM Access Analyzer reports them (API_Finding: principal, action,
condition, isPublic).

Soundness: the answer may say too much, never too little.

* A statement's condition can only *hide* access when it provably confines the caller to
  the zone: a positive, fixed-valued ``StringEquals``/``StringLike``/``ArnEquals``/``ArnLike``
  (optionally ``ForAnyValue:``) on aws:PrincipalAccount, aws:PrincipalArn,
  aws:PrincipalOrgID, aws:PrincipalOrgPaths, aws:SourceAccount, aws:SourceOwner,
  aws:SourceArn, aws:SourceOrgID or aws:SourceOrgPaths whose every value is inside the zone
  (the organization's id or paths only when the zone is the organization). Conditions are
  ANDed, so one such condition is enough.
* Conditions that narrow without confining (sts:ExternalId, aws:SourceIp outside the public
  ranges S3 names, aws:SourceVpc, aws:SourceVpce, aws:userid, an identity provider's ``aud``
  or ``sub``, the confining keys above with values outside the zone) are shown in the
  finding's ``condition`` and make it not public. Every other condition (a negated or
  ``...IfExists`` operator, ``ForAllValues:``, an unknown key, a policy variable) is ignored:
  the access is reported as if the condition were not there.
* A Deny statement removes access only when it applies unconditionally to everyone
  (``Principal: "*"``), or when it is the common guard "deny everyone whose confining key is
  not one of these values" and covers every analyzed action. Other Denies are ignored.
* Service principals get no finding (AWS's analyzers do not report service principals);
  federated principals (SAML, OIDC, web identity providers) always do: the identities they
  vouch for live outside every account. A policy that does not parse yields one public
  finding with ``error``, never none.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from opensts.analyzer.zone import Zone
from opensts.errors import MalformedPolicyDocument
from opensts.policy import PolicyKind, parse_policy
from opensts.policy.conditions import Condition, split_operator
from opensts.policy.parser import Statement
from opensts.s3.public import cidr_not_public, fixed_value

ROLE = "AWS::IAM::Role"
BUCKET = "AWS::S3::Bucket"
COVERED_TYPES = (ROLE, BUCKET)

# The actions a trust policy can grant on a role (parser._trust_action's vocabulary).
ROLE_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
                "sts:SetContext", "sts:SetSourceIdentity", "sts:TagSession")

# Keys whose fixed values confine the caller; how a value names an account or org.
_ACCOUNT_KEYS = frozenset({"aws:principalaccount", "aws:sourceaccount", "aws:sourceowner"})
_ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn"})
_ORG_KEYS = frozenset({"aws:principalorgid", "aws:sourceorgid"})
_PATH_KEYS = frozenset({"aws:principalorgpaths", "aws:sourceorgpaths"})
CONFINING_KEYS = _ACCOUNT_KEYS | _ARN_KEYS | _ORG_KEYS | _PATH_KEYS
# Keys that narrow who may use a grant without confining it to the zone.
NARROWING_KEYS = frozenset({"sts:externalid", "aws:sourceip", "aws:sourcevpc",
                            "aws:sourcevpce", "aws:userid", "aws:username"})
_IDP_SUFFIXES = (":aud", ":sub", ":oaud", ":amr", ":app_id", ":user_id", ":id")
_BINDING = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals",
                      "ArnLike", "IpAddress"})
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike",
            "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}
UNPARSEABLE = "UNPARSEABLE_POLICY"


@dataclass(frozen=True)
class Access:
    """One external access: AWS's finding fields. ``principal`` and ``condition`` are
    sorted (key, value) pairs so that equal accesses compare and hash equal."""

    principal: tuple[tuple[str, str], ...]
    actions: tuple[str, ...]
    condition: tuple[tuple[str, str], ...] = ()
    is_public: bool = False
    error: str | None = None
    sources: tuple[str, ...] = field(default=(), compare=False)

    def principal_map(self) -> dict[str, str]:
        return dict(self.principal)

    def condition_map(self) -> dict[str, str]:
        return dict(self.condition)


@dataclass(frozen=True)
class Resource:
    """What the analysis needs of a resource: its type, ARN, owner and policy."""

    type: str
    arn: str
    owner: str
    policy: str | None
    restrict_public: bool = False  # a bucket's Block Public Access RestrictPublicBuckets


def analyze(resource: Resource, zone: Zone) -> list[Access]:
    """Every access ``resource``'s policy grants to principals outside ``zone``."""
    if resource.policy is None:
        return []
    kind = PolicyKind.TRUST if resource.type == ROLE else PolicyKind.RESOURCE
    try:
        policy = parse_policy(resource.policy, kind)
    except MalformedPolicyDocument:
        return [Access((("AWS", "*"),), ("*",), (), True, UNPARSEABLE)]
    if resource.type == BUCKET and resource.restrict_public:
        from opensts.s3.public import is_public

        if is_public(resource.policy):
            # RestrictPublicBuckets: a public policy then admits only AWS services and
            # principals of the bucket owner's account (S3 User Guide, Block Public Access).
            return []
    universe = ROLE_ACTIONS if resource.type == ROLE else _bucket_actions()
    guards, removed = _denials(policy.statements, universe)
    found: dict[tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]],
                tuple[set[str], bool, list[str]]] = {}
    for statement in policy.statements:
        if statement.is_deny or statement.principal is None:
            continue
        actions = [a for a in universe if a not in removed
                   and statement.action_matches(a.lower())
                   and _applies(statement, resource, a)]
        if not actions:
            continue
        for principal, condition, public in _grants(statement, zone, guards):
            key = (principal, condition)
            acts, was_public, sources = found.setdefault(key, (set(), False, []))
            acts.update(actions)
            sources.append(statement.label())
            found[key] = (acts, was_public or public, sources)
    return [Access(p, tuple(sorted(a)), c, pub, None, tuple(src))
            for (p, c), (a, pub, src) in sorted(found.items())]


def _grants(statement: Statement, zone: Zone, guards: Sequence[Condition]
            ) -> Iterable[tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], bool]]:
    conditions = [*statement.conditions, *guards]
    shown: dict[str, str] = {}
    accounts: set[str] | None = None  # accounts aws:PrincipalAccount allows, when fixed
    orgs: set[str] | None = None
    service_only = False
    for c in conditions:
        if c.key_l == "aws:principalisawsservice" and c.family == "bool" and not c.negated \
                and not c.if_exists and [v.lower() for v in c.values] == ["true"]:
            service_only = True
        if not _binds(c):
            continue
        if c.key_l in CONFINING_KEYS:
            if _confined(c, zone):
                return  # only principals inside the zone satisfy this statement
            if not all(_pinned(c.key_l, v) for v in c.values):
                continue  # a wildcard value ("o-*") limits nobody for certain
            shown[c.key] = ",".join(c.values)
            if c.key_l == "aws:principalaccount" and all(fixed_value(v) for v in c.values):
                accounts = set(c.values) if accounts is None else accounts & set(c.values)
            if c.key_l == "aws:principalorgid" and all(fixed_value(v) for v in c.values):
                orgs = set(c.values) if orgs is None else orgs & set(c.values)
        elif c.key_l in NARROWING_KEYS or c.key_l.startswith("saml:") or \
                c.key_l.endswith(_IDP_SUFFIXES):
            if c.key_l == "aws:sourceip" and not all(cidr_not_public(v) for v in c.values):
                continue
            if all(v == "*" for v in c.values):
                continue
            shown[c.key] = ",".join(c.values)
    if service_only:
        return
    condition = tuple(sorted(shown.items()))
    narrowed = bool(shown)
    principal = statement.principal
    assert principal is not None
    if principal.wildcard:
        yield (("AWS", "*"),), condition, not narrowed
    for value in sorted(principal.aws):
        account = _account_of(value)
        if account is not None and zone.trusts_account(account):
            continue
        if account is not None and accounts is not None and account not in accounts:
            continue  # aws:PrincipalAccount rules this principal out
        if account is not None and orgs is not None and zone.org_id is not None and \
                orgs == {zone.org_id} and account not in zone.org_accounts:
            continue  # a non-member can never carry the organization's id
        yield (("AWS", value),), condition, False
    for value in sorted(principal.federated):
        yield (("Federated", value),), condition, not narrowed
    for value in sorted(principal.canonical):
        yield (("CanonicalUser", value),), condition, False


def _denials(statements: Sequence[Statement], universe: Sequence[str]
             ) -> tuple[list[Condition], set[str]]:
    """Denies that provably remove access: (guards that confine every grant, actions
    denied to everyone unconditionally)."""
    guards: list[Condition] = []
    removed: set[str] = set()
    for s in statements:
        if not s.is_deny or s.principal is None or s.not_principal or not s.principal.wildcard:
            continue
        if s.not_resource or (s.resources is not None and not s.resources.static.match_all):
            continue  # a Deny on part of the resource removes nothing for certain
        covered = [a for a in universe if s.action_matches(a.lower())]
        if not s.conditions:
            removed.update(covered)
        elif len(s.conditions) == 1 and len(covered) == len(universe):
            guard = _positive(s.conditions[0])
            if guard is not None:
                guards.append(guard)
    return guards, removed


def _positive(c: Condition) -> Condition | None:
    """``StringNotEquals(IfExists) key V`` in a Deny as the grant condition ``key ∈ V``:
    the Deny refuses every caller whose key is absent or outside V. Only for single-valued
    keys without a set qualifier: ``ForAnyValue:StringNotLike`` on aws:PrincipalOrgPaths is
    false for a caller with no paths at all, whom the Deny then lets through."""
    if c.qualifier is not None or c.key_l in _PATH_KEYS or c.key_l not in CONFINING_KEYS:
        return None
    if any("${" in v for v in c.values):
        return None
    positive = _NEGATED.get(split_operator(c.operator)[1])
    if positive is None:
        return None
    return Condition(positive, c.key, list(c.values), False)


def _binds(c: Condition) -> bool:
    if c.negated or c.if_exists or c.qualifier == "all" or not c.values:
        return False
    if any("${" in v for v in c.values):
        return False
    if c.key_l == "aws:sourceip":
        return c.family == "ip"
    return split_operator(c.operator)[1] in _BINDING


def _confined(c: Condition, zone: Zone) -> bool:
    """Every value of the condition names something inside the zone."""
    key = c.key_l
    for value in c.values:
        if key in _ACCOUNT_KEYS:
            if not (fixed_value(value) and zone.trusts_account(value)):
                return False
        elif key in _ARN_KEYS:
            parts = value.split(":")
            if len(parts) < 6 or not (fixed_value(parts[4]) and zone.trusts_account(parts[4])):
                return False
        elif key in _ORG_KEYS:
            if not (fixed_value(value) and zone.trusts_org(value)):
                return False
        elif key in _PATH_KEYS:
            org, slash, _ = value.partition("/")
            if not (slash and fixed_value(org) and zone.trusts_org(org)):
                return False
        else:
            return False
    return True


def _applies(statement: Statement, resource: Resource, action: str) -> bool:
    """Whether the statement's Resource can cover ``action`` on this bucket (roles: always).
    Over-approximates: a pattern that might match is taken as matching."""
    if resource.type != BUCKET or statement.resources is None or statement.not_resource:
        return True
    if statement.resources.templates:
        return True  # a policy variable may resolve to this bucket
    if action not in _object_actions():
        return bool(statement.resources.static(resource.arn))
    raw = statement.raw.get("Resource")
    patterns = [raw] if isinstance(raw, str) else list(raw or [])
    target = resource.arn + "/"
    for pattern in patterns:
        cut = min([i for i in (pattern.find("*"), pattern.find("?")) if i >= 0], default=-1)
        literal = pattern if cut < 0 else pattern[:cut]
        if literal.startswith(target) or (cut >= 0 and target.startswith(literal)):
            return True
    return False


def _account_of(value: str) -> str | None:
    if value.isdigit() and len(value) == 12:
        return value
    parts = value.split(":")
    if len(parts) >= 6 and parts[4].isdigit():
        return parts[4]
    return None


def _pinned(key: str, value: str) -> bool:
    """A confining value that names something definite: fixed, or for ARN keys an ARN
    whose account is fixed (S3's public-policy rule for access-point ARNs)."""
    if key in _ARN_KEYS:
        parts = value.split(":")
        return len(parts) >= 6 and fixed_value(parts[4]) and parts[4] != ""
    return fixed_value(value)


@functools.cache
def _bucket_actions() -> tuple[str, ...]:
    """S3 actions on a bucket or its objects (the service authorization reference)."""
    from opensts.policy import catalog

    out = []
    for action in catalog.service_actions("s3"):
        types = catalog.action_resource_types(action) or ()
        if any(t in ("bucket", "object") for t, _ in types):
            out.append(action)
    return tuple(out)


@functools.cache
def _object_actions() -> frozenset[str]:
    from opensts.policy import catalog

    return frozenset(a for a in _bucket_actions()
                     if any(t == "object" for t, _ in catalog.action_resource_types(a) or ()))
