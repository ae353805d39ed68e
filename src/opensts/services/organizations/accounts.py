"""Member accounts: CreateAccount, DescribeCreateAccountStatus, ListAccounts,
DescribeAccount, MoveAccount, CloseAccount, RemoveAccountFromOrganization."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

from opensts.credentials.ids import new_unique_id
from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded
from opensts.directory.records import (
    Account,
    CreateAccountStatus,
    NewMemberAccount,
    OrgAccount,
    Organization,
    Role,
)
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    ACCOUNT_ID,
    ADMIN_POLICY,
    EMAIL,
    ROLE_NAME,
    account_view,
    all_managed,
    check_target,
    error,
    find_member,
    id_param,
    in_org,
    management_only,
    management_org,
    status_view,
    text,
)
from opensts.services.organizations.tags import tags_on_create
from opensts.services.registry import operation
from opensts.wire.params import Params


def _new_account_id(ctx: CallContext) -> str:
    while True:
        candidate = f"{secrets.randbelow(9 * 10**11) + 10**11:012d}"
        if ctx.runtime.store.find_account(candidate) is None:
            return candidate


@operation("organizations", "CreateAccount")
def create_account(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "CreateAccount")
    email = text(params, "Email", max_len=64) or ""
    name = text(params, "AccountName", max_len=50) or ""
    role_name = text(params, "RoleName", required=False, max_len=64) or (
        "OrganizationAccountAccessRole"
    )
    if not EMAIL.fullmatch(email):
        raise error("ConstraintViolationException", "You provided an invalid email address.")
    if not ROLE_NAME.fullmatch(role_name):
        raise error("InvalidInputException", "You provided an invalid RoleName.")
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
        managed_policies=all_managed(org),
        status=done,
    )
    ctx.audit.request_parameters = {"accountName": name, "roleName": role_name}
    # AWS answers IN_PROGRESS and finishes later; here the whole account is created in one
    # store transaction before the answer, so a crash leaves all of it or nothing, and no
    # request is ever stored IN_PROGRESS.
    new = dataclasses.replace(new, tags=tags_on_create(ctx, params, new.member.arn))
    try:
        store.create_member_account(new)
    except (AlreadyExists, NotFound) as exc:
        # Nothing of the account was stored; the request is recorded as failed.
        failed = CreateAccountStatus(
            request_id, org.org_id, name, "FAILED", now, now, None, "INTERNAL_FAILURE"
        )
        store.save_create_account_status(failed)
        raise error("ConstraintViolationException", f"Account creation failed: {exc}") from exc
    return {"CreateAccountStatus": status_view(done)}


@operation("organizations", "DescribeCreateAccountStatus", read_only=True)
def describe_create_account_status(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "DescribeCreateAccountStatus")
    request_id = text(params, "CreateAccountRequestId") or ""
    missing = error(
        "CreateAccountStatusNotFoundException",
        "We can't find an create account request with the CreateAccountRequestId that you "
        "specified.",
    )
    status = in_org(ctx.runtime.store.get_create_account_status, request_id, org, missing)
    return {"CreateAccountStatus": status_view(status)}


@operation("organizations", "ListAccounts", read_only=True)
def list_accounts(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "ListAccounts")
    members = ctx.runtime.store.list_org_accounts(org.org_id)
    return {"Accounts": [account_view(m) for m in members]}


@operation("organizations", "DescribeAccount", read_only=True)
def describe_account(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_org(ctx, "DescribeAccount")
    account_id = text(params, "AccountId") or ""
    missing = error(
        "AccountNotFoundException",
        "We can't find an AWS account with the AccountId that you specified.",
    )
    member = in_org(ctx.runtime.store.get_org_account, account_id, org, missing)
    return {"Account": account_view(member)}


@operation("organizations", "MoveAccount")
def move_account(ctx: CallContext, params: Params) -> None:
    org = management_org(ctx, "MoveAccount")
    account_id = text(params, "AccountId") or ""
    source = text(params, "SourceParentId") or ""
    destination = text(params, "DestinationParentId") or ""
    check_target(ctx, org, account_id)
    check_target(ctx, org, destination)
    try:
        ctx.runtime.store.move_org_account(account_id, source, destination)
    except NotFound:
        raise error(
            "SourceParentNotFoundException",
            "We can't find a source root or OU with the ParentId that you specified.",
        ) from None
    return None



def _leaving(ctx: CallContext, params: Params, action: str) -> tuple[Organization, OrgAccount]:
    """The member named by AccountId; ``action`` is authorized on the account's ARN (the one
    it would have if it is not a member, so a denied caller learns nothing)."""
    org = management_only(ctx)
    account_id = id_param(params, "AccountId", ACCOUNT_ID) or ""
    ctx.audit.request_parameters = {"accountId": account_id}
    ctx.authorize(f"organizations:{action}", f"arn:aws:organizations::"
                  f"{org.management_account_id}:account/{org.org_id}/{account_id}")
    return org, find_member(ctx, org, account_id)


@operation("organizations", "CloseAccount")
def close_account(ctx: CallContext, params: Params) -> None:
    """The member's Status becomes SUSPENDED (AWS passes through PENDING_CLOSURE while it
    closes in the background; here it is closed when the call returns). It stays in the
    organization, as on AWS, until removed."""
    org, member = _leaving(ctx, params, "CloseAccount")
    if member.account_id == org.management_account_id:
        raise error("ConstraintViolationException",
                    "You can't close the management account with CloseAccount.")
    try:
        ctx.runtime.store.close_org_account(member.account_id, ctx.meta.now)
    except Conflict:
        raise error("AccountAlreadyClosedException",
                    "You attempted to close an account that is already closed.") from None
    except QuotaExceeded:
        raise error("ConstraintViolationException",
                    "You have exceeded close account quota for the past 30 days.") from None


@operation("organizations", "RemoveAccountFromOrganization")
def remove_account_from_organization(ctx: CallContext, params: Params) -> None:
    """The account leaves with its policy attachments and tags; it keeps its IAM entities
    (OrganizationAccountAccessRole too, as on AWS)."""
    org, member = _leaving(ctx, params, "RemoveAccountFromOrganization")
    store = ctx.runtime.store
    if member.account_id == org.management_account_id:
        raise error("MasterCannotLeaveOrganizationException",
                    "You can't remove a management account from an organization. If you want "
                    "the management account to become a member account in another "
                    "organization, you must first delete the current organization of the "
                    "management account.")
    if store.list_delegated_admins(org.org_id, account_id=member.account_id):
        raise error("ConstraintViolationException",
                    "You attempted to remove an account that is registered as a delegated "
                    "administrator for a service integrated with your organization. To "
                    "complete this operation, you must first deregister this account as a "
                    "delegated administrator.")
    with contextlib.suppress(NotFound):  # removed meanwhile by a concurrent call
        store.remove_org_account(member.account_id)
