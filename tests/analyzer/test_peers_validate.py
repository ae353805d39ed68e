"""Peers of ValidatePolicy and the custom policy checks.

* cfn-policy-validator (AWS's, PyPI) runs unmodified against OpenSTS: boto3 takes the
  endpoint from ``AWS_ENDPOINT_URL``. Its ``validate`` command calls ListAnalyzers /
  CreateAnalyzer and ValidatePolicy (and, for roles and bucket policies, the access preview
  calls: tests/analyzer/test_previews_peers.py runs those templates; the ones here hold
  managed policies and groups only); the check commands call CheckNoNewAccess,
  CheckAccessNotGranted and CheckNoPublicAccess. Exit status 2 means blocking findings
  (ERROR, SECURITY_WARNING).
* Parliament (PyPI) lints the same policies offline; the differences are listed, each
  with who is right, in DIFFERENCES below.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opensts.analyzer.validate import validate
from tests.conftest import start_server, stop_server

BIN = Path(sys.executable).parent
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Deployer:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: PassAnyRole
            Effect: Allow
            Action: iam:PassRole
            Resource: "*"
          - Sid: Read
            Effect: Allow
            Action: [s3:GetObject, s3:Get*]
            Resource: !Sub "arn:${AWS::Partition}:s3:::artifacts-${AWS::AccountId}/*"
  Builders:
    Type: AWS::IAM::Group
    Properties:
      Policies:
        - PolicyName: typo
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: s3:GetObjekt
                Resource: "*"
"""
CHECKS_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Builders:
    Type: AWS::IAM::Group
    Properties:
      Policies:
        - PolicyName: read
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: s3:GetObject
                Resource: "*"
        - PolicyName: pass
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: iam:PassRole
                Resource: !Sub "arn:aws:iam::${AWS::AccountId}:role/app"
  Site:
    Type: AWS::S3::Bucket
  SitePolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Site
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: "*"
            Action: s3:GetObject
            Resource: !Sub "arn:aws:s3:::${Site}/*"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of its own: ``validate`` creates an account analyzer, which must not show
    up in other tests' analyzer lists."""
    running = start_server(tmp_path_factory.mktemp("cfn-validator") / "data")
    yield running
    stop_server(running)


def _cfn(server, tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=server.root_key, AWS_SECRET_ACCESS_KEY=server.root_secret,
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=server.endpoint,
               AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    out = subprocess.run([str(BIN / "cfn-policy-validator"), *args, "--region", "us-east-1"],
                         capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path)
    assert out.returncode in (0, 2), out.stderr[-2000:]
    return out.returncode, json.loads(out.stdout)


def _codes(report, which):
    return sorted((f["code"], f["resourceName"], f["policyName"]) for f in report[which])


@pytest.fixture
def template(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return path


def test_cfn_policy_validator_validate(server, tmp_path, template):
    status, report = _cfn(server, tmp_path, "validate", "--template-path", str(template))
    assert status == 2
    assert _codes(report, "BlockingFindings") == [
        ("INVALID_ACTION", "Builders", "typo"),
        ("PASS_ROLE_WITH_STAR_IN_RESOURCE", "No resource attached", "Deployer")]
    assert _codes(report, "NonBlockingFindings") == [
        ("REDUNDANT_ACTION", "No resource attached", "Deployer")]
    span = report["BlockingFindings"][0]["details"]["locations"][0]["span"]
    assert span["end"]["offset"] > span["start"]["offset"]


def test_cfn_policy_validator_ignores_findings_by_code(server, tmp_path, template):
    status, report = _cfn(server, tmp_path, "validate", "--template-path", str(template),
                          "--ignore-finding",
                          "INVALID_ACTION,PASS_ROLE_WITH_STAR_IN_RESOURCE")
    assert status == 0
    assert report["BlockingFindings"] == []


@pytest.fixture
def checks_template(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text(CHECKS_TEMPLATE)
    return path


def test_cfn_policy_validator_check_no_new_access(server, tmp_path, checks_template):
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    status, report = _cfn(server, tmp_path, "check-no-new-access", "--template-path",
                          str(checks_template), "--reference-policy", str(reference),
                          "--reference-policy-type", "identity")
    assert status == 2
    # s3:GetObject is within the reference policy; iam:PassRole is new access.
    assert _codes(report, "BlockingFindings") == [
        ("policy-analysis-CheckNoNewAccess", "Builders", "pass")]
    reasons = report["BlockingFindings"][0]["details"]["reasons"]
    assert reasons[0]["statementIndex"] == 0
    wider = tmp_path / "wider.json"
    wider.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "iam:PassRole"], "Resource": "*"}]}))
    status, report = _cfn(server, tmp_path, "check-no-new-access", "--template-path",
                          str(checks_template), "--reference-policy", str(wider),
                          "--reference-policy-type", "identity")
    assert (status, report["BlockingFindings"]) == (0, [])


def test_cfn_policy_validator_check_access_not_granted(server, tmp_path, checks_template):
    status, report = _cfn(server, tmp_path, "check-access-not-granted", "--template-path",
                          str(checks_template), "--actions", "iam:PassRole")
    assert status == 2
    assert _codes(report, "BlockingFindings") == [
        ("policy-analysis-CheckAccessNotGranted", "Builders", "pass")]
    status, report = _cfn(server, tmp_path, "check-access-not-granted", "--template-path",
                          str(checks_template), "--actions", "s3:DeleteBucket")
    assert (status, report["BlockingFindings"]) == (0, [])


