"""Unused access findings through boto3's ``accessanalyzer`` against a real server.

Last-used data comes from real calls (AssumeRole, signed requests with an access key, a
sign-in page password check, IAM calls recorded in the audit log). Ages are made without
waiting: the ``aged`` fixture opens the server's own SQLite store and moves a principal's
creation date (and, where a test needs an old last use, that date) into the past, as if it
had been created months ago. Nothing in the server is test-only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from opensts.store import schema
from tests.analyzer.conftest import analyzer_client
from tests.conftest import Server, start_server, stop_server
from tests.signin.helpers import PASSWORD, Browser, Client
from tests.signin.helpers import User as SigninUser

LONG_AGO = timedelta(days=200)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's own server: an unused-access analyzer scans the whole account, so the
    findings listed here should not depend on what the rest of the suite created."""
    running = start_server(tmp_path_factory.mktemp("unused") / "data")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def aa(server: Server) -> Any:
    return analyzer_client(server)


@pytest.fixture(scope="module")
def iam(server: Server) -> Any:
    return server.client("iam")


class Aged:
    """Writes creation and last-used dates straight into the server's SQLite store."""

    def __init__(self, server: Server):
        self.engine = sa.create_engine(f"sqlite:///{server.data_dir / 'opensts.db'}")
        self.account = server.account_id

    def _update(self, table: sa.Table, where: Any, **values: Any) -> None:
        with self.engine.begin() as conn:
            assert conn.execute(sa.update(table).where(where).values(**values)).rowcount == 1

    def role(self, name: str, *, created: timedelta = LONG_AGO,
             last_used: timedelta | None = None, account: str | None = None) -> None:
        now = datetime.now(UTC)
        values: dict[str, Any] = {"created": now - created}
        if last_used is not None:
            values["last_used"] = now - last_used
        t = schema.roles
        self._update(t, (t.c.account_id == (account or self.account)) & (t.c.name == name),
                     **values)

    def user(self, name: str, *, created: timedelta = LONG_AGO) -> None:
        """The user, its login profile and its access keys, all created ``created`` ago."""
        when = datetime.now(UTC) - created
        t = schema.users
        self._update(t, (t.c.account_id == self.account) & (t.c.name == name), created=when)
        with self.engine.begin() as conn:
            user_id = conn.execute(sa.select(t.c.user_id).where(
                (t.c.account_id == self.account) & (t.c.name == name))).scalar_one()
            for table in (schema.login_profiles, schema.access_keys):
                conn.execute(sa.update(table).where(table.c.user_id == user_id)
                             .values(created=when))

    def key_last_used(self, key_id: str, ago: timedelta) -> None:
        t = schema.access_keys
        self._update(t, t.c.access_key_id == key_id, last_used=datetime.now(UTC) - ago,
                     last_used_service="iam", last_used_region="us-east-1")

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def aged(server: Server) -> Iterator[Aged]:
    helper = Aged(server)
    yield helper
    helper.close()


@pytest.fixture(scope="module")
def analyzer(aa: Any) -> str:
    name = f"unused-{uuid.uuid4().hex[:8]}"
    return str(aa.create_analyzer(analyzerName=name, type="ACCOUNT_UNUSED_ACCESS",
                                  configuration={"unusedAccess": {"unusedAccessAge": 90}}
                                  )["arn"])


def findings_for(aa: Any, analyzer: str, resource: str) -> list[dict[str, Any]]:
    pages = aa.get_paginator("list_findings_v2").paginate(analyzerArn=analyzer)
    return [f for page in pages for f in page["findings"] if f.get("resource") == resource]


def active(aa: Any, analyzer: str, resource: str) -> list[dict[str, Any]]:
    return [f for f in findings_for(aa, analyzer, resource) if f["status"] == "ACTIVE"]


def details(aa: Any, analyzer: str, finding_id: str) -> list[dict[str, Any]]:
    got = aa.get_finding_v2(analyzerArn=analyzer, id=finding_id)
    return list(got["findingDetails"])


def trust(server: Server) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"}}]})


