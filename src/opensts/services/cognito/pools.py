"""Identity pools: Create/Describe/Update/Delete/ListIdentityPools and
Set/GetIdentityPoolRoles (Amazon Cognito Identity API reference, 2014-06-30)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opensts.cognito.ids import new_pool_id, pool_arn
from opensts.directory.errors import NotFound
from opensts.services.cognito import common as c
from opensts.services.context import CallContext
from opensts.services.sts.sessions import ROLE_ARN
from opensts.store._cognito import IdentityPoolRow
from opensts.wire.params import Params

POOL_NAME = re.compile(r"[\w\s+=,.@-]+")
DEVELOPER_PROVIDER = re.compile(r"[\w._-]+")
PROVIDER_APP_ID = re.compile(r"[\w.;_/-]+")
COGNITO_PROVIDER_NAME = re.compile(r"[\w._:/-]+")
COGNITO_CLIENT_ID = re.compile(r"[\w_]+")
CLAIM_NAME = re.compile(r"[^\s\x00-\x1f]+")
PAGE_TOKEN = re.compile(r"\S+")
MATCH_TYPES = ("Equals", "Contains", "StartsWith", "NotEqual")
# The public providers a pool's SupportedLoginProviders name (Developer Guide, "Identity
# pools third-party identity providers").
PUBLIC_PROVIDERS = ("graph.facebook.com", "accounts.google.com", "www.amazon.com",
                    "api.twitter.com", "www.digits.com", "appleid.apple.com")


def oidc_provider_name(arn: str) -> str:
    """``arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`` -> ``HOST/PATH`` (the Logins key)."""
    return arn.split(":oidc-provider/", 1)[1]


def _config(ctx: CallContext, raw: Mapping[str, Any], account_id: str,
            previous: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    name = c.required_text(raw, "IdentityPoolName", max_len=128, pattern=POOL_NAME)
    unauth = c.flag(raw, "AllowUnauthenticatedIdentities", required=True)
    classic = c.flag(raw, "AllowClassicFlow")
    supported = c.string_map(raw, "SupportedLoginProviders", max_items=10, value_max=128)
    for provider, app_id in supported.items():
        if not PROVIDER_APP_ID.fullmatch(app_id):
            raise c.invalid_parameter(f"Invalid app id for provider {provider}.")
        if provider not in PUBLIC_PROVIDERS:
            raise c.invalid_parameter(f"Provider {provider} is not supported.")
    developer = c.text(raw, "DeveloperProviderName", max_len=128, pattern=DEVELOPER_PROVIDER)
    before = (previous or {}).get("DeveloperProviderName")
    if before and developer != before:
        raise c.invalid_parameter("Developer provider name cannot be changed once set.")
    if developer in PUBLIC_PROVIDERS or (developer or "").startswith("cognito-"):
        raise c.invalid_parameter(f"Developer provider name {developer} is reserved.")
    oidc = c.string_list(raw, "OpenIdConnectProviderARNs") or []
    for arn in oidc:
        try:
            oidc_owner: str | None = ctx.runtime.store.get_oidc_provider(arn).account_id
        except (NotFound, ValueError):
            oidc_owner = None
        if oidc_owner != account_id:
            raise c.invalid_parameter(f"Invalid OpenIdConnectProviderARN: {arn}")
    saml = c.string_list(raw, "SamlProviderARNs") or []
    for arn in saml:
        try:
            saml_provider = ctx.runtime.store.get_saml_provider(arn)
        except (NotFound, ValueError):
            saml_provider = None
        if saml_provider is None or saml_provider.account_id != account_id:
            raise c.invalid_parameter(f"Invalid SamlProviderARN: {arn}")
    cognito = _cognito_providers(raw.get("CognitoIdentityProviders"))
    tags = c.string_map(raw, "IdentityPoolTags", max_items=50, value_max=256)
    config = {
        **({k: v for k, v in previous.items() if k in ("Roles", "RoleMappings")}
           if previous else {}),
        "AllowUnauthenticatedIdentities": unauth,
        "AllowClassicFlow": bool(classic),
        "SupportedLoginProviders": supported,
        "DeveloperProviderName": developer,
        "OpenIdConnectProviderARNs": list(dict.fromkeys(oidc)),
        "CognitoIdentityProviders": cognito,
        "SamlProviderARNs": list(dict.fromkeys(saml)),
        "IdentityPoolTags": tags if "IdentityPoolTags" in raw or previous is None
        else dict((previous or {}).get("IdentityPoolTags") or {}),
    }
    return name, config


def _cognito_providers(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise c.error("SerializationException", "CognitoIdentityProviders must be a list")
    out = []
    for item in value:
        name = c.text(item, "ProviderName", max_len=128, pattern=COGNITO_PROVIDER_NAME)
        client = c.text(item, "ClientId", max_len=128, pattern=COGNITO_CLIENT_ID)
        check = c.flag(item, "ServerSideTokenCheck")
        out.append({k: v for k, v in (("ProviderName", name), ("ClientId", client),
                                       ("ServerSideTokenCheck", check)) if v is not None})
    return out


def describe(pool: IdentityPoolRow) -> dict[str, Any]:
    config = pool.config
    result: dict[str, Any] = {
        "IdentityPoolId": pool.pool_id,
        "IdentityPoolName": pool.name,
        "AllowUnauthenticatedIdentities": config["AllowUnauthenticatedIdentities"],
        "AllowClassicFlow": config.get("AllowClassicFlow", False),
        "SupportedLoginProviders": config.get("SupportedLoginProviders") or {},
    }
    if config.get("DeveloperProviderName"):
        result["DeveloperProviderName"] = config["DeveloperProviderName"]
    result.update(
        OpenIdConnectProviderARNs=config.get("OpenIdConnectProviderARNs") or [],
        CognitoIdentityProviders=config.get("CognitoIdentityProviders") or [],
        SamlProviderARNs=config.get("SamlProviderARNs") or [],
        IdentityPoolTags=config.get("IdentityPoolTags") or {},
    )
    return result


def _request_parameters(result: Mapping[str, Any]) -> dict[str, Any]:
    """CloudTrail's camelCase copy of the pool's configuration (no secrets in it)."""
    return {k[:1].lower() + k[1:]: v for k, v in result.items()}


@c.cognito_operation("CreateIdentityPool")
def create_identity_pool(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.require_caller()
    raw = params.raw()
    name, config = _config(ctx, raw, caller.account_id, None)
    ctx.authorize("cognito-identity:CreateIdentityPool", "*")
    pool = IdentityPoolRow(new_pool_id(ctx.meta.region), caller.account_id, name,
                           ctx.meta.now, config)
    c.store(ctx).create_identity_pool(pool)
    result = describe(pool)
    c.audit_pool(ctx, pool)
    ctx.audit.request_parameters = _request_parameters(
        {k: v for k, v in result.items() if k != "IdentityPoolId" and k in raw})
    ctx.audit.response_elements = _request_parameters(result)
    return result


@c.cognito_operation("DescribeIdentityPool", read_only=True)
def describe_identity_pool(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    pool_id = c.pool_id_param(params.raw())
    ctx.audit.request_parameters = {"identityPoolId": pool_id}
    pool = c.find_pool(ctx, pool_id)
    c.authorize_pool(ctx, "DescribeIdentityPool", pool)
    c.audit_pool(ctx, pool)
    return describe(pool)


@c.cognito_operation("UpdateIdentityPool")
def update_identity_pool(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    raw = params.raw()
    pool_id = c.pool_id_param(raw)
    ctx.audit.request_parameters = {"identityPoolId": pool_id}
    pool = c.find_pool(ctx, pool_id)
    c.authorize_pool(ctx, "UpdateIdentityPool", pool)
    name, config = _config(ctx, raw, pool.account_id, pool.config)
    c.store(ctx).update_identity_pool(pool_id, name, config)
    updated = IdentityPoolRow(pool_id, pool.account_id, name, pool.created, config)
    result = describe(updated)
    c.audit_pool(ctx, pool)
    ctx.audit.request_parameters = _request_parameters(
        {k: v for k, v in result.items() if k in raw})
    ctx.audit.response_elements = _request_parameters(result)
    return result


@c.cognito_operation("DeleteIdentityPool")
def delete_identity_pool(ctx: CallContext, params: Params) -> None:
    ctx.require_caller()
    pool_id = c.pool_id_param(params.raw())
    ctx.audit.request_parameters = {"identityPoolId": pool_id}
    pool = c.find_pool(ctx, pool_id)
    c.authorize_pool(ctx, "DeleteIdentityPool", pool)
    c.store(ctx).delete_identity_pool(pool_id)
    c.audit_pool(ctx, pool)
    return None


@c.cognito_operation("ListIdentityPools", read_only=True)
def list_identity_pools(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.require_caller()
    raw = params.raw()
    limit = c.integer(raw, "MaxResults", minimum=1, maximum=60, required=True)
    token = c.text(raw, "NextToken", max_len=65535, pattern=PAGE_TOKEN)
    ctx.audit.request_parameters = {"maxResults": limit,
                                    **({"nextToken": token} if token else {})}
    ctx.authorize("cognito-identity:ListIdentityPools", "*")
    pools = [p for p in c.store(ctx).list_identity_pools(caller.account_id)
             if p.pool_id.startswith(ctx.meta.region + ":")]
    page, next_token = paginate([p.pool_id for p in pools], token, limit or 60)
    names = {p.pool_id: p.name for p in pools}
    result: dict[str, Any] = {"IdentityPools": [
        {"IdentityPoolId": pid, "IdentityPoolName": names[pid]} for pid in page]}
    if next_token:
        result["NextToken"] = next_token
    return result


def paginate(keys: list[str], token: str | None, limit: int) -> tuple[list[str], str | None]:
    """Pages over ``keys`` (stable order); the token is the last key of the page before."""
    start = 0
    if token is not None:
        if token not in keys:
            raise c.invalid_parameter("Invalid pagination token.")
        start = keys.index(token) + 1
    page = keys[start:start + limit]
    more = start + limit < len(keys)
    return page, (page[-1] if more and page else None)


def _role_mappings(pool: IdentityPoolRow, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 10:
        raise c.invalid_parameter("RoleMappings must be a map of at most 10 providers.")
    out: dict[str, Any] = {}
    for provider, mapping in value.items():
        if not isinstance(provider, str) or not isinstance(mapping, dict):
            raise c.error("SerializationException", "Invalid RoleMappings entry")
        kind = mapping.get("Type")
        if kind not in ("Token", "Rules"):
            raise c.invalid_parameter(f"Invalid role mapping type for provider {provider}.")
        ambiguous = mapping.get("AmbiguousRoleResolution")
        if ambiguous not in ("AuthenticatedRole", "Deny"):
            raise c.invalid_parameter(
                "AmbiguousRoleResolution must be specified when Type is Token or Rules.")
        entry: dict[str, Any] = {"Type": kind, "AmbiguousRoleResolution": ambiguous}
        rules_config = mapping.get("RulesConfiguration")
        if kind == "Rules":
            rules = (rules_config or {}).get("Rules") if isinstance(rules_config, dict) else None
            if not isinstance(rules, list) or not 1 <= len(rules) <= 400:
                raise c.invalid_parameter(
                    "RulesConfiguration is required when role mapping type is Rules.")
            checked = []
            for rule in rules:
                if not isinstance(rule, dict):
                    raise c.error("SerializationException", "Invalid MappingRule")
                claim = c.required_text(rule, "Claim", max_len=64, pattern=CLAIM_NAME)
                match = c.required_text(rule, "MatchType")
                if match not in MATCH_TYPES:
                    raise c.invalid_parameter(f"Invalid MatchType {match}.")
                wanted = c.required_text(rule, "Value", max_len=128)
                role = c.required_text(rule, "RoleARN", min_len=20, max_len=2048)
                _check_role_arn(role, pool.account_id)
                checked.append({"Claim": claim, "MatchType": match, "Value": wanted,
                                "RoleARN": role})
            entry["RulesConfiguration"] = {"Rules": checked}
        out[provider] = entry
    return out


def _check_role_arn(arn: str, account_id: str) -> None:
    match = ROLE_ARN.fullmatch(arn)
    if match is None:
        raise c.invalid_parameter(f"Invalid role ARN: {arn}")


@c.cognito_operation("SetIdentityPoolRoles")
def set_identity_pool_roles(ctx: CallContext, params: Params) -> None:
    ctx.require_caller()
    raw = params.raw()
    pool_id = c.pool_id_param(raw)
    roles = c.string_map(raw, "Roles", max_items=2, required=True)
    ctx.audit.request_parameters = {"identityPoolId": pool_id, "roles": roles}
    for kind, arn in roles.items():
        if kind not in ("authenticated", "unauthenticated"):
            raise c.error("ValidationException",
                          f"1 validation error detected: Value '{kind}' at 'roles' failed to "
                          "satisfy constraint: Map keys must satisfy constraint: [Member must "
                          "satisfy regular expression pattern: (un)?authenticated]")
        _check_role_arn(arn, "")
    pool = c.find_pool(ctx, pool_id)
    c.authorize_pool(ctx, "SetIdentityPoolRoles", pool)
    mappings = _role_mappings(pool, raw.get("RoleMappings"))
    if mappings:
        ctx.audit.request_parameters["roleMappings"] = mappings
    config = {**pool.config, "Roles": roles, "RoleMappings": mappings}
    c.store(ctx).update_identity_pool(pool_id, pool.name, config)
    c.audit_pool(ctx, pool)
    return None


@c.cognito_operation("GetIdentityPoolRoles", read_only=True)
def get_identity_pool_roles(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    pool_id = c.pool_id_param(params.raw())
    ctx.audit.request_parameters = {"identityPoolId": pool_id}
    pool = c.find_pool(ctx, pool_id)
    c.authorize_pool(ctx, "GetIdentityPoolRoles", pool)
    c.audit_pool(ctx, pool)
    result: dict[str, Any] = {"IdentityPoolId": pool_id,
                              "Roles": pool.config.get("Roles") or {}}
    if pool.config.get("RoleMappings"):
        result["RoleMappings"] = pool.config["RoleMappings"]
    return result


__all__ = ["describe", "oidc_provider_name", "paginate", "pool_arn"]
