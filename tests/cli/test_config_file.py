"""``opensts --config FILE``: one TOML file for every OPENSTS_* setting, below the command
line and the environment, seen by every command and by ``serve --workers`` processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from opensts.config_file import NOT_IN_FILE, SETTINGS, env_name
from tests.conftest import BIN, REPO, free_port

CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("OPENSTS_")}


def opensts(*args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "opensts"), *args], env={**CLEAN, **(env or {})},
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def refused_dir(result: subprocess.CompletedProcess[str]) -> str:
    """The data dir an admin command refused (it names it), i.e. the one it was given."""
    assert result.returncode == 1, result.stdout + result.stderr
    match = re.search(r"Error: (\S+) holds no OpenSTS data", result.stderr)
    assert match, result.stderr
    return match.group(1)


def test_option_over_environment_over_file_over_default(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    config = write(tmp_path / "conf" / "opensts.toml", 'data_dir = "from-file"\n')
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    # A relative path in the file is relative to the file, not to the working directory.
    in_file = str(tmp_path / "conf" / "from-file")
    assert refused_dir(opensts("--config", str(config), "keys", "list", cwd=elsewhere)) == in_file
    assert refused_dir(opensts("keys", "list", cwd=elsewhere,
                               env={"OPENSTS_CONFIG": str(config)})) == in_file
    from_env = {"OPENSTS_DATA_DIR": str(tmp_path / "from-env")}
    assert refused_dir(opensts("--config", str(config), "keys", "list", cwd=elsewhere,
                               env=from_env)) == str(tmp_path / "from-env")
    assert refused_dir(opensts("--config", str(config), "keys", "list", "--data-dir",
                               str(tmp_path / "from-option"), cwd=elsewhere,
                               env=from_env)) == str(tmp_path / "from-option")
    assert refused_dir(opensts("keys", "list", cwd=elsewhere)) == "data"  # the default
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(("text", "message"), [
    ('data_dir = "d"\ntrusted_proxy = ["10.0.0.0/8"]\n',
     ":2: unknown setting 'trusted_proxy' (did you mean 'trusted_proxies'?)"),
    ('\n\naccount_id = 123456789012\n', ":3: account_id must be a string (quote it), not an "
                                        "integer"),
    ('key_refresh_seconds = "30"\n', ":1: key_refresh_seconds must be a number, not a string"),
    ('login_credential_seconds = 1.5\n', ":1: login_credential_seconds must be an integer"),
    ('audit_max_bytes = true\n', ":1: audit_max_bytes must be an integer, not a boolean"),
    ('trusted_proxies = [10, 11]\n', ":1: trusted_proxies must be a list of strings"),
    ('[s3]\nbackend_url = "http://x"\n', ":1: unknown setting 's3'"),
    ('data_dir = "d"\npublic_url = "http://a\n', ":2:23: invalid TOML: Illegal character"),
])
def test_a_bad_file_is_refused_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path / "opensts.toml", text)
    result = opensts("--config", str(config), "status", cwd=tmp_path)
    assert result.returncode == 1
    assert f"Error: {config}{message}" in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opensts.toml"]


def test_every_problem_is_listed_and_a_missing_file_is_named(tmp_path: Path) -> None:
    config = write(tmp_path / "opensts.toml", 'datadir = "x"\nregion = "y"\nworkers = 4\n')
    result = opensts("--config", str(config), "status")
    assert result.returncode == 1
    assert [line.removeprefix("Error: ").split(": ", 1)[0]
            for line in result.stderr.splitlines()] == [f"{config}:{n}" for n in (1, 2, 3)]
    assert "did you mean 'data_dir'" in result.stderr
    missing = opensts("--config", str(tmp_path / "nope.toml"), "status")
    assert missing.returncode != 0 and "nope.toml" in missing.stderr


def test_a_file_holding_a_secret_must_be_private(tmp_path: Path) -> None:
    text = f'data_dir = "{tmp_path / "d"}"\ns3_backend_secret_access_key = "hush"\n'
    config = write(tmp_path / "opensts.toml", text, mode=0o640)
    result = opensts("--config", str(config), "keys", "list")
    assert result.returncode == 1
    assert "holds s3_backend_secret_access_key but is readable by group or others" in \
        result.stderr and f"chmod 600 {config}" in result.stderr and "hush" not in result.stderr
    config.chmod(0o600)
    assert refused_dir(opensts("--config", str(config), "keys", "list")) == str(tmp_path / "d")
    # Without a secret, a readable file is fine.
    plain = write(tmp_path / "plain.toml", f'data_dir = "{tmp_path / "p"}"\n', mode=0o644)
    assert refused_dir(opensts("--config", str(plain), "keys", "list")) == str(tmp_path / "p")


def test_serve_and_its_worker_processes_take_settings_from_the_file(tmp_path: Path) -> None:
    account, key, secret = "210987654321", "AKIACONFIGFILEROOT01", "configFileSecret" + "0" * 24
    config = write(tmp_path / "opensts.toml", "\n".join([
        'data_dir = "data"', f'account_id = "{account}"', f'root_access_key_id = "{key}"',
        f'root_secret_access_key = "{secret}"',
        # Only a worker that read the file believes the forwarded address below.
        'trusted_proxies = ["127.0.0.1/32"]', ""]), mode=0o600)
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "opensts"), "--config", str(config), "serve", "--port", str(port),
         "--workers", "2"], env=CLEAN, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(endpoint, process, tmp_path / "server.log")
        sts = boto3.session.Session().client(
            "sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
            aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))

        def forwarded(request: object, **_: object) -> None:
            request.headers["X-Forwarded-For"] = "203.0.113.7"  # type: ignore[attr-defined]

        sts.meta.events.register("before-send.sts.GetCallerIdentity", forwarded)
        for _ in range(4):  # reach both workers
            assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{account}:root"
        data = tmp_path / "data"
        events = [json.loads(line) for path in (data / "audit").glob("*.jsonl")
                  for line in path.read_text().splitlines()]
        calls = [e for e in events if e["eventName"] == "GetCallerIdentity"]
        assert len(calls) == 4 and {e["sourceIPAddress"] for e in calls} == {"203.0.113.7"}
        assert len({p.name for p in (data / "audit").glob("*.w*.jsonl")}) >= 1
        status = opensts("--config", str(config), "status", "--json", cwd=tmp_path / "data")
        assert status.returncode == 0, status.stderr
        shown = json.loads(status.stdout)
        assert shown["management_account"] == account
        assert shown["data_dir"] == str(data.resolve())
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_ready(endpoint: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{endpoint}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become ready")


def test_every_opensts_variable_in_src_is_a_setting_and_documented() -> None:
    read = set()
    for path in (REPO / "src").rglob("*.py"):
        read |= set(re.findall(r"\bOPENSTS_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    known = {env_name(key) for key in SETTINGS} | set(NOT_IN_FILE)
    unknown = sorted(read - known)
    assert not unknown, (f"OPENSTS_* variables read in src/ but missing from "
                         f"opensts.config_file.SETTINGS: {unknown}")
    doc = (REPO / "docs" / "configuration.md").read_text()
    undocumented = sorted(name for name in read | known if f"`{name}`" not in doc)
    assert not undocumented, f"missing from docs/configuration.md: {undocumented}"
    assert all(f"`{key}`" in doc for key in SETTINGS)


def test_version_and_the_precedence_in_help() -> None:
    result = opensts("--version")
    assert result.returncode == 0 and result.stdout.strip() == \
        f"opensts, version {version('opensts')}"
    shown = " ".join(opensts("--help").stdout.split())
    assert ("Precedence, highest first: a command-line option, then the environment variable, "
            "then the config file, then the built-in default.") in shown
    assert "--config FILE" in shown and "OPENSTS_CONFIG" in shown
