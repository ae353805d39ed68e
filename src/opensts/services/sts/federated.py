"""AssumeRoleWithSAML and AssumeRoleWithWebIdentity: unsigned exchanges of IdP assertions.

The verifier (``opensts.federation``) proves who the IdP says the caller is; this module
then does what AssumeRole does for a signed caller: find the role, evaluate its trust
policy against the federated principal and the assertion's condition keys, apply session
policies and tags, and mint the session. STS API reference for both operations; IAM User
Guide, id_roles_providers_create_saml_assertions and id_roles_providers_oidc.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from opensts import safejson
from opensts.directory.errors import NotFound
from opensts.directory.records import Role
from opensts.errors import AccessDenied, AwsError
from opensts.federation.errors import InvalidIdentityToken
from opensts.federation.oidc import (
    JwksCache,
    OidcProvider,
    provider_arn,
    verify_web_identity_token,
)
from opensts.federation.saml import SamlMetadata, parse_metadata, verify_saml_response
from opensts.policy import Principal, PrincipalKind
from opensts.services.cognito import basic as cognito_basic
from opensts.services.context import CallContext
from opensts.services.denials import refused_by
from opensts.services.registry import operation
from opensts.services.sts import sessions
from opensts.wire.params import Params


@functools.lru_cache(maxsize=256)
def _saml_metadata(xml: str) -> SamlMetadata:
    """Parsed provider metadata, cached by content (it changes only with UpdateSAMLProvider)."""
    return parse_metadata(xml)


def _refused(ctx: CallContext, error: AwsError, principal: str | None, action: str,
             role_arn: str, reason: str, *, refused_by: str = "federation",
             extra: Mapping[str, Any] | None = None) -> AwsError:
    """Record a federation refusal that no policy decided, for ``opensts audit explain``:
    the caller is told AWS's words only, the operator why."""
    return sessions.refusal(ctx, error, principal=principal, action=action, resource=role_arn,
                            reason=reason, operation=action.removeprefix("sts:"),
                            refused_by=refused_by,
                            extra={"accounts": {"resource": role_arn.split(":")[4]},
                                   **(extra or {})})


def _find_role(ctx: CallContext, params: Params, action: str,
               principal: str | None = None) -> tuple[str, Role]:
    account, name = sessions.parse_role_arn(params)
    role_arn = params.raw()["RoleArn"]
    try:
        return role_arn, ctx.runtime.store.get_role(account, name)
    except NotFound:
        raise _refused(ctx, AccessDenied(f"Not authorized to perform {action}"), principal,
                       action, role_arn, "the role does not exist", refused_by="sts") from None


def _trust(
    ctx: CallContext,
    principal: Principal,
    role: Role,
    action: str,
    context: Mapping[str, Any],
    *,
    tags: Mapping[str, str],
    source_identity: str | None,
) -> None:
    """Trust policy must allow the action, plus TagSession / SetSourceIdentity when used."""
    checks = [action]
    if tags:
        checks.append("sts:TagSession")
    if source_identity:
        checks.append("sts:SetSourceIdentity")
    full = dict(context)
    for tag in role.tags:
        full[f"aws:ResourceTag/{tag.key}"] = tag.value
        full[f"iam:ResourceTag/{tag.key}"] = tag.value
    for check in checks:
        decision = ctx.runtime.authorizer.decide_federated(
            principal, check, role.arn, role.assume_role_policy, full
        )
        if not decision.allowed:
            # AWS's words only for the (unsigned) caller, which has no account to decode an
            # encoded message in; the decision, with the trust policy and the assertion's
            # condition keys it was evaluated against, goes to the operator's record.
            operation = action.removeprefix("sts:")
            ctx.runtime.authorizer.record(
                ctx.meta, principal.arn, check, role.arn, decision,
                details={**sessions.trust_details(role, operation),
                         "refusedBy": refused_by(decision),
                         "accounts": {"resource": role.account_id}})
            raise AccessDenied(f"Not authorized to perform {check}")


