"""What the Organizations operations share: the policy types, errors, parameter reading,
the caller's organization, views and lookups inside one organization."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from opensts.directory.errors import AlreadyExists, NotFound
from opensts.directory.records import (
    CreateAccountStatus,
    OrgAccount,
    Organization,
    OrgPolicy,
    OrgUnit,
)
from opensts.errors import SenderError
from opensts.policy import PolicyKind, parse_policy
from opensts.services.context import CallContext
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


def error(code: str, message: str, status: int = 400) -> OrganizationsError:
    return OrganizationsError(message, code=code, status=status)


def random(length: int) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(length))


def text(params: Params, name: str, *, required: bool = True, max_len: int = 1000) -> str | None:
    value = params.raw().get(name)
    if value is None:
        if required:
            raise error("InvalidInputException", f"You must specify a value for {name}.")
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise error("InvalidInputException", f"The value for {name} is not valid.")
    return value


def org_of(ctx: CallContext) -> Organization:
    caller = ctx.require_caller()
    org = ctx.runtime.store.find_organization_for_account(caller.account_id)
    if org is None:
        raise error(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    return org


def management_org(ctx: CallContext, action: str) -> Organization:
    """Most operations may be called only from the management account."""
    org = org_of(ctx)
    caller = ctx.require_caller()
    if caller.account_id != org.management_account_id:
        raise error(
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
            status=400,
        )
    ctx.authorize(f"organizations:{action}", org.arn)
    return org


def organization_view(org: Organization, root: OrgUnit) -> dict[str, Any]:
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


def root_view(root: OrgUnit) -> dict[str, Any]:
    return {
        "Id": root.unit_id,
        "Arn": root.arn,
        "Name": root.name,
        "PolicyTypes": [{"Type": t, "Status": "ENABLED"} for t in root.enabled_policy_types],
    }


def account_view(member: OrgAccount) -> dict[str, Any]:
    return {
        "Id": member.account_id,
        "Arn": member.arn,
        "Email": member.email,
        "Name": member.name,
        "Status": member.status,
        "State": member.status,  # the newer field: ACTIVE, SUSPENDED, PENDING_CLOSURE alike
        "JoinedMethod": member.joined_method,
        "JoinedTimestamp": member.joined,
    }


def policy_summary(policy: OrgPolicy) -> dict[str, Any]:
    return {
        "Id": policy.policy_id,
        "Arn": policy.arn,
        "Name": policy.name,
        "Description": policy.description,
        "Type": policy.type,
        "AwsManaged": policy.aws_managed,
    }


def status_view(status: CreateAccountStatus) -> dict[str, Any]:
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


def policy_type(name: str | None) -> PolicyType:
    if name not in POLICY_TYPES:
        raise error("InvalidInputException", f"Policy type {name} is not supported.")
    return POLICY_TYPES[name]


def managed_policy(org: Organization, kind: PolicyType) -> OrgPolicy:
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


def all_managed(org: Organization) -> tuple[OrgPolicy, ...]:
    """What a new root, OU or account gets: the store attaches FullAWSAccess and the managed
    policy of every type enabled on the root, in the transaction creating the target."""
    return tuple(managed_policy(org, kind) for kind in POLICY_TYPES.values())


def ensure_managed(
    ctx: CallContext, org: Organization, kind: PolicyType = POLICY_TYPES[SCP]
) -> OrgPolicy:
    """The type's AWS managed policy of this organization, stored if missing (organizations
    created before the managed policies were stored with them)."""
    store = ctx.runtime.store
    policy = managed_policy(org, kind)
    try:
        return store.get_org_policy(policy.policy_id)
    except NotFound:
        pass
    with contextlib.suppress(AlreadyExists):  # stored meanwhile by a concurrent call
        store.create_org_policy(policy)
    return policy


def public_policy_id(policy: OrgPolicy) -> str:
    # Managed policies are stored once per organization but have one public id, as on AWS.
    return POLICY_TYPES[policy.type].managed_id if policy.aws_managed else policy.policy_id


class _OrgOwned(Protocol):
    @property
    def org_id(self) -> str: ...


E = TypeVar("E", bound=_OrgOwned)


def in_org(get: Callable[[str], E], key: str, org: Organization, missing: OrganizationsError) -> E:
    """The entity ``key`` of this organization; another organization's is not found either."""
    try:
        found = get(key)
    except NotFound:
        raise missing from None
    if found.org_id != org.org_id:
        raise missing
    return found


def find_policy(ctx: CallContext, org: Organization, policy_id: str) -> OrgPolicy:
    stored_id = f"{policy_id}-{org.org_id}" if policy_id in MANAGED_IDS else policy_id
    missing = error(
        "PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified."
    )
    return in_org(ctx.runtime.store.get_org_policy, stored_id, org, missing)


