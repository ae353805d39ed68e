"""OpenID tokens and developer-authenticated identities: GetOpenIdToken (the basic flow),
GetOpenIdTokenForDeveloperIdentity, LookupDeveloperIdentity, MergeDeveloperIdentities,
UnlinkDeveloperIdentity (Amazon Cognito Identity API reference; Developer Guide,
"Developer-authenticated identities").

The OpenID token is a JWT signed by this server's identity-token keys
(``services.issuer``, issuer path ``cognito-identity``): ``sub`` the identity id, ``aud``
the pool id, ``amr`` ``["authenticated", provider, ...]`` or ``["unauthenticated"]``.
AssumeRoleWithWebIdentity accepts it with a trust policy on
``cognito-identity.amazonaws.com:aud`` / ``:amr`` and ``Principal {"Federated":
"cognito-identity.amazonaws.com"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from opensts.cognito.ids import new_identity_id, region_of
from opensts.directory.errors import AlreadyExists
from opensts.services import issuer
from opensts.services.cognito import common as c
from opensts.services.cognito.identities import (
    _audit_unsigned,
    amr,
    check_logins,
    find_identity,
    identity_id_param,
    logins_param,
)
from opensts.services.cognito.logins import VerifiedLogin, audit_logins
from opensts.services.cognito.pools import DEVELOPER_PROVIDER, paginate
from opensts.services.context import CallContext
from opensts.store._cognito import IdentityPoolRow
from opensts.wire.params import Params

ISSUER_PATH = "cognito-identity"
OPENID_TOKEN_SECONDS = 600  # "The OpenID token is valid for 10 minutes."
DEVELOPER_DEFAULT_SECONDS = 900



def _sign(ctx: CallContext, claims: Mapping[str, Any]) -> str:
    token: str = issuer.sign_token(ctx.runtime, issuer_path=ISSUER_PATH, claims=claims,
                                  now=ctx.meta.now)
    return token


def openid_claims(ctx: CallContext, pool: IdentityPoolRow, identity_id: str,
                  amr_values: list[str], seconds: int,
                  principal_tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    now = ctx.meta.now
    claims: dict[str, Any] = {
        "sub": identity_id,
        "aud": pool.pool_id,
        "amr": amr_values,
        "exp": int((now + timedelta(seconds=seconds)).timestamp()),
        "https://cognito-identity.amazonaws.com/identity-pool-arn":
            f"arn:aws:cognito-identity:{region_of(pool.pool_id)}:{pool.account_id}:"
            f"identitypool/{pool.pool_id}",
    }
    if principal_tags:
        claims["https://aws.amazon.com/tags"] = {
            "principal_tags": {k: [v] for k, v in principal_tags.items()}}
    return claims


@c.cognito_operation("GetOpenIdToken", signed=False)
def get_open_id_token(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = params.raw()
    identity_id = identity_id_param(raw)
    logins = logins_param(raw)
    ctx.audit.request_parameters = {"identityId": identity_id,
                                    **({"logins": audit_logins(logins)} if logins else {})}
    _audit_unsigned(ctx, None)
    identity = find_identity(ctx, identity_id)
    pool = c.find_pool(ctx, identity.pool_id)
    _audit_unsigned(ctx, pool)
    if not pool.config.get("AllowClassicFlow"):
        raise c.invalid_parameter("Basic (classic) flow is not enabled, please use "
                                  "enhanced flow.")
    verified = check_logins(ctx, pool, identity, logins, "GetOpenIdToken")
    token = _sign(ctx, openid_claims(ctx, pool, identity_id, amr(pool, verified),
                                     OPENID_TOKEN_SECONDS))
    ctx.audit.response_elements = {"identityId": identity_id}
    return {"IdentityId": identity_id, "Token": token}


def _developer_pool(ctx: CallContext, raw: Mapping[str, Any], action: str
                    ) -> tuple[IdentityPoolRow, str]:
    pool = c.find_pool(ctx, c.pool_id_param(raw))
    c.authorize_pool(ctx, action, pool)
    c.audit_pool(ctx, pool)
    developer = pool.config.get("DeveloperProviderName")
    if not developer:
        raise c.invalid_parameter("Developer provider name is not configured for this "
                                  "identity pool.")
    return pool, str(developer)


@c.cognito_operation("GetOpenIdTokenForDeveloperIdentity")
def get_open_id_token_for_developer_identity(ctx: CallContext, params: Params
                                             ) -> dict[str, Any]:
    ctx.require_caller()
    raw = params.raw()
    c.pool_id_param(raw)
    logins = logins_param(raw, required=True)
    wanted = c.text(raw, "IdentityId", max_len=55)
    tags = c.string_map(raw, "PrincipalTags", max_items=50, value_max=256)
    seconds = c.integer(raw, "TokenDuration", minimum=1, maximum=86400)
    ctx.audit.request_parameters = {
        "identityPoolId": raw["IdentityPoolId"], "logins": audit_logins(logins),
        **({"identityId": wanted} if wanted else {}),
        **({"tokenDuration": seconds} if seconds else {}),
        **({"principalTags": tags} if tags else {})}
    pool, developer = _developer_pool(ctx, raw, "GetOpenIdTokenForDeveloperIdentity")
    if set(logins) != {developer}:
        raise c.invalid_parameter(
            f"Logins must contain exactly the developer provider name {developer}.")
    user = logins[developer]
    if len(user) > 1024:
        raise c.invalid_parameter("Developer user identifier is too long.")
    cstore = c.store(ctx)
    owner = cstore.find_cognito_identity(pool.pool_id, developer, user)
    if wanted is not None:
        identity = find_identity(ctx, wanted)
        if identity.pool_id != pool.pool_id:
            raise c.not_found(f"Identity '{wanted}' not found.")
        if owner is not None and owner != wanted:
            raise c.conflict("The developer user identifier is already linked to another "
                             "identity.")
        identity_id = wanted
        if owner is None:
            cstore.link_cognito_logins(identity_id, {developer: user}, ctx.meta.now)
    elif owner is not None:
        identity_id = owner
    else:
        identity_id = new_identity_id(region_of(pool.pool_id))
        try:
            cstore.create_cognito_identity(pool.pool_id, identity_id, {developer: user},
                                           ctx.meta.now)
        except AlreadyExists:
            raise c.conflict("The developer user identifier is already linked to another "
                             "identity.") from None
    login = VerifiedLogin(developer, user)
    token = _sign(ctx, openid_claims(ctx, pool, identity_id, amr(pool, [login]),
                                     seconds or DEVELOPER_DEFAULT_SECONDS, tags))
    ctx.audit.response_elements = {"identityId": identity_id}
    return {"IdentityId": identity_id, "Token": token}


@c.cognito_operation("LookupDeveloperIdentity", read_only=True)
def lookup_developer_identity(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    raw = params.raw()
    c.pool_id_param(raw)
    identity_id = c.text(raw, "IdentityId", max_len=55)
    user = c.text(raw, "DeveloperUserIdentifier", max_len=1024)
    limit = c.integer(raw, "MaxResults", minimum=1, maximum=60)
    token = c.text(raw, "NextToken", max_len=65535)
    ctx.audit.request_parameters = {"identityPoolId": raw["IdentityPoolId"],
                                    **({"identityId": identity_id} if identity_id else {}),
                                    **({"maxResults": limit} if limit else {})}
    pool, developer = _developer_pool(ctx, raw, "LookupDeveloperIdentity")
    if identity_id is None and user is None:
        raise c.invalid_parameter("IdentityId or DeveloperUserIdentifier is required.")
    cstore = c.store(ctx)
    if user is not None:
        owner = cstore.find_cognito_identity(pool.pool_id, developer, user)
        if owner is None or (identity_id is not None and owner != identity_id):
            raise c.not_found("No identity is associated with this developer user "
                              "identifier.")
        identity_id = owner
    assert identity_id is not None
    identity = find_identity(ctx, identity_id)
    if identity.pool_id != pool.pool_id:
        raise c.not_found(f"Identity '{identity_id}' not found.")
    users = cstore.list_cognito_subjects(identity_id, developer)
    page, next_token = paginate(users, token, limit or 60)
    result: dict[str, Any] = {"IdentityId": identity_id, "DeveloperUserIdentifierList": page}
    if next_token:
        result["NextToken"] = next_token
    return result


@c.cognito_operation("MergeDeveloperIdentities")
def merge_developer_identities(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    raw = params.raw()
    c.pool_id_param(raw)
    source = c.required_text(raw, "SourceUserIdentifier", max_len=1024)
    destination = c.required_text(raw, "DestinationUserIdentifier", max_len=1024)
    name = c.required_text(raw, "DeveloperProviderName", max_len=128,
                           pattern=DEVELOPER_PROVIDER)
    ctx.audit.request_parameters = {"identityPoolId": raw["IdentityPoolId"],
                                    "developerProviderName": name}
    pool, developer = _developer_pool(ctx, raw, "MergeDeveloperIdentities")
    if name != developer:
        raise c.invalid_parameter("Developer provider name does not match the identity "
                                  "pool's.")
    cstore = c.store(ctx)
    source_id = cstore.find_cognito_identity(pool.pool_id, developer, source)
    target_id = cstore.find_cognito_identity(pool.pool_id, developer, destination)
    if source_id is None or target_id is None:
        raise c.not_found("No identity is associated with this developer user identifier.")
    if source_id != target_id:
        cstore.merge_cognito_identities(source_id, target_id, ctx.meta.now)
    ctx.audit.response_elements = {"identityId": target_id}
    return {"IdentityId": target_id}


@c.cognito_operation("UnlinkDeveloperIdentity")
def unlink_developer_identity(ctx: CallContext, params: Params) -> None:
    ctx.require_caller()
    raw = params.raw()
    identity_id = identity_id_param(raw)
    c.pool_id_param(raw)
    name = c.required_text(raw, "DeveloperProviderName", max_len=128,
                           pattern=DEVELOPER_PROVIDER)
    user = c.required_text(raw, "DeveloperUserIdentifier", max_len=1024)
    ctx.audit.request_parameters = {"identityId": identity_id,
                                    "identityPoolId": raw["IdentityPoolId"],
                                    "developerProviderName": name}
    pool, developer = _developer_pool(ctx, raw, "UnlinkDeveloperIdentity")
    identity = find_identity(ctx, identity_id)
    if identity.pool_id != pool.pool_id or name != developer:
        raise c.not_found(f"Identity '{identity_id}' not found.")
    if not c.store(ctx).unlink_cognito_subject(identity_id, developer, user, ctx.meta.now):
        raise c.not_found("No identity is associated with this developer user identifier.")
    return None
