"""The seed commands, exactly as users type them, through the AWS CLI (awscli from PyPI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import ACCOUNT_ID, Server, unique
from tests.sts.helpers import allow, doc, trust


def test_assume_role_with_inline_and_managed_session_policies(
    server: Server, iam: Any, new_user: Any, tmp_path: Path
) -> None:
    name, key, secret = new_user()
    role = unique("cli-role")
    iam.create_role(
        RoleName=role,
        AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}),
    )
    iam.put_role_policy(
        RoleName=role, PolicyName="p", PolicyDocument=doc(allow(["iam:ListUsers", "iam:ListRoles"]))
    )
    (tmp_path / "policy.json").write_text(doc(allow("iam:ListUsers")))
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{role}"
    out = server.aws_json(
        "sts",
        "assume-role",
        "--role-arn",
        role_arn,
        "--role-session-name",
        "s3-session",
        "--policy",
        "file://policy.json",
        key=key,
        secret=secret,
        cwd=tmp_path,
    )
    assert out["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/s3-session"
    )
    session = out["Credentials"]
    listed = server.aws(
        "iam",
        "list-users",
        key=session["AccessKeyId"],
        secret=session["SecretAccessKey"],
        token=session["SessionToken"],
    )
    assert listed.returncode == 0
    denied = server.aws(
        "iam",
        "list-roles",
        key=session["AccessKeyId"],
        secret=session["SecretAccessKey"],
        token=session["SessionToken"],
        check=False,
    )
    assert denied.returncode == 255
    assert "An error occurred (AccessDenied) when calling the ListRoles operation" in denied.stderr

    first = iam.create_policy(PolicyName=unique("a"), PolicyDocument=doc(allow("iam:ListRoles")))
    second = iam.create_policy(PolicyName=unique("b"), PolicyDocument=doc(allow("iam:ListUsers")))
    out = server.aws_json(
        "sts",
        "assume-role",
        "--role-arn",
        role_arn,
        "--role-session-name",
        "s3-session",
        "--policy-arns",
        f"arn={first['Policy']['Arn']}",
        f"arn={second['Policy']['Arn']}",
        key=key,
        secret=secret,
    )
    assert out["PackedPolicySize"] > 0


def test_cli_errors_are_aws_errors(server: Server) -> None:
    result = server.aws(
        "sts",
        "assume-role",
        "--role-arn",
        f"arn:aws:iam::{ACCOUNT_ID}:role/x",
        "--role-session-name",
        "bad:name",
        check=False,
    )
    assert result.returncode == 255
    assert "(ValidationError)" in result.stderr
    assert json.dumps(result.stderr)  # printable, no stack trace
    assert "Traceback" not in result.stderr
