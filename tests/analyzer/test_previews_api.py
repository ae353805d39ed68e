"""Access previews through boto3 on a real server: the four operations, AWS's error codes,
changeType against the analyzer's findings, filters, pagination, authorization, audit."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.analyzer.conftest import analyzer_client
from tests.conftest import Server

THIRD = "999988887777"  # a third party: no account of this server


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _assume(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        s["Condition"] = condition
    return s


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def analyzer(aa: Any) -> str:
    return str(aa.create_analyzer(analyzerName=_name("preview"), type="ACCOUNT")["arn"])


def _preview(aa: Any, analyzer: str, arn: str, config: dict[str, Any]) -> str:
    pid = aa.create_access_preview(analyzerArn=analyzer, configurations={arn: config})["id"]
    got = aa.get_access_preview(accessPreviewId=pid, analyzerArn=analyzer)["accessPreview"]
    assert got["status"] == "COMPLETED", got
    assert got["configurations"] == {arn: config}
    return str(pid)


def _findings(aa: Any, analyzer: str, pid: str, **kwargs: Any) -> list[dict[str, Any]]:
    pages = aa.get_paginator("list_access_preview_findings").paginate(
        accessPreviewId=pid, analyzerArn=analyzer, **kwargs)
    return [f for page in pages for f in page["findings"]]


def test_new_role_trusting_a_third_party_is_a_new_finding(aa: Any, server: Server,
                                                          analyzer: str) -> None:
    arn = f"arn:aws:iam::{server.account_id}:role/{_name('vendor')}"
    pid = _preview(aa, analyzer, arn, {"iamRole": {"trustPolicy": _doc(
        _assume({"AWS": f"arn:aws:iam::{THIRD}:root"}))}})
    [f] = _findings(aa, analyzer, pid)
    assert f["changeType"] == "NEW" and f["status"] == "ACTIVE"
    assert f["principal"] == {"AWS": f"arn:aws:iam::{THIRD}:root"}
    assert f["action"] == ["sts:AssumeRole"] and f["isPublic"] is False
    assert f["resource"] == arn and f["resourceType"] == "AWS::IAM::Role"
    assert f["resourceOwnerAccount"] == server.account_id
    assert "existingFindingId" not in f and "existingFindingStatus" not in f


def test_external_id_narrows_and_own_account_passes(aa: Any, server: Server,
                                                    analyzer: str) -> None:
    arn = f"arn:aws:iam::{server.account_id}:role/{_name('deputy')}"
    pid = _preview(aa, analyzer, arn, {"iamRole": {"trustPolicy": _doc(_assume(
        {"AWS": THIRD}, {"StringEquals": {"sts:ExternalId": "e-123"}}))}})
    [f] = _findings(aa, analyzer, pid)
    assert f["condition"] == {"sts:ExternalId": "e-123"} and f["isPublic"] is False
    own = _preview(aa, analyzer, arn, {"iamRole": {"trustPolicy": _doc(
        _assume({"AWS": f"arn:aws:iam::{server.account_id}:root"}))}})
    assert _findings(aa, analyzer, own) == []


def test_change_types_against_existing_findings(aa: Any, server: Server) -> None:
    """An existing role with two external accesses; one archived. The proposal keeps one
    (UNCHANGED, still ARCHIVED), drops one (CHANGED to RESOLVED) and adds one (NEW)."""
    iam = server.client("iam")
    analyzer = aa.create_analyzer(analyzerName=_name("changes"), type="ACCOUNT")["arn"]
    role = _name("shared")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_doc(
        _assume({"AWS": "111122223333"}), _assume({"AWS": "444455556666"})))["Role"]["Arn"]
    current = aa.list_findings(analyzerArn=analyzer,
                               filter={"resource": {"eq": [arn]}})["findings"]
    by_account = {f["principal"]["AWS"]: f for f in current}
    assert set(by_account) == {"111122223333", "444455556666"}
    kept = by_account["111122223333"]
    aa.update_findings(analyzerArn=analyzer, status="ARCHIVED", ids=[kept["id"]])
    dropped = by_account["444455556666"]
    pid = _preview(aa, analyzer, arn, {"iamRole": {"trustPolicy": _doc(
        _assume({"AWS": "111122223333"}), _assume({"AWS": "777788889999"}))}})
    found = {f["principal"]["AWS"]: f for f in _findings(aa, analyzer, pid)}
    assert set(found) == {"111122223333", "444455556666", "777788889999"}
    same = found["111122223333"]
    assert (same["changeType"], same["status"], same["existingFindingId"],
            same["existingFindingStatus"]) == ("UNCHANGED", "ARCHIVED", kept["id"], "ARCHIVED")
    gone = found["444455556666"]
    assert (gone["changeType"], gone["status"], gone["existingFindingId"],
            gone["existingFindingStatus"]) == ("CHANGED", "RESOLVED", dropped["id"], "ACTIVE")
    new = found["777788889999"]
    assert (new["changeType"], new["status"]) == ("NEW", "ACTIVE")
    assert new["id"] not in (kept["id"], dropped["id"])  # preview ids are the preview's
    # The trust policy left out: the role's own policy is previewed, all UNCHANGED.
    same_pid = _preview(aa, analyzer, arn, {"iamRole": {}})
    assert sorted(f["changeType"] for f in _findings(aa, analyzer, same_pid)) == \
        ["UNCHANGED", "UNCHANGED"]
    # Filters on the preview-only keys and on finding keys; pagination.
    only_new = _findings(aa, analyzer, pid, filter={"changeType": {"eq": ["NEW"]}})
    assert [f["principal"]["AWS"] for f in only_new] == ["777788889999"]
    active = _findings(aa, analyzer, pid, filter={"status": {"eq": ["ACTIVE"]}})
    assert [f["principal"]["AWS"] for f in active] == ["777788889999"]
    first = aa.list_access_preview_findings(accessPreviewId=pid, analyzerArn=analyzer,
                                            maxResults=2)
    assert len(first["findings"]) == 2 and first["nextToken"]
    rest = aa.list_access_preview_findings(accessPreviewId=pid, analyzerArn=analyzer,
                                           maxResults=2, nextToken=first["nextToken"])
    assert len(rest["findings"]) == 1 and "nextToken" not in rest
    # Previewing does not touch the analyzer's findings.
    after = aa.list_findings(analyzerArn=analyzer, filter={"resource": {"eq": [arn]}})
    assert sorted((f["id"], f["status"]) for f in after["findings"]) == \
        sorted([(kept["id"], "ARCHIVED"), (dropped["id"], "ACTIVE")])


def test_archive_rule_applies_to_new_preview_findings(aa: Any, server: Server) -> None:
    analyzer = aa.create_analyzer(analyzerName=_name("rules"), type="ACCOUNT", archiveRules=[
        {"ruleName": "partner", "filter": {"principal.AWS": {"eq": ["111122223333"]}}}])["arn"]
    arn = f"arn:aws:iam::{server.account_id}:role/{_name('partner')}"
    pid = _preview(aa, analyzer, arn, {"iamRole": {"trustPolicy": _doc(
        _assume({"AWS": "111122223333"}))}})
    [f] = _findings(aa, analyzer, pid)
    assert (f["changeType"], f["status"]) == ("NEW", "ARCHIVED")


def test_bucket_policy_acl_grants_and_public_access_block(aa: Any, analyzer: str) -> None:
    bucket = f"arn:aws:s3:::{_name('preview-bucket')}"
    policy = _doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": f"{bucket}/*"})
    grants = [{"grantee": {"uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
               "permission": "READ"},
              {"grantee": {"id": "a" * 64}, "permission": "WRITE"},
              {"grantee": {"uri": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
               "permission": "WRITE"}]
    pid = _preview(aa, analyzer, bucket, {"s3Bucket": {"bucketPolicy": policy,
                                                       "bucketAclGrants": grants}})
    found = _findings(aa, analyzer, pid)
    by_source = {f["sources"][0]["type"] + ":" + ",".join(f["principal"].values()): f
                 for f in found}
    assert set(by_source) == {"POLICY:*", "BUCKET_ACL:*", f"BUCKET_ACL:{'a' * 64}"}
    assert by_source["POLICY:*"]["isPublic"] is True
    assert by_source["POLICY:*"]["action"] == ["s3:GetObject"]
    assert by_source["BUCKET_ACL:*"]["action"] == [
        "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"]
    assert by_source[f"BUCKET_ACL:{'a' * 64}"]["principal"] == {"CanonicalUser": "a" * 64}
    blocked = _preview(aa, analyzer, bucket, {"s3Bucket": {
        "bucketPolicy": policy, "bucketAclGrants": grants,
        "bucketPublicAccessBlock": {"ignorePublicAcls": True, "restrictPublicBuckets": True}}})
    # RestrictPublicBuckets takes the public policy away; IgnorePublicAcls the public grant;
    # the grant to one canonical user stays.
    assert [f["principal"] for f in _findings(aa, analyzer, blocked)] == [
        {"CanonicalUser": "a" * 64}]


def test_access_point_delegation(aa: Any, server: Server, analyzer: str) -> None:
    """cfn-policy-validator's access point shape: the bucket delegates to the owner's
    access points; only the access point policy's grant is a finding."""
    name = _name("ap-bucket")
    bucket = f"arn:aws:s3:::{name}"
    delegate = _doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*",
                     "Resource": [bucket, f"{bucket}/*"],
                     "Condition": {"StringEquals": {
                         "s3:DataAccessPointAccount": server.account_id}}})
    point = f"arn:aws:s3:us-east-1:{server.account_id}:accesspoint/reports"
    point_policy = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIRD}:root"},
                         "Action": "s3:GetObject", "Resource": f"{point}/object/*"})
    pid = _preview(aa, analyzer, bucket, {"s3Bucket": {
        "bucketPolicy": delegate, "accessPoints": {point: {"accessPointPolicy": point_policy}}}})
    [f] = _findings(aa, analyzer, pid)
    assert f["principal"] == {"AWS": f"arn:aws:iam::{THIRD}:root"}
    assert f["action"] == ["s3:GetObject"]
    assert f["sources"] == [{"type": "S3_ACCESS_POINT", "detail": {"accessPointArn": point}}]
    # Without access points the same bucket policy is analyzed as it stands (sound: the
    # unknown key does not hide the grant).
    alone = _preview(aa, analyzer, bucket, {"s3Bucket": {"bucketPolicy": delegate}})
    assert [f["isPublic"] for f in _findings(aa, analyzer, alone)] == [True]


