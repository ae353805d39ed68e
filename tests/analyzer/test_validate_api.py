"""ValidatePolicy and the Check* APIs through boto3 and the AWS CLI against a real server."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.analyzer.conftest import analyzer_client

PASS_ROLE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}, indent=2)
TYPO = '{"Version": "2012-10-17",\n "Statement": [{"Effect": "Allow",\n  "Action": "s3:GetObjekt", "Resource": "*"}]}'  # noqa: E501


def test_validate_policy_reports_aws_issue_codes_with_spans(aa):
    found = aa.validate_policy(policyDocument=TYPO, policyType="IDENTITY_POLICY")["findings"]
    assert [f["issueCode"] for f in found] == ["INVALID_ACTION"]
    finding = found[0]
    assert finding["findingType"] == "ERROR"
    assert finding["learnMoreLink"].endswith(
        "access-analyzer-reference-policy-checks.html"
        "#access-analyzer-reference-policy-checks-error-invalid-action")
    location = finding["locations"][0]
    assert location["path"] == [{"value": "Statement"}, {"index": 0}, {"value": "Action"}]
    start, end = location["span"]["start"], location["span"]["end"]
    assert TYPO[start["offset"]:end["offset"]] == '"s3:GetObjekt"'
    assert (start["line"], start["column"]) == (3, TYPO.split("\n")[2].index('"s3:'))


def test_pass_role_with_star_is_a_security_warning(aa):
    found = aa.validate_policy(policyDocument=PASS_ROLE, policyType="IDENTITY_POLICY")["findings"]
    assert [(f["findingType"], f["issueCode"]) for f in found] == [
        ("SECURITY_WARNING", "PASS_ROLE_WITH_STAR_IN_RESOURCE")]


def test_trust_policy_checks_with_the_resource_type(aa):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/"
                                   "token.actions.githubusercontent.com"}}]})
    found = aa.validate_policy(policyDocument=trust, policyType="RESOURCE_POLICY",
                               validatePolicyResourceType="AWS::IAM::AssumeRolePolicyDocument",
                               locale="FR")["findings"]
    assert [f["issueCode"] for f in found] == ["MISSING_GITHUB_REPO_CONDITION_KEY"]


def test_validate_policy_pages_with_max_results(aa):
    doc = json.dumps({"Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:Get*"], "Resource": "*",
         "Sid": ""}]})
    everything = aa.validate_policy(policyDocument=doc, policyType="IDENTITY_POLICY")["findings"]
    assert len(everything) >= 3
    first = aa.validate_policy(policyDocument=doc, policyType="IDENTITY_POLICY", maxResults=1)
    assert len(first["findings"]) == 1 and first["nextToken"]
    paged = [f for page in aa.get_paginator("validate_policy").paginate(
        policyDocument=doc, policyType="IDENTITY_POLICY", PaginationConfig={"PageSize": 2})
        for f in page["findings"]]
    assert paged == everything


def test_validate_policy_refuses_a_bad_token(aa):
    with pytest.raises(ClientError) as err:
        aa.validate_policy(policyDocument=PASS_ROLE, policyType="IDENTITY_POLICY",
                           nextToken="nope")
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_validate_policy_requires_a_known_policy_type(aa_raw):
    with pytest.raises(ClientError) as err:
        aa_raw.validate_policy(policyDocument=PASS_ROLE, policyType="BOUNDARY")
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_check_no_new_access(aa):
    old = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}]})
    narrower = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/x"}]})
    wider = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/x"},
        {"Sid": "More", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]})
    ok = aa.check_no_new_access(newPolicyDocument=narrower, existingPolicyDocument=old,
                                policyType="IDENTITY_POLICY")
    assert ok["result"] == "PASS"
    bad = aa.check_no_new_access(newPolicyDocument=wider, existingPolicyDocument=old,
                                 policyType="IDENTITY_POLICY")
    assert bad["result"] == "FAIL"
    assert [(r["statementIndex"], r.get("statementId")) for r in bad["reasons"]] == [(1, "More")]


def test_check_access_not_granted(aa):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]})
    denied = aa.check_access_not_granted(policyDocument=policy, policyType="IDENTITY_POLICY",
                                         access=[{"actions": ["s3:DeleteBucket"]}])
    assert denied["result"] == "PASS"
    granted = aa.check_access_not_granted(
        policyDocument=policy, policyType="IDENTITY_POLICY",
        access=[{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/k"]}])
    assert granted["result"] == "FAIL" and granted["reasons"][0]["statementIndex"] == 0
    with pytest.raises(ClientError) as err:
        aa.check_access_not_granted(policyDocument=policy, policyType="IDENTITY_POLICY",
                                    access=[{}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_check_no_public_access(aa, server):
    public = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::b/*"}]})
    org_only = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::b/*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}}]})
    assert aa.check_no_public_access(policyDocument=public,
                                     resourceType="AWS::S3::Bucket")["result"] == "FAIL"
    assert aa.check_no_public_access(policyDocument=org_only,
                                     resourceType="AWS::S3::Bucket")["result"] == "PASS"
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": "secret"}}}]})
    result = aa.check_no_public_access(policyDocument=trust,
                                       resourceType="AWS::IAM::AssumeRolePolicyDocument")
    assert result["result"] == "FAIL"  # an external id is no proof of who the caller is
    with pytest.raises(ClientError) as err:
        aa.check_no_public_access(policyDocument="{", resourceType="AWS::S3::Bucket")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_the_calls_are_authorized(server, new_user):
    _, key, secret = new_user()
    client = analyzer_client(server, key=key, secret=secret)
    with pytest.raises(ClientError) as err:
        client.validate_policy(policyDocument=PASS_ROLE, policyType="IDENTITY_POLICY")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    _, key, secret = new_user(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "access-analyzer:ValidatePolicy", "Resource": "*"}]}))
    allowed = analyzer_client(server, key=key, secret=secret)
    assert allowed.validate_policy(policyDocument=PASS_ROLE,
                                   policyType="IDENTITY_POLICY")["findings"]


@pytest.mark.parametrize("cli", ["v1", "v2"])
def test_aws_cli_validate_policy(server, tmp_path, cli):
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).parent / "aws") if cli == "v1" else shutil.which(
        "aws", path="/usr/bin")
    if exe is None or not Path(exe).exists():
        pytest.skip(f"AWS CLI {cli} is not installed")
    doc = tmp_path / "p.json"
    doc.write_text(PASS_ROLE)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": server.root_key,
           "AWS_SECRET_ACCESS_KEY": server.root_secret, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": server.endpoint, "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    env.pop("AWS_PROFILE", None)
    out = subprocess.run([exe, "accessanalyzer", "validate-policy", "--policy-type",
                          "IDENTITY_POLICY", "--policy-document", f"file://{doc}",
                          "--endpoint-url", server.endpoint, "--output", "json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    codes = [f["issueCode"] for f in json.loads(out.stdout)["findings"]]
    assert codes == ["PASS_ROLE_WITH_STAR_IN_RESOURCE"]


def test_audit_records_the_call_but_not_the_checked_documents(server, aa):
    secret_doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "TopSecretStatement", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "*"}]})
    answer = aa.check_no_new_access(newPolicyDocument=secret_doc,
                                    existingPolicyDocument=secret_doc,
                                    policyType="IDENTITY_POLICY")
    assert answer["result"] == "PASS"
    rid = answer["ResponseMetadata"]["RequestId"]
    events = [e for e in server.audit_events() if e.get("requestID") == rid]
    assert len(events) == 1
    event = events[0]
    assert (event["eventSource"], event["eventName"], event["readOnly"]) == (
        "access-analyzer.amazonaws.com", "CheckNoNewAccess", True)
    assert event["requestParameters"] == {"policyType": "IDENTITY_POLICY"}
    assert "TopSecretStatement" not in json.dumps(event)