def _respond(
    ctx: CallContext,
    role: Role,
    session_name: str,
    *,
    lifetime: int,
    policies: sessions.SessionPolicies,
    tags: Mapping[str, str],
    transitive: Sequence[str],
    source_identity: str | None,
    fed: Mapping[str, Any],
    operation_name: str,
) -> dict[str, Any]:
    packed = sessions.packed_policy_size(policies, tags, {})
    sessions.check_packed_size(packed, policies, tags)
    credentials, assumed_user = sessions.role_session(
        ctx,
        role,
        session_name,
        lifetime=lifetime,
        policies=policies,
        tags=tags,
        transitive_keys=transitive,
        source_identity=source_identity,
        fed=fed,
        operation=operation_name,
    )
    result: dict[str, Any] = {"Credentials": credentials, "AssumedRoleUser": assumed_user}
    show_packed = bool(policies.inline or policies.arns or tags)
    if show_packed:
        result["PackedPolicySize"] = packed
    ctx.audit.recipient_account = role.account_id
    ctx.audit.response_elements = {
        "credentials": sessions.credentials_for_audit(credentials),
        "assumedRoleUser": {
            "assumedRoleId": assumed_user["AssumedRoleId"],
            "arn": assumed_user["Arn"],
        },
        **({"packedPolicySize": packed} if show_packed else {}),
        **({"sourceIdentity": source_identity} if source_identity else {}),
    }
    return result


@operation("sts", "AssumeRoleWithSAML", signed=False, read_only=True)
def assume_role_with_saml(ctx: CallContext, params: Params) -> dict[str, Any]:
    action = "sts:AssumeRoleWithSAML"
    provider_arn = params.required("PrincipalArn", min_len=20, max_len=2048)
    assertion = params.required("SAMLAssertion", min_len=4, max_len=100_000)
    lifetime, explicit = sessions.duration(params, default=3600, minimum=900, maximum=43200)
    role_arn, role = _find_role(ctx, params, action, provider_arn)
    policies = sessions.session_policies(ctx, params, role_account=role.account_id, max_inline=2048)
    ctx.audit.resources = [
        {"ARN": role_arn, "accountId": role.account_id, "type": "AWS::IAM::Role"},
        {"ARN": provider_arn, "accountId": role.account_id, "type": "AWS::IAM::SAMLProvider"},
    ]
    try:
        provider = ctx.runtime.store.get_saml_provider(provider_arn)
    except NotFound:
        raise _refused(ctx, AccessDenied(f"Not authorized to perform {action}"), provider_arn,
                       action, role_arn, "the SAML provider does not exist") from None
    keys = [
        ctx.runtime.secret_box.open(
            key.sealed_pem,
            context=b"saml-key:" + provider.arn.encode() + b"#" + key.key_id.encode(),
        )
        for key in provider.private_keys
    ]
    now = ctx.meta.now
    store = ctx.runtime.store
    try:
        identity = verify_saml_response(
            assertion,
            provider_arn=provider.arn,
            provider_name=provider.name,
            account_id=provider.account_id,
            metadata=_saml_metadata(provider.metadata),
            decryption_keys=keys,
            now=now,
            # One-time use (saml-profiles-2.0 §4.1.4.5): a replayed assertion id is refused.
            seen=lambda assertion_id: (
                not store.add_used_token(f"saml:{provider.arn}:{assertion_id}",
                                         now + timedelta(days=1))
            ),
            require_encryption=provider.assertion_encryption_mode == "Required",
        )
    except AwsError as error:
        raise _refused(ctx, error, provider.arn, action, role_arn,
                       f"the SAML response did not verify against {provider.arn}: "
                       f"{error.code}: {error.message}") from None
    if not identity.has_role_pair(role_arn, provider_arn):
        raise _refused(ctx, AccessDenied(f"Not authorized to perform {action}"), provider.arn,
                       action, role_arn, "the assertion's Role attribute does not pair "
                       f"{role_arn} with {provider_arn}")
    lifetime = sessions.role_lifetime(lifetime, explicit, role)
    if identity.session_duration is not None and not explicit:
        lifetime = min(identity.session_duration, role.max_session_duration)
    if identity.session_not_on_or_after is not None:
        remaining = int((identity.session_not_on_or_after - now).total_seconds())
        lifetime = max(1, min(lifetime, remaining))
    tags, transitive = identity.principal_tags, list(identity.transitive_tag_keys)
    context: dict[str, Any] = {
        **identity.condition_keys(),
        **sessions.request_tag_context(tags, transitive),
        "sts:RoleSessionName": identity.session_name,
        "aws:FederatedProvider": provider.arn,
    }
    if identity.source_identity:
        context["sts:SourceIdentity"] = identity.source_identity
    principal = Principal(PrincipalKind.SAML, provider.arn, None)
    user_identity = {
        "type": "SAMLUser",
        "principalId": f"{identity.name_qualifier}:{identity.subject}",
        "userName": identity.subject,
        "identityProvider": identity.name_qualifier,
    }
    ctx.audit.user_identity = user_identity
    ctx.audit.request_parameters = {
        "sAMLAssertionID": identity.assertion_id,
        "roleSessionName": identity.session_name,
        "roleArn": role_arn,
        "principalArn": provider_arn,
        **({"durationSeconds": lifetime} if explicit else {}),
        **({"sourceIdentity": identity.source_identity} if identity.source_identity else {}),
        **({"principalTags": tags} if tags else {}),
        **({"transitiveTagKeys": transitive} if transitive else {}),
    }
    _trust(
        ctx, principal, role, action, context, tags=tags, source_identity=identity.source_identity
    )
    fed = {
        "kind": "saml",
        "provider": provider.arn,
        # Only these SAML keys remain available after the exchange (IAM User Guide).
        "keys": {
            "saml:namequalifier": identity.name_qualifier,
            "saml:sub": identity.subject,
            "saml:sub_type": identity.subject_type,
        },
    }
    result = _respond(
        ctx,
        role,
        identity.session_name,
        lifetime=lifetime,
        policies=policies,
        tags=tags,
        transitive=transitive,
        source_identity=identity.source_identity,
        fed=fed,
        operation_name="AssumeRoleWithSAML",
    )
    result.update(
        Subject=identity.subject,
        SubjectType=identity.subject_type,
        Issuer=identity.issuer,
        Audience=identity.audience,
        NameQualifier=identity.name_qualifier,
    )
    if identity.source_identity:
        result["SourceIdentity"] = identity.source_identity
    assert ctx.audit.response_elements is not None
    ctx.audit.response_elements.update(
        subject=identity.subject,
        subjectType=identity.subject_type,
        issuer=identity.issuer,
        audience=identity.audience,
        nameQualifier=identity.name_qualifier,
    )
    return result


