"""GetSessionToken and GetFederationToken: sessions of long-term credentials.

STS API reference: both need long-term credentials; GetSessionToken needs no permission
and carries MFA context; GetFederationToken needs ``sts:GetFederationToken``, and the
federated session has no permissions beyond its session policies. The account root is
capped at one hour for both.
"""

from __future__ import annotations

import re
from typing import Any

from opensts.errors import AccessDenied
from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.services.sts import sessions
from opensts.wire.params import Params

FEDERATED_NAME = re.compile(r"[\w+=,.@-]*")
ROOT_CAP = 3600


@operation("sts", "GetSessionToken")
def get_session_token(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.require_caller()
    lifetime, explicit = sessions.duration(
        params, default=ROOT_CAP if caller.is_root else 43200, minimum=900, maximum=129600
    )
    serial, code = sessions.mfa_params(params)
    ctx.audit.request_parameters = {
        **({"durationSeconds": lifetime} if explicit else {}),
        **({"serialNumber": serial} if serial else {}),
    }
    if caller.is_session:
        raise AccessDenied("Cannot call GetSessionToken with session credentials")
    if caller.is_root:
        lifetime = min(lifetime, ROOT_CAP)  # AWS clamps rather than failing
    mfa_at = None
    if serial and code:
        sessions.verify_mfa(ctx, caller, serial, code)
        mfa_at = int(ctx.meta.now.timestamp())
    claims: dict[str, Any] = {
        "type": caller.type,
        "arn": caller.arn,
        "pid": caller.principal_id,
        "user": caller.user_name,
        "uid": caller.principal_id if caller.user_name else None,
        "uarn": caller.arn,
        "mfa": mfa_at,
        "mfa_ctx": bool(mfa_at),
        "op": "GetSessionToken",
    }
    credentials, _ = sessions.mint(ctx, caller.account_id, claims, lifetime)
    ctx.audit.response_elements = {"credentials": sessions.credentials_for_audit(credentials)}
    return {"Credentials": credentials}


@operation("sts", "GetFederationToken")
def get_federation_token(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.require_caller()
    name = params.required(
        "Name", min_len=2, max_len=32, pattern=FEDERATED_NAME, pattern_text=r"[\w+=,.@-]*"
    )
    lifetime, explicit = sessions.duration(
        params, default=ROOT_CAP if caller.is_root else 43200, minimum=900, maximum=129600
    )
    policies = sessions.session_policies(
        ctx, params, role_account=caller.account_id, max_inline=2048
    )
    tags, transitive = sessions.session_tags(params)
    ctx.audit.request_parameters = {
        "name": name,
        **({"durationSeconds": lifetime} if explicit else {}),
        **({"tags": sessions.tags_for_audit(tags)} if tags else {}),
        **({"policyArns": [{"arn": a} for a in policies.arns]} if policies.arns else {}),
    }
    if caller.is_session:
        raise AccessDenied("Cannot call GetFederationToken with session credentials")
    if caller.is_root:
        lifetime = min(lifetime, ROOT_CAP)
    federated_arn = f"arn:aws:sts::{caller.account_id}:federated-user/{name}"
    ctx.authorize(
        "sts:GetFederationToken",
        federated_arn,
        context=sessions.request_tag_context(tags, transitive),
    )
    if tags:
        ctx.authorize(
            "sts:TagSession", federated_arn, context=sessions.request_tag_context(tags, transitive)
        )
    packed = sessions.packed_policy_size(policies, tags, {})
    sessions.check_packed_size(packed, policies, tags)
    federated_id = f"{caller.account_id}:{name}"
    claims: dict[str, Any] = {
        "type": "FederatedUser",
        "arn": federated_arn,
        "pid": federated_id,
        "user": caller.user_name,
        "uid": caller.principal_id if caller.user_name else None,
        "uarn": caller.arn,
        "root": caller.is_root,
        "sn": name,
        "pol": policies.inline,
        "parns": list(policies.arns),
        "tags": tags,
        "op": "GetFederationToken",
    }
    credentials, _ = sessions.mint(ctx, caller.account_id, claims, lifetime)
    ctx.audit.response_elements = {
        "credentials": sessions.credentials_for_audit(credentials),
        "federatedUser": {"federatedUserId": federated_id, "arn": federated_arn},
        "packedPolicySize": packed,
    }
    return {
        "Credentials": credentials,
        "FederatedUser": {"FederatedUserId": federated_id, "Arn": federated_arn},
        "PackedPolicySize": packed,
    }
