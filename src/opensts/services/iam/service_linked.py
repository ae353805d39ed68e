"""Service-linked roles: CreateServiceLinkedRole, DeleteServiceLinkedRole,
GetServiceLinkedRoleDeletionStatus (IAM API reference; IAM User Guide,
using-service-linked-roles).

A service-linked role lives at ``/aws-service-role/<service principal>/`` under the name the
service defines (``AWSServiceRoleFor...``), trusts only that service, and is protected: IAM
answers UnmodifiableEntity to DeleteRole, UpdateAssumeRolePolicy and the role-policy
operations ("Cannot perform the operation on the protected role 'AWSServiceRoleForX' - this
role is only modifiable by AWS", as AWS words it), so only DeleteServiceLinkedRole removes it.
Roles under ``/aws-reserved/`` (IAM Identity Center's) are protected the same way.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from opensts.credentials.ids import new_unique_id
from opensts.directory.errors import AlreadyExists, NotFound
from opensts.directory.records import Role, RoleDeletionTask
from opensts.errors import InvalidInput, NoSuchEntity
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    DESCRIPTION,
    DESCRIPTION_TEXT,
    NAME,
    NAME_TEXT,
    account,
    arn,
    name_param,
    role_dict,
    store_errors,
)
from opensts.services.registry import operation
from opensts.wire.params import Params

# (role name, whether CustomSuffix is allowed, the AWS managed policy the role gets) of
# services whose names are known from AWS's documentation and from AWS's own error messages
# ("Service role name AWSServiceRoleForECS has been taken in this account"); other
# services get AWSServiceRoleFor + their capitalised prefix, with a suffix allowed.
KNOWN_SERVICES: dict[str, tuple[str, bool, str | None]] = {
    "autoscaling.amazonaws.com": ("AWSServiceRoleForAutoScaling", True,
                                  "AutoScalingServiceRolePolicy"),
    "ecs.amazonaws.com": ("AWSServiceRoleForECS", False, "AmazonECSServiceRolePolicy"),
    "es.amazonaws.com": ("AWSServiceRoleForAmazonElasticsearchService", False,
                         "AmazonElasticsearchServiceRolePolicy"),
    "opensearchservice.amazonaws.com": ("AWSServiceRoleForAmazonOpenSearchService", False,
                                        "AmazonOpenSearchServiceRolePolicy"),
    "spot.amazonaws.com": ("AWSServiceRoleForEC2Spot", False, "AWSEC2SpotServiceRolePolicy"),
    "spotfleet.amazonaws.com": ("AWSServiceRoleForEC2SpotFleet", False,
                                "AWSEC2SpotFleetServiceRolePolicy"),
    "elasticloadbalancing.amazonaws.com": ("AWSServiceRoleForElasticLoadBalancing", False,
                                           "AWSElasticLoadBalancingServiceRolePolicy"),
    "rds.amazonaws.com": ("AWSServiceRoleForRDS", False, "AmazonRDSServiceRolePolicy"),
    "config.amazonaws.com": ("AWSServiceRoleForConfig", False, "AWSConfigServiceRolePolicy"),
    "guardduty.amazonaws.com": ("AWSServiceRoleForAmazonGuardDuty", False,
                                "AmazonGuardDutyServiceRolePolicy"),
    "organizations.amazonaws.com": ("AWSServiceRoleForOrganizations", False,
                                    "AWSOrganizationsServiceTrustPolicy"),
    "eks.amazonaws.com": ("AWSServiceRoleForAmazonEKS", False, "AmazonEKSServiceRolePolicy"),
    "eks-nodegroup.amazonaws.com": ("AWSServiceRoleForAmazonEKSNodegroup", False,
                                    "AWSServiceRoleForAmazonEKSNodegroup"),
    "securityhub.amazonaws.com": ("AWSServiceRoleForSecurityHub", False,
                                  "AWSSecurityHubServiceRolePolicy"),
    "sso.amazonaws.com": ("AWSServiceRoleForSSO", False, "AWSSSOServiceRolePolicy"),
    "support.amazonaws.com": ("AWSServiceRoleForSupport", False, "AWSSupportServiceRolePolicy"),
    "trustedadvisor.amazonaws.com": ("AWSServiceRoleForTrustedAdvisor", False,
                                     "AWSTrustedAdvisorServiceRolePolicy"),
    "cloudtrail.amazonaws.com": ("AWSServiceRoleForCloudTrail", False,
                                 "CloudTrailServiceRolePolicy"),
    "ssm.amazonaws.com": ("AWSServiceRoleForAmazonSSM", False, "AmazonSSMServiceRolePolicy"),
    "elasticache.amazonaws.com": ("AWSServiceRoleForElastiCache", False,
                                  "ElastiCacheServiceRolePolicy"),
    "elasticbeanstalk.amazonaws.com": ("AWSServiceRoleForElasticBeanstalk", False,
                                       "AWSElasticBeanstalkServiceRolePolicy"),
}
SERVICE = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com")
TASK_ID = re.compile(r"task/aws-service-role/([^/]+)/([\w+=,.@-]+)/[0-9a-f-]{36}")


def role_name_for(service: str, suffix: str | None) -> str:
    known = KNOWN_SERVICES.get(service)
    if known is None:
        label = service.removesuffix(".amazonaws.com").split(".")[0]
        base = "AWSServiceRoleFor" + "".join(p[:1].upper() + p[1:] for p in label.split("-"))
        allowed = True
    else:
        base, allowed = known[0], known[1]
    if suffix is None:
        return base
    if not allowed:
        raise InvalidInput(f"Custom suffix is not allowed for {service}")
    return f"{base}_{suffix}"


@operation("iam", "CreateServiceLinkedRole")
def create_service_linked_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    service = name_param(params, "AWSServiceName", max_len=128)
    description = params.str("Description", max_len=1000, pattern=DESCRIPTION,
                             pattern_text=DESCRIPTION_TEXT)
    suffix = params.str("CustomSuffix", min_len=1, max_len=64, pattern=NAME,
                        pattern_text=NAME_TEXT)
    acct = account(ctx)
    ctx.audit.request_parameters = {"aWSServiceName": service, "customSuffix": suffix,
                                    "description": description}
    if SERVICE.fullmatch(service) is None:
        raise InvalidInput(f"Invalid service name: {service}")
    name = role_name_for(service, suffix)
    path = f"/aws-service-role/{service}/"
    role_arn = arn(acct, "role", path, name)
    # iam:AWSServiceName lets policies limit which services' roles a caller may create.
    ctx.authorize("iam:CreateServiceLinkedRole", role_arn,
                  context={"iam:AWSServiceName": service})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": [service]}, "Action": "sts:AssumeRole"}]})
    role = Role(acct, new_unique_id("AROA"), name, path, role_arn, ctx.meta.now, trust,
                description=description or "")
    store = ctx.runtime.store
    known = KNOWN_SERVICES.get(service)
    policy_arns: tuple[str, ...] = ()
    if known is not None and known[2] is not None:
        policy_arn = f"arn:aws:iam::aws:policy/aws-service-role/{known[2]}"
        try:
            store.get_managed_policy(policy_arn)
            policy_arns = (policy_arn,)
        except NotFound:
            pass  # not among the bundled AWS managed policies
    try:
        store.create_role_with_policies(role, policy_arns)
    except AlreadyExists:
        raise InvalidInput(f"Service role name {name} has been taken in this account, "
                           "please try a different suffix.") from None
    ctx.audit.response_elements = {"role": {"roleName": name, "roleId": role.role_id,
                                            "arn": role.arn}}
    out = role_dict(role)
    out.pop("Tags", None)
    out.pop("PermissionsBoundary", None)
    return {"Role": out}


@operation("iam", "DeleteServiceLinkedRole")
def delete_service_linked_role(ctx: CallContext, params: Params) -> dict[str, Any]:
    """No service uses the role here, so the deletion succeeds at once; the task records it
    for GetServiceLinkedRoleDeletionStatus."""
    name = name_param(params, "RoleName")
    acct = account(ctx)
    ctx.audit.request_parameters = {"roleName": name}
    store = ctx.runtime.store
    try:
        role = store.get_role(acct, name)
    except NotFound:
        ctx.authorize("iam:DeleteServiceLinkedRole", arn(acct, "role", "/", name))
        raise NoSuchEntity(f"The role with name {name} cannot be found.") from None
    ctx.authorize("iam:DeleteServiceLinkedRole", role.arn)
    if not role.path.startswith("/aws-service-role/"):
        raise InvalidInput(f"Role {name} is not a service-linked role.")
    service = role.path.removeprefix("/aws-service-role/").rstrip("/")
    task = RoleDeletionTask(f"task/aws-service-role/{service}/{role.name}/{uuid.uuid4()}",
                            acct, role.name, "SUCCEEDED", ctx.meta.now)
    with store_errors(role=name):
        store.delete_service_linked_role(acct, role.role_id, task)
    return {"DeletionTaskId": task.task_id}


@operation("iam", "GetServiceLinkedRoleDeletionStatus", read_only=True)
def get_service_linked_role_deletion_status(ctx: CallContext, params: Params) -> dict[str, Any]:
    task_id = params.required("DeletionTaskId", min_len=1, max_len=1000)
    acct = account(ctx)
    ctx.audit.request_parameters = {"deletionTaskId": task_id}
    match = TASK_ID.fullmatch(task_id)
    if match is None:
        raise InvalidInput(f"Invalid deletion task id: {task_id}")
    service, name = match.groups()
    ctx.authorize("iam:GetServiceLinkedRoleDeletionStatus",
                  arn(acct, "role", f"/aws-service-role/{service}/", name))
    task = ctx.runtime.store.find_role_deletion_task(task_id)
    if task is None or task.account_id != acct:
        raise NoSuchEntity(f"Deletion task {task_id} cannot be found.")
    out: dict[str, Any] = {"Status": task.status}
    if task.reason:
        out["Reason"] = {"Reason": task.reason}
    return out
