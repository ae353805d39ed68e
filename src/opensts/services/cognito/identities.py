"""Identities: GetId, GetCredentialsForIdentity (the enhanced flow), DescribeIdentity,
ListIdentities, UnlinkIdentity, DeleteIdentities (Amazon Cognito Identity API reference;
Developer Guide, "Identity pools (federated identities) authentication flow")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opensts.cognito import (
    IDENTITY_ID,
    UNAUTHENTICATED_SESSION_POLICY,
    choose_role,
    new_identity_id,
)
from opensts.cognito.ids import pool_arn, region_of
from opensts.directory.errors import AlreadyExists, NotFound
from opensts.policy import Principal, PrincipalKind
from opensts.services.cognito import common as c
from opensts.services.cognito.logins import VerifiedLogin, audit_logins, verify_logins
from opensts.services.cognito.pools import paginate
from opensts.services.context import CallContext
from opensts.services.sts import sessions
from opensts.store._cognito import CognitoIdentityRow, IdentityPoolRow
from opensts.wire.params import Params

SESSION_NAME = "CognitoIdentityCredentials"  # what AWS names enhanced-flow sessions
LIFETIME = 3600
ANONYMOUS = {"type": "Unknown", "principalId": "Anonymous"}
BAD_CONFIG = "Invalid identity pool configuration. Check assigned IAM roles for this pool."


def identity_id_param(raw: Mapping[str, Any], name: str = "IdentityId") -> str:
    return c.required_text(raw, name, max_len=55, pattern=IDENTITY_ID)


def logins_param(raw: Mapping[str, Any], *, required: bool = False) -> dict[str, str]:
    return c.string_map(raw, "Logins", max_items=10, value_max=50_000, required=required)


def find_identity(ctx: CallContext, identity_id: str) -> CognitoIdentityRow:
    try:
        return c.store(ctx).get_cognito_identity(identity_id)
    except NotFound:
        raise c.not_found(f"Identity '{identity_id}' not found.") from None


def amr(pool: IdentityPoolRow, logins: Sequence[VerifiedLogin]) -> list[str]:
    """``amr`` of the identity's session and OpenID token (Developer Guide, role trust)."""
    if not logins:
        return ["unauthenticated"]
    values = ["authenticated"]
    for login in logins:
        if login.own_token:
            values.extend(str(v) for v in login.claims.get("amr", [])[1:])
            continue
        values.append(login.provider)
        values.append(f"{login.provider}:{pool.pool_id}:{login.subject}")
    return list(dict.fromkeys(values))


def _audit_unsigned(ctx: CallContext, pool: IdentityPoolRow | None) -> None:
    ctx.audit.user_identity = dict(ANONYMOUS)
    if pool is not None:
        c.audit_pool(ctx, pool)


def _identity_for_logins(ctx: CallContext, pool: IdentityPoolRow,
                         verified: Sequence[VerifiedLogin]) -> str:
    """The identity these logins belong to (linking new ones to it), or a new one."""
    cstore = c.store(ctx)
    owners = {cstore.find_cognito_identity(pool.pool_id, v.provider, v.subject)
              for v in verified} - {None}
    if len(owners) > 1:
        raise c.conflict("Logins are linked to different identities.")
    linked = {v.provider: v.subject for v in verified if not v.own_token}
    if owners:
        identity_id = str(owners.pop())
        try:
            cstore.link_cognito_logins(identity_id, linked, ctx.meta.now)
        except AlreadyExists:
            raise c.conflict("Logins are linked to different identities.") from None
        return identity_id
    identity_id = new_identity_id(region_of(pool.pool_id))
    try:
        cstore.create_cognito_identity(pool.pool_id, identity_id, linked, ctx.meta.now)
    except AlreadyExists:
        raise c.conflict("Logins are linked to different identities.") from None
    return identity_id