def make_role(iam: Any, server: Server, actions: list[str]) -> tuple[str, str]:
    name = f"r-{uuid.uuid4().hex[:10]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(server))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return name, arn


def assume(server: Server, caller: tuple[str, str], role_arn: str) -> Any:
    sts = server.client("sts", key=caller[0], secret=caller[1])
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="session")["Credentials"]
    return creds


def as_session(server: Server, service: str, creds: dict[str, Any]) -> Any:
    return server.client(service, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                         token=creds["SessionToken"])


@pytest.fixture
def assumer(new_user: Any) -> tuple[str, str]:
    _, key, secret = new_user({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    return key, secret


def test_unused_role_then_resolved_when_assumed(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged, assumer: tuple[str, str]
) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name)
    [finding] = active(aa, analyzer, arn)
    assert finding["findingType"] == "UnusedIAMRole"
    assert finding["resourceType"] == "AWS::IAM::Role"
    assert finding["resourceOwnerAccount"] == server.account_id
    assert details(aa, analyzer, finding["id"]) == [{"unusedIamRoleDetails": {}}]

    creds = assume(server, assumer, arn)  # RoleLastUsed is now
    as_session(server, "iam", creds).list_users()
    after = findings_for(aa, analyzer, arn)
    assert [f["status"] for f in after if f["id"] == finding["id"]] == ["RESOLVED"]
    assert [f for f in after if f["status"] == "ACTIVE"] == []  # and all it may do, used


def test_role_last_used_long_ago_carries_last_accessed(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged
) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name, last_used=timedelta(days=120))
    [finding] = active(aa, analyzer, arn)
    [detail] = details(aa, analyzer, finding["id"])
    last = detail["unusedIamRoleDetails"]["lastAccessed"]
    assert abs(last - (datetime.now(UTC) - timedelta(days=120))) < timedelta(minutes=5)


def test_unused_permission_of_a_role_that_used_only_list_users(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged, assumer: tuple[str, str]
) -> None:
    name, arn = make_role(iam, server, ["s3:*", "iam:ListUsers"])
    aged.role(name)
    creds = assume(server, assumer, arn)
    as_session(server, "iam", creds).list_users()
    [finding] = active(aa, analyzer, arn)
    assert finding["findingType"] == "UnusedPermission"
    assert details(aa, analyzer, finding["id"]) == [
        {"unusedPermissionDetails": {"serviceNamespace": "s3"}}]


def test_partly_used_service_lists_its_unused_actions(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged, assumer: tuple[str, str]
) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers", "iam:ListRoles"])
    aged.role(name)
    session_iam = as_session(server, "iam", assume(server, assumer, arn))
    session_iam.list_roles()
    [finding] = active(aa, analyzer, arn)
    [detail] = details(aa, analyzer, finding["id"])
    permission = detail["unusedPermissionDetails"]
    assert permission["serviceNamespace"] == "iam"
    assert permission["actions"] == [{"action": "iam:ListUsers"}]
    assert datetime.now(UTC) - permission["lastAccessed"] < timedelta(minutes=5)

    session_iam.list_users()  # now every granted action is used: resolved
    assert [f["status"] for f in findings_for(aa, analyzer, arn)] == ["RESOLVED"]


def test_used_role_is_no_finding(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged, assumer: tuple[str, str]
) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name)
    control_name, control = make_role(iam, server, ["iam:ListUsers"])  # same, never used
    aged.role(control_name)
    as_session(server, "iam", assume(server, assumer, arn)).list_users()
    assert findings_for(aa, analyzer, arn) == []
    assert [f["findingType"] for f in active(aa, analyzer, control)] == ["UnusedIAMRole"]


def test_young_role_and_user_are_no_finding(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged
) -> None:
    _, role_arn = make_role(iam, server, ["s3:*"])  # never assumed, but created just now
    name = f"u-{uuid.uuid4().hex[:10]}"
    user_arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.create_access_key(UserName=name)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    assert findings_for(aa, analyzer, role_arn) == []
    assert findings_for(aa, analyzer, user_arn) == []
    # The same user, as if created 200 days ago: its key and password are unused.
    aged.user(name)
    assert sorted(f["findingType"] for f in active(aa, analyzer, user_arn)) == [
        "UnusedIAMUserAccessKey", "UnusedIAMUserPassword"]


