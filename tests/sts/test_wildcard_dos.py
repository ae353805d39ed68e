"""A caller's own session policy cannot stall the server with a wildcard pattern.

Regression test for "no request may stall the server": a session policy with
``StringLike aws:UserAgent "*a*a*a*a*a*a*a*b"`` and a 60-character User-Agent of 'a's took
15 s when patterns were regexes (each extra ``*a`` multiplies it) and held the GIL, so
/health stalled too. With twelve ``*a`` this test ran for hours on that code; the glob
matcher (src/opensts/policy/glob.py) answers at once.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, unique
from tests.sts.helpers import allow, creds, doc, error_of, trust

PATTERN = "*a" * 12 + "*b"


def _client(server: Server, credentials: dict[str, str], user_agent: str) -> Any:
    """An IAM client that sends exactly ``user_agent`` (botocore appends its own name;
    User-Agent is not a signed header, so it can be replaced just before sending)."""
    client = boto3.session.Session().client(
        "iam",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["key"],
        aws_secret_access_key=credentials["secret"],
        aws_session_token=credentials["token"],
        config=Config(retries={"max_attempts": 1}, read_timeout=60),
    )

    def exact_user_agent(request: Any, **_: Any) -> None:
        request.headers["User-Agent"] = user_agent

    client.meta.events.register("before-send.iam", exact_user_agent)
    return client


def test_session_policy_user_agent_pattern_answers(server: Server, iam: Any, new_user: Any) -> None:
    name, key, secret = new_user(doc(allow("sts:AssumeRole")))
    role = unique("ua-role")
    role_arn = iam.create_role(
        RoleName=role,
        AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}),
    )["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=doc(allow("iam:ListUsers")))
    session_policy = doc(
        allow("iam:ListUsers", Condition={"StringLike": {"aws:UserAgent": PATTERN}})
    )
    response = server.client("sts", key, secret).assume_role(
        RoleArn=role_arn, RoleSessionName="ua", Policy=session_policy
    )
    session = creds(response)

    # The condition is evaluated, not skipped: a User-Agent that fits the pattern is allowed.
    assert "Users" in _client(server, session, "a" * 100 + "b").list_users()

    with pytest.raises(ClientError) as denied:
        _client(server, session, "a" * 100).list_users()
    code, status, message = error_of(denied.value)
    assert (code, status) == ("AccessDenied", 403)
    assert "iam:ListUsers" in message
