"""Principals, policies and signed callers for the authorizer's end-to-end tests."""

from __future__ import annotations

import hashlib
import http.client
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import Server

REGION = "us-east-1"
# A loopback address that is not in the servers' --trusted-proxies (127.0.0.1/32): the
# "client" of the source-IP tests connects from here.
CLIENT_IP = "127.0.0.5"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def invoke_arn(account: str, api_id: str, rest: str = "*") -> str:
    return f"arn:aws:execute-api:{REGION}:{account}:{api_id}/{rest}"


def new_account(server: Server) -> str:
    """A member account of the server's organization (created on first use)."""
    from botocore.exceptions import ClientError

    client = server.client("organizations")
    try:
        client.describe_organization()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AWSOrganizationsNotInUseException":
            raise
        client.create_organization(FeatureSet="ALL")
    suffix = uuid.uuid4().hex[:8]
    state = client.create_account(AccountName=f"member-{suffix}",
                                  Email=f"m-{suffix}@example.com")["CreateAccountStatus"]
    assert state["State"] == "SUCCEEDED", state
    return str(state["AccountId"])


def user(server: Server, policy: str | None = None) -> tuple[str, Credentials]:
    iam = server.client("iam")
    name = f"u-{uuid.uuid4().hex[:10]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def role_session(server: Server, policy: str, *, session_policy: str | None = None,
                 tags: dict[str, str] | None = None, source_identity: str | None = None,
                 name: str = "alice") -> tuple[str, Credentials, str]:
    """Assume a new role (trusting the account root, so the root assumes it): ARN, creds,
    role name."""
    iam = server.client("iam")
    role = f"r-{uuid.uuid4().hex[:10]}"
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
                 "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]})
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=policy)
    _, root_creds = user(server, doc(allow(["sts:AssumeRole", "sts:TagSession",
                                             "sts:SetSourceIdentity"])))
    sts = server.client("sts", root_creds.access_key, root_creds.secret_key)
    kwargs: dict[str, Any] = {"RoleArn": f"arn:aws:iam::{server.account_id}:role/{role}",
                              "RoleSessionName": name}
    if session_policy:
        kwargs["Policy"] = session_policy
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    if source_identity:
        kwargs["SourceIdentity"] = source_identity
    answer = sts.assume_role(**kwargs)
    c = answer["Credentials"]
    return (answer["AssumedRoleUser"]["Arn"],
            Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]), role)


def sign(method: str, url: str, creds: Credentials, *, body: bytes = b"",
         headers: dict[str, str] | None = None, at: datetime | None = None,
         claim_hash: bool = False) -> AWSRequest:
    """botocore's SigV4Auth (service execute-api); ``at`` signs as of another time;
    ``claim_hash`` adds x-amz-content-sha256 (signed), which a hook that never sees the
    body (nginx) needs for any request with a body."""
    headers = dict(headers or {})
    if claim_hash:
        headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    if at is None:
        SigV4Auth(creds, "execute-api", REGION).add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime",
                        lambda: at.astimezone(UTC).replace(tzinfo=None)):
            SigV4Auth(creds, "execute-api", REGION).add_auth(request)
    return request


def presign(method: str, url: str, creds: Credentials, expires: int = 60) -> str:
    request = AWSRequest(method=method, url=url)
    SigV4QueryAuth(creds, "execute-api", REGION, expires=expires).add_auth(request)
    return str(request.url)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def seen(self) -> dict[str, str]:
        """The headers the upstream received (the echo's answer)."""
        return dict(self.json()["headers"])


def send(method: str, url: str, headers: dict[str, str] | list[tuple[str, str]] | None = None,
         body: bytes = b"", *, source: str | None = None) -> Reply:
    """Exactly this request (http.client leaves the path alone), optionally from ``source``."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=30,
        source_address=(source, 0) if source else None)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if not any(k.lower() == "host" for k, _ in items):
        items.append(("Host", parts.netloc))
    for name, value in items:
        connection.putheader(name, value)
    if body or method in ("POST", "PUT", "PATCH"):
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body or None)
    response = connection.getresponse()
    reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                  response.read())
    connection.close()
    return reply


def send_signed(request: AWSRequest, *, extra: dict[str, str] | None = None,
                source: str | None = None) -> Reply:
    headers = [(k, v) for k, v in request.headers.items()] + list((extra or {}).items())
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    return send(request.method, request.url, headers, body, source=source)