def test_cfn_policy_validator_check_no_public_access(server, tmp_path, checks_template):
    status, report = _cfn(server, tmp_path, "check-no-public-access", "--template-path",
                          str(checks_template))
    assert status == 2
    assert _codes(report, "BlockingFindings") == [
        ("policy-analysis-CheckNoPublicAccess", "Site", "BucketPolicy")]
    private = tmp_path / "private.yaml"
    private.write_text(CHECKS_TEMPLATE.replace('Principal: "*"',
                                               'Principal: {AWS: !Ref "AWS::AccountId"}'))
    status, report = _cfn(server, tmp_path, "check-no-public-access", "--template-path",
                          str(private))
    assert (status, report["BlockingFindings"]) == (0, [])


# --- Parliament ------------------------------------------------------------------------------

def _statement(**extra):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **extra}]}


#: name: (policy, Parliament's issues, OpenSTS's issue codes, who is right and why)
DIFFERENCES = {
    "pass-role": (_statement(Action="iam:PassRole", Resource="*"), {"RESOURCE_STAR"},
                  {"PASS_ROLE_WITH_STAR_IN_RESOURCE"},
                  "both: the same problem, named by each tool's own code"),
    "typo": (_statement(Action="s3:GetObjekt"), {"UNKNOWN_ACTION"}, {"INVALID_ACTION"},
             "both"),
    "redundant": (_statement(Action=["s3:GetObject", "s3:Get*"]), {"RESOURCE_MISMATCH"},
                  {"REDUNDANT_ACTION"},
                  "both, about different things: Parliament that many s3:Get* actions act on "
                  "buckets, not objects; Access Analyzer that s3:GetObject is redundant"),
    "bucket-arn-for-object-action": (_statement(Resource="arn:aws:s3:::b"),
                                     {"RESOURCE_MISMATCH"}, set(),
                                     "Parliament: the statement grants nothing. Access "
                                     "Analyzer's reference has no such check for identity "
                                     "policies, so ValidatePolicy does not report it "
                                     "(opensts policy validate does: RESOURCE_TYPE_MISMATCH)"),
    "no-version": ({"Statement": _statement()["Statement"]}, {"NO_VERSION"},
                   {"MISSING_VERSION"}, "both"),
    "unknown-global-key": (_statement(Condition={"StringEquals": {"aws:usernamez": "a"}}),
                           {"UNKNOWN_CONDITION_FOR_ACTION"}, {"INVALID_GLOBAL_CONDITION_KEY"},
                           "both; OpenSTS is more precise (the key exists nowhere)"),
    "forallvalues-single-valued": (
        _statement(Condition={"ForAllValues:StringEquals": {"aws:username": "a"}}), set(),
        {"FORALLVALUES_WITH_SINGLE_VALUED_KEY"},
        "OpenSTS: ForAllValues on a single-valued key is true when the key is absent (IAM "
        "User Guide, single-vs-multi-valued context keys); Parliament misses it"),
    "not-a-number": (_statement(Condition={"NumericLessThan": {"s3:max-keys": "ten"}}),
                     {"UNKNOWN_CONDITION_FOR_ACTION"}, {"TYPE_MISMATCH_NUMBER"},
                     "both, about different things: s3:max-keys is not a key of GetObject "
                     "(Parliament), and 'ten' is no number (OpenSTS)"),
    "wildcard-in-string-equals": (
        _statement(Condition={"StringEquals": {"aws:username": "a*"}}), set(),
        {"WILDCARD_WITHOUT_LIKE_OPERATOR"}, "OpenSTS: StringEquals takes * literally"),
    "admin": (_statement(Action="*", Resource="*"), set(),
              {"PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE"},
              "OpenSTS (as Access Analyzer): * includes iam:PassRole on every role; Parliament "
              "deliberately stays quiet about full admin"),
    "service-wide-star": (_statement(Action="s3:*", Resource="*"), {"RESOURCE_STAR"}, set(),
                          "Parliament, as a style rule (actions that take resources on *); "
                          "Access Analyzer has no such check"),
    "iam-arn-with-region": (_statement(Action="iam:GetRole",
                                       Resource="arn:aws:iam:us-east-1:123456789012:role/r"),
                            {"RESOURCE_MISMATCH"}, {"ARN_REGION_NOT_ALLOWED"},
                            "both; OpenSTS says why (IAM ARNs have no Region)"),
}


def _parliament(text):
    """Parliament's command line (in process it imports pkg_resources, which under pytest
    finds tests/packaging instead of the packaging distribution)."""
    out = subprocess.run([str(BIN / "parliament"), "--string", text, "--json",
                          "--minimum_severity", "INFO"], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=120)
    assert out.returncode in (0, 1), out.stderr[-2000:]
    return {json.loads(line)["issue"] for line in out.stdout.splitlines() if line.strip()}


@pytest.mark.parametrize("name", sorted(DIFFERENCES))
def test_parliament_comparison(name):
    policy, parliament_says, opensts_says, _who = DIFFERENCES[name]
    text = json.dumps(policy)
    assert _parliament(text) == parliament_says
    assert {i.code for i in validate(text, "IDENTITY_POLICY")} == opensts_says
