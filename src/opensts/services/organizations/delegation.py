"""Trusted access of AWS services and delegated administrators: EnableAWSServiceAccess,
DisableAWSServiceAccess, ListAWSServiceAccessForOrganization,
RegisterDelegatedAdministrator, DeregisterDelegatedAdministrator,
ListDelegatedAdministrators, ListDelegatedServicesForAccount (Organizations API reference;
callable from the management account). A delegated administrator needs the service's
access enabled first (ConstraintViolationException, reason SERVICE_ACCESS_NOT_ENABLED)."""

from __future__ import annotations

import re
from typing import Any

from opensts.directory.errors import AlreadyExists, NotFound
from opensts.directory.records import DelegatedAdmin, OrgAccount, Organization
from opensts.services.context import CallContext
from opensts.services.organizations.common import (
    ACCOUNT_ID,
    error,
    find_member,
    id_param,
    management_only,
    page,
    text,
)
from opensts.services.registry import operation
from opensts.wire.params import Params

SERVICE_PRINCIPAL = re.compile(r"[\w+=,.@-]*")
NOT_REGISTERED = ("AccountNotRegisteredException", "The specified account is not a delegated "
                  "administrator for this AWS service.")


def _service_principal(params: Params, *, required: bool = True) -> str | None:
    value = text(params, "ServicePrincipal", required=required, max_len=128)
    if value is None:
        return None
    if not value or SERVICE_PRINCIPAL.fullmatch(value) is None:
        raise error("InvalidInputException", "You provided a value that does not match the "
                    "required pattern for ServicePrincipal.")
    # Only AWS services integrate with Organizations: reason UNRECOGNIZED_SERVICE_PRINCIPAL.
    if not value.endswith(".amazonaws.com") or value == ".amazonaws.com":
        raise error("InvalidInputException",
                    "You specified a service principal that isn't recognized.")
    return value


def _member(ctx: CallContext, params: Params, action: str) -> tuple[Organization, OrgAccount]:
    org = management_only(ctx)
    account_id = id_param(params, "AccountId", ACCOUNT_ID) or ""
    ctx.authorize(f"organizations:{action}", f"arn:aws:organizations::"
                  f"{org.management_account_id}:account/{org.org_id}/{account_id}")
    return org, find_member(ctx, org, account_id)


@operation("organizations", "RegisterDelegatedAdministrator")
def register_delegated_administrator(ctx: CallContext, params: Params) -> None:
    service = _service_principal(params) or ""
    org, member = _member(ctx, params, "RegisterDelegatedAdministrator")
    ctx.audit.request_parameters = {"accountId": member.account_id, "servicePrincipal": service}
    if member.account_id == org.management_account_id:
        raise error("ConstraintViolationException",
                    "You attempted to register the management account of the organization as "
                    "a delegated administrator for an AWS service integrated with "
                    "Organizations. You can designate only a member account as a delegated "
                    "administrator.")
    if member.status != "ACTIVE":
        raise error("ConstraintViolationException",
                    "You cannot register a suspended account as a delegated administrator.")
    if service not in {p for p, _ in ctx.runtime.store.list_org_service_access(org.org_id)}:
        raise error("ConstraintViolationException",
                    "You attempted to register a delegated administrator before you enabled "
                    "service access. Call the EnableAWSServiceAccess API first.")
    try:
        ctx.runtime.store.register_delegated_admin(
            DelegatedAdmin(member.account_id, service, org.org_id, ctx.meta.now))
    except AlreadyExists:
        raise error("AccountAlreadyRegisteredException", "The specified account is already a "
                    "delegated administrator for this AWS service.") from None
    except NotFound:  # removed from the organization meanwhile
        raise error("AccountNotFoundException", "We can't find an AWS account with the "
                    "AccountId that you specified.") from None


@operation("organizations", "DeregisterDelegatedAdministrator")
def deregister_delegated_administrator(ctx: CallContext, params: Params) -> None:
    service = _service_principal(params) or ""
    _, member = _member(ctx, params, "DeregisterDelegatedAdministrator")
    ctx.audit.request_parameters = {"accountId": member.account_id, "servicePrincipal": service}
    try:
        ctx.runtime.store.deregister_delegated_admin(member.account_id, service)
    except NotFound:
        raise error(*NOT_REGISTERED) from None


@operation("organizations", "ListDelegatedAdministrators", read_only=True)
def list_delegated_administrators(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_only(ctx)
    service = _service_principal(params, required=False)
    ctx.authorize("organizations:ListDelegatedAdministrators", "*")
    store = ctx.runtime.store
    # One entry per account, with the date of its first delegation.
    first: dict[str, DelegatedAdmin] = {}
    for admin in store.list_delegated_admins(org.org_id, service_principal=service):
        if admin.account_id not in first or admin.enabled < first[admin.account_id].enabled:
            first[admin.account_id] = admin

    def view(admin: DelegatedAdmin) -> dict[str, Any]:
        member = store.get_org_account(admin.account_id)
        return {"Id": member.account_id, "Arn": member.arn, "Email": member.email,
                "Name": member.name, "Status": member.status, "State": member.status,
                "JoinedMethod": member.joined_method, "JoinedTimestamp": member.joined,
                "DelegationEnabledDate": admin.enabled}

    return page(params, list(first.values()), lambda a: a.account_id,
                "DelegatedAdministrators", view)


@operation("organizations", "ListDelegatedServicesForAccount", read_only=True)
def list_delegated_services_for_account(ctx: CallContext, params: Params) -> dict[str, Any]:
    org, member = _member(ctx, params, "ListDelegatedServicesForAccount")
    services = ctx.runtime.store.list_delegated_admins(org.org_id, account_id=member.account_id)
    if not services:
        raise error(*NOT_REGISTERED)
    return page(params, services, lambda a: a.service_principal, "DelegatedServices",
                lambda a: {"ServicePrincipal": a.service_principal,
                           "DelegationEnabledDate": a.enabled})


@operation("organizations", "EnableAWSServiceAccess")
def enable_aws_service_access(ctx: CallContext, params: Params) -> None:
    service = _service_principal(params) or ""
    org = management_only(ctx)
    ctx.audit.request_parameters = {"servicePrincipal": service}
    ctx.authorize("organizations:EnableAWSServiceAccess", org.arn,
                  context={"organizations:ServicePrincipal": service})
    ctx.runtime.store.enable_org_service_access(org.org_id, service, ctx.meta.now)


@operation("organizations", "DisableAWSServiceAccess")
def disable_aws_service_access(ctx: CallContext, params: Params) -> None:
    service = _service_principal(params) or ""
    org = management_only(ctx)
    ctx.audit.request_parameters = {"servicePrincipal": service}
    ctx.authorize("organizations:DisableAWSServiceAccess", org.arn,
                  context={"organizations:ServicePrincipal": service})
    ctx.runtime.store.disable_org_service_access(org.org_id, service)


@operation("organizations", "ListAWSServiceAccessForOrganization", read_only=True)
def list_aws_service_access_for_organization(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = management_only(ctx)
    ctx.authorize("organizations:ListAWSServiceAccessForOrganization", org.arn)
    enabled = ctx.runtime.store.list_org_service_access(org.org_id)
    return page(params, enabled, lambda e: e[0], "EnabledServicePrincipals",
                lambda e: {"ServicePrincipal": e[0], "DateEnabled": e[1]})
