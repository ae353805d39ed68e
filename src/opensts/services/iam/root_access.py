"""SetSecurityTokenServicePreferences and centralized root access for member accounts
(IAM API reference: API_SetSecurityTokenServicePreferences.html,
API_EnableOrganizationsRootCredentialsManagement.html, API_EnableOrganizationsRootSessions,
the two Disable… and API_ListOrganizationsFeatures.html; IAM User Guide, id_root-user,
"Centrally manage root access for member accounts").

The STS preference is the account's GlobalEndpointTokenVersion, which GetAccountSummary
reports (1 or 2). The root access features belong to the caller's organization: they need
an organization in all-features mode with trusted access for IAM
(``iam.amazonaws.com``, EnableAWSServiceAccess) enabled. Enable… may be called only by the
management account; Disable… and List… also by IAM's delegated administrator. None of
these actions has a resource type: each is authorized on ``*``.
"""

from __future__ import annotations

import json
from typing import Any

from opensts.directory.records import Organization
from opensts.errors import SenderError
from opensts.services.context import CallContext
from opensts.services.iam.common import account
from opensts.services.registry import operation
from opensts.wire.params import Params

TOKEN_VERSION = "sts_global_endpoint_token_version"  # noqa: S105 (a setting name)
ROOT_FEATURES = "iam_root_access_features"
FEATURES = ("RootCredentialsManagement", "RootSessions")  # the model's FeatureType
IAM_PRINCIPAL = "iam.amazonaws.com"


def token_version(ctx: CallContext, account_id: str) -> int:
    """GetAccountSummary's GlobalEndpointTokenVersion: 1 unless v2Token was chosen."""
    return 2 if ctx.runtime.store.find_setting(account_id, TOKEN_VERSION) == "v2Token" else 1


@operation("iam", "SetSecurityTokenServicePreferences")
def set_security_token_service_preferences(ctx: CallContext, params: Params) -> None:
    version = params.required("GlobalEndpointTokenVersion", choices=["v1Token", "v2Token"])
    ctx.audit.request_parameters = {"globalEndpointTokenVersion": version}
    ctx.authorize("iam:SetSecurityTokenServicePreferences", "*")
    ctx.runtime.store.put_setting(account(ctx), TOKEN_VERSION, version)


def _error(code: str, message: str) -> SenderError:
    return SenderError(message, code=code, status=400)


def _organization(ctx: CallContext, action: str, *, management_only: bool) -> Organization:
    acct = account(ctx)
    store = ctx.runtime.store
    org = store.find_organization_for_account(acct)
    if org is None:
        raise _error("OrganizationNotFoundException",
                     "No organization is associated with your account.")
    if acct != org.management_account_id:
        delegated = bool(store.list_delegated_admins(
            org.org_id, service_principal=IAM_PRINCIPAL, account_id=acct))
        if management_only:
            raise _error("CallerIsNotManagementAccountException",
                         "The account making the request is not the management account "
                         "for the organization.")
        if not delegated:
            raise _error("AccountNotManagementOrDelegatedAdministratorException",
                         "The account making the request is not the management account or "
                         "delegated administrator account for centralized root access.")
    ctx.authorize(f"iam:{action}", "*")
    if org.feature_set != "ALL":
        raise _error("OrganizationNotInAllFeaturesModeException",
                     "Your organization does not have All features enabled.")
    enabled = {principal for principal, _ in store.list_org_service_access(org.org_id)}
    if IAM_PRINCIPAL not in enabled:
        raise _error("ServiceAccessNotEnabledException",
                     "Trusted access is not enabled for IAM in Organizations.")
    return org


def _features(ctx: CallContext, org: Organization) -> list[str]:
    stored = ctx.runtime.store.find_setting(org.org_id, ROOT_FEATURES)
    chosen = set(json.loads(stored)) if stored else set()
    return [f for f in FEATURES if f in chosen]


def _change(ctx: CallContext, action: str, feature: str, on: bool) -> dict[str, Any]:
    org = _organization(ctx, action, management_only=on)
    features = set(_features(ctx, org))
    features = features | {feature} if on else features - {feature}
    ordered = [f for f in FEATURES if f in features]
    ctx.runtime.store.put_setting(org.org_id, ROOT_FEATURES,
                                  json.dumps(ordered) if ordered else None)
    return {"OrganizationId": org.org_id, "EnabledFeatures": ordered}


@operation("iam", "EnableOrganizationsRootCredentialsManagement")
def enable_root_credentials_management(ctx: CallContext, params: Params) -> dict[str, Any]:
    return _change(ctx, "EnableOrganizationsRootCredentialsManagement",
                   "RootCredentialsManagement", True)


@operation("iam", "EnableOrganizationsRootSessions")
def enable_root_sessions(ctx: CallContext, params: Params) -> dict[str, Any]:
    return _change(ctx, "EnableOrganizationsRootSessions", "RootSessions", True)


@operation("iam", "DisableOrganizationsRootCredentialsManagement")
def disable_root_credentials_management(ctx: CallContext, params: Params) -> dict[str, Any]:
    return _change(ctx, "DisableOrganizationsRootCredentialsManagement",
                   "RootCredentialsManagement", False)


@operation("iam", "DisableOrganizationsRootSessions")
def disable_root_sessions(ctx: CallContext, params: Params) -> dict[str, Any]:
    return _change(ctx, "DisableOrganizationsRootSessions", "RootSessions", False)


@operation("iam", "ListOrganizationsFeatures", read_only=True)
def list_organizations_features(ctx: CallContext, params: Params) -> dict[str, Any]:
    org = _organization(ctx, "ListOrganizationsFeatures", management_only=False)
    return {"OrganizationId": org.org_id, "EnabledFeatures": _features(ctx, org)}
