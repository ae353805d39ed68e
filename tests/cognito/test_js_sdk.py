"""fromCognitoIdentityPool (AWS SDK for JavaScript v3, @aws-sdk/credential-providers):
the enhanced flow as browser and mobile apps run it, for a guest and a signed-in user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ACCOUNT_ID, REPO, Server, unique

from .conftest import Peers, cognito_trust, login_name, make_role

PEER = REPO / "tests" / "peers" / "aws-sdk-js"
SCRIPT = Path(__file__).with_name("js_pool.mjs")


def run_provider(cog: Server, pool: str, logins: dict[str, str]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run scripts/install-test-tools")
    if not (PEER / "node_modules" / "@aws-sdk" / "credential-providers").is_dir():
        pytest.fail(f"@aws-sdk/credential-providers is not installed in {PEER}: run "
                    "scripts/install-test-tools")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cog.data_dir),
           "OPENSTS_ENDPOINT": cog.endpoint, "OPENSTS_PEER_DIR": str(PEER),
           "OPENSTS_POOL_ID": pool, "OPENSTS_LOGINS": json.dumps(logins)}
    result = subprocess.run([node, str(SCRIPT)], env=env, capture_output=True, text=True,
                            timeout=120)
    lines = result.stdout.strip().splitlines()
    assert lines, f"node printed nothing (rc {result.returncode}): {result.stderr}"
    summary: dict[str, Any] = json.loads(lines[-1])
    assert "fatal" not in summary, f"provider failed: {summary['fatal']}\n{result.stderr}"
    return summary


def test_guest_and_signed_in_user(cog: Server, ci: Any, ciam: Any, peers: Peers,
                                  main_provider: str) -> None:
    pool = ci.create_identity_pool(IdentityPoolName=unique("js").replace("-", "_"),
                                   AllowUnauthenticatedIdentities=True,
                                   OpenIdConnectProviderARNs=[main_provider])["IdentityPoolId"]
    guest = make_role(ciam, cognito_trust(pool, "unauthenticated"), ["iam:ListUsers"])
    user = make_role(ciam, cognito_trust(pool, "authenticated"), ["iam:ListUsers"])
    ci.set_identity_pool_roles(IdentityPoolId=pool,
                               Roles={"unauthenticated": guest, "authenticated": user})

    as_guest = run_provider(cog, pool, {})
    assert as_guest["arn"] == (f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/"
                               f"{guest.rsplit('/', 1)[1]}/CognitoIdentityCredentials")
    assert as_guest["keyPrefix"] == "ASIA" and as_guest["hasSecret"] and as_guest["hasToken"]
    assert 3500 <= as_guest["expiresInSeconds"] <= 3600
    assert as_guest["listUsers"] == "AccessDenied"  # the guests' scope-down

    token = peers.main.token("web-app")
    as_user = run_provider(cog, pool, {login_name(main_provider): token})
    assert as_user["arn"].split("/")[1] == user.rsplit("/", 1)[1]
    assert as_user["listUsers"] == "allowed"
    assert as_user["identityId"].startswith("us-east-1:")
    assert as_user["identityId"] != as_guest["identityId"]
