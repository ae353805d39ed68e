"""AssumeRole: trust-policy evaluation, session policies and tags, source identity, MFA.

AWS STS API reference, AssumeRole; IAM User Guide: id_roles_use (role chaining, 1-hour
cap), id_session-tags (tags, transitive keys), id_credentials_temp_control-access_monitor
(source identity), reference_policies_evaluation-logic (trust policies must allow).
"""

from __future__ import annotations

import re
from typing import Any

from opensts.directory.errors import NotFound
from opensts.errors import AccessDenied, AwsError, InvalidParameterValue, ValidationError
from opensts.services.context import CallContext, Caller
from opensts.services.registry import operation
from opensts.services.sts import sessions
from opensts.wire.params import Params

SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]*")
CHAIN_CAP = 3600


def _denied(caller: Caller, action: str, role_arn: str) -> AccessDenied:
    return AccessDenied(
        f"User: {caller.arn} is not authorized to perform: {action} on resource: {role_arn}"
    )


def _refused(ctx: CallContext, caller: Caller, error: AccessDenied, role_arn: str,
             reason: str, action: str = "sts:AssumeRole") -> AwsError:
    """Record a refusal that no policy decided, with the reason the caller is not told (for
    ``opensts audit explain``), and return ``error`` to raise."""
    return sessions.refusal(ctx, error, principal=caller.arn, action=action, resource=role_arn,
                            reason=reason, operation="AssumeRole",
                            extra={"accounts": {"caller": caller.account_id,
                                                "resource": role_arn.split(":")[4]}})


def source_identity(params: Params) -> str | None:
    value = params.str(
        "SourceIdentity",
        min_len=2,
        max_len=64,
        pattern=SOURCE_IDENTITY,
        pattern_text=r"[\w+=,.@-]*",
    )
    if value is not None and value.lower().startswith("aws:"):
        raise ValidationError("SourceIdentity must not begin with 'aws:'.")
    return value


