"""Decide an S3 request as Amazon S3 does, on OpenSTS's IAM engine.

Sources (S3 User Guide unless noted):

* "How Amazon S3 authorizes a request" (how-s3-evaluates-access-control) and its bucket and
  object operation workflows: S3 evaluates a *user context* (the caller's account: identity
  policies, boundaries, session policies, SCPs) and a *bucket context* (the bucket owner's
  bucket policy). With object ownership ``BucketOwnerEnforced`` (the default, and the only
  mode OpenSTS serves) the bucket owner owns every object, ACLs grant nothing and there is no
  separate object context.
* IAM "Policy evaluation logic": in one account identity OR resource policy allows (with the
  engine's rules for a bucket policy naming a role, a session or the account); across
  accounts both must allow; an explicit deny anywhere wins. SCPs govern the caller's account,
  RCPs the bucket owner's account (S3 is an RCP service).
* "Blocking public access" (access-control-block-public-access): RestrictPublicBuckets
  "restricts access to an access point or bucket with a public policy to only AWS service
  principals and authorized users within the bucket owner's account", and "public and
  cross-account access within any public bucket policy, including non-public delegation to
  specific accounts, is blocked". BlockPublicPolicy acts when a policy is stored (s3-store).
* Service Authorization Reference, "Amazon S3": the bucket and object resource types both
  carry ``s3:BucketTag/${TagKey}`` and ``aws:ResourceTag/${TagKey}`` (the bucket's tags);
  every action has ``s3:ResourceAccount``. "Using tags with S3 general purpose buckets":
  ``aws:ResourceTag`` is evaluated "only after you enable ABAC on your bucket" (off by
  default). Object tags are ``s3:ExistingObjectTag/<key>``, supplied by the gateway.
* "Troubleshoot access denied (403 Forbidden) errors in Amazon S3", "Access denied message
  examples": same-account requests get the enhanced message
  ``User: ARN is not authorized to perform: ACTION on resource: "ARN" because no
  identity-based policy allows the ACTION action`` (or ``with an explicit deny in a ...``);
  other requests get the plain ``Access Denied``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from opensts.policy import Decision, Principal
from opensts.s3.errors import S3Error, access_denied
from opensts.s3.public import is_public
from opensts.services.authz import (
    ANONYMOUS,
    Authorizer,
    _reason,
    stored_resource_policy,
)
from opensts.services.context import Caller, RequestMeta

ContextValue = str | list[str]

_UNPARSEABLE = " (stored bucket policy could not be parsed)"
_OWNER_ROOT_ACTIONS = frozenset({"s3:getbucketpolicy", "s3:putbucketpolicy",
                                 "s3:deletebucketpolicy"})


class NeedLike(Protocol):
    """What one authorization needs (``opensts.s3.operations.Need``)."""

    @property
    def action(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def bucket(self) -> str | None: ...
    @property
    def key(self) -> str | None: ...


class TagLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...


class PublicAccessBlockLike(Protocol):
    @property
    def block_public_policy(self) -> bool: ...
    @property
    def restrict_public_buckets(self) -> bool: ...


class BucketLike(Protocol):
    """The parts of ``opensts.directory.records.Bucket`` a decision reads."""

    @property
    def name(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def policy(self) -> str | None: ...
    @property
    def tags(self) -> Sequence[TagLike]: ...
    @property
    def public_access_block(self) -> PublicAccessBlockLike: ...


def is_public_policy(text: str) -> bool:
    """Whether a bucket policy is public, in S3's sense (``opensts.s3.public``)."""
    return is_public(text)


def bucket_context(bucket: BucketLike) -> dict[str, ContextValue]:
    """``s3:ResourceAccount``, ``s3:BucketTag/*`` and, with ABAC on, ``aws:ResourceTag/*``."""
    context: dict[str, ContextValue] = {"s3:ResourceAccount": bucket.account_id}
    # ABAC is a per-bucket switch (PutBucketAbac) that the store may not record; without it
    # AWS does not evaluate aws:ResourceTag on general purpose buckets.
    abac = bool(getattr(bucket, "abac_enabled", False))
    for tag in bucket.tags:
        context[f"s3:BucketTag/{tag.key}"] = tag.value
        if abac:
            context[f"aws:ResourceTag/{tag.key}"] = tag.value
    return context