def test_list_access_previews(aa: Any, server: Server) -> None:
    analyzer = aa.create_analyzer(analyzerName=_name("list"), type="ACCOUNT")["arn"]
    arn = f"arn:aws:iam::{server.account_id}:role/{_name('r')}"
    ids = [_preview(aa, analyzer, arn, {"iamRole": {"trustPolicy": _doc(
        _assume({"AWS": THIRD}))}}) for _ in range(3)]
    pages = aa.get_paginator("list_access_previews").paginate(
        analyzerArn=analyzer, PaginationConfig={"PageSize": 2})
    listed = [p for page in pages for p in page["accessPreviews"]]
    assert sorted(p["id"] for p in listed) == sorted(ids)
    assert {p["status"] for p in listed} == {"COMPLETED"}
    assert {p["analyzerArn"] for p in listed} == {analyzer}
    # Deleting and recreating the analyzer leaves no previews behind.
    name = analyzer.rsplit("/", 1)[1]
    aa.delete_analyzer(analyzerName=name)
    again = aa.create_analyzer(analyzerName=name, type="ACCOUNT")["arn"]
    assert aa.list_access_previews(analyzerArn=again)["accessPreviews"] == []
    with pytest.raises(ClientError) as exc:
        aa.get_access_preview(accessPreviewId=ids[0], analyzerArn=again)
    assert _code(exc) == "ResourceNotFoundException"


