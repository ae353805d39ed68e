"""Fixtures that run a real OpenSTS server and talk to it with real AWS clients."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ACCOUNT_ID = "123456789012"
ROOT_KEY = "AKIAEXAMPLEROOTKEY01"
ROOT_SECRET = "rootsecretEXAMPLEKEY0000000000000000000/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    endpoint: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    account_id: str = ACCOUNT_ID
    root_key: str = ROOT_KEY
    root_secret: str = ROOT_SECRET
    env: dict[str, str] = field(default_factory=dict)
    ca_bundle: Path | None = None

    def client(
        self,
        service: str,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        region: str = "us-east-1",
    ) -> Any:
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key or self.root_key,
            aws_secret_access_key=secret or self.root_secret,
            aws_session_token=token,
            verify=str(self.ca_bundle) if self.ca_bundle else None,
            config=Config(retries={"max_attempts": 1}),
        )

    def aws(
        self,
        *args: str,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        check: bool = True,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.data_dir),
            "AWS_ACCESS_KEY_ID": key or self.root_key,
            "AWS_SECRET_ACCESS_KEY": secret or self.root_secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(self.data_dir / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.data_dir / "no-credentials"),
            "AWS_PAGER": "",
        }
        if token:
            env["AWS_SESSION_TOKEN"] = token
        result = subprocess.run(
            [str(BIN / "aws"), "--endpoint-url", self.endpoint, "--output", "json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=cwd,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed: {result.stderr}")
        return result

    def aws_json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.aws(*args, **kwargs).stdout or "null")

    def audit_events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for path in sorted((self.data_dir / "audit").glob("*.jsonl")):
            events.extend(json.loads(line) for line in path.read_text().splitlines() if line)
        return events


def start_server(
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    ca_bundle: Path | None = None,
) -> Server:
    """Start ``opensts serve``; with ``ca_bundle`` the server speaks TLS (``args`` carry
    ``--tls-cert``/``--tls-key``) and clients trust that CA."""
    port = free_port()
    env = {
        **os.environ,
        "OPENSTS_ACCOUNT_ID": ACCOUNT_ID,
        "OPENSTS_ROOT_ACCESS_KEY_ID": ROOT_KEY,
        "OPENSTS_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET,
        **(extra_env or {}),
    }
    log = (data_dir.parent / f"{data_dir.name}-server.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "opensts"), "serve", "--port", str(port), "--data-dir", str(data_dir), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"{'https' if ca_bundle else 'http'}://127.0.0.1:{port}"
    tls = ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle else None
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited: {(data_dir.parent / f'{data_dir.name}-server.log').read_text()}"
            )
        try:
            with urllib.request.urlopen(f"{endpoint}/health", timeout=1, context=tls) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("server did not become ready")
        time.sleep(0.05)
    return Server(endpoint, data_dir, process, env=env, ca_bundle=ca_bundle)


def stop_server(server: Server) -> int:
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("opensts") / "data"
    running = start_server(data_dir)
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def iam(server: Server) -> Any:
    return server.client("iam")


@pytest.fixture(scope="session")
def sts(server: Server) -> Any:
    return server.client("sts")


@pytest.fixture(scope="session")
def organization(server: Server) -> dict[str, Any]:
    """The server's organization (created once), with SCPs enabled on its root."""
    from botocore.exceptions import ClientError

    client = server.client("organizations")
    try:
        found = client.describe_organization()["Organization"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AWSOrganizationsNotInUseException":
            raise
        found = client.create_organization(FeatureSet="ALL")["Organization"]
    root = client.list_roots()["Roots"][0]
    if not any(t["Type"] == "SERVICE_CONTROL_POLICY" for t in root["PolicyTypes"]):
        client.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
        root = client.list_roots()["Roots"][0]
    return {"organization": found, "root": root}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def new_user(iam: Any) -> Callable[..., tuple[str, str, str]]:
    """Create a user with an access key and optional inline policy: (name, key, secret)."""

    def make(
        policy_document: dict[str, Any] | str | None = None, **kwargs: Any
    ) -> tuple[str, str, str]:
        name = unique("user")
        iam.create_user(UserName=name, **kwargs)
        if policy_document is not None:
            text = (
                policy_document if isinstance(policy_document, str) else json.dumps(policy_document)
            )
            iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=text)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return name, key["AccessKeyId"], key["SecretAccessKey"]

    return make


def has_tool(name: str) -> bool:
    return shutil.which(name) is not None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: every tool the suite needs is installed there
    (scripts/install-test-tools), so a skip would only hide a broken installation."""
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; failing the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