def _bucket_policy(bucket: BucketLike) -> tuple[str, Any] | None:
    if bucket.policy is None:
        return None
    return stored_resource_policy(f"arn:aws:s3:::{bucket.name}", bucket.policy, _UNPARSEABLE)


def authorize_s3(
    authorizer: Authorizer,
    caller: Caller | None,
    need: NeedLike,
    bucket: BucketLike | None,
    *,
    meta: RequestMeta,
    context: Mapping[str, ContextValue],
) -> Decision:
    """Decide one S3 authorization. ``caller`` None is an anonymous (unsigned) request;
    ``bucket`` None is a request that names no stored bucket (ListAllMyBuckets, CreateBucket),
    decided by the caller's own policies in its own account. ``context`` holds the
    caller-independent keys the gateway computed (s3:prefix, s3:authType, ...). Raises
    nothing for a stored policy that fails to parse: that denies."""
    resource_account = bucket.account_id if bucket is not None else None
    # The gateway's keys go first: the keys that say who is calling and whose bucket it is
    # are computed here and win over any the gateway passed.
    ctx: dict[str, ContextValue] = dict(context)
    if bucket is not None:
        ctx.update(bucket_context(bucket))
    elif caller is not None:
        ctx["s3:ResourceAccount"] = caller.account_id
    policy = _bucket_policy(bucket) if bucket is not None else None
    if (policy is not None and caller is not None and caller.is_root
            and bucket is not None and caller.account_id == bucket.account_id
            and need.action.lower() in _OWNER_ROOT_ACTIONS):
        # "the root principal in a bucket owner's account can perform the GetBucketPolicy,
        # PutBucketPolicy, and DeleteBucketPolicy API actions, even if their bucket policy
        # explicitly denies the root principal's access. Bucket owner root principals can
        # only be blocked from performing these API actions by VPC endpoint policies and
        # AWS Organizations policies" (API_DeleteBucketPolicy): the bucket policy is left
        # out; SCPs, RCPs (and an AssumeRoot session's task policy) still apply.
        policy = None
    decision = authorizer.decide_resource(
        caller, need.action, need.resource, meta=meta, resource_account=resource_account,
        resource_policy=policy, context=ctx)
    decision = _broken_policy_reason(decision)
    if decision.allowed and bucket is not None:
        principal = ANONYMOUS if caller is None else authorizer.principal(caller)
        decision = _restrict_public_buckets(decision, principal, bucket)
    return decision


def _restrict_public_buckets(
    decision: Decision, principal: Principal, bucket: BucketLike
) -> Decision:
    """RestrictPublicBuckets on a bucket whose policy is public: only principals of the
    bucket owner's account keep their access. Anyone else was allowed only through the
    bucket policy (anonymous and cross-account callers need it), so they are refused."""
    if principal.account == bucket.account_id:
        return decision
    if not bucket.public_access_block.restrict_public_buckets or bucket.policy is None:
        return decision
    if not is_public_policy(bucket.policy):  # an unparseable policy counts as public
        return decision
    return dataclasses.replace(
        decision,
        decision="implicitDeny",
        allowed=False,
        matched_statements=[],
        reason="RestrictPublicBuckets: the bucket policy is public, so it grants only "
        "principals of the bucket owner's account",
    )


def _broken_policy_reason(decision: Decision) -> Decision:
    for m in decision.matched_statements:
        if m.effect == "Deny" and m.source_id.endswith(_UNPARSEABLE):
            return dataclasses.replace(
                decision, reason="the stored bucket policy could not be parsed, so it denies "
                "everything")
    return decision


def _resource_account(decision: Decision) -> str | None:
    request = decision._request
    return request.resource_account if request is not None else None


def s3_access_denied(caller: Caller | None, need: NeedLike, decision: Decision) -> S3Error:
    """S3's AccessDenied for a denied decision: the enhanced message (principal, action,
    resource in quotes, which policy type denied) for a caller of the bucket owner's own
    account; the plain ``Access Denied`` for cross-account and anonymous callers, who must
    not learn about another account's policies. Never policy text or secrets."""
    if caller is None:
        return access_denied()
    owner = _resource_account(decision)
    if owner is not None and owner != caller.account_id:
        return access_denied()
    arn = caller.arn
    if caller.type == "Root":
        arn = f"arn:aws:iam::{caller.account_id}:root"
    message = (
        f'User: {arn} is not authorized to perform: {need.action} on resource: '
        f'"{need.resource}" {_reason(need.action, decision)}'
    )
    return access_denied(message)
