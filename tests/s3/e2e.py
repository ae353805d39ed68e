"""Helpers for the gateway's end-to-end tests: accounts, users and roles made through the
server's own IAM/Organizations APIs, and S3 clients with their credentials."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from opensts.sigv4.chunked import chunk_string_to_sign
from opensts.sigv4.outbound import sign_headers
from opensts.sigv4.request import format_amz_date
from opensts.sigv4.signing import derive_signing_key
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


# -- raw requests: exact paths, hand-made bodies ---------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def code(self) -> str:
        text = self.body.decode("utf-8", "replace")
        start = text.find("<Code>")
        return text[start + 6:text.find("</Code>")] if start != -1 else ""


def endpoint_host(server: Server) -> str:
    return server.endpoint.split("//", 1)[1]


def send_raw(server: Server, method: str, path: str, headers: list[tuple[str, str]],
             body: bytes | list[bytes] = b"", *, close_early: bool = False) -> Answer | None:
    """Send exactly this request (``http.client`` leaves the path alone). ``body`` as a list
    is sent piece by piece; ``close_early`` closes the socket without reading an answer."""
    host = endpoint_host(server)
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders()
    for piece in body if isinstance(body, list) else [body]:
        if piece:
            conn.send(piece)
    if close_early:
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        return None
    response = conn.getresponse()
    answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                    response.read())
    conn.close()
    return answer


def signed_headers(server: Server, method: str, path: str, query: str = "",
                   headers: list[tuple[str, str]] | None = None, *,
                   payload_hash: str = "UNSIGNED-PAYLOAD", key: str | None = None,
                   secret: str | None = None, token: str | None = None,
                   host: str | None = None, now: datetime | None = None) -> list[tuple[str, str]]:
    return sign_headers(
        method=method, raw_path=path, raw_query=query,
        headers=[("Host", host or endpoint_host(server)), *(headers or [])],
        access_key_id=key or server.root_key, secret_access_key=secret or server.root_secret,
        session_token=token, region="us-east-1", service="s3", now=now or datetime.now(UTC),
        payload_hash=payload_hash, content_sha256_header=True,
    )


def raw(server: Server, method: str, path: str, body: bytes = b"",
        headers: list[tuple[str, str]] | None = None, **sign: Any) -> Answer:
    hashed = hashlib.sha256(body).hexdigest()
    all_headers = [*(headers or []), ("Content-Length", str(len(body)))]
    query = path.split("?", 1)[1] if "?" in path else ""
    signed = signed_headers(server, method, path.split("?", 1)[0], query, all_headers,
                            payload_hash=sign.pop("payload_hash", hashed), **sign)
    answer = send_raw(server, method, path, signed, body)
    assert answer is not None
    return answer


def chunk_signed_body(server: Server, path: str, chunks: list[bytes], *,
                      tamper: int | None = None) -> tuple[list[tuple[str, str]], bytes]:
    """A ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` PUT (sigv4-streaming): headers and body, with
    chunk ``tamper``'s data altered after signing."""
    now = datetime.now(UTC)
    decoded = sum(len(c) for c in chunks)
    framed_length = 0
    frames: list[tuple[bytes, str]] = []
    headers = [("Content-Encoding", "aws-chunked"),
               ("X-Amz-Decoded-Content-Length", str(decoded))]
    parts: list[bytes] = []
    # The Content-Length is signed, so it is computed from the frame sizes first.
    for data in [*chunks, b""]:
        framed_length += len(f"{len(data):x};chunk-signature=".encode()) + 64 + 2 + len(data) + 2
    headers.append(("Content-Length", str(framed_length)))
    signed = signed_headers(server, "PUT", path, "", headers,
                            payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD", now=now)
    authorization = dict(signed)["Authorization"]
    previous = authorization.rsplit("Signature=", 1)[1]
    amz_date = format_amz_date(now)
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = derive_signing_key(server.root_secret, amz_date[:8], "us-east-1", "s3")
    for index, data in enumerate([*chunks, b""]):
        sts = chunk_string_to_sign(amz_date, scope, previous,
                                   hashlib.sha256(data).hexdigest())
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        sent = data
        if tamper == index and data:
            sent = bytes([data[0] ^ 1]) + data[1:]
        frames.append((sent, sig))
        previous = sig
    for sent, sig in frames:
        parts.append(f"{len(sent):x};chunk-signature={sig}\r\n".encode() + sent + b"\r\n")
    return signed, b"".join(parts)
