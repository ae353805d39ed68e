"""Helpers for the gateway's end-to-end tests: accounts, users and roles made through the
server's own IAM/Organizations APIs, and S3 clients with their credentials."""

from __future__ import annotations

import json
import uuid
from typing import Any

from botocore.exceptions import ClientError

from tests.conftest import Server


def unique_bucket(prefix: str = "bkt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def creds(response: dict[str, Any]) -> dict[str, str]:
    c = response["Credentials"]
    return {"key": c["AccessKeyId"], "secret": c["SecretAccessKey"], "token": c["SessionToken"]}


def code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def status(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def user(server: Server, policy: str | None = None, *, iam: Any = None,
         groups: tuple[str, ...] = ()) -> tuple[str, str, str]:
    """A user with an access key (in the account of ``iam``, the management one by default)."""
    iam = iam or server.client("iam")
    name = f"u-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy)
    for group in groups:
        iam.add_user_to_group(GroupName=group, UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    arn = iam.get_user(UserName=name)["User"]["Arn"]
    return arn, key["AccessKeyId"], key["SecretAccessKey"]


def organization(server: Server) -> dict[str, Any]:
    client = server.client("organizations")
    try:
        client.describe_organization()
    except ClientError as exc:
        if code(exc) != "AWSOrganizationsNotInUseException":
            raise
        client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]
    if not any(t["Type"] == "SERVICE_CONTROL_POLICY" and t["Status"] == "ENABLED"
               for t in root["PolicyTypes"]):
        client.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    return client.list_roots()["Roots"][0]


def new_account(server: Server, name: str = "member") -> str:
    organization(server)
    client = server.client("organizations")
    suffix = uuid.uuid4().hex[:8]
    status_ = client.create_account(AccountName=f"{name}-{suffix}",
                                    Email=f"{name}-{suffix}@example.com")["CreateAccountStatus"]
    assert status_["State"] == "SUCCEEDED", status_
    return str(status_["AccountId"])


def admin_of(server: Server, account: str) -> dict[str, str]:
    """OrganizationAccountAccessRole credentials in ``account`` (via a management user)."""
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    _, key, secret = user(server, doc(allow("sts:AssumeRole", role)))
    return creds(server.client("sts", key, secret).assume_role(
        RoleArn=role, RoleSessionName="admin"))


def session_client(server: Server, service: str, session: dict[str, str]) -> Any:
    return server.client(service, session["key"], session["secret"], session["token"])
