"""Organizations paging (ListAccounts, ListPolicies, ListPoliciesForTarget, ListRoots), the
credentials and resources of closed member accounts, AccessDeniedException with HTTP 400,
and AttachPolicy of a type not enabled on the root, through boto3.

Organizations API reference: List* take MaxResults 1–20 and NextToken ("the service might
return fewer results than the maximum even when there are more results available");
Common Errors: AccessDeniedException, HTTP Status Code 400; AttachPolicy:
PolicyTypeNotEnabledException; CloseAccount: a closed account's resources "won't be
available"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, start_server, stop_server, unique
from tests.sts.helpers import allow, creds, doc


def _err(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    r = info.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


@pytest.fixture
def orgs(server: Server, organization: dict[str, Any]) -> Any:
    return server.client("organizations")


def _account(orgs: Any) -> str:
    name = unique("acct")
    status = orgs.create_account(Email=f"{name}@example.com", AccountName=name)
    return str(status["CreateAccountStatus"]["AccountId"])


def _every(orgs: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    pages = orgs.get_paginator(operation).paginate(**kwargs)
    return [item for page in pages for item in page[key]]


def test_list_accounts_pages(orgs: Any) -> None:
    created = {_account(orgs) for _ in range(3)}
    first = orgs.list_accounts(MaxResults=1)
    assert len(first["Accounts"]) == 1 and first["NextToken"]
    every = _every(orgs, "list_accounts", "Accounts", PaginationConfig={"PageSize": 2})
    ids = [a["Id"] for a in every]
    assert len(ids) == len(set(ids)) and created | {ACCOUNT_ID} <= set(ids)
    assert ids == [a["Id"] for a in _every(orgs, "list_accounts", "Accounts")]
    # botocore checks the minimum (1) itself; the server checks the maximum.
    assert _err(orgs.list_accounts, MaxResults=21)[:2] == ("InvalidInputException", 400)
    assert _err(orgs.list_accounts, NextToken="!!not-a-token")[0] == "InvalidInputException"


def test_list_policies_and_for_target_and_roots_page(orgs: Any,
                                                      organization: dict[str, Any]) -> None:
    account = _account(orgs)
    made = []
    for _ in range(3):
        made.append(orgs.create_policy(
            Content=doc(allow("s3:*")), Description="", Name=unique("scp"),
            Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"])
    for policy_id in made:
        orgs.attach_policy(PolicyId=policy_id, TargetId=account)
    one = orgs.list_policies(Filter="SERVICE_CONTROL_POLICY", MaxResults=1)
    assert len(one["Policies"]) == 1 and one["NextToken"]
    listed = [p["Id"] for p in _every(orgs, "list_policies", "Policies",
                                       Filter="SERVICE_CONTROL_POLICY",
                                       PaginationConfig={"PageSize": 2})]
    assert len(listed) == len(set(listed)) and {*made, "p-FullAWSAccess"} <= set(listed)
    page = orgs.list_policies_for_target(TargetId=account, Filter="SERVICE_CONTROL_POLICY",
                                         MaxResults=2)
    assert len(page["Policies"]) == 2 and page["NextToken"]
    attached = _every(orgs, "list_policies_for_target", "Policies", TargetId=account,
                      Filter="SERVICE_CONTROL_POLICY", PaginationConfig={"PageSize": 1})
    assert sorted(p["Id"] for p in attached) == sorted([*made, "p-FullAWSAccess"])
    assert _err(orgs.list_policies_for_target, TargetId=account,
                Filter="SERVICE_CONTROL_POLICY", MaxResults=21)[0] == "InvalidInputException"
    roots = orgs.list_roots(MaxResults=1)
    assert [r["Id"] for r in roots["Roots"]] == [organization["root"]["Id"]]
    assert "NextToken" not in roots
    assert [r["Id"] for r in _every(orgs, "list_roots", "Roots")] == [
        organization["root"]["Id"]]
    for policy_id in made:
        orgs.detach_policy(PolicyId=policy_id, TargetId=account)


def test_denials_are_access_denied_exception_400(server: Server, orgs: Any,
                                                 new_user: Any) -> None:
    _, key, secret = new_user()  # no identity policy
    limited = server.client("organizations", key, secret)
    for call, kwargs in ((limited.list_accounts, {}), (limited.list_roots, {}),
                         (limited.describe_organization, {}),
                         (limited.list_policies, {"Filter": "SERVICE_CONTROL_POLICY"})):
        code, status, message = _err(call, **kwargs)
        assert (code, status) == ("AccessDeniedException", 400)
        assert "is not authorized to perform: organizations:" in message


def test_closed_account_credentials_and_resources_stop_working(
    server: Server, orgs: Any, new_user: Any
) -> None:
    account = _account(orgs)
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    _, key, secret = new_user(doc(allow("sts:AssumeRole", role)))
    sts = server.client("sts", key, secret)
    session = creds(sts.assume_role(RoleArn=role, RoleSessionName="before"))
    member_iam = server.client("iam", **session)
    user = unique("member-user")
    member_iam.create_user(UserName=user)
    member_key = member_iam.create_access_key(UserName=user)["AccessKey"]
    member_iam.attach_user_policy(UserName=user,
                                  PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    user_iam = server.client("iam", member_key["AccessKeyId"], member_key["SecretAccessKey"])
    user_iam.list_users()

    orgs.close_account(AccountId=account)
    for call in (member_iam.list_users, user_iam.list_users):
        code, status, message = _err(call)
        assert (code, status) == ("AccessDenied", 403)
        assert "with an explicit deny" in message
    assert _err(member_iam.create_user, UserName=unique("late"))[0] == "AccessDenied"
    # The closed account's roles can no longer be assumed, from the management account either.
    code, status, _ = _err(sts.assume_role, RoleArn=role, RoleSessionName="after")
    assert (code, status) == ("AccessDenied", 403)
    # Its principals get nothing from Organizations either; the management account can
    # still describe and remove the closed member.
    assert orgs.describe_account(AccountId=account)["Account"]["Status"] == "SUSPENDED"
    server.client("iam").list_users()  # other accounts are unaffected


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "data")
    yield running
    stop_server(running)


def test_attach_policy_of_a_type_not_enabled(own_server: Server) -> None:
    orgs = own_server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]["Id"]
    account = _account(orgs)
    scp = orgs.create_policy(Content=doc(allow("s3:*")), Name="s3", Description="",
                             Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
    code, status, message = _err(orgs.attach_policy, PolicyId=scp, TargetId=account)
    assert (code, status) == ("PolicyTypeNotEnabledException", 400)
    assert "isn't currently enabled in this root" in message
    assert _err(orgs.attach_policy, PolicyId=scp, TargetId=root)[0] == (
        "PolicyTypeNotEnabledException")
    orgs.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    orgs.attach_policy(PolicyId=scp, TargetId=account)
    rcp = orgs.create_policy(
        Content=doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
        Name="rcp", Description="", Type="RESOURCE_CONTROL_POLICY")["Policy"]["PolicySummary"]
    assert _err(orgs.attach_policy, PolicyId=rcp["Id"], TargetId=account)[0] == (
        "PolicyTypeNotEnabledException")
