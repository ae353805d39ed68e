"""AssumeRoot: a short, task-scoped root session in a member account.

AWS STS API reference, AssumeRoot: "You must use credentials from an Organizations
management account or a delegated administrator account for IAM to call AssumeRoot. You
cannot use root user credentials to make this call"; centralized root access must be on
(IAM EnableOrganizationsRootSessions, "privileged root actions in member accounts"); "The
STS global endpoint is not supported for AssumeRoot" (answered ``InvalidAction`` "Unknown
Operation", boto/boto3#4461); TaskPolicyArn is one of AWS's root-task managed policies
(``arn:aws:iam::aws:policy/root-task/...``); DurationSeconds 0-900, default 900.

Service Authorization Reference: ``sts:AssumeRoot`` on the ``root-user`` resource
(``arn:aws:iam::{Account}:root`` of the target), condition key ``sts:TaskPolicyArn``.
The session is the member account's root user (``arn:aws:iam::MEMBER:root``) limited by the
task policy (services.authz), ``aws:AssumedRoot`` true. CloudTrail (IAM User Guide,
cloudtrail-integration and cloudtrail-track-privileged-tasks): not read-only, response
elements included; the event is also delivered to the member account.
"""

from __future__ import annotations

import json
import re
from typing import Any

from opensts.directory.errors import NotFound
from opensts.errors import AccessDenied, AwsError, InvalidAction, ValidationError
from opensts.services.context import CallContext, Caller
from opensts.services.iam.root_access import ROOT_FEATURES
from opensts.services.registry import operation
from opensts.services.sts import sessions
from opensts.wire.params import Params, validation_error

TASK_POLICIES = (
    "IAMAuditRootUserCredentials",
    "IAMCreateRootUserPassword",
    "IAMDeleteRootUserCredentials",
    "S3UnlockBucketPolicy",
    "SQSUnlockQueuePolicy",
)
TASK_POLICY_ARNS = frozenset(f"arn:aws:iam::aws:policy/root-task/{n}" for n in TASK_POLICIES)
TARGET = re.compile(r"(\d{12})|arn:aws:iam::(\d{12}):root")
MAX_DURATION = 900
IAM_PRINCIPAL = "iam.amazonaws.com"
ROOT_SESSIONS = "RootSessions"


def _denied(caller: Caller, resource: str, because: str = "") -> AccessDenied:
    text = (f"User: {caller.arn} is not authorized to perform: sts:AssumeRoot on resource: "
            f"{resource}")
    return AccessDenied(text + (f" {because}" if because else ""))


def _refused(ctx: CallContext, caller: Caller, error: AwsError, resource: str,
             reason: str) -> AwsError:
    return sessions.refusal(ctx, error, principal=caller.arn, action="sts:AssumeRoot",
                            resource=resource, reason=reason, operation="AssumeRoot",
                            extra={"accounts": {"caller": caller.account_id,
                                                "resource": resource.split(":")[4]}})


def _target(params: Params) -> str:
    """The member account id of TargetPrincipal (an account id or its root ARN)."""
    value = params.required("TargetPrincipal", min_len=12, max_len=2048)
    match = TARGET.fullmatch(value)
    if match is None:
        raise ValidationError(f"{value} is invalid")
    return match.group(1) or match.group(2)


def _task_policy(params: Params) -> str:
    arn = params.str("TaskPolicyArn.arn", min_len=20, max_len=2048)
    if arn is None:
        raise validation_error("taskPolicyArn", None, "Member must not be null")
    if arn not in TASK_POLICY_ARNS:
        raise ValidationError(f"The task policy {arn} is not a valid root task policy. "
                              "Use one of the AWS managed policies under "
                              "arn:aws:iam::aws:policy/root-task/.")
    return arn


def _root_sessions_enabled(ctx: CallContext, org_id: str) -> bool:
    # services.iam.root_access keeps the organization's enabled features as a JSON list.
    stored = ctx.runtime.store.find_setting(org_id, ROOT_FEATURES)
    return ROOT_SESSIONS in (json.loads(stored) if stored else [])


@operation("sts", "AssumeRoot")
def assume_root(ctx: CallContext, params: Params) -> dict[str, Any]:
    if ctx.meta.global_endpoint:
        raise InvalidAction("Unknown Operation")
    member = _target(params)
    task = _task_policy(params)
    lifetime, explicit = sessions.duration(params, default=MAX_DURATION, minimum=0,
                                           maximum=MAX_DURATION)
    caller = ctx.require_caller()
    resource = f"arn:aws:iam::{member}:root"
    ctx.audit.request_parameters = {
        "targetPrincipal": params.raw()["TargetPrincipal"],
        "taskPolicyArn": {"arn": task},
        **({"durationSeconds": lifetime} if explicit else {}),
    }

    if caller.is_root:
        raise _refused(ctx, caller, _denied(caller, resource), resource,
                       "root user credentials (and root sessions) cannot call AssumeRoot")
    if caller.type == "FederatedUser":
        raise _refused(ctx, caller, _denied(caller, resource), resource,
                       "a federated user session cannot call AssumeRoot")
    store = ctx.runtime.store
    org = store.find_organization_for_account(caller.account_id)
    if org is None:
        raise _refused(ctx, caller, _denied(caller, resource), resource,
                       "the caller's account belongs to no organization")
    if caller.account_id != org.management_account_id and not store.list_delegated_admins(
            org.org_id, service_principal=IAM_PRINCIPAL, account_id=caller.account_id):
        raise _refused(ctx, caller, _denied(caller, resource), resource,
                       "the caller's account is neither the management account nor IAM's "
                       "delegated administrator")
    # The caller's own policies must allow it (no resource policy: the target is named by
    # the identity policy's Resource).
    ctx.authorize("sts:AssumeRoot", resource, context={"sts:TaskPolicyArn": task})
    if not _root_sessions_enabled(ctx, org.org_id):
        raise _refused(ctx, caller, _denied(caller, resource, "because privileged root "
                                            "actions (RootSessions) are not enabled for the "
                                            "organization's member accounts"), resource,
                       "centralized root access (EnableOrganizationsRootSessions) is off")
    try:
        account = store.get_org_account(member)
    except NotFound:
        account = None
    if (account is None or account.org_id != org.org_id or member == org.management_account_id
            or account.status != "ACTIVE"):
        raise _refused(ctx, caller, _denied(caller, resource), resource,
                       "the target is not an active member account of the caller's "
                       "organization (the management account cannot be targeted)")

    # "The source identity specified by the principal that is calling the AssumeRoot
    # operation" (AssumeRootResponse): a calling role session's, carried into the root's.
    source_identity = (caller.session or {}).get("si")
    claims: dict[str, Any] = {
        "type": "Root",
        "acct": member,
        "arn": resource,
        "pid": member,
        "task": task,
        "si": source_identity,
        "op": "AssumeRoot",
        # Who opened the session, for the operator (not shown to the member account).
        "by": caller.arn,
    }
    credentials, _ = sessions.mint(ctx, member, claims, lifetime)
    ctx.audit.shared_with_account = member
    ctx.audit.response_elements = {
        "credentials": sessions.credentials_for_audit(credentials),
        **({"sourceIdentity": source_identity} if source_identity else {}),
    }
    result: dict[str, Any] = {"Credentials": credentials}
    if source_identity:
        result["SourceIdentity"] = source_identity
    return result
