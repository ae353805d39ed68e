"""The organization's resource policy (PutResourcePolicy, DescribeResourcePolicy,
DeleteResourcePolicy), EnableAllFeatures and CreateGovCloudAccount (Organizations API
reference).

The resource policy says which principals of other accounts may call Organizations on the
organization: it is validated as a resource-based policy (a ``Principal`` in every
statement) and stored whole, one per organization, with the id ``rp-…`` and the ARN
``arn:aws:organizations::<management>:resourcepolicy/<org id>/<rp id>``. Its tags are given
on creation or through TagResource. Put and Delete are the management account's;
Describe is also a delegated administrator's.

EnableAllFeatures starts the handshake AWS sends to the accounts that were invited into the
organization. OpenSTS has no invitations (its member accounts are created by
CreateAccount, which need not approve), so the handshake is answered accepted and the
organization is in all-features mode at once.

CreateGovCloudAccount needs a management account with an associated AWS GovCloud (US)
account; no OpenSTS organization has one, so it is refused as AWS refuses it then:
ConstraintViolationException, reason MASTER_ACCOUNT_NOT_GOVCLOUD_ENABLED.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from opensts.errors import SenderError
from opensts.policy import PolicyKind, parse_policy
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    EMAIL,
    RESOURCE_POLICY,
    error,
    management_only,
    org_of,
    random,
    resource_policy_of,
    text,
)
from opensts.services.organizations.tags import _request_context, _tags
from opensts.services.registry import operation
from opensts.wire.params import Params

HANDSHAKE_LIFETIME = timedelta(days=90)  # ENABLE_ALL_FEATURES handshakes: 90 days


def _missing() -> SenderError:
    return error("ResourcePolicyNotFoundException",
                 "We can't find a resource policy request with the parameter that you "
                 "specified.")


@operation("organizations", "PutResourcePolicy")
def put_resource_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_only(ctx)
    content = text(params, "Content", max_len=40_000) or ""
    if not content:
        raise error("InvalidInputException", "You must specify a value for Content.")
    tags = _tags(params, required=False)
    current = resource_policy_of(ctx, org)
    policy_id = current["Id"] if current else f"rp-{random(8)}"
    arn = (f"arn:aws:organizations::{org.management_account_id}:resourcepolicy/"
           f"{org.org_id}/{policy_id}")
    ctx.authorize("organizations:PutResourcePolicy", arn)
    try:
        parse_policy(content, PolicyKind.RESOURCE)
    except SenderError as exc:
        raise error("InvalidInputException", f"The provided policy document is not valid: "
                    f"{exc.message}") from None
    if tags:
        if current is not None:
            # "Calls with tags apply to the initial creation of the resource policy,
            # otherwise an exception is thrown."
            raise error("InvalidInputException", "Tags can be given only when the resource "
                        "policy is created; use TagResource.")
        ctx.authorize("organizations:TagResource", arn, context=_request_context(tags))
    stored = {"Id": policy_id, "Arn": arn, "Content": content}
    store = ctx.runtime.store
    store.put_setting(org.org_id, RESOURCE_POLICY, json.dumps(stored))
    if tags:
        store.tag_org_resource(org.org_id, policy_id, tags)
    return {"ResourcePolicy": _view(stored)}


def _view(stored: dict[str, str]) -> dict[str, Any]:
    return {"ResourcePolicySummary": {"Id": stored["Id"], "Arn": stored["Arn"]},
            "Content": stored["Content"]}


@operation("organizations", "DescribeResourcePolicy", read_only=True)
def describe_resource_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = org_of(ctx)
    caller = ctx.require_caller().account_id
    if caller != org.management_account_id and not ctx.runtime.store.list_delegated_admins(
            org.org_id, account_id=caller):
        management_only(ctx)  # AccessDeniedException
    stored = resource_policy_of(ctx, org)
    ctx.authorize("organizations:DescribeResourcePolicy",
                  stored["Arn"] if stored else org.arn)
    if stored is None:
        raise _missing()
    return {"ResourcePolicy": _view(stored)}


@operation("organizations", "DeleteResourcePolicy")
def delete_resource_policy(ctx: CallContext, params: Params) -> None:
    org = management_only(ctx)
    stored = resource_policy_of(ctx, org)
    ctx.authorize("organizations:DeleteResourcePolicy", stored["Arn"] if stored else org.arn)
    if stored is None:
        raise _missing()
    store = ctx.runtime.store
    store.untag_org_resource(stored["Id"], [t.key for t in store.list_org_tags(stored["Id"])])
    store.put_setting(org.org_id, RESOURCE_POLICY, None)
    return None


@operation("organizations", "EnableAllFeatures")
def enable_all_features(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_only(ctx)
    ctx.authorize("organizations:EnableAllFeatures", org.arn)
    if org.feature_set == "ALL":
        raise error("HandshakeConstraintViolationException",
                    "The organization already has all features enabled.")
    ctx.runtime.store.set_org_feature_set(org.org_id, "ALL")
    now = ctx.meta.now
    handshake_id = f"h-{random(10)}"
    return {"Handshake": {
        "Id": handshake_id,
        "Arn": f"arn:aws:organizations::{org.management_account_id}:handshake/{org.org_id}/"
               f"enable_all_features/{handshake_id}",
        "Parties": [{"Id": org.org_id, "Type": "ORGANIZATION"},
                    {"Id": org.management_account_id, "Type": "ACCOUNT"}],
        "State": "ACCEPTED",
        "RequestedTimestamp": now,
        "ExpirationTimestamp": now + HANDSHAKE_LIFETIME,
        "Action": "ENABLE_ALL_FEATURES",
        "Resources": [{"Value": org.org_id, "Type": "ORGANIZATION"}],
    }}


@operation("organizations", "CreateGovCloudAccount")
def create_govcloud_account(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_only(ctx)
    email = text(params, "Email", max_len=64) or ""
    name = text(params, "AccountName", max_len=50) or ""
    if not EMAIL.fullmatch(email):
        raise error("InvalidInputException", "The email address you provided is not valid.")
    if not name:
        raise error("InvalidInputException", "You must specify a value for AccountName.")
    ctx.authorize("organizations:CreateGovCloudAccount", org.arn)
    raise SenderError(
        "To complete this operation, the management account must have an associated "
        "account in the AWS GovCloud (US-West) Region.",
        code="ConstraintViolationException", status=400)