def _unverified_claims(token: str) -> dict[str, Any]:
    """The claims that say which token it was (``iss``, ``aud``, ``azp``, ``sub``), read
    without verifying it, for the operator's record of a token that did not verify; never
    the token itself (a bearer credential), and nothing when it does not parse."""
    try:
        payload = token.split(".")[1]
        # Bounded depth, no lone surrogates: the token is the attacker's (safejson).
        claims = safejson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    if not isinstance(claims, dict):
        return {}
    kept: dict[str, Any] = {}
    for key in ("iss", "aud", "azp", "sub"):
        value = claims.get(key)
        if isinstance(value, str):
            kept[key] = value[:256]
        elif isinstance(value, list):
            kept[key] = [v[:256] for v in value[:10] if isinstance(v, str)]
    return kept


def _oidc_provider(ctx: CallContext, account_id: str, issuer: str) -> OidcProvider | None:
    """The IAM OIDC provider of the role's account whose URL is the token's ``iss``."""
    try:
        stored = ctx.runtime.store.get_oidc_provider(provider_arn(account_id, issuer))
    except (NotFound, ValueError):
        return None
    if stored.url != issuer:
        return None
    return OidcProvider(
        url=stored.url,
        arn=stored.arn,
        client_ids=tuple(stored.client_ids),
        thumbprints=tuple(stored.thumbprints),
    )


