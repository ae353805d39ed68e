"""SetSecurityTokenServicePreferences (reflected in GetAccountSummary) and centralized root
access for member accounts (Enable/Disable OrganizationsRootCredentialsManagement and
OrganizationsRootSessions, ListOrganizationsFeatures) through boto3, with AWS's errors:
OrganizationNotFoundException, ServiceAccessNotEnabledException,
OrganizationNotInAllFeaturesModeException, CallerIsNotManagementAccountException,
AccountNotManagementOrDelegatedAdministratorException (IAM API reference)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, start_server, stop_server

from .helpers import allow, doc, error_of, unique


def test_sts_preferences_reflected_in_account_summary(iam: Any, new_user: Any,
                                                      server: Server) -> None:
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    try:
        assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
    finally:
        iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v1Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
    code, status, message = error_of(iam.set_security_token_service_preferences,
                                     GlobalEndpointTokenVersion="v3Token")
    assert (code, status) == ("ValidationError", 400)
    assert "globalEndpointTokenVersion" in message or "GlobalEndpointTokenVersion" in message
    _, key, secret = new_user()
    denied = server.client("iam", key, secret)
    assert error_of(denied.set_security_token_service_preferences,
                    GlobalEndpointTokenVersion="v2Token")[:2] == ("AccessDenied", 403)
    _, key, secret = new_user(allow("iam:SetSecurityTokenServicePreferences"))
    server.client("iam", key, secret).set_security_token_service_preferences(
        GlobalEndpointTokenVersion="v1Token")


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "data")
    yield running
    stop_server(running)


def test_root_access_features(own_server: Server) -> None:
    iam = own_server.client("iam")
    orgs = own_server.client("organizations")
    assert error_of(iam.list_organizations_features)[:2] == (
        "OrganizationNotFoundException", 400)
    orgs.create_organization(FeatureSet="CONSOLIDATED_BILLING")
    assert error_of(iam.enable_organizations_root_sessions)[0] == (
        "OrganizationNotInAllFeaturesModeException")
    orgs.enable_all_features()
    assert error_of(iam.enable_organizations_root_credentials_management)[0] == (
        "ServiceAccessNotEnabledException")
    orgs.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    org_id = orgs.describe_organization()["Organization"]["Id"]
    assert iam.list_organizations_features()["EnabledFeatures"] == []
    got = iam.enable_organizations_root_credentials_management()
    assert got["OrganizationId"] == org_id
    assert got["EnabledFeatures"] == ["RootCredentialsManagement"]
    got = iam.enable_organizations_root_sessions()
    assert got["EnabledFeatures"] == ["RootCredentialsManagement", "RootSessions"]
    assert iam.list_organizations_features()["EnabledFeatures"] == [
        "RootCredentialsManagement", "RootSessions"]
    assert iam.disable_organizations_root_sessions()["EnabledFeatures"] == [
        "RootCredentialsManagement"]
    # A member account: Enable… is the management account's; List… also needs it (or
    # IAM's delegated administrator).
    name = unique("acct")
    member = orgs.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"]["AccountId"]
    role = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    iam.create_user(UserName="assumer")
    iam.put_user_policy(UserName="assumer", PolicyName="p",
                        PolicyDocument=doc(allow("sts:AssumeRole", resource=role)))
    key = iam.create_access_key(UserName="assumer")["AccessKey"]
    answer = own_server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
        RoleArn=role, RoleSessionName="member")["Credentials"]
    member_iam = own_server.client("iam", answer["AccessKeyId"], answer["SecretAccessKey"],
                                   answer["SessionToken"])
    assert error_of(member_iam.enable_organizations_root_sessions)[0] == (
        "CallerIsNotManagementAccountException")
    assert error_of(member_iam.list_organizations_features)[0] == (
        "AccountNotManagementOrDelegatedAdministratorException")
    orgs.register_delegated_administrator(AccountId=member,
                                          ServicePrincipal="iam.amazonaws.com")
    assert member_iam.list_organizations_features()["EnabledFeatures"] == [
        "RootCredentialsManagement"]
    assert iam.disable_organizations_root_credentials_management()["EnabledFeatures"] == []
    assert iam.list_organizations_features()["EnabledFeatures"] == []
