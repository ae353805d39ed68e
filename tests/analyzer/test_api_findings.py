"""External-access findings through boto3 and the AWS CLI, on a real server (the S3 gateway
in front of SeaweedFS): the scenarios of issue 16."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.analyzer.conftest import analyzer_client
from tests.conftest import Server
from tests.s3.conftest import s3_client

THIRD = "999988887777"  # a third party: no account of this server


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _assume(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        s["Condition"] = condition
    return s


def _analyzer(aa: Any, kind: str = "ACCOUNT", **kwargs: Any) -> str:
    return aa.create_analyzer(analyzerName=_name("aa"), type=kind, **kwargs)["arn"]


def _findings(aa: Any, arn: str, resource: str, *statuses: str) -> list[dict[str, Any]]:
    found = aa.list_findings(analyzerArn=arn, filter={"resource": {"eq": [resource]}})
    return [f for f in found["findings"] if not statuses or f["status"] in statuses]


@pytest.fixture(scope="module")
def aa(gateway: Server) -> Any:
    return analyzer_client(gateway)


@pytest.fixture(scope="module")
def iam(gateway: Server) -> Any:
    return gateway.client("iam")


def test_confused_deputy_then_external_id(aa: Any, iam: Any) -> None:
    role = _name("vendor")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust(
        _assume({"AWS": f"arn:aws:iam::{THIRD}:root"})))["Role"]["Arn"]
    analyzer = _analyzer(aa)
    [finding] = _findings(aa, analyzer, arn)
    assert finding["principal"] == {"AWS": f"arn:aws:iam::{THIRD}:root"}
    assert finding["action"] == ["sts:AssumeRole"]
    assert finding["condition"] == {} and finding["isPublic"] is False
    assert finding["status"] == "ACTIVE" and finding["resourceType"] == "AWS::IAM::Role"

    iam.update_assume_role_policy(RoleName=role, PolicyDocument=_trust(_assume(
        {"AWS": f"arn:aws:iam::{THIRD}:root"},
        {"StringEquals": {"sts:ExternalId": "vendor-secret-42"}})))
    by_status = {f["status"]: f for f in _findings(aa, analyzer, arn)}
    assert set(by_status) == {"ACTIVE", "RESOLVED"}
    assert by_status["RESOLVED"]["id"] == finding["id"]
    assert by_status["ACTIVE"]["condition"] == {"sts:ExternalId": "vendor-secret-42"}
    assert by_status["ACTIVE"]["isPublic"] is False
    v2 = aa.get_finding_v2(analyzerArn=analyzer, id=by_status["ACTIVE"]["id"])
    details = v2["findingDetails"][0]["externalAccessDetails"]
    assert details["condition"] == {"sts:ExternalId": "vendor-secret-42"}
    assert v2["findingType"] == "ExternalAccess"


def test_org_trust_inside_organization_outside_account(aa: Any, iam: Any,
                                                       gw_org: dict[str, Any]) -> None:
    member_role = iam.create_role(RoleName=_name("member"), AssumeRolePolicyDocument=_trust(
        _assume({"AWS": gw_org["member"]})))["Role"]["Arn"]
    org_role = iam.create_role(RoleName=_name("orgwide"), AssumeRolePolicyDocument=_trust(
        _assume("*", {"StringEquals": {"aws:PrincipalOrgID": gw_org["org_id"]}})))["Role"]["Arn"]
    org_analyzer = _analyzer(aa, "ORGANIZATION")
    account_analyzer = _analyzer(aa, "ACCOUNT")
    assert _findings(aa, org_analyzer, member_role) == []
    assert _findings(aa, org_analyzer, org_role) == []
    [member] = _findings(aa, account_analyzer, member_role)
    assert member["principal"] == {"AWS": gw_org["member"]}
    [star] = _findings(aa, account_analyzer, org_role)
    assert star["principal"] == {"AWS": "*"}
    assert star["condition"] == {"aws:PrincipalOrgID": gw_org["org_id"]}
    assert star["isPublic"] is False


def test_public_role_and_its_fix(aa: Any, iam: Any, gw_org: dict[str, Any]) -> None:
    role = _name("open")
    arn = iam.create_role(RoleName=role,
                          AssumeRolePolicyDocument=_trust(_assume("*")))["Role"]["Arn"]
    analyzer = _analyzer(aa, "ORGANIZATION")
    [open_to_all] = _findings(aa, analyzer, arn)
    assert open_to_all["isPublic"] is True and open_to_all["principal"] == {"AWS": "*"}
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=_trust(
        _assume("*", {"StringEquals": {"aws:PrincipalOrgID": gw_org["org_id"]}})))
    [resolved] = _findings(aa, analyzer, arn)
    assert resolved["id"] == open_to_all["id"] and resolved["status"] == "RESOLVED"


def test_bucket_readable_by_another_account(aa: Any, gateway: Server) -> None:
    s3 = s3_client(gateway)
    bucket = _name("shared")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIRD}:root"},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    analyzer = _analyzer(aa)
    arn = f"arn:aws:s3:::{bucket}"
    [finding] = _findings(aa, analyzer, arn)
    assert finding["resourceType"] == "AWS::S3::Bucket"
    assert finding["action"] == ["s3:GetObject"]
    assert finding["sources"] == [{"type": "POLICY"}]
    assert finding["resourceOwnerAccount"] == gateway.account_id
    resources = aa.list_analyzed_resources(analyzerArn=analyzer,
                                           resourceType="AWS::S3::Bucket")
    assert arn in [r["resourceArn"] for r in resources["analyzedResources"]]
    s3.delete_bucket_policy(Bucket=bucket)
    assert [f["status"] for f in _findings(aa, analyzer, arn)] == ["RESOLVED"]


def test_archive_rules_new_and_retroactive(aa: Any, iam: Any) -> None:
    first = iam.create_role(RoleName=_name("arch"), AssumeRolePolicyDocument=_trust(
        _assume({"AWS": THIRD})))["Role"]["Arn"]
    analyzer = _analyzer(aa)
    [before] = _findings(aa, analyzer, first)
    assert before["status"] == "ACTIVE"
    name = analyzer.rsplit("/", 1)[1]
    aa.create_archive_rule(analyzerName=name, ruleName="third-party",
                           filter={"principal.AWS": {"eq": [THIRD]}})
    # A new rule applies to the existing findings it matches, and to new ones.
    assert _findings(aa, analyzer, first)[0]["status"] == "ARCHIVED"
    second = iam.create_role(RoleName=_name("arch"), AssumeRolePolicyDocument=_trust(
        _assume({"AWS": THIRD})))["Role"]["Arn"]
    assert [f["status"] for f in _findings(aa, analyzer, second)] == ["ARCHIVED"]
    aa.update_findings(analyzerArn=analyzer, status="ACTIVE", resourceArn=second)
    assert [f["status"] for f in _findings(aa, analyzer, second)] == ["ACTIVE"]
    aa.apply_archive_rule(analyzerArn=analyzer, ruleName="third-party")
    assert [f["status"] for f in _findings(aa, analyzer, second)] == ["ARCHIVED"]
    rule = aa.get_archive_rule(analyzerName=name, ruleName="third-party")["archiveRule"]
    assert rule["filter"] == {"principal.AWS": {"eq": [THIRD]}}
    stats = aa.get_findings_statistics(analyzerArn=analyzer)["findingsStatistics"][0]
    assert stats["externalAccessFindingsStatistics"]["totalArchivedFindings"] >= 2
    unarchived = aa.list_findings(analyzerArn=analyzer, filter={
        "status": {"eq": ["ACTIVE"]}, "principal.AWS": {"eq": [THIRD]}})["findings"]
    assert unarchived == []
    aa.delete_archive_rule(analyzerName=name, ruleName="third-party")
    assert aa.list_archive_rules(analyzerName=name)["archiveRules"] == []


def test_errors_have_aws_codes(aa: Any, gateway: Server) -> None:
    raw = analyzer_client(gateway, validate=False)
    with pytest.raises(ClientError) as bad_type:
        raw.create_analyzer(analyzerName="x", type="EVERYTHING")
    assert bad_type.value.response["Error"]["Code"] == "ValidationException"
    assert bad_type.value.response["fieldList"][0]["name"] == "type"
    for age in (0, 366):  # "a value between 1 and 365 days"
        with pytest.raises(ClientError) as bad_age:
            aa.create_analyzer(analyzerName=_name("age"), type="ACCOUNT_UNUSED_ACCESS",
                               configuration={"unusedAccess": {"unusedAccessAge": age}})
        assert bad_age.value.response["Error"]["Code"] == "ValidationException"
        assert bad_age.value.response["fieldList"][0]["name"] == (
            "configuration.unusedAccess.unusedAccessAge")
    with pytest.raises(ClientError) as bad_name:
        aa.create_analyzer(analyzerName="1-starts-with-a-digit!", type="ACCOUNT")
    assert bad_name.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as missing:
        aa.get_analyzer(analyzerName="no-such-analyzer")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert missing.value.response["resourceType"] == "AWS::AccessAnalyzer::Analyzer"
    name = _name("dup")
    aa.create_analyzer(analyzerName=name, type="ACCOUNT")
    with pytest.raises(ClientError) as conflict:
        aa.create_analyzer(analyzerName=name, type="ACCOUNT")
    assert conflict.value.response["Error"]["Code"] == "ConflictException"
    assert conflict.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    arn = aa.get_analyzer(analyzerName=name)["analyzer"]["arn"]
    with pytest.raises(ClientError) as no_criteria:
        aa.create_archive_rule(analyzerName=name, ruleName="r", filter={"status": {}})
    assert no_criteria.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as no_target:
        aa.update_findings(analyzerArn=arn, status="ARCHIVED")
    assert no_target.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as no_finding:
        aa.get_finding(analyzerArn=arn, id="00000000-0000-0000-0000-000000000000")
    assert no_finding.value.response["Error"]["Code"] == "ResourceNotFoundException"
    aa.delete_analyzer(analyzerName=name)
    with pytest.raises(ClientError) as gone:
        aa.list_findings(analyzerArn=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_calls_are_authorized(aa: Any, iam: Any, gateway: Server) -> None:
    name = _name("authz")
    arn = aa.create_analyzer(analyzerName=name, type="ACCOUNT")["arn"]
    user = _name("reader")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = analyzer_client(gateway, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as denied:
        as_user.list_findings(analyzerArn=arn)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    iam.put_user_policy(UserName=user, PolicyName="aa", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "access-analyzer:ListFindings", "Resource": arn}]}))
    assert "findings" in as_user.list_findings(analyzerArn=arn)
    with pytest.raises(ClientError) as still_denied:
        as_user.delete_analyzer(analyzerName=name)
    assert still_denied.value.response["Error"]["Code"] == "AccessDeniedException"
    events = [e for e in gateway.audit_events()
              if e.get("eventSource") == "access-analyzer.amazonaws.com"
              and e.get("eventName") == "DeleteAnalyzer"
              and e.get("userIdentity", {}).get("userName") == user]
    assert events and events[-1]["errorCode"] == "AccessDeniedException"


def test_aws_cli(gateway: Server, iam: Any) -> None:
    role = iam.create_role(RoleName=_name("cli"), AssumeRolePolicyDocument=_trust(
        _assume({"AWS": THIRD})))["Role"]["Arn"]
    name = _name("cli")
    arn = gateway.aws_json("accessanalyzer", "create-analyzer", "--analyzer-name", name,
                           "--type", "ACCOUNT")["arn"]
    found = gateway.aws_json("accessanalyzer", "list-findings", "--analyzer-arn", arn,
                             "--filter", json.dumps({"resource": {"eq": [role]}}))
    assert [f["principal"] for f in found["findings"]] == [{"AWS": THIRD}]
    listed = gateway.aws_json("accessanalyzer", "list-analyzers", "--type", "ACCOUNT")
    assert name in [a["name"] for a in listed["analyzers"]]
    gateway.aws("accessanalyzer", "tag-resource", "--resource-arn", arn, "--tags", "team=sec")
    tags = gateway.aws_json("accessanalyzer", "list-tags-for-resource", "--resource-arn", arn)
    assert tags["tags"] == {"team": "sec"}
    gateway.aws("accessanalyzer", "delete-analyzer", "--analyzer-name", name)


def test_deleted_role_resolves_its_finding(aa: Any, iam: Any) -> None:
    role = _name("temp")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust(
        _assume({"AWS": THIRD})))["Role"]["Arn"]
    analyzer = _analyzer(aa)
    assert [f["status"] for f in _findings(aa, analyzer, arn)] == ["ACTIVE"]
    iam.delete_role(RoleName=role)
    assert [f["status"] for f in _findings(aa, analyzer, arn)] == ["RESOLVED"]


def test_organization_analyzer_needs_management_or_delegated_admin(
        aa: Any, iam: Any, gateway: Server, gw_org: dict[str, Any]) -> None:
    user = _name("admin")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = gateway.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{gw_org['member']}:role/OrganizationAccountAccessRole",
        RoleSessionName="aa")["Credentials"]
    member = analyzer_client(gateway, key=creds["AccessKeyId"],
                             secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    with pytest.raises(ClientError) as refused:
        member.create_analyzer(analyzerName=_name("org"), type="ORGANIZATION")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert member.create_analyzer(analyzerName=_name("acct"), type="ACCOUNT")["arn"].split(
        ":")[4] == gw_org["member"]
    orgs = gateway.client("organizations")
    orgs.enable_aws_service_access(ServicePrincipal="access-analyzer.amazonaws.com")
    orgs.register_delegated_administrator(AccountId=gw_org["member"],
                                          ServicePrincipal="access-analyzer.amazonaws.com")
    try:
        arn = member.create_analyzer(analyzerName=_name("org"), type="ORGANIZATION")["arn"]
        assert member.get_analyzer(analyzerName=arn.rsplit("/", 1)[1])["analyzer"][
            "type"] == "ORGANIZATION"
    finally:
        orgs.deregister_delegated_administrator(
            AccountId=gw_org["member"], ServicePrincipal="access-analyzer.amazonaws.com")


@pytest.mark.skipif(not Path("/usr/bin/aws").exists(), reason="Debian's AWS CLI v2 is absent")
def test_aws_cli_v2(gateway: Server, iam: Any) -> None:
    """Debian's AWS CLI v2 (its own botocore fork) against the same routes."""
    role = iam.create_role(RoleName=_name("cli2"), AssumeRolePolicyDocument=_trust(
        _assume({"AWS": THIRD}, {"StringEquals": {"sts:ExternalId": "v2"}})))["Role"]["Arn"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(gateway.data_dir),
           "AWS_ACCESS_KEY_ID": gateway.root_key, "AWS_SECRET_ACCESS_KEY": gateway.root_secret,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": "",
           "AWS_CONFIG_FILE": str(gateway.data_dir / "no-config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(gateway.data_dir / "no-credentials")}

    def v2(*args: str) -> Any:
        done = subprocess.run(["/usr/bin/aws", "--endpoint-url", gateway.endpoint, "--output",
                               "json", "accessanalyzer", *args], env=env, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout or "null")

    arn = v2("create-analyzer", "--analyzer-name", _name("v2"), "--type", "ACCOUNT")["arn"]
    found = v2("list-findings", "--analyzer-arn", arn, "--filter",
               json.dumps({"resource": {"eq": [role]}}))["findings"]
    assert [f["condition"] for f in found] == [{"sts:ExternalId": "v2"}]


def test_findings_page_through_botocores_paginator(aa: Any, iam: Any) -> None:
    parties = ["111100001111", "111100002222", "111100003333"]
    role = iam.create_role(RoleName=_name("many"), AssumeRolePolicyDocument=_trust(
        *[_assume({"AWS": p}) for p in parties]))["Role"]["Arn"]
    analyzer = _analyzer(aa)
    pages = list(aa.get_paginator("list_findings").paginate(
        analyzerArn=analyzer, filter={"resource": {"eq": [role]}},
        sort={"attributeName": "id", "orderBy": "ASC"}, PaginationConfig={"PageSize": 1}))
    assert [len(p["findings"]) for p in pages] == [1, 1, 1]
    ids = [p["findings"][0]["id"] for p in pages]
    assert ids == sorted(ids)
    assert sorted(p["findings"][0]["principal"]["AWS"] for p in pages) == parties
    v2 = aa.list_findings_v2(analyzerArn=analyzer, filter={"resource": {"eq": [role]}})
    assert {f["findingType"] for f in v2["findings"]} == {"ExternalAccess"}


def test_inline_archive_rules_and_tags_of_create_analyzer(aa: Any, iam: Any) -> None:
    role = iam.create_role(RoleName=_name("inline"), AssumeRolePolicyDocument=_trust(
        _assume({"AWS": THIRD}, {"StringEquals": {"sts:ExternalId": "known"}})))["Role"]["Arn"]
    name = _name("inline")
    arn = aa.create_analyzer(analyzerName=name, type="ACCOUNT", tags={"env": "test"},
                             archiveRules=[{"ruleName": "known-vendor", "filter": {
                                 "condition.sts:ExternalId": {"eq": ["known"]}}}])["arn"]
    assert [f["status"] for f in _findings(aa, arn, role)] == ["ARCHIVED"]
    analyzer = aa.get_analyzer(analyzerName=name)["analyzer"]
    assert analyzer["tags"] == {"env": "test"} and analyzer["status"] == "ACTIVE"
    assert analyzer["lastResourceAnalyzed"]
    assert [r["ruleName"] for r in aa.list_archive_rules(analyzerName=name)["archiveRules"]] \
        == ["known-vendor"]