@operation("sts", "AssumeRoleWithWebIdentity", signed=False, read_only=True)
def assume_role_with_web_identity(ctx: CallContext, params: Params) -> dict[str, Any]:
    action = "sts:AssumeRoleWithWebIdentity"
    session_name = sessions.role_session_name(params)
    token = params.required("WebIdentityToken", min_len=4, max_len=20_000)
    params.str("ProviderId", min_len=4, max_len=2048)
    lifetime, explicit = sessions.duration(params, default=3600, minimum=900, maximum=43200)
    role_arn, role = _find_role(ctx, params, action)
    policies = sessions.session_policies(ctx, params, role_account=role.account_id, max_inline=2048)
    ctx.audit.resources = [
        {"ARN": role_arn, "accountId": role.account_id, "type": "AWS::IAM::Role"}
    ]
    jwks: JwksCache = ctx.runtime.extras["jwks"]
    try:
        if cognito_basic.is_cognito_issuer(ctx.runtime, _unverified_claims(token).get("iss")):
            # An OpenID token of this server's Cognito identity pools (the basic flow).
            identity = cognito_basic.cognito_web_identity(ctx.runtime, token, ctx.meta.now)
        else:
            identity = verify_web_identity_token(
                token,
                providers=lambda issuer: _oidc_provider(ctx, role.account_id, issuer),
                jwks=jwks,
                now=ctx.meta.now,
            )
    except AwsError as error:
        claims = _unverified_claims(token)
        issuer = claims.get("iss")
        provider = _oidc_provider(ctx, role.account_id, issuer) if issuer else None
        seen = ", ".join(f"{k}={v!r}" for k, v in claims.items()) or "none readable"
        raise _refused(
            ctx, error, provider.arn if provider else None, action, role_arn,
            f"the web identity token did not verify: {error.code}: {error.message} (claims, "
            f"unverified: {seen}; "
            + (f"the provider {provider.arn} accepts audiences {list(provider.client_ids)})"
               if provider else f"no OIDC provider of account {role.account_id} has this "
               "issuer)"),
            extra={"token": claims}) from None
    if not identity.authorizes_role(role_arn):
        not_in_roles = InvalidIdentityToken(
            "The target role ARN is not present in the roles claim of the identity token")
        raise _refused(ctx, not_in_roles, identity.provider_arn, action, role_arn,
                       f"the token's roles claim does not name {role_arn}")
    lifetime = sessions.role_lifetime(lifetime, explicit, role)
    tags, transitive = identity.principal_tags, list(identity.transitive_tag_keys)
    context: dict[str, Any] = {
        **identity.condition_keys(),
        **sessions.request_tag_context(tags, transitive),
        "sts:RoleSessionName": session_name,
    }
    if identity.roles is not None:
        context["sts:RoleAuthorizedByIdp"] = "true"
    if identity.source_identity:
        context["sts:SourceIdentity"] = identity.source_identity
    ctx.audit.user_identity = {
        "type": "WebIdentityUser",
        "principalId": f"{identity.provider_arn}:{identity.audience}:{identity.subject}",
        "userName": identity.subject,
        "identityProvider": identity.provider_arn,
    }
    ctx.audit.request_parameters = {
        "roleArn": role_arn,
        "roleSessionName": session_name,
        **({"durationSeconds": lifetime} if explicit else {}),
        **({"sourceIdentity": identity.source_identity} if identity.source_identity else {}),
        **({"principalTags": tags} if tags else {}),
        **({"transitiveTagKeys": transitive} if transitive else {}),
    }
    principal = Principal(PrincipalKind.WEB_IDENTITY, identity.provider_arn, None)
    _trust(
        ctx, principal, role, action, context, tags=tags, source_identity=identity.source_identity
    )
    prefix = identity.provider_prefix
    fed = {
        "kind": "oidc",
        "provider": identity.provider_arn,
        # After the exchange only amr/aud/id/sub remain available (IAM User Guide).
        "keys": {
            key: value
            for key, value in identity.condition_keys().items()
            if key in (f"{prefix}:aud", f"{prefix}:sub", f"{prefix}:amr")
        },
    }
    result = _respond(
        ctx,
        role,
        session_name,
        lifetime=lifetime,
        policies=policies,
        tags=tags,
        transitive=transitive,
        source_identity=identity.source_identity,
        fed=fed,
        operation_name="AssumeRoleWithWebIdentity",
    )
    result = {
        "Credentials": result["Credentials"],
        "SubjectFromWebIdentityToken": identity.subject,
        "AssumedRoleUser": result["AssumedRoleUser"],
        **(
            {"PackedPolicySize": result["PackedPolicySize"]} if "PackedPolicySize" in result else {}
        ),
        "Provider": identity.provider_arn,
        "Audience": identity.audience,
        **({"SourceIdentity": identity.source_identity} if identity.source_identity else {}),
    }
    assert ctx.audit.response_elements is not None
    ctx.audit.response_elements.update(
        subjectFromWebIdentityToken=identity.subject,
        provider=identity.provider_arn,
        audience=identity.audience,
    )
    return result