def test_unused_access_key_then_resolved_when_used(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged
) -> None:
    name = f"u-{uuid.uuid4().hex[:10]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    stale = iam.create_access_key(UserName=name)["AccessKey"]
    never = iam.create_access_key(UserName=name)["AccessKey"]
    aged.user(name)
    aged.key_last_used(stale["AccessKeyId"], timedelta(days=100))
    found = active(aa, analyzer, arn)
    assert sorted(f["findingType"] for f in found) == ["UnusedIAMUserAccessKey"] * 2
    by_key = {}
    for f in found:
        [detail] = details(aa, analyzer, f["id"])
        by_key[detail["unusedIamUserAccessKeyDetails"]["accessKeyId"]] = (f, detail)
    assert set(by_key) == {stale["AccessKeyId"], never["AccessKeyId"]}
    assert "lastAccessed" not in by_key[never["AccessKeyId"]][1]["unusedIamUserAccessKeyDetails"]
    last = by_key[stale["AccessKeyId"]][1]["unusedIamUserAccessKeyDetails"]["lastAccessed"]
    assert datetime.now(UTC) - last > timedelta(days=99)
    assert by_key[stale["AccessKeyId"]][0]["resourceType"] == "AWS::IAM::User"

    # A request signed with the key (GetCallerIdentity needs no permission): used.
    caller = server.client("sts", key=never["AccessKeyId"], secret=never["SecretAccessKey"])
    caller.get_caller_identity()
    statuses = {f["id"]: f["status"] for f in findings_for(aa, analyzer, arn)}
    assert statuses[by_key[never["AccessKeyId"]][0]["id"]] == "RESOLVED"
    assert statuses[by_key[stale["AccessKeyId"]][0]["id"]] == "ACTIVE"


def test_unused_password_then_resolved_after_sign_in(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged
) -> None:
    name = f"u-{uuid.uuid4().hex[:10]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    aged.user(name)
    [finding] = active(aa, analyzer, arn)
    assert finding["findingType"] == "UnusedIAMUserPassword"
    assert details(aa, analyzer, finding["id"]) == [{"unusedIamUserPasswordDetails": {}}]

    browser = Browser(server.endpoint)
    page = browser.authorize(challenge=Client(server.endpoint).challenge)
    browser.sign_in(page.text, SigninUser(name, server.account_id, arn))
    last_used = iam.get_user(UserName=name)["User"].get("PasswordLastUsed")
    assert last_used is not None and datetime.now(UTC) - last_used < timedelta(minutes=5)
    assert [f["status"] for f in findings_for(aa, analyzer, arn)] == ["RESOLVED"]


def test_deleted_role_finding_is_resolved(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged
) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name)
    [finding] = active(aa, analyzer, arn)
    iam.delete_role_policy(RoleName=name, PolicyName="p")
    iam.delete_role(RoleName=name)
    assert [f["status"] for f in findings_for(aa, analyzer, arn)] == ["RESOLVED"]
    assert finding["findingType"] == "UnusedIAMRole"


def test_age_of_the_analyzer_decides(
    aa: Any, iam: Any, server: Server, aged: Aged
) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name, created=timedelta(days=60), last_used=timedelta(days=40))
    short = aa.create_analyzer(analyzerName=f"u30-{uuid.uuid4().hex[:8]}",
                               type="ACCOUNT_UNUSED_ACCESS",
                               configuration={"unusedAccess": {"unusedAccessAge": 30}})["arn"]
    default = aa.create_analyzer(analyzerName=f"u90-{uuid.uuid4().hex[:8]}",
                                 type="ACCOUNT_UNUSED_ACCESS")["arn"]
    assert [f["findingType"] for f in active(aa, short, arn)] == ["UnusedIAMRole"]
    assert findings_for(aa, default, arn) == []  # 60 days old: younger than 90 days


