"""Access previews of an existing bucket on the S3 gateway (in front of SeaweedFS): what the
configuration leaves out is the bucket's own, an empty policy proposes deleting it; and the
AWS CLI v2 (Debian's) drives the four operations."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from typing import Any

import pytest

from tests.analyzer.conftest import analyzer_client
from tests.conftest import Server
from tests.s3.conftest import s3_client

THIRD = "999988887777"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def aa(gateway: Server) -> Any:
    return analyzer_client(gateway)


@pytest.fixture(scope="module")
def shared_bucket(gateway: Server) -> str:
    s3 = s3_client(gateway)
    name = _name("preview-shared")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIRD}:root"},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}]}))
    return name


def _findings(aa: Any, analyzer: str, arn: str, config: dict[str, Any]) -> list[Any]:
    pid = aa.create_access_preview(analyzerArn=analyzer, configurations={arn: config})["id"]
    assert aa.get_access_preview(accessPreviewId=pid, analyzerArn=analyzer)[
        "accessPreview"]["status"] == "COMPLETED"
    return list(aa.list_access_preview_findings(accessPreviewId=pid,
                                                analyzerArn=analyzer)["findings"])


def test_existing_bucket_policy_kept_or_deleted(aa: Any, shared_bucket: str) -> None:
    analyzer = aa.create_analyzer(analyzerName=_name("bucket"), type="ACCOUNT")["arn"]
    arn = f"arn:aws:s3:::{shared_bucket}"
    [existing] = aa.list_findings(analyzerArn=analyzer,
                                  filter={"resource": {"eq": [arn]}})["findings"]
    # No bucketPolicy: the bucket's own policy; the finding is UNCHANGED.
    [same] = _findings(aa, analyzer, arn, {"s3Bucket": {}})
    assert (same["changeType"], same["existingFindingId"]) == ("UNCHANGED", existing["id"])
    # An empty policy proposes deleting it: the finding would be RESOLVED.
    [gone] = _findings(aa, analyzer, arn, {"s3Bucket": {"bucketPolicy": ""}})
    assert (gone["changeType"], gone["status"], gone["existingFindingStatus"]) == \
        ("CHANGED", "RESOLVED", "ACTIVE")
    # Block Public Access proposed with the existing policy: a grant to one account is not
    # public, so it stays.
    [kept] = _findings(aa, analyzer, arn, {"s3Bucket": {"bucketPublicAccessBlock": {
        "ignorePublicAcls": True, "restrictPublicBuckets": True}}})
    assert kept["changeType"] == "UNCHANGED"


@pytest.mark.skipif(shutil.which("/usr/bin/aws") is None, reason="Debian's AWS CLI v2")
def test_aws_cli_v2(gateway: Server, aa: Any, tmp_path: Any) -> None:
    analyzer = aa.create_analyzer(analyzerName=_name("cli"), type="ACCOUNT")["arn"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "AWS_ACCESS_KEY_ID": gateway.root_key, "AWS_SECRET_ACCESS_KEY": gateway.root_secret,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_PAGER": ""}

    def cli(*args: str) -> Any:
        out = subprocess.run(["/usr/bin/aws", "--endpoint-url", gateway.endpoint, "--output",
                              "json", "accessanalyzer", *args], env=env, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    role = f"arn:aws:iam::{gateway.account_id}:role/{_name('cli')}"
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": THIRD}, "Action": "sts:AssumeRole"}]})
    configurations = json.dumps({role: {"iamRole": {"trustPolicy": trust}}})
    pid = cli("create-access-preview", "--analyzer-arn", analyzer,
              "--configurations", configurations)["id"]
    got = cli("get-access-preview", "--analyzer-arn", analyzer, "--access-preview-id", pid)
    assert got["accessPreview"]["status"] == "COMPLETED"
    listed = cli("list-access-previews", "--analyzer-arn", analyzer)["accessPreviews"]
    assert [p["id"] for p in listed] == [pid]
    found = cli("list-access-preview-findings", "--analyzer-arn", analyzer,
                "--access-preview-id", pid)["findings"]
    assert [(f["principal"], f["changeType"]) for f in found] == [({"AWS": THIRD}, "NEW")]
