"""Authorize a caller's request with the IAM evaluation logic.

This module gathers the inputs the pure policy engine needs — the caller's identity
policies, permissions boundary, session policies, the SCPs above its account, the request
context keys — and turns a denial into AWS's AccessDenied message. It is the only place
that knows how a :class:`Caller` maps onto an IAM principal.

Every denial it makes is recorded for the operator (``opensts audit explain REQUEST_ID``,
``audit.decisions``) and, for AccessDenied answers, sealed into an encoded authorization
message after AWS's text (``services.denials``, which says how such a message is kept to
the account whose policies refused).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from opensts.credentials.tokens import KeyRing
from opensts.directory.errors import NotFound
from opensts.directory.store import Store
from opensts.errors import AccessDenied, MalformedPolicyDocument
from opensts.policy import (
    Decision,
    Policy,
    PolicyKind,
    PolicySet,
    Principal,
    PrincipalKind,
    Request,
    evaluate,
    parse_policy,
)
from opensts.services.context import Caller, RequestMeta
from opensts.services.denials import (  # denial_message and _reason: re-exported
    _reason as _reason,
)
from opensts.services.denials import (
    denial_message,
    encode_message,
    refusal_owner,
    refused_by,
)

if TYPE_CHECKING:
    from opensts.audit.decisions import DecisionLog

log = logging.getLogger(__name__)

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
# Of the APIs OpenSTS serves, resource control policies cover STS and S3 (AWS Organizations
# user guide, "RCPs": S3, STS, KMS, SQS, Secrets Manager and a few more; not IAM).
RCP_SERVICES = frozenset({"sts", "s3"})

ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
# The stand-in for something a decision depends on that no longer resolves (a deleted
# boundary or session policy, the deleted or replaced role/user behind a session). Its
# content is unknown and may have denied anything, so only an explicit deny of everything
# is never wider than what it replaces: an empty policy would let a resource-based policy
# grant what a lost Deny statement refused.
DENY_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
# Appended to the source id of a stand-in; ARNs hold no spaces, so no real source ends so.
UNRESOLVED = " (could not be resolved)"
# The source id suffix of the deny-all stand-in of a closed member account.
CLOSED = " (closed account)"

Context = dict[str, str | list[str]]

#: The principal an unsigned request is evaluated as. Only ``"Principal": "*"`` or
#: ``{"AWS": "*"}`` names it (reference_policies_elements_principal, "Anonymous principals").
ANONYMOUS = Principal(PrincipalKind.ANONYMOUS, "anonymous", None)

# Stand-in for a stored resource policy that no longer parses (it was validated when
# stored, so this means a corrupt store or an engine change): deny everything rather than
# lose a Deny the policy held.
_BROKEN_RESOURCE_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*",'
    '"Resource":"*"}]}')


def stored_resource_policy(source: str, text: str, unparseable: str) -> tuple[str, Policy]:
    """A stored resource-based policy as a policy-set entry; one that no longer parses
    denies everything, its source id ending in ``unparseable``."""
    try:
        return source, parse_policy(text, PolicyKind.RESOURCE)
    except MalformedPolicyDocument:
        return source + unparseable, parse_policy(_BROKEN_RESOURCE_POLICY, PolicyKind.RESOURCE)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge_tags(*layers: Mapping[str, str]) -> dict[str, str]:
    """Later layers override earlier ones; tag keys compare case-insensitively."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for key, value in layer.items():
            merged[key.lower()] = (key, value)
    return dict(merged.values())


