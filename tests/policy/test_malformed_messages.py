"""IAM's MalformedPolicyDocument answers: AWS's text verbatim first, then where the JSON
breaks, over the wire to boto3 (issue 12)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

# A comma missing after "Effect": the decoder expected it at line 4, column 24.
BROKEN = ('{\n  "Version": "2012-10-17",\n  "Statement": [\n'
          '    {"Effect": "Allow" "Action": "*", "Resource": "*"}\n  ]\n}')
WHERE = "(line 4, column 24: Expecting ',' delimiter)"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
     "Action": "sts:AssumeRole"}]})


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _refusal(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_policy_says_syntax_errors_then_where(iam: Any) -> None:
    assert _refusal(iam.create_policy, PolicyName=_name("mp"), PolicyDocument=BROKEN) == (
        "MalformedPolicyDocument", f"Syntax errors in policy. {WHERE}")


def test_put_role_policy_and_create_role_carry_the_location(iam: Any) -> None:
    role = _name("mr")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    assert _refusal(iam.put_role_policy, RoleName=role, PolicyName="p",
                    PolicyDocument=BROKEN) == (
        "MalformedPolicyDocument", f"Syntax errors in policy. {WHERE}")
    # A trust policy's JSON error has its own AWS wording.
    assert _refusal(iam.create_role, RoleName=_name("mt"), AssumeRolePolicyDocument=BROKEN) == (
        "MalformedPolicyDocument", f"This policy contains invalid Json {WHERE}")


def test_a_duplicate_key_is_named(iam: Any) -> None:
    duplicate = ('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Effect": "Deny", '
                 '"Action": "*", "Resource": "*"}}')
    assert _refusal(iam.create_policy, PolicyName=_name("md"), PolicyDocument=duplicate) == (
        "MalformedPolicyDocument", 'Syntax errors in policy. (duplicate key "Effect")')


def test_grammar_errors_keep_aws_text_alone(iam: Any) -> None:
    no_effect = json.dumps({"Version": "2012-10-17",
                            "Statement": [{"Action": "*", "Resource": "*"}]})
    assert _refusal(iam.create_policy, PolicyName=_name("mg"), PolicyDocument=no_effect) == (
        "MalformedPolicyDocument", "Missing required field Effect")