@c.cognito_operation("GetId", signed=False)
def get_id(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = params.raw()
    pool_id = c.pool_id_param(raw)
    account = c.text(raw, "AccountId", max_len=15, min_len=1)
    logins = logins_param(raw)
    ctx.audit.request_parameters = {"identityPoolId": pool_id,
                                    **({"accountId": account} if account else {}),
                                    **({"logins": audit_logins(logins)} if logins else {})}
    _audit_unsigned(ctx, None)
    pool = c.find_pool(ctx, pool_id)
    if account is not None and account != pool.account_id:
        raise c.not_found(f"IdentityPool '{pool_id}' not found.")
    _audit_unsigned(ctx, pool)
    if not logins:
        if not pool.config.get("AllowUnauthenticatedIdentities"):
            raise c.not_authorized(
                "Unauthenticated access is not supported for this identity pool.")
        identity_id = new_identity_id(region_of(pool_id))
        c.store(ctx).create_cognito_identity(pool_id, identity_id, {}, ctx.meta.now)
    else:
        verified = verify_logins(ctx, pool, logins, "GetId")
        own = [v for v in verified if v.own_token]
        if own:
            # A developer-authenticated identity's token names its identity.
            identity_id = own[0].subject
            find_identity(ctx, identity_id)
        else:
            identity_id = _identity_for_logins(ctx, pool, verified)
    ctx.audit.response_elements = {"identityId": identity_id}
    return {"IdentityId": identity_id}


def check_logins(ctx: CallContext, pool: IdentityPoolRow, identity: CognitoIdentityRow,
                 logins: Mapping[str, str], operation: str) -> list[VerifiedLogin]:
    """The verified logins of a call on ``identity``: for an authenticated identity at
    least one must be one of its own; an unauthenticated one is used with none (or the
    logins link it, turning it into an authenticated identity)."""
    if not logins:
        if identity.logins:
            raise c.not_authorized(f"Access to Identity '{identity.identity_id}' is forbidden.")
        if not pool.config.get("AllowUnauthenticatedIdentities"):
            raise c.not_authorized(
                "Unauthenticated access is not supported for this identity pool.")
        return []
    verified = verify_logins(ctx, pool, logins, operation)
    mine = [v for v in verified
            if (v.own_token and v.subject == identity.identity_id)
            or identity.logins.get(v.provider) == v.subject]
    if (identity.logins or any(v.own_token for v in verified)) and not mine:
        raise c.not_authorized("Logins don't match. Please include at least one valid "
                               "login for this identity or identity pool.")
    cstore = c.store(ctx)
    for v in verified:
        if v.own_token or identity.logins.get(v.provider) == v.subject:
            continue  # already this identity's (unique per pool: no other owner)
        owner = cstore.find_cognito_identity(pool.pool_id, v.provider, v.subject)
        if owner is not None and owner != identity.identity_id:
            raise c.not_authorized("Logins don't match. Please include at least one valid "
                                   "login for this identity or identity pool.")
    new = {v.provider: v.subject for v in verified
           if not v.own_token and identity.logins.get(v.provider) != v.subject}
    if new:
        try:
            cstore.link_cognito_logins(identity.identity_id, new, ctx.meta.now)
        except AlreadyExists:
            raise c.conflict("Logins are linked to different identities.") from None
    return verified


def _trust(ctx: CallContext, pool: IdentityPoolRow, role_arn: str, identity_id: str,
           amr_values: list[str]) -> Any:
    """The role, if its trust policy lets Cognito assume it for this identity (the
    enhanced flow is AssumeRoleWithWebIdentity with a cognito-identity token)."""
    match = sessions.ROLE_ARN.fullmatch(role_arn)
    if match is None:
        raise c.error("InvalidIdentityPoolConfigurationException", BAD_CONFIG)
    try:
        role = ctx.runtime.store.get_role(match.group(1), match.group(3))
    except NotFound:
        raise c.error("InvalidIdentityPoolConfigurationException", BAD_CONFIG) from None
    if role.arn != role_arn:
        raise c.error("InvalidIdentityPoolConfigurationException", BAD_CONFIG)
    prefix = c.COGNITO_PRINCIPAL
    context: dict[str, Any] = {
        f"{prefix}:aud": pool.pool_id,
        f"{prefix}:sub": identity_id,
        f"{prefix}:amr": amr_values,
        "aws:FederatedProvider": prefix,
        "sts:RoleSessionName": SESSION_NAME,
    }
    for tag in role.tags:
        context[f"aws:ResourceTag/{tag.key}"] = tag.value
    principal = Principal(PrincipalKind.WEB_IDENTITY, prefix, None)
    decision = ctx.runtime.authorizer.decide_federated(
        principal, "sts:AssumeRoleWithWebIdentity", role.arn, role.assume_role_policy, context)
    if not decision.allowed:
        ctx.runtime.authorizer.record(
            ctx.meta, prefix, "sts:AssumeRoleWithWebIdentity", role.arn, decision,
            details={**sessions.trust_details(role, "GetCredentialsForIdentity"),
                     "accounts": {"resource": role.account_id}})
        raise c.error("InvalidIdentityPoolConfigurationException", BAD_CONFIG)
    return role


@c.cognito_operation("GetCredentialsForIdentity", signed=False)
def get_credentials_for_identity(ctx: CallContext, params: Params) -> dict[str, Any]:
    raw = params.raw()
    identity_id = identity_id_param(raw)
    logins = logins_param(raw)
    custom = c.text(raw, "CustomRoleArn", min_len=20, max_len=2048)
    ctx.audit.request_parameters = {"identityId": identity_id,
                                    **({"logins": audit_logins(logins)} if logins else {}),
                                    **({"customRoleArn": custom} if custom else {})}
    _audit_unsigned(ctx, None)
    identity = find_identity(ctx, identity_id)
    pool = c.find_pool(ctx, identity.pool_id)
    _audit_unsigned(ctx, pool)
    verified = check_logins(ctx, pool, identity, logins, "GetCredentialsForIdentity")
    roles = pool.config.get("Roles") or {}
    choice = choose_role(roles, pool.config.get("RoleMappings") or {},
                         authenticated=bool(verified),
                         logins=[(v.provider, v.claims) for v in verified],
                         custom_role_arn=custom)
    if choice.refusal == "ambiguous-deny":
        raise c.not_authorized("The ambiguous role mapping rules denied this request.")
    if choice.refusal == "custom-role":
        raise c.invalid_parameter("CustomRoleArn is not one of the roles in the token.")
    if choice.role_arn is None:
        raise c.error("InvalidIdentityPoolConfigurationException", BAD_CONFIG)
    amr_values = amr(pool, verified)
    role = _trust(ctx, pool, choice.role_arn, identity_id, amr_values)
    policies = sessions.SessionPolicies(
        None if verified else UNAUTHENTICATED_SESSION_POLICY, ())
    prefix = c.COGNITO_PRINCIPAL
    fed = {"kind": "oidc", "provider": prefix,
           "keys": {f"{prefix}:aud": pool.pool_id, f"{prefix}:sub": identity_id,
                    f"{prefix}:amr": amr_values}}
    credentials, _ = sessions.role_session(
        ctx, role, SESSION_NAME, lifetime=LIFETIME, policies=policies, tags={},
        transitive_keys=(), source_identity=None, fed=fed,
        operation="GetCredentialsForIdentity")
    ctx.audit.response_elements = {
        "identityId": identity_id,
        "credentials": sessions.credentials_for_audit(credentials),
    }
    return {
        "IdentityId": identity_id,
        "Credentials": {
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretKey": credentials["SecretAccessKey"],
            "SessionToken": credentials["SessionToken"],
            "Expiration": credentials["Expiration"],
        },
    }


def describe_identity_row(identity: CognitoIdentityRow) -> dict[str, Any]:
    result: dict[str, Any] = {"IdentityId": identity.identity_id}
    if identity.logins:
        result["Logins"] = list(identity.logins)
    result.update(CreationDate=identity.created, LastModifiedDate=identity.modified)
    return result


def _own_identity(ctx: CallContext, identity_id: str) -> tuple[CognitoIdentityRow,
                                                                IdentityPoolRow]:
    """A signed caller's identity: one of a pool of its account (else not found)."""
    identity = find_identity(ctx, identity_id)
    try:
        pool = c.find_pool(ctx, identity.pool_id)
    except Exception:
        raise c.not_found(f"Identity '{identity_id}' not found.") from None
    return identity, pool


@c.cognito_operation("DescribeIdentity", read_only=True)
def describe_identity(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    identity_id = identity_id_param(params.raw())
    ctx.audit.request_parameters = {"identityId": identity_id}
    identity, pool = _own_identity(ctx, identity_id)
    c.authorize_pool(ctx, "DescribeIdentity", pool)
    c.audit_pool(ctx, pool)
    return describe_identity_row(identity)


@c.cognito_operation("ListIdentities", read_only=True)
def list_identities(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    raw = params.raw()
    pool_id = c.pool_id_param(raw)
    limit = c.integer(raw, "MaxResults", minimum=1, maximum=60, required=True)
    token = c.text(raw, "NextToken", max_len=65535)
    c.flag(raw, "HideDisabled")
    ctx.audit.request_parameters = {"identityPoolId": pool_id, "maxResults": limit}
    pool = c.find_pool(ctx, pool_id)
    c.authorize_pool(ctx, "ListIdentities", pool)
    c.audit_pool(ctx, pool)
    rows = c.store(ctx).list_cognito_identities(pool_id)
    page, next_token = paginate([r.identity_id for r in rows], token, limit or 60)
    by_id = {r.identity_id: r for r in rows}
    result: dict[str, Any] = {"IdentityPoolId": pool_id,
                              "Identities": [describe_identity_row(by_id[i]) for i in page]}
    if next_token:
        result["NextToken"] = next_token
    return result


@c.cognito_operation("UnlinkIdentity", signed=False)
def unlink_identity(ctx: CallContext, params: Params) -> None:
    raw = params.raw()
    identity_id = identity_id_param(raw)
    logins = logins_param(raw, required=True)
    remove = c.string_list(raw, "LoginsToRemove", max_len=128)
    if remove is None:
        raise c.error("ValidationException", "1 validation error detected: Value null at "
                      "'loginsToRemove' failed to satisfy constraint: Member must not be null")
    ctx.audit.request_parameters = {"identityId": identity_id,
                                    "logins": audit_logins(logins),
                                    "loginsToRemove": remove}
    _audit_unsigned(ctx, None)
    identity = find_identity(ctx, identity_id)
    pool = c.find_pool(ctx, identity.pool_id)
    _audit_unsigned(ctx, pool)
    if not identity.logins:
        raise c.not_authorized(f"Access to Identity '{identity_id}' is forbidden.")
    check_logins(ctx, pool, identity, logins, "UnlinkIdentity")
    developer = pool.config.get("DeveloperProviderName")
    if developer and developer in remove:
        raise c.invalid_parameter("Developer provider logins are unlinked with "
                                  "UnlinkDeveloperIdentity.")
    c.store(ctx).unlink_cognito_logins(identity_id, remove, ctx.meta.now)
    return None


@c.cognito_operation("DeleteIdentities")
def delete_identities(ctx: CallContext, params: Params) -> dict[str, Any]:
    ctx.require_caller()
    raw = params.raw()
    ids = c.string_list(raw, "IdentityIdsToDelete", max_len=55)
    if not ids or len(ids) > 60:
        raise c.error("ValidationException", "1 validation error detected: Value at "
                      "'identityIdsToDelete' failed to satisfy constraint: Member must have "
                      "length between 1 and 60")
    ctx.audit.request_parameters = {"identityIdsToDelete": ids}
    unprocessed = []
    for identity_id in ids:
        try:
            identity, pool = _own_identity(ctx, identity_id)
        except Exception:
            unprocessed.append({"IdentityId": identity_id, "ErrorCode": "AccessDenied"})
            continue
        ctx.authorize("cognito-identity:DeleteIdentities", pool_arn(pool.account_id,
                                                                     pool.pool_id))
        c.store(ctx).delete_cognito_identity(identity.identity_id)
    return {"UnprocessedIdentityIds": unprocessed}
