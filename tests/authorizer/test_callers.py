"""Callers people sign API calls with, through nginx: awscurl (PyPI) and the AWS SDK for
JavaScript v3 signer (@smithy/signature-v4, run by node from tests/peers/aws-sdk-js)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials

from tests.authorizer.conftest import hook_port
from tests.authorizer.gateways import Gateway, declare, nginx_binary, start_nginx
from tests.authorizer.world import allow, doc, invoke_arn, role_session, user
from tests.conftest import BIN, REPO, Server

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx not installed")

API = "callers1"
PEER = REPO / "tests" / "peers" / "aws-sdk-js"
SCRIPT = Path(__file__).with_name("smithy_call.mjs")


@pytest.fixture(scope="module")
def nginx(hook_server: Server, echo: int, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Gateway]:
    declare(hook_server, API, hook_server.account_id)
    gateway = start_nginx(tmp_path_factory.mktemp("nginx"), opensts_port=hook_port(hook_server),
                          api_id=API, stage="prod", upstream_port=echo)
    yield gateway
    gateway.stop()


def awscurl(creds: Credentials, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent",
           "AWS_ACCESS_KEY_ID": creds.access_key, "AWS_SECRET_ACCESS_KEY": creds.secret_key,
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    if creds.token:
        env["AWS_SESSION_TOKEN"] = creds.token
    return subprocess.run([str(BIN / "awscurl"), "--service", "execute-api", "--region",
                           "us-east-1", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_awscurl_get_and_post(hook_server: Server, nginx: Gateway) -> None:
    arn, creds, _ = role_session(hook_server, doc(allow(
        "execute-api:Invoke", invoke_arn(hook_server.account_id, API, "prod/*/orders*"))))
    done = awscurl(creds, f"{nginx.url}/orders/42")
    assert done.returncode == 0, done.stderr
    assert f'"x-opensts-principal-arn": "{arn}"' in done.stdout
    done = awscurl(creds, "-X", "POST", "-H", "Content-Type: application/json",
                   "-d", '{"item":"book"}', f"{nginx.url}/orders")
    assert done.returncode == 0, done.stderr
    echoed = json.loads(done.stdout)
    assert echoed["method"] == "POST" and echoed["body_length"] == len('{"item":"book"}')
    assert echoed["headers"]["x-opensts-body-verified"] == "false"
    done = awscurl(creds, f"{nginx.url}/invoices/1")
    assert "is not authorized to perform: execute-api:Invoke" in done.stdout + done.stderr


def smithy(creds: Credentials, **request: Any) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (PEER / "node_modules" / "@smithy" / "signature-v4").is_dir():
        pytest.fail("node or @smithy/signature-v4 missing: run scripts/install-test-tools")
    credentials = {"accessKeyId": creds.access_key, "secretAccessKey": creds.secret_key}
    if creds.token:
        credentials["sessionToken"] = creds.token
    done = subprocess.run(
        [node, str(SCRIPT), json.dumps({**request, "credentials": credentials})],
        env={"PATH": os.environ.get("PATH", ""), "OPENSTS_PEER_DIR": str(PEER)},
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_js_sdk_signer(hook_server: Server, nginx: Gateway) -> None:
    arn, creds = user(hook_server, doc(allow("execute-api:Invoke", "*")))
    got = smithy(creds, method="GET", url=f"{nginx.url}/orders/42?b=2&a=1")
    assert got["status"] == 200, got
    assert json.loads(got["body"])["headers"]["x-opensts-principal-arn"] == arn
    got = smithy(creds, method="PUT", url=f"{nginx.url}/orders/42",
                 headers={"content-type": "application/json"}, body='{"qty":4}')
    assert got["status"] == 200, got  # the signer sends x-amz-content-sha256 itself
    got = smithy(creds, method="GET", url=f"{nginx.url}/orders/7", presign=True)
    assert got["status"] == 200, got
    _, session, _ = role_session(hook_server, doc(allow("execute-api:Invoke", "*")),
                                 name="js-session")
    got = smithy(session, method="GET", url=f"{nginx.url}/orders/8")
    assert got["status"] == 200, got
    assert json.loads(got["body"])["headers"]["x-opensts-session-name"] == "js-session"
