"""``opensts serve`` as an operator starts it: listening only once bound, a port in use is a
clean error, first-start credentials in a 0600 file, a text access log."""

from __future__ import annotations

import configparser
import os
import re
import socket
import stat
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from tests.conftest import BIN, free_port, start_server, stop_server


def _serve(*args: str) -> list[str]:
    return [str(BIN / "opensts"), "serve", *args]


def test_listening_is_said_only_once_the_port_answers(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        _serve("--port", str(port), "--data-dir", str(tmp_path / "data")),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    answered: list[int] = []

    def watch() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if "listening" in line:
                # The first and only attempt, the moment the line is out: no retry.
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health",
                                            timeout=5) as response:
                    answered.append(response.status)
                said.append(line.strip())
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    watcher.join(timeout=30)
    process.terminate()
    process.wait(timeout=15)
    assert said == [f"OpenSTS listening on http://127.0.0.1:{port}"]
    assert answered == [200]


def test_a_port_in_use_is_a_clean_error_before_anything_is_created(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            _serve("--port", str(port), "--data-dir", str(tmp_path / "data")),
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}: the address is already in use" in (
        result.stderr)
    assert "Traceback" not in result.stderr and "listening" not in result.stderr
    assert not (tmp_path / "data" / "opensts.db").exists()  # no first start happened
    assert result.stdout == ""


def test_first_start_credentials_go_to_a_0600_file_not_stdout(tmp_path: Path) -> None:
    generated = {"OPENSTS_ROOT_ACCESS_KEY_ID": "", "OPENSTS_ROOT_SECRET_ACCESS_KEY": "",
                 "OPENSTS_ACCOUNT_ID": ""}
    target = tmp_path / "root.credentials"
    data = tmp_path / "data"
    server = start_server(data, generated, args=("--credentials-file", str(target),
                                                "--access-log"))
    try:
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        parsed = configparser.ConfigParser()
        parsed.read(target)
        key = parsed["default"]["aws_access_key_id"]
        secret = parsed["default"]["aws_secret_access_key"]
        assert key.startswith("AKIA") and len(secret) == 40
        identity = boto3.session.Session().client(
            "sts", endpoint_url=server.endpoint, region_name="us-east-1",
            aws_access_key_id=key, aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1})).get_caller_identity()
        assert identity["Arn"] == f"arn:aws:iam::{identity['Account']}:root"
    finally:
        stop_server(server)
    log = (tmp_path / "data-server.log").read_text()
    assert secret not in log
    assert f"Root access key id: {key}" in log
    assert f"Root secret access key written to {target} (mode 0600)" in log
    # The text access log: one line per request, the API call named, no query string.
    line = next(x for x in log.splitlines() if "sts:GetCallerIdentity" in x)
    assert re.fullmatch(
        r"\S+Z 127\.0\.0\.1 \"POST /\" 200 [\d.]+ms [0-9a-f-]{36} sts:GetCallerIdentity",
        line), line
    assert secret not in log and "Signature=" not in log

    # A restart is no first start: the file is left as it is.
    before = target.read_bytes()
    server = start_server(data, generated, args=("--credentials-file", str(target)))
    stop_server(server)
    assert target.read_bytes() == before

    # A first start elsewhere would overwrite it: refused, nothing created, file untouched.
    other = tmp_path / "other"
    result = subprocess.run(
        _serve("--port", str(free_port()), "--data-dir", str(other)),
        env={**os.environ, **generated, "OPENSTS_CREDENTIALS_FILE": str(target)},
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert f"Error: {target} exists" in result.stderr and "Traceback" not in result.stderr
    assert target.read_bytes() == before
    assert result.stdout == ""
    # ... and the data dir still holds no account: a start without the file makes one.
    server = start_server(other, generated)
    stop_server(server)
    deadline = time.monotonic() + 5
    log = (tmp_path / "other-server.log").read_text()
    while "Root secret access key (shown once)" not in log and time.monotonic() < deadline:
        time.sleep(0.05)
        log = (tmp_path / "other-server.log").read_text()
    assert "Root secret access key (shown once)" in log
