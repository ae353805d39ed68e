"""The README's client compatibility table, for the clients installed here: the venv's AWS CLI
v1 and the AWS SDK for JavaScript v3 reach the server through every configured-endpoint
setting (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS, a profile's endpoint_url, a services
section); Debian's CLI v2 2.9 reaches it only with --endpoint-url on each command (that it
ignores AWS_ENDPOINT_URL is shown in tests/cli/test_doctor.py, without a request leaving).
And the versions ``opensts doctor`` judges by are the ones the table states."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from opensts.cli.doctor import CONFIGURED_ENDPOINTS_SINCE
from tests.conftest import BIN, REPO, Server

README = REPO / "README.md"
AWS_V2 = Path("/usr/bin/aws")
PEER = REPO / "tests" / "peers" / "aws-sdk-js"

# Each way of naming the endpoint without --endpoint-url: extra environment, config file text.
# A named profile carries its keys: the JS SDK skips the environment's keys when AWS_PROFILE
# is set.
KEYS = "aws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
SETTINGS = {
    "AWS_ENDPOINT_URL": ({"AWS_ENDPOINT_URL": "{endpoint}"}, ""),
    "AWS_ENDPOINT_URL_STS": ({"AWS_ENDPOINT_URL_STS": "{endpoint}"}, ""),
    "profile endpoint_url": ({"AWS_PROFILE": "local"},
                             "[profile local]\nendpoint_url = {endpoint}\n" + KEYS),
    "services section": ({"AWS_PROFILE": "local"},
                         "[profile local]\nservices = opensts\n" + KEYS + "\n"
                         "[services opensts]\nsts =\n  endpoint_url = {endpoint}\n"),
}


def client_env(server: Server, tmp_path: Path, setting: str) -> dict[str, str]:
    extra, config = SETTINGS[setting]
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    (home / ".aws" / "config").write_text(
        config.format(endpoint=server.endpoint, key=server.root_key, secret=server.root_secret))
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(home),
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_PAGER": "",
        **{k: v.format(endpoint=server.endpoint) for k, v in extra.items()},
    }
    if "AWS_PROFILE" not in env:
        env.update(AWS_ACCESS_KEY_ID=server.root_key, AWS_SECRET_ACCESS_KEY=server.root_secret)
    return env


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_cli_v1_reaches_the_server_through(setting: str, server: Server,
                                            tmp_path: Path) -> None:
    env = client_env(server, tmp_path, setting)
    done = subprocess.run([str(BIN / "aws"), "sts", "get-caller-identity", "--output", "json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Account"] == server.account_id


def test_cli_v2_2_9_reaches_the_server_with_endpoint_url_per_command(
        server: Server, tmp_path: Path) -> None:
    if not AWS_V2.exists():
        pytest.fail(f"{AWS_V2} missing: scripts/install-test-tools installs Debian's awscli")
    env = client_env(server, tmp_path, "AWS_ENDPOINT_URL")
    del env["AWS_ENDPOINT_URL"]
    version = subprocess.run([str(AWS_V2), "--version"], env=env, capture_output=True,
                             text=True, timeout=60).stdout
    assert version.startswith("aws-cli/2.9."), version
    done = subprocess.run([str(AWS_V2), "--endpoint-url", server.endpoint, "sts",
                           "get-caller-identity", "--output", "json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Account"] == server.account_id


JS = """
import { createRequire } from "node:module";
const require = createRequire(process.env.PEER + "/package.json");
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const answer = await new STSClient({ maxAttempts: 1 }).send(new GetCallerIdentityCommand({}));
console.log(JSON.stringify({ account: answer.Account }));
"""


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_js_sdk_v3_reaches_the_server_through(setting: str, server: Server,
                                              tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (PEER / "node_modules" / "@aws-sdk" / "client-sts").is_dir():
        pytest.fail("node or the JS SDK is missing: run scripts/install-test-tools")
    env = {**client_env(server, tmp_path, setting), "PEER": str(PEER)}
    done = subprocess.run([node, "--input-type=module", "-e", JS], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["account"] == server.account_id


def test_the_table_states_the_versions_doctor_judges_by() -> None:
    text = README.read_text()
    section = text[text.index("\n## Client compatibility\n"):]
    section = section[:section.index("\n## ", 1)]
    for kind, label in (("cli2", "AWS CLI v2"), ("cli1", "AWS CLI v1"),
                        ("botocore", "boto3 / botocore")):
        since = ".".join(map(str, CONFIGURED_ENDPOINTS_SINCE[kind]))
        row = next(line for line in section.splitlines() if line.startswith(f"| {label}"))
        assert f"≥ {since}" in row, (label, since, row)