def test_failed_preview_for_an_unparseable_policy(aa: Any, server: Server,
                                                  analyzer: str) -> None:
    arn = f"arn:aws:iam::{server.account_id}:role/{_name('broken')}"
    pid = aa.create_access_preview(analyzerArn=analyzer, configurations={
        arn: {"iamRole": {"trustPolicy": "{not json"}}})["id"]
    got = aa.get_access_preview(accessPreviewId=pid, analyzerArn=analyzer)["accessPreview"]
    assert got["status"] == "FAILED"
    assert got["statusReason"] == {"code": "INVALID_CONFIGURATION"}
    with pytest.raises(ClientError) as exc:
        aa.list_access_preview_findings(accessPreviewId=pid, analyzerArn=analyzer)
    assert _code(exc) == "ConflictException"
    # A new role needs its trust policy.
    pid = aa.create_access_preview(analyzerArn=analyzer, configurations={
        f"arn:aws:iam::{server.account_id}:role/{_name('new')}": {"iamRole": {}}})["id"]
    got = aa.get_access_preview(accessPreviewId=pid, analyzerArn=analyzer)["accessPreview"]
    assert (got["status"], got["statusReason"]["code"]) == ("FAILED", "INVALID_CONFIGURATION")


@pytest.mark.parametrize(("configurations", "field"), [
    ({"arn:aws:kms:us-east-1:000000000000:key/k": {"kmsKey": {"keyPolicies": {}}}},
     "configurations.arn:aws:kms:us-east-1:000000000000:key/k.kmsKey"),
    ({"arn:aws:sqs:us-east-1:000000000000:q": {"sqsQueue": {"queuePolicy": "{}"}}},
     "configurations.arn:aws:sqs:us-east-1:000000000000:q.sqsQueue"),
    ({"arn:aws:s3:::a-bucket": {"s3Bucket": {}}, "arn:aws:s3:::b-bucket": {"s3Bucket": {}}},
     "configurations"),
    ({"arn:aws:s3:::a-bucket": {"iamRole": {"trustPolicy": "{}"}}}, "configurations"),
    ({"arn:aws:iam::999988887777:role/theirs": {"iamRole": {"trustPolicy": "{}"}}},
     "configurations"),
])
def test_refused_configurations(aa_raw: Any, analyzer: str, configurations: dict[str, Any],
                                field: str) -> None:
    with pytest.raises(ClientError) as exc:
        aa_raw.create_access_preview(analyzerArn=analyzer, configurations=configurations)
    assert _code(exc) == "ValidationException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert [f["name"] for f in exc.value.response["fieldList"]] == [field]
    if "kmsKey" in field:
        assert "supported configurations: iamRole, s3Bucket" in \
            exc.value.response["Error"]["Message"]


