"""ListParents/ListChildren, ListTargetsForPolicy, DescribeEffectivePolicy, tags of roots,
OUs, accounts and policies, delegated administrators, CloseAccount and
RemoveAccountFromOrganization, through boto3 (a few through the AWS CLI).

Organizations API reference: each operation's parameters (patterns, MaxResults 1–20),
errors (``...Exception`` codes, HTTP 400) and the account states of CloseAccount."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, unique
from tests.sts.helpers import allow, doc


def _err(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    r = info.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


@pytest.fixture
def orgs(server: Server, organization: dict[str, Any]) -> Any:
    return server.client("organizations")


@pytest.fixture
def root_id(organization: dict[str, Any]) -> str:
    return str(organization["root"]["Id"])


def _all_accounts(orgs: Any) -> list[dict[str, Any]]:
    """Every page of ListAccounts (AWS pages at 20 at most)."""
    return [a for page in orgs.get_paginator("list_accounts").paginate() for a in page["Accounts"]]


def _account(orgs: Any) -> str:
    name = unique("acct")
    status = orgs.create_account(Email=f"{name}@example.com", AccountName=name)
    return str(status["CreateAccountStatus"]["AccountId"])


def test_parents_and_children(orgs: Any, root_id: str) -> None:
    ou = orgs.create_organizational_unit(ParentId=root_id, Name=unique("ou"))
    ou_id = ou["OrganizationalUnit"]["Id"]
    inner = orgs.create_organizational_unit(ParentId=ou_id, Name="inner")
    inner_id = inner["OrganizationalUnit"]["Id"]
    account = _account(orgs)
    orgs.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ou_id)
    assert orgs.list_parents(ChildId=account)["Parents"] == [
        {"Id": ou_id, "Type": "ORGANIZATIONAL_UNIT"}]
    assert orgs.list_parents(ChildId=ou_id)["Parents"] == [{"Id": root_id, "Type": "ROOT"}]
    assert orgs.list_parents(ChildId=ACCOUNT_ID)["Parents"] == [{"Id": root_id, "Type": "ROOT"}]
    assert orgs.list_children(ParentId=ou_id, ChildType="ACCOUNT")["Children"] == [
        {"Id": account, "Type": "ACCOUNT"}]
    assert orgs.list_children(ParentId=ou_id, ChildType="ORGANIZATIONAL_UNIT")["Children"] == [
        {"Id": inner_id, "Type": "ORGANIZATIONAL_UNIT"}]
    code = _err(orgs.list_parents, ChildId="ou-zzzz-zzzzzzzz")
    assert code[:2] == ("ChildNotFoundException", 400)
    assert "ChildId" in code[2]
    assert _err(orgs.list_children, ParentId="ou-zzzz-zzzzzzzz",
                ChildType="ACCOUNT")[:2] == ("ParentNotFoundException", 400)
    assert _err(orgs.list_children, ParentId=root_id, ChildType="ROOT")[0] == (
        "InvalidInputException")
    assert _err(orgs.list_parents, ChildId="not-an-id")[0] == "InvalidInputException"


def test_list_children_pages(orgs: Any, root_id: str) -> None:
    ou_id = orgs.create_organizational_unit(ParentId=root_id, Name=unique("paged"))[
        "OrganizationalUnit"]["Id"]
    made = {orgs.create_organizational_unit(ParentId=ou_id, Name=f"c{i}")["OrganizationalUnit"][
        "Id"] for i in range(5)}
    seen: list[str] = []
    kwargs: dict[str, Any] = {"ParentId": ou_id, "ChildType": "ORGANIZATIONAL_UNIT",
                              "MaxResults": 2}
    while True:
        answer = orgs.list_children(**kwargs)
        assert len(answer["Children"]) <= 2
        seen.extend(c["Id"] for c in answer["Children"])
        if "NextToken" not in answer:
            break
        kwargs["NextToken"] = answer["NextToken"]
    assert sorted(seen) == sorted(made) and len(seen) == 5
    paginator = orgs.get_paginator("list_children")
    pages = list(paginator.paginate(ParentId=ou_id, ChildType="ORGANIZATIONAL_UNIT",
                                    PaginationConfig={"PageSize": 3}))
    assert sum(len(p["Children"]) for p in pages) == 5 and len(pages) == 2
    assert _err(orgs.list_children, ParentId=ou_id, ChildType="ACCOUNT",
                NextToken="!!!")[0] == "InvalidInputException"


def test_targets_for_policy(orgs: Any, root_id: str) -> None:
    account = _account(orgs)
    policy = orgs.create_policy(Content=doc(allow("s3:*")), Name=unique("scp"),
                                Description="", Type="SERVICE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    assert orgs.list_targets_for_policy(PolicyId=policy_id)["Targets"] == []
    orgs.attach_policy(PolicyId=policy_id, TargetId=account)
    orgs.attach_policy(PolicyId=policy_id, TargetId=root_id)
    targets = {t["TargetId"]: t for t in orgs.list_targets_for_policy(PolicyId=policy_id)[
        "Targets"]}
    assert targets[account]["Type"] == "ACCOUNT"
    assert targets[account]["Arn"].endswith(f"/{account}")
    assert targets[root_id]["Type"] == "ROOT" and targets[root_id]["Name"] == "Root"
    # Every account of the (shared) organization carries FullAWSAccess: read all pages.
    full = {t["TargetId"]
            for page in orgs.get_paginator("list_targets_for_policy").paginate(
                PolicyId="p-FullAWSAccess")
            for t in page["Targets"]}
    assert {root_id, account, ACCOUNT_ID} <= full
    assert _err(orgs.list_targets_for_policy, PolicyId="p-zzzzzzzz")[:2] == (
        "PolicyNotFoundException", 400)


def test_effective_policy_of_an_unmanaged_type(orgs: Any) -> None:
    code = _err(orgs.describe_effective_policy, PolicyType="TAG_POLICY")
    assert code[:2] == ("EffectivePolicyNotFoundException", 400)
    # SCPs and RCPs are authorization policies, not management policies.
    assert _err(orgs.describe_effective_policy, PolicyType="SERVICE_CONTROL_POLICY")[0] == (
        "InvalidInputException")
    assert _err(orgs.describe_effective_policy, PolicyType="TAG_POLICY",
                TargetId="999999999999")[0] == "TargetNotFoundException"


def test_tags_of_every_kind_of_resource(orgs: Any, root_id: str) -> None:
    account = _account(orgs)
    ou_id = orgs.create_organizational_unit(ParentId=root_id, Name=unique("tagged"))[
        "OrganizationalUnit"]["Id"]
    policy_id = orgs.create_policy(Content=doc(allow("s3:*")), Name=unique("scp"),
                                   Description="", Type="SERVICE_CONTROL_POLICY")[
        "Policy"]["PolicySummary"]["Id"]
    for resource in (account, ou_id, policy_id, root_id):
        orgs.tag_resource(ResourceId=resource, Tags=[{"Key": "team", "Value": "a"},
                                                     {"Key": "Team", "Value": "b"}])
        orgs.tag_resource(ResourceId=resource, Tags=[{"Key": "team", "Value": "c"}])
        assert orgs.list_tags_for_resource(ResourceId=resource)["Tags"] == [
            {"Key": "Team", "Value": "b"}, {"Key": "team", "Value": "c"}]
        orgs.untag_resource(ResourceId=resource, TagKeys=["Team"])
        assert orgs.list_tags_for_resource(ResourceId=resource)["Tags"] == [
            {"Key": "team", "Value": "c"}]
    many = [{"Key": f"k{i}", "Value": ""} for i in range(50)]
    assert _err(orgs.tag_resource, ResourceId=ou_id, Tags=many)[:2] == (
        "ConstraintViolationException", 400)
    assert _err(orgs.tag_resource, ResourceId="ou-zzzz-zzzzzzzz", Tags=[
        {"Key": "a", "Value": "b"}])[:2] == ("TargetNotFoundException", 400)
    assert _err(orgs.tag_resource, ResourceId=ou_id, Tags=[
        {"Key": "aws:x", "Value": "b"}])[0] == "InvalidInputException"
    assert _err(orgs.tag_resource, ResourceId="p-FullAWSAccess", Tags=[
        {"Key": "a", "Value": "b"}])[0] == "InvalidInputException"


def test_tags_through_the_cli(server: Server, orgs: Any, root_id: str) -> None:
    server.aws("organizations", "tag-resource", "--resource-id", root_id,
               "--tags", "Key=cli,Value=yes")
    listed = server.aws_json("organizations", "list-tags-for-resource",
                             "--resource-id", root_id)
    assert {"Key": "cli", "Value": "yes"} in listed["Tags"]
    server.aws("organizations", "untag-resource", "--resource-id", root_id,
               "--tag-keys", "cli")


def test_tag_authorization_reads_request_tags(
    server: Server, orgs: Any, root_id: str, new_user: Any
) -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "organizations:TagResource", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "ok"}}}]}
    _, key, secret = new_user(policy)
    limited = server.client("organizations", key, secret)
    limited.tag_resource(ResourceId=root_id, Tags=[{"Key": "team", "Value": "ok"}])
    code = _err(limited.tag_resource, ResourceId=root_id, Tags=[{"Key": "team", "Value": "no"}])
    # Organizations answers a denial with AccessDeniedException, HTTP 400 (Common Errors).
    assert code[:2] == ("AccessDeniedException", 400)
    assert _err(limited.list_tags_for_resource, ResourceId=root_id)[0] == (
        "AccessDeniedException")


def test_delegated_administrators(orgs: Any) -> None:
    account = _account(orgs)
    code = _err(orgs.register_delegated_administrator, AccountId=account,
                ServicePrincipal="securityhub.amazonaws.com")
    assert code[0] == "ConstraintViolationException" and "EnableAWSServiceAccess" in code[2]
    for service in ("config.amazonaws.com", "guardduty.amazonaws.com"):
        orgs.enable_aws_service_access(ServicePrincipal=service)
    orgs.register_delegated_administrator(AccountId=account,
                                          ServicePrincipal="config.amazonaws.com")
    orgs.register_delegated_administrator(AccountId=account,
                                          ServicePrincipal="guardduty.amazonaws.com")
    code = _err(orgs.register_delegated_administrator, AccountId=account,
                ServicePrincipal="config.amazonaws.com")
    assert code[:2] == ("AccountAlreadyRegisteredException", 400)
    admins = orgs.list_delegated_administrators(ServicePrincipal="config.amazonaws.com")[
        "DelegatedAdministrators"]
    mine = [a for a in admins if a["Id"] == account]
    assert len(mine) == 1 and mine[0]["Status"] == "ACTIVE" and "DelegationEnabledDate" in mine[0]
    services = orgs.list_delegated_services_for_account(AccountId=account)["DelegatedServices"]
    assert [s["ServicePrincipal"] for s in services] == ["config.amazonaws.com",
                                                         "guardduty.amazonaws.com"]
    assert _err(orgs.register_delegated_administrator, AccountId=ACCOUNT_ID,
                ServicePrincipal="config.amazonaws.com")[0] == "ConstraintViolationException"
    assert _err(orgs.register_delegated_administrator, AccountId="999999999999",
                ServicePrincipal="config.amazonaws.com")[0] == "AccountNotFoundException"
    assert _err(orgs.register_delegated_administrator, AccountId=account,
                ServicePrincipal="example.com")[0] == "InvalidInputException"
    # A registered delegated administrator cannot leave.
    assert _err(orgs.remove_account_from_organization, AccountId=account)[0] == (
        "ConstraintViolationException")
    for service in ("config.amazonaws.com", "guardduty.amazonaws.com"):
        orgs.deregister_delegated_administrator(AccountId=account, ServicePrincipal=service)
    assert _err(orgs.deregister_delegated_administrator, AccountId=account,
                ServicePrincipal="config.amazonaws.com")[:2] == (
        "AccountNotRegisteredException", 400)
    assert _err(orgs.list_delegated_services_for_account, AccountId=account)[0] == (
        "AccountNotRegisteredException")


def test_close_account(server: Server, orgs: Any) -> None:
    account = _account(orgs)
    server.aws("organizations", "close-account", "--account-id", account)
    described = orgs.describe_account(AccountId=account)["Account"]
    assert described["Status"] == "SUSPENDED" and described["State"] == "SUSPENDED"
    assert account in {a["Id"] for a in _all_accounts(orgs)}
    assert _err(orgs.close_account, AccountId=account)[:2] == (
        "AccountAlreadyClosedException", 400)
    assert _err(orgs.close_account, AccountId=ACCOUNT_ID)[0] == "ConstraintViolationException"
    assert _err(orgs.close_account, AccountId="999999999999")[0] == "AccountNotFoundException"
    assert _err(orgs.close_account, AccountId="12")[0] == "InvalidInputException"
    orgs.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")
    code = _err(orgs.register_delegated_administrator, AccountId=account,
                ServicePrincipal="config.amazonaws.com")
    assert code[0] == "ConstraintViolationException" and "suspended" in code[2]


def test_service_access(orgs: Any) -> None:
    orgs.enable_aws_service_access(ServicePrincipal="ssm.amazonaws.com")
    orgs.enable_aws_service_access(ServicePrincipal="ssm.amazonaws.com")  # idempotent
    enabled = {e["ServicePrincipal"]: e for e in orgs.list_aws_service_access_for_organization()[
        "EnabledServicePrincipals"]}
    assert "DateEnabled" in enabled["ssm.amazonaws.com"]
    orgs.disable_aws_service_access(ServicePrincipal="ssm.amazonaws.com")
    listed = orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert "ssm.amazonaws.com" not in {e["ServicePrincipal"] for e in listed}
    assert _err(orgs.enable_aws_service_access, ServicePrincipal="nope")[0] == (
        "InvalidInputException")


def test_organizational_units(orgs: Any, root_id: str) -> None:
    name = unique("ou")
    ou = orgs.create_organizational_unit(ParentId=root_id, Name=name,
                                         Tags=[{"Key": "env", "Value": "dev"}])[
        "OrganizationalUnit"]
    assert orgs.list_tags_for_resource(ResourceId=ou["Id"])["Tags"] == [
        {"Key": "env", "Value": "dev"}]
    assert orgs.describe_organizational_unit(OrganizationalUnitId=ou["Id"])[
        "OrganizationalUnit"] == ou
    renamed = orgs.update_organizational_unit(OrganizationalUnitId=ou["Id"], Name=name + "x")
    assert renamed["OrganizationalUnit"]["Name"] == name + "x"
    sibling = orgs.create_organizational_unit(ParentId=root_id, Name=unique("sib"))[
        "OrganizationalUnit"]
    assert _err(orgs.update_organizational_unit, OrganizationalUnitId=sibling["Id"],
                Name=name + "x")[0] == "DuplicateOrganizationalUnitException"
    assert ou["Id"] in {u["Id"] for u in orgs.list_organizational_units_for_parent(
        ParentId=root_id)["OrganizationalUnits"]}
    account = _account(orgs)
    orgs.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ou["Id"])
    assert [a["Id"] for a in orgs.list_accounts_for_parent(ParentId=ou["Id"])["Accounts"]] == [
        account]
    assert _err(orgs.delete_organizational_unit, OrganizationalUnitId=ou["Id"])[0] == (
        "OrganizationalUnitNotEmptyException")
    orgs.move_account(AccountId=account, SourceParentId=ou["Id"], DestinationParentId=root_id)
    orgs.delete_organizational_unit(OrganizationalUnitId=ou["Id"])
    assert _err(orgs.describe_organizational_unit, OrganizationalUnitId=ou["Id"])[0] == (
        "OrganizationalUnitNotFoundException")
    assert _err(orgs.list_accounts_for_parent, ParentId="ou-zzzz-zzzzzzzz")[0] == (
        "ParentNotFoundException")


def test_tags_on_create(orgs: Any) -> None:
    name = unique("tagged")
    status = orgs.create_account(Email=f"{name}@example.com", AccountName=name,
                                 Tags=[{"Key": "owner", "Value": "me"}])["CreateAccountStatus"]
    assert orgs.list_tags_for_resource(ResourceId=status["AccountId"])["Tags"] == [
        {"Key": "owner", "Value": "me"}]
    policy = orgs.create_policy(Content=doc(allow("s3:*")), Name=unique("scp"), Description="",
                                Type="SERVICE_CONTROL_POLICY",
                                Tags=[{"Key": "k", "Value": "v"}])["Policy"]["PolicySummary"]
    assert orgs.list_tags_for_resource(ResourceId=policy["Id"])["Tags"] == [
        {"Key": "k", "Value": "v"}]
    assert _err(orgs.create_policy, Content=doc(allow("s3:*")), Name=unique("scp"),
                Description="", Type="SERVICE_CONTROL_POLICY",
                Tags=[{"Key": "aws:k", "Value": "v"}])[0] == "InvalidInputException"


def test_remove_account(orgs: Any, root_id: str) -> None:
    account = _account(orgs)
    orgs.tag_resource(ResourceId=account, Tags=[{"Key": "a", "Value": "b"}])
    orgs.remove_account_from_organization(AccountId=account)
    assert account not in {a["Id"] for a in _all_accounts(orgs)}
    assert _err(orgs.describe_account, AccountId=account)[0] == "AccountNotFoundException"
    assert account not in {c["Id"] for c in orgs.list_children(
        ParentId=root_id, ChildType="ACCOUNT")["Children"]}
    assert _err(orgs.remove_account_from_organization, AccountId=account)[0] == (
        "AccountNotFoundException")
    code = _err(orgs.remove_account_from_organization, AccountId=ACCOUNT_ID)
    assert code[:2] == ("MasterCannotLeaveOrganizationException", 400)


def test_members_cannot_administer(server: Server, orgs: Any, new_user: Any) -> None:
    account = _account(orgs)
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    _, key, secret = new_user(doc(allow("sts:AssumeRole", role)))
    creds = server.client("sts", key, secret).assume_role(
        RoleArn=role, RoleSessionName="member")["Credentials"]
    member = server.client("organizations", creds["AccessKeyId"], creds["SecretAccessKey"],
                           creds["SessionToken"])
    assert _err(member.list_parents, ChildId=account)[0] == "AccessDeniedException"
    assert _err(member.close_account, AccountId=account)[0] == "AccessDeniedException"
    # Any account may ask for its own effective policy.
    assert _err(member.describe_effective_policy, PolicyType="TAG_POLICY")[0] == (
        "EffectivePolicyNotFoundException")
    assert _err(member.describe_effective_policy, PolicyType="TAG_POLICY",
                TargetId=ACCOUNT_ID)[0] == "AccessDeniedException"
