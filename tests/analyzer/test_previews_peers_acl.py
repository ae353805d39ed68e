"""cfn-policy-validator ``validate`` on buckets with a canned ACL (``AccessControl``): it
reads the owner's canonical id with S3 ListBuckets and previews the ACL grants, so it runs
against a gateway of this module's own (its analyzer stays out of other tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.analyzer.test_previews_peers import _validate
from tests.conftest import Server, start_server, stop_server
from tests.s3.conftest import S3_DOMAIN, gateway_env

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Site:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: site-preview-acl
      AccessControl: {acl}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seaweed: Any) -> Any:
    running = start_server(tmp_path_factory.mktemp("cfn-preview-acl") / "data",
                           extra_env=gateway_env(seaweed),
                           args=("--s3-backend", seaweed.endpoint, "--s3-domain", S3_DOMAIN))
    yield running
    stop_server(running)


def test_public_read_acl_is_blocking(server: Server, tmp_path: Path) -> None:
    status, report = _validate(server, tmp_path, TEMPLATE.format(acl="PublicRead"))
    assert status == 2
    [finding] = report["BlockingFindings"]
    assert (finding["code"], finding["resourceName"]) == ("EXTERNAL_PRINCIPAL",
                                                          "site-preview-acl")
    details = finding["details"]
    assert details["isPublic"] is True and details["principal"] == {"AWS": "*"}
    assert details["sources"] == [{"type": "BUCKET_ACL"}]
    assert "s3:ListBucket" in details["action"]


def test_private_acl_passes(server: Server, tmp_path: Path) -> None:
    """The owner's FULL_CONTROL grant names the account's own canonical id: no finding."""
    status, report = _validate(server, tmp_path, TEMPLATE.format(acl="Private"))
    assert status == 0 and report["BlockingFindings"] == []