def check_content(content: str, kind: PolicyType) -> None:
    try:
        parse_policy(content, kind.kind)
    except SenderError as exc:
        raise error("MalformedPolicyDocumentException", exc.message) from None


def check_target(ctx: CallContext, org: Organization, target_id: str) -> None:
    store = ctx.runtime.store
    try:
        if re.fullmatch(r"\d{12}", target_id):
            if store.get_org_account(target_id).org_id == org.org_id:
                return
        elif store.get_org_unit(target_id).org_id == org.org_id:
            return
    except NotFound:
        pass
    raise error(
        "TargetNotFoundException",
        "We can't find a root, OU, or account with the TargetId that you specified.",
    )


# -- issue 13: ids, paging, and authorizing on the named resource ---------------------------

# Id patterns of the Organizations model (service-2.json): AccountId, ParentId, ChildId,
# RootId, PolicyId and TaggableResourceId.
ACCOUNT_ID = re.compile(r"\d{12}")
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
ROOT_ID = re.compile(r"r-[0-9a-z]{4,32}")
POLICY_ID = re.compile(r"p-[0-9a-zA-Z_]{8,128}")
MAX_RESULTS = 20


def invalid(name: str) -> OrganizationsError:
    """InvalidInputException, reason INVALID_PATTERN."""
    return error("InvalidInputException",
                 f"You provided a value that does not match the required pattern for {name}.")


def id_param(params: Params, name: str, *patterns: re.Pattern[str],
             required: bool = True) -> str | None:
    value = text(params, name, required=required, max_len=130)
    if value is not None and not any(p.fullmatch(value) for p in patterns):
        raise invalid(name)
    return value


def enum_param(params: Params, name: str, allowed: tuple[str, ...],
               *, required: bool = True) -> str | None:
    value = text(params, name, required=required, max_len=128)
    if value is not None and value not in allowed:
        raise error("InvalidInputException",
                    f"You specified an invalid value for {name}: {value}.")
    return value


T = TypeVar("T")


def page(params: Params, items: list[T], key: Callable[[T], str], field: str,
         view: Callable[[T], dict[str, Any]], *, limit: int = MAX_RESULTS) -> dict[str, Any]:
    """One page of ``items`` (sorted by ``key``): NextToken/MaxResults as the Organizations
    List* operations take them ("MaxResults ... between 1 and 20"; NextToken opaque)."""
    raw = params.raw()
    max_results: object = raw.get("MaxResults", limit)
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not (
            1 <= max_results <= limit):
        raise error("InvalidInputException",
                    f"MaxResults must be between 1 and {limit}.")
    token = raw.get("NextToken")
    rows = sorted(items, key=key)
    if token is not None:
        try:
            after = base64.b64decode(str(token).encode(), altchars=b"-_",
                                     validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise error("InvalidInputException", "The NextToken value is not valid.") from None
        rows = [r for r in rows if key(r) > after]
    out: dict[str, Any] = {field: [view(r) for r in rows[:max_results]]}
    if len(rows) > max_results:
        out["NextToken"] = base64.urlsafe_b64encode(
            key(rows[max_results - 1]).encode()).decode()
    return out


def management_only(ctx: CallContext) -> Organization:
    """The caller's organization, when the caller is its management account; the operation
    then authorizes on the resource it names."""
    org = org_of(ctx)
    if ctx.require_caller().account_id != org.management_account_id:
        raise error("AccessDeniedException",
                    "You don't have permissions to access this resource.")
    return org


def find_member(ctx: CallContext, org: Organization, account_id: str) -> OrgAccount:
    missing = error("AccountNotFoundException",
                    "We can't find an AWS account with the AccountId that you specified.")
    return in_org(ctx.runtime.store.get_org_account, account_id, org, missing)


def find_unit(ctx: CallContext, org: Organization, unit_id: str,
              missing: OrganizationsError) -> OrgUnit:
    return in_org(ctx.runtime.store.get_org_unit, unit_id, org, missing)


def target_arn(ctx: CallContext, org: Organization, target_id: str,
               missing: OrganizationsError) -> str:
    """The ARN of the root, OU, account or (customer or AWS managed) policy ``target_id``."""
    store = ctx.runtime.store
    if ACCOUNT_ID.fullmatch(target_id):
        return in_org(store.get_org_account, target_id, org, missing).arn
    if target_id.startswith("p-"):
        stored = f"{target_id}-{org.org_id}" if target_id in MANAGED_IDS else target_id
        return in_org(store.get_org_policy, stored, org, missing).arn
    return in_org(store.get_org_unit, target_id, org, missing).arn

