"""GetAccountSummary (IAM API reference, API_GetAccountSummary.html): entity counts and
the IAM quotas this server enforces (reference_iam-quotas.html)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from opensts.directory.records import Page
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    ATTACHED_POLICIES,
    INLINE_SIZE,
    MANAGED_POLICY_SIZE,
    TRUST_POLICY_SIZE,
    account,
    every,
)
from opensts.services.registry import operation
from opensts.wire.params import Params

QUOTAS = {
    "UsersQuota": 5000, "GroupsQuota": 300, "RolesQuota": 1000, "PoliciesQuota": 1500,
    "InstanceProfilesQuota": 1000, "ServerCertificatesQuota": 20,
    "AccessKeysPerUserQuota": 2, "SigningCertificatesPerUserQuota": 2,
    "GroupsPerUserQuota": 10, "VersionsPerPolicyQuota": 5,
    "PolicyVersionsInUseQuota": 10000, "PolicySizeQuota": MANAGED_POLICY_SIZE,
    "AttachedPoliciesPerUserQuota": ATTACHED_POLICIES,
    "AttachedPoliciesPerGroupQuota": ATTACHED_POLICIES,
    "AttachedPoliciesPerRoleQuota": ATTACHED_POLICIES,
    "UserPolicySizeQuota": INLINE_SIZE["user"], "GroupPolicySizeQuota": INLINE_SIZE["group"],
    "RolePolicySizeQuota": INLINE_SIZE["role"],
    "AssumeRolePolicySizeQuota": TRUST_POLICY_SIZE,
    "MFADevicesPerUserQuota": 8,
}


class EntryMap(Mapping[str, Any]):
    """An XML map as the query protocol writes it: repeated ``<entry><key/><value/>``."""

    def __init__(self, values: dict[str, int]):
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def items(self) -> Any:  # type: ignore[override]
        return [("entry", {"key": k, "value": v}) for k, v in self._values.items()]


def _count(list_page: Callable[..., Page[Any]]) -> int:
    return sum(1 for _ in every(list_page))


@operation("iam", "GetAccountSummary", read_only=True)
def get_account_summary(ctx: CallContext, params: Params) -> dict[str, Any]:
    acct = account(ctx)
    ctx.authorize("iam:GetAccountSummary", "*")
    store = ctx.runtime.store
    policies = 0
    versions = 0
    for policy in every(lambda **kw: store.list_policies(acct, scope="Local", **kw)):
        policies += 1
        versions += len(store.list_policy_versions(policy.arn))
    devices = _count(lambda **kw: store.list_virtual_mfa_devices(acct, **kw))
    in_use = _count(lambda **kw: store.list_virtual_mfa_devices(acct, assigned=True, **kw))
    summary = {
        "Users": _count(lambda **kw: store.list_users(acct, **kw)),
        "Groups": _count(lambda **kw: store.list_groups(acct, **kw)),
        "Roles": _count(lambda **kw: store.list_roles(acct, **kw)),
        "Policies": policies,
        "PolicyVersionsInUse": versions,
        "MFADevices": devices,
        "MFADevicesInUse": in_use,
        "AccountMFAEnabled": 0,
        "AccountAccessKeysPresent": 1 if store.list_access_keys(acct, None) else 0,
        "Providers": len(store.list_saml_providers(acct)) + len(store.list_oidc_providers(acct)),
        "InstanceProfiles": store.count_instance_profiles(acct),
        "ServerCertificates": store.count_server_certificates(acct),
        "AccountSigningCertificatesPresent": 1 if store.list_signing_certificates(acct, None)
        else 0,
        "GlobalEndpointTokenVersion": 1,
        **QUOTAS,
    }
    return {"SummaryMap": EntryMap(summary)}
