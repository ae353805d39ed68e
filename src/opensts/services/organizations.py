"""AWS Organizations (JSON 1.1, ``AWSOrganizationsV20161128``): accounts, OUs and SCPs.

Follows the Organizations API reference: the management account creates the organization
and member accounts; CreateAccount also creates the role ``OrganizationAccountAccessRole``
(or the given RoleName) in the member account, trusting the management account, with
AdministratorAccess attached. SCPs take part in every decision of member accounts once the
SERVICE_CONTROL_POLICY type is enabled on the root; ``FullAWSAccess`` is attached to the
root, every OU and every account, as AWS does.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from opensts.credentials.ids import new_unique_id
from opensts.directory.errors import AlreadyExists, Conflict, NotFound
from opensts.directory.records import (
    Account,
    CreateAccountStatus,
    NewMemberAccount,
    OrgAccount,
    Organization,
    OrgPolicy,
    OrgUnit,
    Role,
)
from opensts.errors import SenderError
from opensts.policy import PolicyKind, parse_policy
from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.wire.params import Params

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"


@dataclass(frozen=True)
class PolicyType:
    """What differs between the two authorization policy types Organizations manages."""

    name: str
    kind: PolicyKind  # how the engine parses and validates the content
    arn_segment: str
    managed_id: str  # the AWS managed policy attached everywhere, e.g. p-FullAWSAccess
    managed_name: str
    managed_statement: dict[str, str]

    @property
    def managed_arn(self) -> str:
        return f"arn:aws:organizations::aws:policy/{self.arn_segment}/{self.managed_id}"

    @property
    def managed_content(self) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [self.managed_statement]})


POLICY_TYPES = {
    SCP: PolicyType(
        SCP,
        PolicyKind.SCP,
        "service_control_policy",
        "p-FullAWSAccess",
        "FullAWSAccess",
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
    ),
    RCP: PolicyType(
        RCP,
        PolicyKind.RCP,
        "resource_control_policy",
        "p-RCPFullAWSAccess",
        "RCPFullAWSAccess",
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
    ),
}
MANAGED_IDS = {t.managed_id: t for t in POLICY_TYPES.values()}
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
ALNUM = string.ascii_lowercase + string.digits


class OrganizationsError(SenderError):
    """Organizations errors use the ``...Exception`` names on the wire."""


def _error(code: str, message: str, status: int = 400) -> OrganizationsError:
    return OrganizationsError(message, code=code, status=status)


def _random(length: int) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(length))


def _text(params: Params, name: str, *, required: bool = True, max_len: int = 1000) -> str | None:
    value = params.raw().get(name)
    if value is None:
        if required:
            raise _error("InvalidInputException", f"You must specify a value for {name}.")
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise _error("InvalidInputException", f"The value for {name} is not valid.")
    return value


def _org_of(ctx: CallContext) -> Organization:
    caller = ctx.require_caller()
    org = ctx.runtime.store.find_organization_for_account(caller.account_id)
    if org is None:
        raise _error(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    return org


def _management_org(ctx: CallContext, action: str) -> Organization:
    """Most operations may be called only from the management account."""
    org = _org_of(ctx)
    caller = ctx.require_caller()
    if caller.account_id != org.management_account_id:
        raise _error(
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
            status=400,
        )
    ctx.authorize(f"organizations:{action}", org.arn)
    return org


def _organization_view(org: Organization, root: OrgUnit) -> dict[str, Any]:
    return {
        "Id": org.org_id,
        "Arn": org.arn,
        "FeatureSet": org.feature_set,
        "MasterAccountArn": f"arn:aws:organizations::{org.management_account_id}:account/"
        f"{org.org_id}/{org.management_account_id}",
        "MasterAccountId": org.management_account_id,
        "MasterAccountEmail": org.management_account_email,
        "AvailablePolicyTypes": [
            {"Type": t, "Status": "ENABLED"} for t in root.enabled_policy_types
        ],
    }


def _root_view(root: OrgUnit) -> dict[str, Any]:
    return {
        "Id": root.unit_id,
        "Arn": root.arn,
        "Name": root.name,
        "PolicyTypes": [{"Type": t, "Status": "ENABLED"} for t in root.enabled_policy_types],
    }


def _account_view(member: OrgAccount) -> dict[str, Any]:
    return {
        "Id": member.account_id,
        "Arn": member.arn,
        "Email": member.email,
        "Name": member.name,
        "Status": member.status,
        "JoinedMethod": member.joined_method,
        "JoinedTimestamp": member.joined,
    }


def _policy_summary(policy: OrgPolicy) -> dict[str, Any]:
    return {
        "Id": policy.policy_id,
        "Arn": policy.arn,
        "Name": policy.name,
        "Description": policy.description,
        "Type": policy.type,
        "AwsManaged": policy.aws_managed,
    }


def _status_view(status: CreateAccountStatus) -> dict[str, Any]:
    view: dict[str, Any] = {
        "Id": status.request_id,
        "AccountName": status.account_name,
        "State": status.state,
        "RequestedTimestamp": status.requested,
    }
    if status.completed:
        view["CompletedTimestamp"] = status.completed
    if status.account_id:
        view["AccountId"] = status.account_id
    if status.failure_reason:
        view["FailureReason"] = status.failure_reason
    return view


def _policy_type(name: str | None) -> PolicyType:
    if name not in POLICY_TYPES:
        raise _error("InvalidInputException", f"Policy type {name} is not supported.")
    return POLICY_TYPES[name]


def _managed_policy(org: Organization, kind: PolicyType) -> OrgPolicy:
    """The record of the type's AWS managed policy (FullAWSAccess, RCPFullAWSAccess), stored
    once per organization."""
    return OrgPolicy(
        policy_id=f"{kind.managed_id}-{org.org_id}",
        org_id=org.org_id,
        arn=kind.managed_arn,
        name=kind.managed_name,
        description="Allows access to every operation",
        type=kind.name,
        content=kind.managed_content,
        aws_managed=True,
    )


def _all_managed(org: Organization) -> tuple[OrgPolicy, ...]:
    """What a new root, OU or account gets: the store attaches FullAWSAccess and the managed
    policy of every type enabled on the root, in the transaction creating the target."""
    return tuple(_managed_policy(org, kind) for kind in POLICY_TYPES.values())


def _managed(
    ctx: CallContext, org: Organization, kind: PolicyType = POLICY_TYPES[SCP]
) -> OrgPolicy:
    """The type's AWS managed policy of this organization, stored if missing (organizations
    created before the managed policies were stored with them)."""
    store = ctx.runtime.store
    policy = _managed_policy(org, kind)
    try:
        return store.get_org_policy(policy.policy_id)
    except NotFound:
        pass
    with contextlib.suppress(AlreadyExists):  # stored meanwhile by a concurrent call
        store.create_org_policy(policy)
    return policy


def _public_policy_id(policy: OrgPolicy) -> str:
    # Managed policies are stored once per organization but have one public id, as on AWS.
    return POLICY_TYPES[policy.type].managed_id if policy.aws_managed else policy.policy_id


class _OrgOwned(Protocol):
    @property
    def org_id(self) -> str: ...


E = TypeVar("E", bound=_OrgOwned)


def _in_org(get: Callable[[str], E], key: str, org: Organization, missing: OrganizationsError) -> E:
    """The entity ``key`` of this organization; another organization's is not found either."""
    try:
        found = get(key)
    except NotFound:
        raise missing from None
    if found.org_id != org.org_id:
        raise missing
    return found