@operation("sts", "AssumeRole", read_only=True)
def assume_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    # AWS checks RoleSessionName before RoleArn, and all parameters before the caller.
    session_name = sessions.role_session_name(params)
    role_account, role_name = sessions.parse_role_arn(params)
    role_arn = params.raw()["RoleArn"]
    lifetime, explicit = sessions.duration(params, default=3600, minimum=900, maximum=43200)
    external_id = params.str("ExternalId", min_len=2, max_len=1224, pattern=sessions.EXTERNAL_ID)
    try:
        serial, code = sessions.mfa_params(params)
    except AccessDenied as error:
        caller = ctx.require_caller()
        raise _refused(ctx, caller, error, role_arn, "SerialNumber and TokenCode must be "
                       "given together") from None
    requested_si = source_identity(params)
    tags, transitive = sessions.session_tags(params)
    policies = sessions.session_policies(ctx, params, role_account=role_account, max_inline=None)
    caller = ctx.require_caller()

    if caller.is_root and not caller.is_session:
        raise _refused(ctx, caller, AccessDenied("Roles may not be assumed by root accounts."),
                       role_arn, "the account root user may not assume roles")
    claims_in = caller.session or {}
    if caller.type == "FederatedUser" or (caller.is_root and caller.is_session):
        raise _refused(ctx, caller, _denied(caller, "sts:AssumeRole", role_arn), role_arn,
                       f"a {'federated user' if caller.type == 'FederatedUser' else 'root'} "
                       "session may not call AssumeRole")

    ctx.audit.request_parameters = {
        "roleArn": role_arn,
        "roleSessionName": session_name,
        **({"durationSeconds": lifetime} if explicit else {}),
        **({"externalId": external_id} if external_id else {}),
        **({"serialNumber": serial} if serial else {}),
        **({"sourceIdentity": requested_si} if requested_si else {}),
        **({"tags": sessions.tags_for_audit(tags)} if tags else {}),
        **({"transitiveTagKeys": transitive} if transitive else {}),
        **({"policyArns": [{"arn": a} for a in policies.arns]} if policies.arns else {}),
    }
    ctx.audit.resources = [{"ARN": role_arn, "accountId": role_account, "type": "AWS::IAM::Role"}]

    try:
        role = ctx.runtime.store.get_role(role_account, role_name)
    except NotFound:
        # The same AccessDenied as a refusal, so that role names cannot be probed.
        raise _refused(ctx, caller, _denied(caller, "sts:AssumeRole", role_arn), role_arn,
                       "the role does not exist") from None
    if role.arn != role_arn and f"arn:aws:iam::{role_account}:role/{role_name}" != role_arn:
        raise _refused(ctx, caller, _denied(caller, "sts:AssumeRole", role_arn), role_arn,
                       f"the role's path differs: it is {role.arn}")

    # Role chaining: any temporary credentials cap the new session at one hour.
    chained = caller.is_session
    if chained:
        if explicit and lifetime > CHAIN_CAP:
            raise ValidationError(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
    else:
        sessions.role_lifetime(lifetime, explicit, role)

    # Transitive tags of the calling session are inherited and may not be overridden.
    inherited_keys = [k for k in claims_in.get("ttk", ())]
    inherited = {k: v for k, v in claims_in.get("tags", {}).items() if k in inherited_keys}
    lowered = {k.lower() for k in inherited}
    if any(k.lower() in lowered for k in tags):
        raise InvalidParameterValue(
            "One of the specified transitive tag keys can't be set because it conflicts with a "
            "transitive tag key from the calling session."
        )

    # Source identity is fixed for the rest of a chain.
    carried_si = claims_in.get("si")
    if carried_si and requested_si and requested_si != carried_si:
        raise _refused(ctx, caller, _denied(caller, "sts:SetSourceIdentity", role_arn),
                       role_arn, f"the calling session's source identity {carried_si!r} is "
                       f"fixed for the chain; {requested_si!r} was requested",
                       action="sts:SetSourceIdentity")
    final_si = carried_si or requested_si

    mfa_context: dict[str, str | list[str]] = {}
    mfa_at: int | None = None
    if serial and code:
        try:
            sessions.verify_mfa(ctx, caller, serial, code)
        except AccessDenied as error:
            raise _refused(ctx, caller, error, role_arn, f"the MFA code for {serial} did not "
                           "verify (unknown or disabled device, another user's, wrong or "
                           "reused code)") from None
        mfa_context = {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "0"}
        mfa_at = int(ctx.meta.now.timestamp())

    context: dict[str, str | list[str]] = {
        "sts:RoleSessionName": session_name,
        **sessions.request_tag_context({**inherited, **tags}, transitive),
        **mfa_context,
    }
    for tag in role.tags:
        context[f"aws:ResourceTag/{tag.key}"] = tag.value
        context[f"iam:ResourceTag/{tag.key}"] = tag.value
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    if final_si:
        context["sts:SourceIdentity"] = final_si

    authorizer = ctx.runtime.authorizer
    checks = ["sts:AssumeRole"]
    if tags:
        checks.append("sts:TagSession")
    if final_si:
        checks.append("sts:SetSourceIdentity")
    for action in checks:
        decision = authorizer.decide(
            caller,
            action,
            role.arn,
            meta=ctx.meta,
            resource_policy=role.assume_role_policy,
            resource_account=role.account_id,
            extra_context=context,
            trust=True,
        )
        if not decision.allowed:
            # Recorded with the trust policy for the operator; the encoded message after
            # AWS's text is decodable only by the account whose policies refused (the role's
            # for its trust policy, the caller's for its own policies; services.denials).
            raise authorizer.refuse(caller, action, role.arn, decision, ctx.meta,
                                    resource_account=role.account_id,
                                    details=sessions.trust_details(role, "AssumeRole"))

    session_tags = {**inherited, **tags}
    packed = sessions.packed_policy_size(policies, tags, inherited)
    sessions.check_packed_size(packed, policies, session_tags)

    credentials, assumed_user = sessions.role_session(
        ctx,
        role,
        session_name,
        lifetime=min(lifetime, CHAIN_CAP) if chained else lifetime,
        policies=policies,
        tags=session_tags,
        transitive_keys=[*inherited_keys, *transitive],
        source_identity=final_si,
        mfa_at=mfa_at,
        fed=claims_in.get("fed"),
        operation="AssumeRole",
    )
    assumed_arn, assumed_id = assumed_user["Arn"], assumed_user["AssumedRoleId"]
    result: dict[str, Any] = {
        "Credentials": credentials,
        "AssumedRoleUser": assumed_user,
    }
    if policies.inline or policies.arns or tags or inherited:
        result["PackedPolicySize"] = packed
    if final_si:
        result["SourceIdentity"] = final_si
    if inherited:
        ctx.audit.request_parameters["incomingTransitiveTags"] = inherited
    if role.account_id != caller.account_id:
        ctx.audit.shared_with_account = role.account_id
    ctx.audit.response_elements = {
        "credentials": sessions.credentials_for_audit(credentials),
        "assumedRoleUser": {"assumedRoleId": assumed_id, "arn": assumed_arn},
        **({"packedPolicySize": packed} if "PackedPolicySize" in result else {}),
        **({"sourceIdentity": final_si} if final_si else {}),
    }
    return result