class Authorizer:
    """Decides requests; reads go through the store (a CachingStore in the server)."""

    def __init__(self, store: Store, keyring: KeyRing, denials: DecisionLog | None = None):
        self.store = store
        self.keyring = keyring
        # Where denials are recorded for ``opensts audit explain`` (None: not recorded).
        self.denials = denials
        self._allow_all = parse_policy(ALLOW_ALL, PolicyKind.IDENTITY)
        self._memo: tuple[int, dict[tuple[Any, ...], tuple[PolicySet, dict[str, str]]]] = (
            -1, {}
        )

    # -- the principal -------------------------------------------------------------------

    def principal(self, caller: Caller) -> Principal:
        claims = caller.session or {}
        if caller.type == "AssumedRole":
            return Principal(
                PrincipalKind.ASSUMED_ROLE,
                caller.arn,
                caller.account_id,
                issuer_arn=claims.get("role_arn"),
                unique_id=claims.get("role_id"),
            )
        if caller.type == "FederatedUser":
            return Principal(
                PrincipalKind.FEDERATED_USER,
                caller.arn,
                caller.account_id,
                issuer_arn=claims.get("uarn"),
                unique_id=claims.get("uid"),
            )
        if caller.type == "Root":
            return Principal(
                PrincipalKind.ROOT, f"arn:aws:iam::{caller.account_id}:root", caller.account_id
            )
        return Principal(PrincipalKind.USER, caller.arn, caller.account_id,
                         unique_id=_user_id(caller))

    # -- the policies --------------------------------------------------------------------

    @staticmethod
    def _unresolved(source: str, kind: PolicyKind) -> tuple[str, Policy]:
        return source + UNRESOLVED, parse_policy(DENY_ALL, kind)

    def _managed(self, arn: str, kind: PolicyKind) -> tuple[str, Policy]:
        """A boundary or managed session policy; one that is gone denies everything."""
        try:
            return arn, parse_policy(self.store.get_managed_policy(arn).document, kind)
        except NotFound:
            return self._unresolved(arn, kind)

    def policies(self, caller: Caller) -> tuple[PolicySet, dict[str, str]]:
        """The caller's policy set and its principal tags (for ``aws:PrincipalTag``).

        Memoised per store generation: every committed directory change moves it (see
        ``store.cache``), and it is read, as the cache reads it, before the data, so an
        entry made under generation *g* is at least as new as *g*. The key is everything
        about the caller the set depends on (claims included). Callers get a shallow copy
        (``decide`` sets the resource and RCPs on it); the memoised lists are tuples.
        """
        current = getattr(self.store, "_current_generation", None)
        if current is None:  # a plain store (tests, tools): nothing to key on
            return self._policies(caller)
        generation = current()
        key = _caller_key(caller)
        memo = self._memo
        if memo[0] != generation:
            memo = self._memo = (generation, {})
        hit = memo[1].get(key)
        if hit is None:
            found, tags = self._policies(caller)
            hit = (_frozen_set(found), tags)
            if len(memo[1]) >= MEMO_ENTRIES:
                memo[1].clear()
            memo[1][key] = hit
        return copy.copy(hit[0]), dict(hit[1])

    def _policies(self, caller: Caller) -> tuple[PolicySet, dict[str, str]]:
        claims = caller.session or {}
        account = caller.account_id
        identity: list[tuple[str, Policy]] = []
        boundary: tuple[str, Policy] | None = None
        tags: dict[str, str] = {}
        try:
            if caller.type == "Root" or claims.get("root"):
                # The root user, and root's GetSessionToken/GetFederationToken sessions.
                identity.append(("root", self._allow_all))
                if claims.get("op") == "AssumeRoot":
                    # A privileged root session is scoped by its task policy (AWS's
                    # root-task policies are Deny statements); one that no longer
                    # resolves denies everything.
                    identity.append(self._managed(str(claims.get("task", "")),
                                                  PolicyKind.IDENTITY))
            elif caller.type == "AssumedRole":
                role = self.store.get_role(account, claims["role_name"])
                _same_entity(role.role_id, claims.get("role_id"), "role")
                identity.extend(
                    self._parsed(self.store.identity_policies_for_role(account, role.name))
                )
                if role.permissions_boundary:
                    boundary = self._managed(role.permissions_boundary, PolicyKind.BOUNDARY)
                tags = {t.key: t.value for t in role.tags}
            else:  # IAM users and their GetSessionToken / GetFederationToken sessions
                user = self.store.get_user(account, caller.user_name or claims["user"])
                _same_entity(user.user_id, _user_id(caller), "user")
                identity.extend(
                    self._parsed(self.store.identity_policies_for_user(account, user.name))
                )
                if user.permissions_boundary:
                    boundary = self._managed(user.permissions_boundary, PolicyKind.BOUNDARY)
                tags = {t.key: t.value for t in user.tags}
        except NotFound:
            # The role or user behind a live session was deleted, or replaced by a new one of
            # the same name (another unique id): the session is dead. An explicit deny, as a
            # resource-based policy naming the session (or "*") would grant on its own.
            identity = [self._unresolved(_issuer_arn(caller), PolicyKind.IDENTITY)]
            boundary, tags = None, {}
        if self._closed(account):
            # A closed member account (SUSPENDED, or PENDING_CLOSURE on the way): "the
            # resources won't be available" (API_CloseAccount), so neither are its
            # principals. Every key and session of it denies, root's included.
            identity = [(f"account {account}{CLOSED}", parse_policy(DENY_ALL,
                                                                  PolicyKind.IDENTITY))]
            boundary, tags = None, {}
        session: list[tuple[str, Policy]] | None = None
        if caller.type in ("AssumedRole", "FederatedUser"):
            session = []
            if claims.get("pol"):
                session.append(("session-policy", parse_policy(claims["pol"], PolicyKind.SESSION)))
            # Each stays in the set: a deleted one denies rather than lifting the limit.
            for arn in claims.get("parns", ()):
                session.append(self._managed(arn, PolicyKind.SESSION))
            if not session and caller.type == "AssumedRole":
                session = None  # a role session without session policies is not limited
        tags = _merge_tags(tags, claims.get("tags", {}))
        scps = self.scps(account)
        return PolicySet(identity=identity, boundary=boundary, session=session, scps=scps), tags

    def entity_policies(self, account_id: str, kind: str, name: str) -> PolicySet:
        """The policies IAM evaluates for a user, group or role itself, for
        SimulatePrincipalPolicy: "If you specify a user, the simulation also includes all
        policies that are attached to any groups the user belongs to" (API reference). Holds
        the identity policies (sources as in ``Store.identity_policies_for_user``), the
        permissions boundary and the SCPs above the account. Raises NotFound if unknown."""
        store = self.store
        boundary_arn: str | None = None
        if kind == "user":
            user = store.get_user(account_id, name)
            rows = store.identity_policies_for_user(account_id, user.name)
            boundary_arn = user.permissions_boundary
        elif kind == "role":
            role = store.get_role(account_id, name)
            rows = store.identity_policies_for_role(account_id, role.name)
            boundary_arn = role.permissions_boundary
        elif kind == "group":
            rows = self._group_policies(account_id, store.get_group(account_id, name).name)
        else:
            raise ValueError(f"not an IAM entity kind: {kind}")
        boundary = self._managed(boundary_arn, PolicyKind.BOUNDARY) if boundary_arn else None
        return PolicySet(identity=self._parsed(rows), boundary=boundary,
                         scps=self.scps(account_id))

    def _group_policies(self, account_id: str, group_name: str) -> list[tuple[str, str]]:
        # The store has no per-group hot-path query; simulations are rare enough to page.
        store = self.store
        group_arn = store.get_group(account_id, group_name).arn
        rows: list[tuple[str, str]] = []
        marker: str | None = None
        while True:
            names = store.list_inline_policies("group", account_id, group_name,
                                               marker=marker, max_items=1000)
            for policy_name in sorted(names.items):
                inline = store.get_inline_policy("group", account_id, group_name, policy_name)
                rows.append((f"{group_arn}#inline:{inline.name}", inline.document))
            marker = names.marker
            if marker is None:
                break
        attached_rows: list[tuple[str, str]] = []
        while True:
            attached = store.list_attached_policies("group", account_id, group_name,
                                                    marker=marker, max_items=1000)
            for a in attached.items:
                try:
                    attached_rows.append((a.arn, store.get_managed_policy(a.arn).document))
                except NotFound:
                    continue  # detached and deleted meanwhile
            marker = attached.marker
            if marker is None:
                break
        return rows + sorted(attached_rows)

    def scps(self, account_id: str) -> list[list[tuple[str, Policy]]]:
        return self._levels(account_id, SCP, PolicyKind.SCP)

    def rcps(self, resource_account: str, action: str) -> list[list[tuple[str, Policy]]]:
        """RCP levels governing a resource, for the services RCPs cover. A closed account's
        resources (its roles to assume, its buckets) deny every principal."""
        if action.partition(":")[0].lower() not in RCP_SERVICES:
            return []
        if self._closed(resource_account):
            return [[(f"account {resource_account}{CLOSED}",
                      parse_policy(_BROKEN_RESOURCE_POLICY, PolicyKind.RCP))]]
        return self._levels(resource_account, RCP, PolicyKind.RCP)

    def _levels(
        self, account_id: str, policy_type: str, kind: PolicyKind
    ) -> list[list[tuple[str, Policy]]]:
        return [
            [(source, parse_policy(text, kind)) for source, text in level]
            for level in self.store.policy_levels_for_account(account_id, policy_type)
        ]

    def _closed(self, account_id: str) -> bool:
        """Whether ``account_id`` is a member account that was closed (CloseAccount); the
        two lookups are cached reads."""
        if self.store.find_organization_for_account(account_id) is None:
            return False
        try:
            return self.store.get_org_account(account_id).status != "ACTIVE"
        except NotFound:  # removed from its organization meanwhile: a standalone account
            return False

    @staticmethod
    def _parsed(rows: list[tuple[str, str]]) -> list[tuple[str, Policy]]:
        # parse_policy is cached by text, so this is a lookup for policies seen before.
        return [(source, parse_policy(text, PolicyKind.IDENTITY)) for source, text in rows]

    # -- the request context -------------------------------------------------------------

    @staticmethod
    def request_context(meta: RequestMeta) -> Context:
        """The global keys every request has, whoever makes it (anonymous requests too:
        "Availability – This key is always included in the request context",
        reference_policies_condition-keys, for each key here)."""
        now = meta.now
        context: Context = {
            "aws:CurrentTime": _iso(now),
            "aws:EpochTime": str(int(now.timestamp())),
            "aws:SourceIp": meta.source_ip,
            "aws:UserAgent": meta.user_agent,
            "aws:SecureTransport": "true" if meta.secure else "false",
            "aws:RequestedRegion": meta.region,
            "aws:PrincipalIsAWSService": "false",
            "aws:ViaAWSService": "false",
        }
        if not meta.source_ip:
            # Unknown (the HTTP authorizer behind an untrusted gateway): absent, so that
            # IpAddress fails and NotIpAddress / Null deny (fail closed), never "".
            del context["aws:SourceIp"]
        return context

    def context(
        self, caller: Caller, meta: RequestMeta, principal_tags: Mapping[str, str]
    ) -> Context:
        claims = caller.session or {}
        now = meta.now
        context = self.request_context(meta)
        context["aws:PrincipalAccount"] = caller.account_id
        context["aws:userid"] = caller.principal_id
        if caller.type == "AssumedRole":
            context["aws:PrincipalArn"] = claims.get("role_arn", caller.arn)
        elif caller.type == "FederatedUser":
            context["aws:PrincipalArn"] = caller.arn
        else:
            context["aws:PrincipalArn"] = caller.arn
        if caller.type == "IAMUser" and caller.user_name:
            context["aws:username"] = caller.user_name
        org = self.store.find_organization_for_account(caller.account_id)
        if org is not None:
            context["aws:PrincipalOrgID"] = org.org_id
        for key, value in principal_tags.items():
            context[f"aws:PrincipalTag/{key}"] = value
        if claims.get("op") == "AssumeRoot":
            context["aws:AssumedRoot"] = "true"
        if claims:
            context["aws:TokenIssueTime"] = _iso(datetime.fromtimestamp(claims["iat"], now.tzinfo))
            mfa_at = claims.get("mfa") if claims.get("mfa_ctx") else None
            context["aws:MultiFactorAuthPresent"] = "true" if mfa_at else "false"
            if mfa_at:
                context["aws:MultiFactorAuthAge"] = str(max(0, int(now.timestamp()) - mfa_at))
            if claims.get("si"):
                context["aws:SourceIdentity"] = claims["si"]
            fed = claims.get("fed")
            if fed:
                context["aws:FederatedProvider"] = fed.get("provider", "")
                for key, value in fed.get("keys", {}).items():
                    context[key] = value
        return context

    # -- decisions -----------------------------------------------------------------------

    def decide(
        self,
        caller: Caller,
        action: str,
        resource: str,
        *,
        meta: RequestMeta,
        resource_policy: str | None = None,
        resource_account: str | None = None,
        extra_context: Mapping[str, str | list[str]] | None = None,
        trust: bool = False,
    ) -> Decision:
        policies, tags = self.policies(caller)
        context = self.context(caller, meta, tags)
        if extra_context:
            context.update(extra_context)
        if resource_policy is not None:
            kind = PolicyKind.TRUST if trust else PolicyKind.RESOURCE
            policies.resource = (resource, parse_policy(resource_policy, kind))
            policies.resource_must_allow = trust
        policies.rcps = self.rcps(resource_account or caller.account_id, action)
        request = Request(
            principal=self.principal(caller),
            action=action,
            resource=resource,
            resource_account=resource_account,
            context=context,
        )
        return _say_what_is_gone(evaluate(request, policies))

    def decide_resource(
        self,
        caller: Caller | None,
        action: str,
        resource: str,
        *,
        meta: RequestMeta,
        resource_account: str | None,
        resource_policy: tuple[str, Policy] | None,
        context: Mapping[str, str | list[str]],
    ) -> Decision:
        """A request on a resource that may carry a resource-based policy, from a signed
        caller or (``caller`` None) an anonymous one, whom only a policy naming ``*`` can
        allow. In one account identity OR resource policy allows; across accounts both
        must; an explicit deny anywhere wins (evaluator.py). SCPs govern the caller's
        account, RCPs the resource's, for the services RCPs cover. ``context`` holds the
        caller-independent keys; the keys saying who is calling are computed here and win
        over any of the same name in it (names compare case-insensitively; the later
        spelling wins in Request)."""
        ctx: dict[str, str | list[str]] = dict(context)
        if caller is None:
            policies = PolicySet()
            ctx.update(self.request_context(meta))
            principal = ANONYMOUS
            rcp_account = resource_account
        else:
            policies, tags = self.policies(caller)
            ctx.update(self.context(caller, meta, tags))
            principal = self.principal(caller)
            rcp_account = resource_account or caller.account_id
        policies.resource = resource_policy
        if rcp_account is not None:
            policies.rcps = self.rcps(rcp_account, action)
        request = Request(principal=principal, action=action, resource=resource,
                          resource_account=resource_account, context=ctx)
        return _say_what_is_gone(evaluate(request, policies))

    def authorize(
        self,
        caller: Caller,
        action: str,
        resource: str,
        *,
        meta: RequestMeta,
        resource_policy: str | None = None,
        resource_account: str | None = None,
        extra_context: Mapping[str, str | list[str]] | None = None,
        trust: bool = False,
    ) -> Decision:
        decision = self.decide(
            caller,
            action,
            resource,
            meta=meta,
            resource_policy=resource_policy,
            resource_account=resource_account,
            extra_context=extra_context,
            trust=trust,
        )
        if not decision.allowed:
            raise self.refuse(caller, action, resource, decision, meta,
                              resource_account=resource_account)
        return decision

    # -- denials ---------------------------------------------------------------------------

    def refuse(
        self,
        caller: Caller,
        action: str,
        resource: str,
        decision: Decision,
        meta: RequestMeta,
        *,
        resource_account: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AccessDenied:
        """Record a denied decision and build its AccessDenied: AWS's text first, then the
        encoded authorization message (which AWS's AssumeRole answer does not carry; ours is
        added after its text, as for every other denial here)."""
        owner = refusal_owner(decision, caller.account_id, resource_account)
        self.record(meta, caller.arn, action, resource, decision, details={
            "refusedBy": refused_by(decision),
            "accounts": {"caller": caller.account_id,
                         "resource": resource_account or caller.account_id},
            **(details or {}),
        })
        message = denial_message(caller.arn, action, resource, decision)
        encoded = self.encode_denial(caller, action, resource, decision, meta,
                                     resource_account=resource_account, owner=owner)
        return AccessDenied(f"{message}. Encoded authorization failure message: {encoded}")

    def record(
        self,
        meta: RequestMeta,
        principal: str | None,
        action: str,
        resource: str,
        decision: Decision | None,
        *,
        reason: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue a denial for the operator's record; never fails the request."""
        if self.denials is None:
            return
        try:
            if decision is None:
                self.denials.record_refusal(meta.request_id, principal, action, resource,
                                            reason, now=meta.now, details=details)
            else:
                self.denials.record_denial(meta.request_id, principal,
                                           _Need(action, resource), decision, now=meta.now,
                                           details=details)
        except Exception:  # the record is for explaining; the denial stands regardless
            log.exception("could not record the denial (request %s)", meta.request_id)

    def encode_denial(
        self,
        caller: Caller,
        action: str,
        resource: str,
        decision: Decision,
        meta: RequestMeta,
        *,
        resource_account: str | None = None,
        owner: str | None = None,
    ) -> str:
        """A sealed copy of the decision for DecodeAuthorizationMessage (valid 1 hour),
        decodable only in ``owner``'s account (see services.denials)."""
        return encode_message(self.keyring, caller, action, resource, decision, meta,
                              resource_account=resource_account, owner=owner)

    def decide_federated(
        self,
        principal: Principal,
        action: str,
        role_arn: str,
        trust_policy: str,
        context: Mapping[str, Any],
    ) -> Decision:
        """Trust-policy evaluation for AssumeRoleWithSAML/WebIdentity (no identity side)."""
        role_account = role_arn.split(":")[4]
        policies = PolicySet(
            resource=(role_arn, parse_policy(trust_policy, PolicyKind.TRUST)),
            resource_must_allow=True,
            rcps=self.rcps(role_account, action),
        )
        request = Request(
            principal=principal,
            action=action,
            resource=role_arn,
            resource_account=role_account,
            context=dict(context),
        )
        return evaluate(request, policies)


MEMO_ENTRIES = 4096


@dataclasses.dataclass(frozen=True)
class _Need:
    """What ``DecisionLog.record_denial`` reads of a request: its action and resource."""

    action: str
    resource: str


def _caller_key(caller: Caller) -> tuple[Any, ...]:
    claims = caller.session
    return (
        caller.type,
        caller.account_id,
        caller.arn,
        caller.principal_id,
        caller.access_key_id,
        caller.user_name,
        orjson.dumps(claims, option=orjson.OPT_SORT_KEYS) if claims is not None else None,
    )


def _frozen_set(policies: PolicySet) -> PolicySet:
    """``policies`` with tuples for lists, so a copy shared from the memo cannot change."""
    return dataclasses.replace(
        policies,
        identity=tuple(policies.identity),
        session=None if policies.session is None else tuple(policies.session),
        scps=tuple(tuple(level) for level in policies.scps),
    )


def _user_id(caller: Caller) -> str | None:
    """The unique id of the IAM user behind the caller (its own, or its session's)."""
    claims = caller.session
    return claims.get("uid") if claims else caller.principal_id


def _issuer_arn(caller: Caller) -> str:
    """The role or user a session was issued for (the caller itself for access keys)."""
    claims = caller.session or {}
    return str(claims.get("role_arn") or claims.get("uarn") or caller.arn)


def _same_entity(found_id: str, expected_id: str | None, kind: str) -> None:
    """The entity found by name is the one the credentials were issued for: a role or user
    deleted and created again under the same name has a new unique id, and must not hand
    its permissions to the old one's sessions."""
    if expected_id is None or found_id != expected_id:
        raise NotFound(kind, found_id)


_UNRESOLVED_NOUNS = {
    "identity": "role or user behind these credentials",
    "boundary": "permissions boundary",
    "session": "session policy",
}


def _say_what_is_gone(decision: Decision) -> Decision:
    """A denial decided by a stand-in for something gone says so (the generic reason would
    blame an explicit deny nobody wrote)."""
    for m in decision.matched_statements:
        if m.effect == "Deny" and m.source_id.endswith(CLOSED):
            return dataclasses.replace(
                decision, reason=f"the {m.source_id.removesuffix(CLOSED)} is closed, so "
                "its credentials and resources can no longer be used")
        if m.effect == "Deny" and m.source_id.endswith(UNRESOLVED):
            noun = _UNRESOLVED_NOUNS.get(m.policy_type, "policy")
            what = m.source_id.removesuffix(UNRESOLVED)
            return dataclasses.replace(
                decision, reason=f"the {noun} {what} could not be resolved (deleted or "
                "replaced), so it denies everything")
    return decision