def test_errors_of_lookups(aa: Any, aa_raw: Any, server: Server, analyzer: str) -> None:
    missing = analyzer.rsplit("/", 1)[0] + "/no-such-analyzer"
    arn = f"arn:aws:iam::{server.account_id}:role/x"
    with pytest.raises(ClientError) as exc:
        aa.create_access_preview(analyzerArn=missing, configurations={
            arn: {"iamRole": {"trustPolicy": _doc(_assume({"AWS": THIRD}))}}})
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        aa.get_access_preview(accessPreviewId=str(uuid.uuid4()), analyzerArn=analyzer)
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        aa.list_access_preview_findings(accessPreviewId=str(uuid.uuid4()),
                                        analyzerArn=analyzer)
    assert _code(exc) == "ResourceNotFoundException"
    pid = _preview(aa, analyzer, arn, {"iamRole": {"trustPolicy": _doc(
        _assume({"AWS": THIRD}))}})
    with pytest.raises(ClientError) as exc:
        aa_raw.list_access_preview_findings(accessPreviewId=pid, analyzerArn=analyzer,
                                            filter={"color": {"eq": ["red"]}})
    assert _code(exc) == "ValidationException"
    unused = aa.create_analyzer(analyzerName=_name("unused"),
                                type="ACCOUNT_UNUSED_ACCESS")["arn"]
    with pytest.raises(ClientError) as exc:
        aa.create_access_preview(analyzerArn=unused, configurations={
            arn: {"iamRole": {"trustPolicy": _doc(_assume({"AWS": THIRD}))}}})
    assert _code(exc) == "ValidationException"


def test_authorized_on_the_analyzer_and_audited(server: Server, analyzer: str) -> None:
    iam = server.client("iam")
    user = _name("previewer")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["access-analyzer:CreateAccessPreview",
                                       "access-analyzer:GetAccessPreview"],
         "Resource": analyzer}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = analyzer_client(server, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    arn = f"arn:aws:iam::{server.account_id}:role/{_name('audited')}"
    pid = client.create_access_preview(analyzerArn=analyzer, configurations={
        arn: {"iamRole": {"trustPolicy": _doc(_assume({"AWS": THIRD}))}}})["id"]
    assert client.get_access_preview(accessPreviewId=pid,
                                     analyzerArn=analyzer)["accessPreview"]["id"] == pid
    with pytest.raises(ClientError) as exc:
        client.list_access_preview_findings(accessPreviewId=pid, analyzerArn=analyzer)
    assert _code(exc) == "AccessDeniedException"
    events = [e for e in server.audit_events()
              if e.get("eventSource") == "access-analyzer.amazonaws.com"
              and e.get("userIdentity", {}).get("userName") == user]
    names = [(e["eventName"], e.get("errorCode")) for e in events]
    assert ("CreateAccessPreview", None) in names
    assert ("ListAccessPreviewFindings", "AccessDeniedException") in names
    created = next(e for e in events if e["eventName"] == "CreateAccessPreview")
    assert created["requestParameters"] == {"analyzerArn": analyzer}
    assert created["responseElements"] == {"id": pid}
    assert "trustPolicy" not in json.dumps(created)


def test_client_token_makes_a_retry_idempotent(aa: Any, server: Server,
                                               analyzer: str) -> None:
    arn = f"arn:aws:iam::{server.account_id}:role/{_name('retry')}"
    config = {arn: {"iamRole": {"trustPolicy": _doc(_assume({"AWS": THIRD}))}}}
    token = uuid.uuid4().hex
    first = aa.create_access_preview(analyzerArn=analyzer, configurations=config,
                                     clientToken=token)["id"]
    again = aa.create_access_preview(analyzerArn=analyzer, configurations=config,
                                     clientToken=token)["id"]
    assert again == first
    other = aa.create_access_preview(analyzerArn=analyzer, configurations=config)["id"]
    assert other != first  # boto3 fills in a fresh token of its own
    with pytest.raises(ClientError) as exc:
        aa.create_access_preview(analyzerArn=analyzer, clientToken=token, configurations={
            arn: {"iamRole": {"trustPolicy": _doc(_assume({"AWS": "111122223333"}))}}})
    assert _code(exc) == "ConflictException"
