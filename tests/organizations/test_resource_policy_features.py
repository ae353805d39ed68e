"""PutResourcePolicy / DescribeResourcePolicy / DeleteResourcePolicy, EnableAllFeatures and
CreateGovCloudAccount through boto3 (Organizations API reference: ResourcePolicy shapes,
ResourcePolicyNotFoundException, HandshakeConstraintViolationException, and
ConstraintViolationException for a management account that is not GovCloud-enabled)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "DelegatingNecessaryDescribeListActions", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
    "Action": ["organizations:DescribeOrganization", "organizations:ListAccounts"],
    "Resource": "*"}]})


def _err(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    r = info.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "data")
    yield running
    stop_server(running)


def test_resource_policy_all_features_and_govcloud(own_server: Server) -> None:
    orgs = own_server.client("organizations")
    assert _err(orgs.describe_resource_policy)[0] == "AWSOrganizationsNotInUseException"
    org = orgs.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]
    assert _err(orgs.describe_resource_policy)[:2] == ("ResourcePolicyNotFoundException", 400)
    assert _err(orgs.delete_resource_policy)[0] == "ResourcePolicyNotFoundException"

    created = orgs.put_resource_policy(Content=POLICY, Tags=[{"Key": "team", "Value": "a"}])[
        "ResourcePolicy"]
    summary = created["ResourcePolicySummary"]
    assert summary["Id"].startswith("rp-")
    assert summary["Arn"] == (f"arn:aws:organizations::{org['MasterAccountId']}:"
                              f"resourcepolicy/{org['Id']}/{summary['Id']}")
    assert json.loads(created["Content"]) == json.loads(POLICY)
    assert orgs.describe_resource_policy()["ResourcePolicy"] == created
    assert orgs.list_tags_for_resource(ResourceId=summary["Id"])["Tags"] == [
        {"Key": "team", "Value": "a"}]
    orgs.tag_resource(ResourceId=summary["Id"], Tags=[{"Key": "env", "Value": "b"}])
    orgs.untag_resource(ResourceId=summary["Id"], TagKeys=["team"])
    assert orgs.list_tags_for_resource(ResourceId=summary["Id"])["Tags"] == [
        {"Key": "env", "Value": "b"}]
    updated = json.loads(POLICY)
    updated["Statement"][0]["Action"] = "organizations:DescribeOrganization"
    again = orgs.put_resource_policy(Content=json.dumps(updated))["ResourcePolicy"]
    assert again["ResourcePolicySummary"] == summary  # the same policy, new content
    assert json.loads(orgs.describe_resource_policy()["ResourcePolicy"]["Content"]) == updated
    # Validated as a resource-based policy: a statement without Principal is refused.
    no_principal = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "organizations:*", "Resource": "*"}]})
    assert _err(orgs.put_resource_policy, Content=no_principal)[:2] == (
        "InvalidInputException", 400)
    assert _err(orgs.put_resource_policy, Content="{not json")[0] == "InvalidInputException"
    assert _err(orgs.put_resource_policy, Content=POLICY,
                Tags=[{"Key": "k", "Value": "v"}])[0] == "InvalidInputException"
    orgs.delete_resource_policy()
    assert _err(orgs.describe_resource_policy)[0] == "ResourcePolicyNotFoundException"
    assert _err(orgs.list_tags_for_resource, ResourceId=summary["Id"])[0] == (
        "TargetNotFoundException")

    handshake = orgs.enable_all_features()["Handshake"]
    assert handshake["Action"] == "ENABLE_ALL_FEATURES" and handshake["Id"].startswith("h-")
    assert handshake["Resources"] == [{"Value": org["Id"], "Type": "ORGANIZATION"}]
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    assert _err(orgs.enable_all_features)[:2] == ("HandshakeConstraintViolationException", 400)

    code, status, message = _err(orgs.create_gov_cloud_account, Email="gov@example.com",
                                 AccountName="gov")
    assert (code, status) == ("ConstraintViolationException", 400)
    assert "GovCloud" in message
    assert _err(orgs.create_gov_cloud_account, Email="not-an-email",
                AccountName="gov")[0] == "InvalidInputException"