def _find_policy(ctx: CallContext, org: Organization, policy_id: str) -> OrgPolicy:
    stored_id = f"{policy_id}-{org.org_id}" if policy_id in MANAGED_IDS else policy_id
    missing = _error(
        "PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified."
    )
    return _in_org(ctx.runtime.store.get_org_policy, stored_id, org, missing)


def _check_content(content: str, kind: PolicyType) -> None:
    try:
        parse_policy(content, kind.kind)
    except SenderError as exc:
        raise _error("MalformedPolicyDocumentException", exc.message) from None


def _check_target(ctx: CallContext, org: Organization, target_id: str) -> None:
    store = ctx.runtime.store
    try:
        if re.fullmatch(r"\d{12}", target_id):
            if store.get_org_account(target_id).org_id == org.org_id:
                return
        elif store.get_org_unit(target_id).org_id == org.org_id:
            return
    except NotFound:
        pass
    raise _error(
        "TargetNotFoundException",
        "We can't find a root, OU, or account with the TargetId that you specified.",
    )


@operation("organizations", "CreateOrganization")
def create_organization(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.require_caller()
    feature_set = _text(params, "FeatureSet", required=False) or "ALL"
    if feature_set not in ("ALL", "CONSOLIDATED_BILLING"):
        raise _error("InvalidInputException", "FeatureSet must be ALL or CONSOLIDATED_BILLING.")
    ctx.authorize("organizations:CreateOrganization", "*")
    store = ctx.runtime.store
    if store.find_organization_for_account(caller.account_id) is not None:
        raise _error(
            "AlreadyInOrganizationException",
            "The AWS account is already a member of an organization.",
            status=409,
        )
    account = store.get_account(caller.account_id)
    org_id = f"o-{_random(10)}"
    root_id = f"r-{_random(4)}"
    management = caller.account_id
    now = ctx.meta.now
    org = Organization(
        org_id=org_id,
        arn=f"arn:aws:organizations::{management}:organization/{org_id}",
        management_account_id=management,
        management_account_email=account.email or f"{management}@opensts.invalid",
        feature_set=feature_set,  # type: ignore[arg-type]
        root_id=root_id,
        created=now,
    )
    root = OrgUnit(
        unit_id=root_id,
        org_id=org_id,
        arn=f"arn:aws:organizations::{management}:root/{org_id}/{root_id}",
        name="Root",
        kind="ROOT",
        parent_id=None,
    )
    member = OrgAccount(
        account_id=management,
        org_id=org_id,
        parent_id=root_id,
        arn=f"arn:aws:organizations::{management}:account/{org_id}/{management}",
        name=account.name,
        email=org.management_account_email,
        joined_method="INVITED",
        joined=now,
    )
    try:
        store.create_organization(org, root, member, _all_managed(org))
    except AlreadyExists:  # a concurrent CreateOrganization of the same account won
        raise _error(
            "AlreadyInOrganizationException",
            "The AWS account is already a member of an organization.",
            status=409,
        ) from None
    return {"Organization": _organization_view(org, root)}


@operation("organizations", "DescribeOrganization", read_only=True)
def describe_organization(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _org_of(ctx)
    ctx.authorize("organizations:DescribeOrganization", org.arn)
    root = ctx.runtime.store.get_org_unit(org.root_id)
    return {"Organization": _organization_view(org, root)}


@operation("organizations", "ListRoots", read_only=True)
def list_roots(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "ListRoots")
    return {"Roots": [_root_view(ctx.runtime.store.get_org_unit(org.root_id))]}


@operation("organizations", "EnablePolicyType")
def enable_policy_type(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "EnablePolicyType")
    root_id = _text(params, "RootId")
    kind = _policy_type(_text(params, "PolicyType"))
    if root_id != org.root_id:
        raise _error(
            "RootNotFoundException", "We can't find a root with the RootId that you specified."
        )
    # Enabling RCPs attaches RCPFullAWSAccess to the root, every OU and every account, in
    # the same transaction (FullAWSAccess is attached everywhere from the start).
    managed = None if kind.name == SCP else _managed_policy(org, kind)
    try:
        root = ctx.runtime.store.enable_org_policy_type(org.root_id, kind.name, managed)
    except Conflict:
        raise _error(
            "PolicyTypeAlreadyEnabledException",
            "The specified policy type is already enabled.",
        ) from None
    return {"Root": _root_view(root)}


def _new_account_id(ctx: CallContext) -> str:
    while True:
        candidate = f"{secrets.randbelow(9 * 10**11) + 10**11:012d}"
        if ctx.runtime.store.find_account(candidate) is None:
            return candidate


@operation("organizations", "CreateAccount")
def create_account(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "CreateAccount")
    email = _text(params, "Email", max_len=64) or ""
    name = _text(params, "AccountName", max_len=50) or ""
    role_name = _text(params, "RoleName", required=False, max_len=64) or (
        "OrganizationAccountAccessRole"
    )
    if not EMAIL.fullmatch(email):
        raise _error("ConstraintViolationException", "You provided an invalid email address.")
    if not ROLE_NAME.fullmatch(role_name):
        raise _error("InvalidInputException", "You provided an invalid RoleName.")
    store = ctx.runtime.store
    now: datetime = ctx.meta.now
    request_id = f"car-{uuid.uuid4().hex}"
    account_id = _new_account_id(ctx)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{org.management_account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    done = CreateAccountStatus(request_id, org.org_id, name, "SUCCEEDED", now, now, account_id)
    new = NewMemberAccount(
        account=Account(account_id, name=name, email=email, created=now),
        member=OrgAccount(
            account_id=account_id,
            org_id=org.org_id,
            parent_id=org.root_id,
            arn=f"arn:aws:organizations::{org.management_account_id}:account/"
            f"{org.org_id}/{account_id}",
            name=name,
            email=email,
            joined_method="CREATED",
            joined=now,
        ),
        access_role=Role(
            account_id=account_id,
            role_id=new_unique_id("AROA"),
            name=role_name,
            path="/",
            arn=f"arn:aws:iam::{account_id}:role/{role_name}",
            created=now,
            assume_role_policy=trust,
        ),
        role_policy_arns=(ADMIN_POLICY,),
        managed_policies=_all_managed(org),
        status=done,
    )
    ctx.audit.request_parameters = {"accountName": name, "roleName": role_name}
    # AWS answers IN_PROGRESS and finishes later; here the whole account is created in one
    # store transaction before the answer, so a crash leaves all of it or nothing, and no
    # request is ever stored IN_PROGRESS.
    try:
        store.create_member_account(new)
    except (AlreadyExists, NotFound) as exc:
        # Nothing of the account was stored; the request is recorded as failed.
        failed = CreateAccountStatus(
            request_id, org.org_id, name, "FAILED", now, now, None, "INTERNAL_FAILURE"
        )
        store.save_create_account_status(failed)
        raise _error("ConstraintViolationException", f"Account creation failed: {exc}") from exc
    return {"CreateAccountStatus": _status_view(done)}


@operation("organizations", "DescribeCreateAccountStatus", read_only=True)
def describe_create_account_status(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "DescribeCreateAccountStatus")
    request_id = _text(params, "CreateAccountRequestId") or ""
    missing = _error(
        "CreateAccountStatusNotFoundException",
        "We can't find an create account request with the CreateAccountRequestId that you "
        "specified.",
    )
    status = _in_org(ctx.runtime.store.get_create_account_status, request_id, org, missing)
    return {"CreateAccountStatus": _status_view(status)}


@operation("organizations", "ListAccounts", read_only=True)
def list_accounts(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "ListAccounts")
    members = ctx.runtime.store.list_org_accounts(org.org_id)
    return {"Accounts": [_account_view(m) for m in members]}


@operation("organizations", "DescribeAccount", read_only=True)
def describe_account(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "DescribeAccount")
    account_id = _text(params, "AccountId") or ""
    missing = _error(
        "AccountNotFoundException",
        "We can't find an AWS account with the AccountId that you specified.",
    )
    member = _in_org(ctx.runtime.store.get_org_account, account_id, org, missing)
    return {"Account": _account_view(member)}


@operation("organizations", "CreateOrganizationalUnit")
def create_organizational_unit(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "CreateOrganizationalUnit")
    parent_id = _text(params, "ParentId") or ""
    name = _text(params, "Name", max_len=128) or ""
    store = ctx.runtime.store
    missing = _error(
        "ParentNotFoundException",
        "We can't find a root or OU with the ParentId that you specified.",
    )
    _in_org(store.get_org_unit, parent_id, org, missing)
    unit_id = f"ou-{org.root_id.removeprefix('r-')}-{_random(8)}"
    unit = OrgUnit(
        unit_id=unit_id,
        org_id=org.org_id,
        arn=f"arn:aws:organizations::{org.management_account_id}:ou/{org.org_id}/{unit_id}",
        name=name,
        kind="ORGANIZATIONAL_UNIT",
        parent_id=parent_id,
    )
    try:
        store.create_org_unit(unit, _all_managed(org))
    except AlreadyExists:
        raise _error(
            "DuplicateOrganizationalUnitException",
            "An OU with the same name already exists.",
        ) from None
    return {"OrganizationalUnit": {"Id": unit.unit_id, "Arn": unit.arn, "Name": unit.name}}


@operation("organizations", "MoveAccount")
def move_account(ctx: CallContext, params: Params) -> None:
    org = _management_org(ctx, "MoveAccount")
    account_id = _text(params, "AccountId") or ""
    source = _text(params, "SourceParentId") or ""
    destination = _text(params, "DestinationParentId") or ""
    _check_target(ctx, org, account_id)
    _check_target(ctx, org, destination)
    try:
        ctx.runtime.store.move_org_account(account_id, source, destination)
    except NotFound:
        raise _error(
            "SourceParentNotFoundException",
            "We can't find a source root or OU with the ParentId that you specified.",
        ) from None
    return None


@operation("organizations", "CreatePolicy")
def create_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "CreatePolicy")
    content = _text(params, "Content", max_len=10_000) or ""
    name = _text(params, "Name", max_len=128) or ""
    description = _text(params, "Description", max_len=512) or ""
    kind = _policy_type(_text(params, "Type"))
    _check_content(content, kind)
    policy_id = f"p-{_random(8)}"
    policy = OrgPolicy(
        policy_id=policy_id,
        org_id=org.org_id,
        arn=f"arn:aws:organizations::{org.management_account_id}:policy/{org.org_id}/"
        f"{kind.arn_segment}/{policy_id}",
        name=name,
        description=description,
        type=kind.name,
        content=content,
    )
    try:
        ctx.runtime.store.create_org_policy(policy)
    except AlreadyExists:
        raise _error(
            "DuplicatePolicyException", "A policy with the same name already exists."
        ) from None
    return {"Policy": {"PolicySummary": _policy_summary(policy), "Content": content}}


@operation("organizations", "DescribePolicy", read_only=True)
def describe_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "DescribePolicy")
    policy = _find_policy(ctx, org, _text(params, "PolicyId") or "")
    summary = {**_policy_summary(policy), "Id": _public_policy_id(policy)}
    return {"Policy": {"PolicySummary": summary, "Content": policy.content}}


@operation("organizations", "UpdatePolicy")
def update_policy(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "UpdatePolicy")
    policy = _find_policy(ctx, org, _text(params, "PolicyId") or "")
    if policy.aws_managed:
        raise _error("AccessDeniedException", "You can't modify an AWS managed policy.")
    content = _text(params, "Content", required=False, max_len=10_000)
    if content is not None:
        _check_content(content, POLICY_TYPES[policy.type])
    name = _text(params, "Name", required=False, max_len=128)
    description = _text(params, "Description", required=False, max_len=512)
    updated = ctx.runtime.store.update_org_policy(
        policy.policy_id,
        lambda p: OrgPolicy(
            p.policy_id,
            p.org_id,
            p.arn,
            name or p.name,
            p.description if description is None else description,
            p.type,
            p.content if content is None else content,
            p.aws_managed,
        ),
    )
    return {"Policy": {"PolicySummary": _policy_summary(updated), "Content": updated.content}}


@operation("organizations", "DeletePolicy")
def delete_policy(ctx: CallContext, params: Params) -> None:
    org = _management_org(ctx, "DeletePolicy")
    policy = _find_policy(ctx, org, _text(params, "PolicyId") or "")
    if ctx.runtime.store.list_org_targets_for_policy(policy.policy_id):
        raise _error(
            "PolicyInUseException",
            "The policy is attached to one or more entities. "
            "You must detach it from all roots, OUs, and accounts before performing "
            "this operation.",
        )
    ctx.runtime.store.delete_org_policy(policy.policy_id)
    return None


@operation("organizations", "AttachPolicy")
def attach_policy(ctx: CallContext, params: Params) -> None:
    org = _management_org(ctx, "AttachPolicy")
    policy = _find_policy(ctx, org, _text(params, "PolicyId") or "")
    target = _text(params, "TargetId") or ""
    _check_target(ctx, org, target)
    try:
        ctx.runtime.store.attach_org_policy(policy.policy_id, target)
    except AlreadyExists:
        raise _error(
            "DuplicatePolicyAttachmentException",
            "The selected policy is already attached to the specified target.",
        ) from None
    return None


@operation("organizations", "DetachPolicy")
def detach_policy(ctx: CallContext, params: Params) -> None:
    org = _management_org(ctx, "DetachPolicy")
    policy = _find_policy(ctx, org, _text(params, "PolicyId") or "")
    target = _text(params, "TargetId") or ""
    _check_target(ctx, org, target)
    if policy.aws_managed and policy.type == RCP:
        raise _error(
            "ConstraintViolationException",
            "You cannot detach RCPFullAWSAccess: it is attached to every root, OU and account "
            "while resource control policies are enabled.",
        )
    try:
        ctx.runtime.store.detach_org_policy(policy.policy_id, target)
    except NotFound:
        raise _error(
            "PolicyNotAttachedException",
            "The policy isn't attached to the specified target in the specified root.",
        ) from None
    return None


@operation("organizations", "ListPolicies", read_only=True)
def list_policies(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "ListPolicies")
    kind = _policy_type(_text(params, "Filter"))
    if (
        kind.name == SCP
        or kind.name in ctx.runtime.store.get_org_unit(org.root_id).enabled_policy_types
    ):
        _managed(ctx, org, kind)
    policies = ctx.runtime.store.list_org_policies(org.org_id, kind.name)
    return {"Policies": [{**_policy_summary(p), "Id": _public_policy_id(p)} for p in policies]}


@operation("organizations", "ListPoliciesForTarget", read_only=True)
def list_policies_for_target(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _management_org(ctx, "ListPoliciesForTarget")
    target = _text(params, "TargetId") or ""
    kind = _policy_type(_text(params, "Filter"))
    _check_target(ctx, org, target)
    policies = ctx.runtime.store.list_org_policies_for_target(target, kind.name)
    return {"Policies": [{**_policy_summary(p), "Id": _public_policy_id(p)} for p in policies]}
