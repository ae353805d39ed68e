"""Outbound identity federation: EnableOutboundWebIdentityFederation,
DisableOutboundWebIdentityFederation, GetOutboundWebIdentityFederationInfo (IAM API
reference; IAM User Guide, "Getting started with outbound identity federation").

Enabling gives the account its issuer URL (``IssuerIdentifier``), whose
``/.well-known/openid-configuration`` and ``/.well-known/jwks.json`` this server publishes
(services/issuer.py, web/issuer.py); STS GetWebIdentityToken then signs tokens with that
``iss``. AWS's issuer is ``https://<unique id>.tokens.sts.global.api.aws``; ours is a path
on the server's public URL: ``{public_url}/oidc/{account id}``. The setting is per account
and survives a disable (the issuer URL stays the same when re-enabled).
None of these actions has a resource type: each is authorized on ``*``.
"""

from __future__ import annotations

from typing import Any

from opensts.errors import SenderError
from opensts.services import issuer
from opensts.services.context import CallContext
from opensts.services.iam.common import account
from opensts.services.registry import operation
from opensts.wire.params import Params

ENABLED = "outbound_web_identity_federation"


def issuer_path(account_id: str) -> str:
    return f"oidc/{account_id}"


def enabled(ctx: CallContext, account_id: str) -> bool:
    return ctx.runtime.store.find_setting(account_id, ENABLED) == "enabled"


class FeatureEnabled(SenderError):
    code = "FeatureEnabled"
    status = 409


class FeatureDisabled(SenderError):
    code = "FeatureDisabled"
    status = 404


MSG_DISABLED = "Outbound web identity federation is disabled for your AWS account."


@operation("iam", "EnableOutboundWebIdentityFederation")
def enable_outbound(ctx: CallContext, params: Params) -> dict[str, Any]:
    acct = account(ctx)
    ctx.authorize("iam:EnableOutboundWebIdentityFederation", "*")
    if enabled(ctx, acct):
        raise FeatureEnabled(
            "Outbound web identity federation is already enabled for your AWS account.")
    url = issuer.issuer_url(ctx.runtime, issuer_path(acct))
    ctx.runtime.store.put_setting(acct, ENABLED, "enabled")
    ctx.audit.response_elements = {"issuerIdentifier": url}
    return {"IssuerIdentifier": url}


@operation("iam", "DisableOutboundWebIdentityFederation")
def disable_outbound(ctx: CallContext, params: Params) -> None:
    acct = account(ctx)
    ctx.authorize("iam:DisableOutboundWebIdentityFederation", "*")
    if not enabled(ctx, acct):
        raise FeatureDisabled(
            "Outbound web identity federation is already disabled for your AWS account.")
    ctx.runtime.store.put_setting(acct, ENABLED, "disabled")


@operation("iam", "GetOutboundWebIdentityFederationInfo", read_only=True)
def get_outbound_info(ctx: CallContext, params: Params) -> dict[str, Any]:
    acct = account(ctx)
    ctx.authorize("iam:GetOutboundWebIdentityFederationInfo", "*")
    state = ctx.runtime.store.find_setting(acct, ENABLED)
    if state is None:  # never enabled: there is no issuer yet
        raise FeatureDisabled(MSG_DISABLED)
    return {"IssuerIdentifier": issuer.issuer_url(ctx.runtime, issuer_path(acct)),
            "JwtVendingEnabled": state == "enabled"}
