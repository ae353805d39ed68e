"""Small helpers for STS end-to-end tests."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(
    principal: dict[str, Any] | str, action: str | list[str] = "sts:AssumeRole", **extra: Any
) -> str:
    return doc({"Effect": "Allow", "Principal": principal, "Action": action, **extra})


def error_of(exc: ClientError) -> tuple[str, int, str]:
    err = exc.response["Error"]
    return err["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"], err["Message"]


def creds(response: dict[str, Any]) -> dict[str, str]:
    c = response["Credentials"]
    return {"key": c["AccessKeyId"], "secret": c["SecretAccessKey"], "token": c["SessionToken"]}
