"""Core STS/IAM flows through the AWS SDK for JavaScript v3 against the real server.

The node script (sdk_flows.mjs) drives the SDK; this side checks its JSON summary against
the STS API reference (AssumeRole, GetCallerIdentity, GetSessionToken, GetFederationToken)
and the SDK's error contract (exception ``name`` is the AWS error code, ``$metadata``
carries the HTTP status).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ACCOUNT_ID, REPO, Server, unique

PEER = REPO / "tests" / "peers" / "aws-sdk-js"
SCRIPT = Path(__file__).with_name("sdk_flows.mjs")
PINNED = json.loads((PEER / "package.json").read_text())["dependencies"]


def run_flows(server: Server, prefix: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run scripts/install-test-tools")
    for package in PINNED:
        if not (PEER / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"{package} is not installed in {PEER}: run scripts/install-test-tools")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(server.data_dir),  # no ~/.aws of the developer leaks in
        "OPENSTS_ENDPOINT": server.endpoint,
        "OPENSTS_PEER_DIR": str(PEER),
        "OPENSTS_PREFIX": prefix,
        "AWS_ACCESS_KEY_ID": server.root_key,
        "AWS_SECRET_ACCESS_KEY": server.root_secret,
    }
    result = subprocess.run(
        [node, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )
    lines = result.stdout.strip().splitlines()
    assert lines, f"node printed nothing (rc {result.returncode}): {result.stderr}"
    summary: dict[str, Any] = json.loads(lines[-1])
    assert "fatal" not in summary, f"flow failed: {summary['fatal']}\n{result.stderr}"
    assert result.returncode == 0, result.stderr
    return summary


@pytest.fixture(scope="module")
def flows(server: Server) -> tuple[str, dict[str, Any]]:
    prefix = unique("js")
    return prefix, run_flows(server, prefix)


def assert_temporary(shape: dict[str, Any], lifetime: int) -> None:
    assert shape["accessKeyIdPrefix"] == "ASIA"
    assert shape["secretLength"] == 40
    assert shape["sessionTokenLength"] > 0
    assert shape["expirationIsDate"] is True
    expiration = datetime.fromisoformat(shape["expiration"].replace("Z", "+00:00"))
    # The server's clock and this one agree to well within the session length.
    remaining = expiration - datetime.now(UTC)
    assert timedelta(seconds=lifetime - 300) < remaining <= timedelta(seconds=lifetime + 60)


def test_the_sdk_versions_are_the_pinned_ones(flows: tuple[str, dict[str, Any]]) -> None:
    _, out = flows
    assert out["sdk"] == {
        "clientSts": PINNED["@aws-sdk/client-sts"],
        "clientIam": PINNED["@aws-sdk/client-iam"],
    }


def test_iam_setup_through_the_js_sdk(flows: tuple[str, dict[str, Any]]) -> None:
    prefix, out = flows
    assert out["createUser"]["userName"] == f"{prefix}-user"
    assert out["createUser"]["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{prefix}-user"
    assert out["createUser"]["userId"].startswith("AIDA")
    assert out["createAccessKey"] == {"accessKeyIdPrefix": "AKIA", "secretLength": 40,
                                      "status": "Active"}
    assert out["createRole"]["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/{prefix}-role"
    assert out["createRole"]["roleIdPrefix"] == "AROA"
    assert out["userIdentity"] == {
        "UserId": out["createUser"]["userId"],
        "Account": ACCOUNT_ID,
        "Arn": out["createUser"]["arn"],
    }


def test_assume_role_with_a_session_policy(flows: tuple[str, dict[str, Any]]) -> None:
    prefix, out = flows
    assumed = out["assumeRole"]
    assert assumed["httpStatusCode"] == 200
    assert re.fullmatch(r"[0-9a-f-]{36}", assumed["requestId"] or "")
    assert_temporary(assumed["credentials"], 900)
    arn = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{prefix}-role/js-sdk"
    assert assumed["assumedRoleUser"]["Arn"] == arn
    role_id, session = assumed["assumedRoleUser"]["AssumedRoleId"].split(":")
    assert role_id.startswith("AROA") and session == "js-sdk"
    # A session policy was passed, so AWS reports its packed size (a percentage).
    assert 0 < assumed["packedPolicySize"] <= 100
    assert out["roleIdentity"] == {
        "UserId": assumed["assumedRoleUser"]["AssumedRoleId"],
        "Account": ACCOUNT_ID,
        "Arn": arn,
    }


def test_session_policy_narrows_the_role_and_denial_is_the_sdk_exception(
    flows: tuple[str, dict[str, Any]],
) -> None:
    prefix, out = flows
    assert out["allowedBySessionPolicy"] == {"roleName": f"{prefix}-role"}
    denied = out["deniedBySessionPolicy"]
    assert (denied["name"], denied["httpStatusCode"], denied["fault"]) == (
        "AccessDenied",
        403,
        "client",
    )
    assert denied["serviceException"] == "IAMServiceException"
    assert denied["message"].startswith(
        f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/{prefix}-role/js-sdk is not authorized "
        f"to perform: iam:GetUser on resource: arn:aws:iam::{ACCOUNT_ID}:user/{prefix}-user "
        "because no session policy allows the iam:GetUser action"
    )
    assert re.fullmatch(r"[0-9a-f-]{36}", denied["requestId"] or "")


def test_assume_role_denied_for_an_untrusted_role(flows: tuple[str, dict[str, Any]]) -> None:
    prefix, out = flows
    denied = out["deniedAssumeRole"]
    assert (denied["name"], denied["httpStatusCode"]) == ("AccessDenied", 403)
    assert denied["serviceException"] == "STSServiceException"
    assert denied["message"].startswith(
        f"User: arn:aws:iam::{ACCOUNT_ID}:user/{prefix}-user is not authorized to perform: "
        f"sts:AssumeRole on resource: arn:aws:iam::{ACCOUNT_ID}:role/{prefix}-missing"
    )


def test_get_session_token(flows: tuple[str, dict[str, Any]]) -> None:
    _, out = flows
    assert_temporary(out["getSessionToken"]["credentials"], 900)
    # GetSessionToken credentials act as the user itself.
    assert out["sessionIdentity"] == out["userIdentity"]


def test_get_federation_token(flows: tuple[str, dict[str, Any]]) -> None:
    _, out = flows
    fed = out["getFederationToken"]
    assert_temporary(fed["credentials"], 900)
    arn = f"arn:aws:sts::{ACCOUNT_ID}:federated-user/js-fed"
    assert fed["federatedUser"] == {"FederatedUserId": f"{ACCOUNT_ID}:js-fed", "Arn": arn}
    assert 0 < fed["packedPolicySize"] <= 100
    assert out["federatedIdentity"] == {
        "UserId": f"{ACCOUNT_ID}:js-fed",
        "Account": ACCOUNT_ID,
        "Arn": arn,
    }
    refused = out["federatedSessionToken"]
    assert (refused["name"], refused["httpStatusCode"]) == ("AccessDenied", 403)


def test_bad_signature_is_the_sdk_exception(flows: tuple[str, dict[str, Any]]) -> None:
    _, out = flows
    bad = out["badSignature"]
    assert (bad["name"], bad["httpStatusCode"]) == ("SignatureDoesNotMatch", 403)
    assert bad["serviceException"] == "STSServiceException"
