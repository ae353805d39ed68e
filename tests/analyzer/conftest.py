"""Fixtures for the Access Analyzer tests: boto3 clients against the real server."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.conftest import Server


def analyzer_client(server: Server, *, key: str | None = None, secret: str | None = None,
                    token: str | None = None, validate: bool = True,
                    region: str = "us-east-1") -> Any:
    """An ``accessanalyzer`` client; ``validate=False`` turns botocore's own parameter
    validation off so that the server's (AWS's) validation answers."""
    return boto3.session.Session().client(
        "accessanalyzer", endpoint_url=server.endpoint, region_name=region,
        aws_access_key_id=key or server.root_key,
        aws_secret_access_key=secret or server.root_secret, aws_session_token=token,
        config=Config(parameter_validation=validate, retries={"max_attempts": 1}))


@pytest.fixture(scope="session")
def aa(server: Server) -> Any:
    return analyzer_client(server)


@pytest.fixture(scope="session")
def aa_raw(server: Server) -> Any:
    return analyzer_client(server, validate=False)


# The S3 gateway in front of SeaweedFS (tests/s3): one server for STS, IAM, Organizations,
# S3 and Access Analyzer, so that bucket policies are analyzed too.
from tests.s3 import conftest as _s3  # noqa: E402

gateway = _s3.gateway
seaweed = _s3.seaweed


@pytest.fixture(scope="session")
def gw_org(gateway: Server) -> dict[str, Any]:
    """The gateway's organization with one member account: {org_id, member}."""
    from botocore.exceptions import ClientError

    orgs = gateway.client("organizations")
    try:
        org = orgs.describe_organization()["Organization"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AWSOrganizationsNotInUseException":
            raise
        org = orgs.create_organization(FeatureSet="ALL")["Organization"]
    status = orgs.create_account(Email="aa-member@example.com", AccountName="aa-member")
    member = status["CreateAccountStatus"].get("AccountId")
    if member is None:
        member = orgs.describe_create_account_status(
            CreateAccountRequestId=status["CreateAccountStatus"]["Id"]
        )["CreateAccountStatus"]["AccountId"]
    return {"org_id": org["Id"], "member": member}