def test_exclusion_by_tag(aa: Any, iam: Any, server: Server, aged: Aged) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    iam.tag_role(RoleName=name, Tags=[{"Key": "keep", "Value": "yes"}])
    aged.role(name)
    excluding = aa.create_analyzer(
        analyzerName=f"ux-{uuid.uuid4().hex[:8]}", type="ACCOUNT_UNUSED_ACCESS",
        configuration={"unusedAccess": {"unusedAccessAge": 90, "analysisRule": {
            "exclusions": [{"resourceTags": [{"keep": "yes"}]}]}}})["arn"]
    assert findings_for(aa, excluding, arn) == []


def test_organization_analyzer_covers_member_accounts(
    aa: Any, iam: Any, server: Server, aged: Aged, new_user: Any
) -> None:
    orgs = server.client("organizations")
    orgs.create_organization(FeatureSet="ALL")
    account = orgs.create_account(Email="unused-member@example.com", AccountName="unused")[
        "CreateAccountStatus"]["AccountId"]
    admin = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    _, key, secret = new_user({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": admin}]})
    creds = server.client("sts", key=key, secret=secret).assume_role(
        RoleArn=admin, RoleSessionName="admin")["Credentials"]
    member_iam = as_session(server, "iam", creds)
    name = f"r-{uuid.uuid4().hex[:10]}"
    arn = member_iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(server))[
        "Role"]["Arn"]
    aged.role(name, account=account)
    org_analyzer = aa.create_analyzer(analyzerName=f"uorg-{uuid.uuid4().hex[:8]}",
                                      type="ORGANIZATION_UNUSED_ACCESS")["arn"]
    account_analyzer = aa.create_analyzer(analyzerName=f"uacct-{uuid.uuid4().hex[:8]}",
                                          type="ACCOUNT_UNUSED_ACCESS")["arn"]
    [finding] = active(aa, org_analyzer, arn)
    assert (finding["findingType"], finding["resourceOwnerAccount"]) == (
        "UnusedIAMRole", account)
    assert findings_for(aa, account_analyzer, arn) == []  # another account: not its zone


def test_recommendation_for_unused_permissions(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged, assumer: tuple[str, str]
) -> None:
    name, arn = make_role(iam, server, ["s3:*", "iam:ListUsers"])
    policy_arn = iam.create_policy(PolicyName=f"s3-{name}", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    aged.role(name)
    as_session(server, "iam", assume(server, assumer, arn)).list_users()
    [finding] = active(aa, analyzer, arn)
    with pytest.raises(aa.exceptions.ResourceNotFoundException):
        aa.get_finding_recommendation(analyzerArn=analyzer, id=finding["id"])
    aa.generate_finding_recommendation(analyzerArn=analyzer, id=finding["id"])
    got = aa.get_finding_recommendation(analyzerArn=analyzer, id=finding["id"])
    assert (got["status"], got["resourceArn"], got["recommendationType"]) == (
        "SUCCEEDED", arn, "UnusedPermissionRecommendation")
    steps = {s["unusedPermissionsRecommendedStep"]["existingPolicyId"]:
             s["unusedPermissionsRecommendedStep"] for s in got["recommendedSteps"]}
    assert steps[policy_arn]["recommendedAction"] == "DETACH_POLICY"
    assert "policyUpdatedAt" in steps[policy_arn]
    assert steps["p"]["recommendedAction"] == "CREATE_POLICY"
    assert json.loads(steps["p"]["recommendedPolicy"])["Statement"] == [
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]


def test_recommendation_only_for_unused_permission_findings(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged
) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name)
    [finding] = active(aa, analyzer, arn)
    assert finding["findingType"] == "UnusedIAMRole"
    with pytest.raises(aa.exceptions.ValidationException):
        aa.generate_finding_recommendation(analyzerArn=analyzer, id=finding["id"])


def test_archived_finding_stays_archived_across_analyses(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged
) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name)
    [finding] = active(aa, analyzer, arn)
    aa.update_findings(analyzerArn=analyzer, ids=[finding["id"]], status="ARCHIVED")
    aged.role(name, last_used=timedelta(days=95))  # new details, same unused access
    [again] = findings_for(aa, analyzer, arn)
    assert (again["id"], again["status"]) == (finding["id"], "ARCHIVED")
    [detail] = details(aa, analyzer, finding["id"])
    assert "lastAccessed" in detail["unusedIamRoleDetails"]


