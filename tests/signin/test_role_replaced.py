"""A sign-in session bound to a role ends with that role: a new role created under the same
name (another unique id, perhaps trusting someone else) is not handed to it on refresh."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Server
from tests.signin.helpers import Browser, Client, User

ADMIN = json.dumps({"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def _trusting(principal: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": principal}}]})


def test_a_role_replaced_under_the_same_name_ends_the_sign_in_session(
    signin_server: Server, siam: Any, browser: Browser, client: Client, user: User
) -> None:
    role = f"r-{user.name}"
    siam.create_role(RoleName=role, AssumeRolePolicyDocument=_trusting(user.arn))
    siam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=ADMIN)
    code = browser.login(user, challenge=client.challenge, role=role)["code"]
    tokens = client.exchange(code).json()
    refreshed = client.refresh(tokens["refreshToken"])
    assert refreshed.status_code == 200, refreshed.text
    siam.delete_role_policy(RoleName=role, PolicyName="p")
    siam.delete_role(RoleName=role)
    # The new role trusts only the account, not this user.
    siam.create_role(RoleName=role,
                     AssumeRolePolicyDocument=_trusting(f"arn:aws:iam::{user.account}:root"))
    siam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=ADMIN)
    ended = client.refresh(refreshed.json()["refreshToken"])
    assert ended.json().get("error") == "TOKEN_EXPIRED", ended.text
