"""Shared helpers of the IAM end-to-end tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

ALLOW_ALL = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def allow(*actions: str, resource: str = "*") -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]}


def doc(policy: dict[str, Any]) -> str:
    return json.dumps(policy)


def trust(account_id: str) -> str:
    return doc({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": "sts:AssumeRole"}]})


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    """Run a boto3 call that must fail; returns (code, HTTP status, message)."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    err = info.value.response
    return (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"],
            err["Error"]["Message"])
