"""cfn-policy-validator (AWS's, PyPI) ``validate`` on templates with an IAM role and an S3
bucket policy: it previews each trust and bucket policy with CreateAccessPreview,
GetAccessPreview and ListAccessPreviewFindings, and reports every ACTIVE preview finding as
a blocking EXTERNAL_PRINCIPAL SECURITY_WARNING (exit status 2). Run unmodified against a
server of this module's own (``validate`` creates an account analyzer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, start_server, stop_server

BIN = Path(sys.executable).parent
THIRD = "999988887777"

ROLE_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  VendorRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: vendor-access
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              AWS: arn:aws:iam::{principal}:root
            Action: sts:AssumeRole
{condition}"""
EXTERNAL_ID = """\
            Condition:
              StringEquals:
                sts:ExternalId: vendor-7f3a
"""
BUCKET_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Reports:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: reports-preview-peer
  ReportsPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Reports
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              AWS: arn:aws:iam::{principal}:root
            Action: s3:GetObject
            Resource: arn:aws:s3:::reports-preview-peer/*
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    running = start_server(tmp_path_factory.mktemp("cfn-preview") / "data")
    yield running
    stop_server(running)


def _validate(server: Server, tmp_path: Path, template: str, *args: str
              ) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "template.yaml"
    path.write_text(template)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=server.root_key, AWS_SECRET_ACCESS_KEY=server.root_secret,
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=server.endpoint,
               AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    out = subprocess.run([str(BIN / "cfn-policy-validator"), "validate", "--template-path",
                          str(path), "--region", "us-east-1", *args],
                         capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path)
    assert out.returncode in (0, 2), out.stderr[-3000:]
    return out.returncode, json.loads(out.stdout)


def _codes(report: dict[str, Any], which: str) -> list[tuple[str, str, str]]:
    return sorted((f["code"], f["resourceName"], f["policyName"]) for f in report[which])


def test_role_trusting_a_third_party_is_blocking(server: Server, tmp_path: Path) -> None:
    status, report = _validate(server, tmp_path, ROLE_TEMPLATE.format(principal=THIRD,
                                                                     condition=""))
    assert status == 2
    assert _codes(report, "BlockingFindings") == [
        ("EXTERNAL_PRINCIPAL", "vendor-access", "TrustPolicy")]
    [finding] = report["BlockingFindings"]
    assert finding["findingType"] == "SECURITY_WARNING"
    details = finding["details"]
    assert details["principal"] == {"AWS": f"arn:aws:iam::{THIRD}:root"}
    assert details["action"] == ["sts:AssumeRole"]
    assert (details["changeType"], details["status"]) == ("NEW", "ACTIVE")
    assert details["resource"] == f"arn:aws:iam::{server.account_id}:role/vendor-access"


def test_external_id_shows_as_a_condition(server: Server, tmp_path: Path) -> None:
    """The confused deputy guarded: still external (AWS reports it, with the condition),
    and allowed through the tool's own option for the vendor's account."""
    template = ROLE_TEMPLATE.format(principal=THIRD, condition=EXTERNAL_ID)
    status, report = _validate(server, tmp_path, template)
    assert status == 2
    [finding] = report["BlockingFindings"]
    assert finding["details"]["condition"] == {"sts:ExternalId": "vendor-7f3a"}
    status, report = _validate(server, tmp_path, template,
                               "--allow-external-principals", THIRD)
    assert status == 0 and report["BlockingFindings"] == []


def test_role_trusting_our_account_passes(server: Server, tmp_path: Path) -> None:
    status, report = _validate(server, tmp_path, ROLE_TEMPLATE.format(
        principal=server.account_id, condition=""))
    assert status == 0
    assert report["BlockingFindings"] == []


def test_bucket_policy_for_another_account_is_blocking(server: Server,
                                                       tmp_path: Path) -> None:
    status, report = _validate(server, tmp_path, BUCKET_TEMPLATE.format(principal=THIRD))
    assert status == 2
    assert _codes(report, "BlockingFindings") == [
        ("EXTERNAL_PRINCIPAL", "reports-preview-peer", "BucketPolicy")]
    details = report["BlockingFindings"][0]["details"]
    assert details["action"] == ["s3:GetObject"]
    assert details["sources"] == [{"type": "POLICY"}]
    status, report = _validate(server, tmp_path, BUCKET_TEMPLATE.format(
        principal=server.account_id))
    assert status == 0 and report["BlockingFindings"] == []


QUEUE_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  JobsPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Jobs]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: "*"
            Action: sqs:SendMessage
            Resource: "*"
"""


def test_uncovered_resource_types_are_reported_not_passed(server: Server,
                                                          tmp_path: Path) -> None:
    """An SQS queue policy is not previewed (OpenSTS holds no queues): the tool reports the
    refused preview as a blocking error for that policy, never a silent pass."""
    status, report = _validate(server, tmp_path, QUEUE_TEMPLATE)
    assert status == 2
    [failed] = [f for f in report["BlockingFindings"]
                if f["code"] == "FAILED_ACCESS_PREVIEW_CREATION"]
    assert failed["resourceName"] == "Jobs"
    assert "ValidationException" in failed["message"]
    assert "supported configurations: iamRole, s3Bucket" in failed["message"]
