"""`opensts login` without --endpoint-url (the endpoint botocore would use for the profile)
and `opensts login --remote --timeout`: the real command, no server needed to get there."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BIN

UNUSED = "http://127.0.0.1:9"  # never contacted: the flows below stop before any request


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PYTHONUNBUFFERED": "1",
           "AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}
    return {**env, **extra}


def _remote(tmp_path: Path, *args: str, code: str = "not a code!\n",
            **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "opensts"), "login", "--remote", *args], input=code,
                          env=_env(tmp_path, **env), capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("config, env", [
    ("[profile dev]\nendpoint_url = {url}\n", {}),
    ("[profile dev]\nservices = mine\n[services mine]\nsignin =\n  endpoint_url = {url}\n", {}),
    ("", {"AWS_ENDPOINT_URL": "{url}"}),  # a profile login is about to create
    ("[profile dev]\nendpoint_url = http://wrong.invalid\n", {"AWS_ENDPOINT_URL_SIGNIN": "{url}"}),
], ids=["profile-endpoint_url", "services-section", "AWS_ENDPOINT_URL", "service-env-wins"])
def test_login_takes_the_endpoint_botocore_would_use(
    tmp_path: Path, config: str, env: dict[str, str]
) -> None:
    url = "http://127.0.0.1:48123"
    (tmp_path / "config").write_text(config.format(url=url))
    done = _remote(tmp_path, "--profile", "dev",
                   **{k: v.format(url=url) for k, v in env.items()})
    assert f"{url}/v1/authorize?" in done.stdout
    assert "the verification code is not valid" in done.stderr
    assert done.returncode == 1


def test_login_without_any_endpoint_says_where_to_set_one(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[profile dev]\nregion = eu-west-1\n")
    done = _remote(tmp_path, "--profile", "dev")
    assert done.returncode != 0
    assert "no OpenSTS endpoint for profile 'dev': pass --endpoint-url" in done.stderr
    assert "/v1/authorize" not in done.stdout  # never AWS's own sign-in endpoint


def test_the_command_line_option_wins(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[profile dev]\nendpoint_url = http://wrong.invalid\n")
    done = _remote(tmp_path, "--profile", "dev", "--endpoint-url", UNUSED)
    assert f"{UNUSED}/v1/authorize?" in done.stdout


def test_remote_login_gives_up_after_its_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    waiting = subprocess.Popen(
        [str(BIN / "opensts"), "login", "--remote", "--timeout", "2", "--endpoint-url",
         UNUSED], env=_env(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        # stdin stays open and silent, like a terminal nobody types into.
        out, err = _wait(waiting)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 1, err
    assert "(waiting up to 2 seconds)" in out
    assert "no verification code was entered within 2 seconds; run 'opensts login " \
           "--remote' again" in err
    assert "Traceback" not in err
    assert time.monotonic() - started < 20
    assert not (tmp_path / "config").exists()  # nothing written


def _wait(process: subprocess.Popen[str]) -> tuple[str, str]:
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.stdout is not None and process.stderr is not None
    return process.stdout.read(), process.stderr.read()


def test_timeout_must_be_positive(tmp_path: Path) -> None:
    done = _remote(tmp_path, "--timeout", "0", "--endpoint-url", UNUSED)
    assert done.returncode == 2
    assert "--timeout" in done.stderr