def test_archive_rule_by_finding_type(aa: Any, iam: Any, server: Server, aged: Aged) -> None:
    ruled = aa.create_analyzer(
        analyzerName=f"ur-{uuid.uuid4().hex[:8]}", type="ACCOUNT_UNUSED_ACCESS",
        archiveRules=[{"ruleName": "roles", "filter": {
            "findingType": {"eq": ["UnusedIAMRole"]}}}])["arn"]
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name)
    assert [f["status"] for f in findings_for(aa, ruled, arn)] == ["ARCHIVED"]


def test_cli_lists_and_gets_unused_findings(
    iam: Any, server: Server, analyzer: str, aged: Aged
) -> None:
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name)
    listed = json.loads(server.aws("accessanalyzer", "list-findings-v2",
                                   "--analyzer-arn", analyzer).stdout)["findings"]
    [mine] = [f for f in listed if f["resource"] == arn]
    got = json.loads(server.aws("accessanalyzer", "get-finding-v2", "--analyzer-arn", analyzer,
                                "--id", mine["id"]).stdout)
    assert got["findingType"] == "UnusedIAMRole"
    assert got["findingDetails"] == [{"unusedIamRoleDetails": {}}]


def test_statistics_and_filters(aa: Any, iam: Any, server: Server, aged: Aged) -> None:
    mine = aa.create_analyzer(analyzerName=f"us-{uuid.uuid4().hex[:8]}",
                              type="ACCOUNT_UNUSED_ACCESS")["arn"]
    name, arn = make_role(iam, server, ["iam:ListUsers"])
    aged.role(name)
    listed = aa.list_findings_v2(analyzerArn=mine, filter={
        "findingType": {"eq": ["UnusedIAMRole"]}, "resource": {"eq": [arn]}})["findings"]
    assert [(f["resource"], f["findingType"]) for f in listed] == [(arn, "UnusedIAMRole")]
    none = aa.list_findings_v2(analyzerArn=mine, filter={
        "findingType": {"eq": ["UnusedPermission"]}, "resource": {"eq": [arn]}})["findings"]
    assert none == []
    stats = aa.get_findings_statistics(analyzerArn=mine)["findingsStatistics"]
    [unused_stats] = [s["unusedAccessFindingsStatistics"] for s in stats]
    every = [f for p in aa.get_paginator("list_findings_v2").paginate(analyzerArn=mine)
             for f in p["findings"]]
    assert unused_stats["totalActiveFindings"] == sum(f["status"] == "ACTIVE" for f in every)
    roles = {s["unusedAccessType"]: s["total"] for s in unused_stats["unusedAccessTypeStatistics"]}
    assert roles["UnusedIAMRole"] >= 1
    assert unused_stats["topAccounts"][0]["account"] == server.account_id


def test_finding_details_are_paged(
    aa: Any, iam: Any, server: Server, analyzer: str, aged: Aged, assumer: tuple[str, str]
) -> None:
    name, arn = make_role(iam, server, ["s3:*", "ec2:*", "sqs:*", "iam:ListUsers"])
    aged.role(name)
    as_session(server, "iam", assume(server, assumer, arn)).list_users()
    [finding] = active(aa, analyzer, arn)
    first = aa.get_finding_v2(analyzerArn=analyzer, id=finding["id"], maxResults=2)
    assert len(first["findingDetails"]) == 2 and first["nextToken"]
    rest = aa.get_finding_v2(analyzerArn=analyzer, id=finding["id"], maxResults=2,
                             nextToken=first["nextToken"])
    assert "nextToken" not in rest
    services = [d["unusedPermissionDetails"]["serviceNamespace"]
                for d in first["findingDetails"] + rest["findingDetails"]]
    assert services == ["ec2", "s3", "sqs"]
