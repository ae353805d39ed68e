"""DisablePolicyType and DeleteOrganization, on a server of their own (they change the whole
organization, which the session's server shares between tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server, unique
from tests.sts.helpers import allow, doc


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "data")
    yield running
    stop_server(running)


def _code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return str(info.value.response["Error"]["Code"])


def test_disable_policy_type_detaches_and_delete_needs_an_empty_organization(
    own_server: Server,
) -> None:
    orgs = own_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]["Id"]
    assert _code(orgs.disable_policy_type, RootId=root,
                 PolicyType="SERVICE_CONTROL_POLICY") == "PolicyTypeNotEnabledException"
    orgs.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    name = unique("acct")
    account = orgs.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"]["AccountId"]
    scp = orgs.create_policy(Content=doc(allow("s3:*")), Name="s3", Description="",
                             Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=scp, TargetId=account)
    disabled = orgs.disable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    assert disabled["Root"]["PolicyTypes"] == []
    assert orgs.list_targets_for_policy(PolicyId=scp)["Targets"] == []
    full = {t["TargetId"] for t in orgs.list_targets_for_policy(PolicyId="p-FullAWSAccess")[
        "Targets"]}
    assert account in full and root in full
    assert _code(orgs.disable_policy_type, RootId="r-zzzz",
                 PolicyType="SERVICE_CONTROL_POLICY") == "RootNotFoundException"
    assert _code(orgs.delete_organization) == "OrganizationNotEmptyException"
    orgs.remove_account_from_organization(AccountId=account)
    own_server.aws("organizations", "delete-organization")
    assert _code(orgs.describe_organization) == "AWSOrganizationsNotInUseException"
    orgs.create_organization(FeatureSet="ALL")  # the account may start again
