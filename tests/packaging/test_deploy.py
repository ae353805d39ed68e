"""deploy/: the systemd unit, the compose file and the Containerfile.

This machine has a docker CLI but no container engine and no registry access, so the image
is neither built nor run here (deploy/README.md says so). What can be checked is: the unit
passes ``systemd-analyze verify`` and its own security audit, the server runs under the
unit's MemoryDenyWriteExecute (the kernel's equivalent prctl), the compose file has the
services it promises and its entrypoint builds the settings from the secrets, and the
Containerfile copies only files that exist and checks the health the server really serves.
"""

from __future__ import annotations

import base64
import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
import yaml

from tests.conftest import ACCOUNT_ID, BIN, REPO, ROOT_KEY, ROOT_SECRET, Server, free_port

DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "opensts.service"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def _local_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this machine's opensts (verify checks it exists)."""
    local = tmp_path / "opensts.service"
    local.write_text(UNIT.read_text().replace("/opt/opensts/bin/opensts", str(BIN / "opensts")))
    return local


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_unit_verifies(tmp_path: Path) -> None:
    result = subprocess.run([str(SYSTEMD_ANALYZE), "verify", str(_local_unit(tmp_path))],
                            capture_output=True, text=True, timeout=60)
    # Unknown or misspelt directives are only warnings: any output counts as a failure.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_unit_security_exposure(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(SYSTEMD_ANALYZE), "security", "--offline=yes", "--no-pager",
         str(_local_unit(tmp_path))], capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.0  # systemd calls up to 2.0 "OK"


def test_unit_hardening_directives() -> None:
    service = _unit()["Service"]
    expected = {
        "DynamicUser": "yes", "StateDirectory": "opensts", "ProtectSystem": "strict",
        "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "", "MemoryDenyWriteExecute": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    }
    for key, value in expected.items():
        assert service.get(key) == value, key
    assert "@system-service" in UNIT.read_text()
    command = shlex.split(service["ExecStart"])
    assert command[:2] == ["/opt/opensts/bin/opensts", "serve"]
    # The only writable place is the state directory: the data dir must be inside it.
    data_dir = command[command.index("--data-dir") + 1]
    assert data_dir == "/var/lib/" + service["StateDirectory"]


# PR_SET_MDWE / PR_GET_MDWE (Linux 6.3) and PR_MDWE_REFUSE_EXEC_GAIN.
MDWE_WRAPPER = ("import ctypes, os, sys\n"
                "if ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0: sys.exit(3)\n"
                "os.execv(sys.argv[1], sys.argv[1:])\n")


def _refuse_exec_gain() -> bool:
    """Whether the kernel has PR_SET_MDWE and keeps it across exec (probed in a child: it
    cannot be undone in the process that sets it)."""
    probe = subprocess.run(
        [sys.executable, "-c", MDWE_WRAPPER, sys.executable, "-c",
         "import ctypes, sys; sys.exit(0 if ctypes.CDLL(None).prctl(66, 0, 0, 0, 0) == 1 else 1)"],
        capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _refuse_exec_gain(), reason="kernel without PR_SET_MDWE (Linux < 6.3)")
def test_server_runs_without_writable_executable_memory(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes: the kernel's PR_SET_MDWE gives the same refusal (no
    mapping both writable and executable, none made executable later) and survives exec."""
    port = free_port()
    env = dict(os.environ)
    env.update(OPENSTS_ACCOUNT_ID=ACCOUNT_ID, OPENSTS_ROOT_ACCESS_KEY_ID=ROOT_KEY,
               OPENSTS_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", MDWE_WRAPPER, str(BIN / "opensts"), "serve", "--port", str(port),
         "--data-dir", str(tmp_path / "data")], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(base + "/health", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        session = boto3.session.Session()
        iam = session.client("iam", endpoint_url=base, region_name="us-east-1",
                             aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET)
        iam.create_user(UserName="mdwe")
        key = iam.create_access_key(UserName="mdwe")["AccessKey"]
        iam.put_user_policy(UserName="mdwe", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity",
                           "Resource": "*"}]}))
        sts = session.client("sts", endpoint_url=base, region_name="us-east-1",
                             aws_access_key_id=key["AccessKeyId"],
                             aws_secret_access_key=key["SecretAccessKey"])
        assert sts.get_caller_identity()["Arn"].endswith(":user/mdwe")
        token = sts.get_session_token()["Credentials"]  # sealing a session token
        assert token["SessionToken"]
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()
    assert process.returncode == 0, (tmp_path / "server.log").read_text()


def test_compose_services() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "opensts"}
    opensts = services["opensts"]
    assert opensts["depends_on"]["postgres"]["condition"] == "service_healthy"
    build = opensts["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Containerfile"
    assert set(opensts["secrets"]) == {"master_key", "db_password"}
    assert set(compose["secrets"]) == {"master_key", "db_password"}
    assert "/var/lib/opensts" in opensts["volumes"][0]
    # The port is published on loopback only; the database not at all.
    assert all(p.startswith("127.0.0.1:") for p in opensts["ports"])
    assert "ports" not in services["postgres"]
    database = services["postgres"]["environment"]
    assert database["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db_password"


def test_compose_entrypoint_reads_the_secrets(tmp_path: Path) -> None:
    """The entrypoint's shell, run with the secrets written as the comments say, hands
    opensts a master key and a database URL the settings accept."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    shell, flag, script = compose["services"]["opensts"]["entrypoint"]
    assert (shell, flag) == ("/bin/sh", "-c")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    # The commands the file's header comment gives for making the secrets.
    makers = [line.removeprefix("#").strip() for line in
              (DEPLOY / "compose.yaml").read_text().splitlines()
              if line.startswith("#   head -c")]
    assert len(makers) == 2
    for maker in makers:
        subprocess.run(["/bin/sh", "-c", maker.replace("deploy/secrets/", "")], check=True,
                       cwd=secrets, timeout=30)
    assert script.count("exec opensts serve") == 1
    local = (script.replace("$$", "$").replace("/run/secrets/", f"{secrets}/")
             .replace("exec opensts serve", "exec env #"))
    output = subprocess.run([shell, flag, local], capture_output=True, text=True, check=True,
                            env={"PATH": "/usr/bin:/bin"}).stdout
    env = dict(line.split("=", 1) for line in output.splitlines() if line.startswith("OPENSTS_"))
    assert len(base64.b64decode(env["OPENSTS_MASTER_KEY"], validate=True)) == 32
    password = (secrets / "db_password").read_text().strip()
    assert env["OPENSTS_DATABASE_URL"] == (
        f"postgresql+psycopg://opensts:{password}@postgres:5432/opensts")
    from sqlalchemy.engine import make_url

    url = make_url(env["OPENSTS_DATABASE_URL"])
    assert (url.drivername, url.host, url.password) == ("postgresql+psycopg", "postgres", password)


def _instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Containerfile").read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_containerfile_copies_existing_files() -> None:
    copies = [rest for word, rest in _instructions() if word == "COPY"]
    assert copies
    checked = 0
    for rest in copies:
        parts = rest.split()
        if any(p.startswith("--from") for p in parts):
            continue
        *sources, _ = [p for p in parts if not p.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such file in the build context"
            checked += 1
    assert checked >= 4


def test_containerfile_runs_unprivileged_with_a_volume() -> None:
    instructions = _instructions()
    users = [rest for word, rest in instructions if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    volumes = [rest for word, rest in instructions if word == "VOLUME"]
    assert volumes and "/var/lib/opensts" in volumes[-1]
    entry = json.loads(next(rest for word, rest in instructions if word == "ENTRYPOINT"))
    assert entry == ["opensts", "serve"]
    command = json.loads(next(rest for word, rest in reversed(instructions) if word == "CMD"))
    assert command[command.index("--data-dir") + 1] == "/var/lib/opensts"


def test_containerfile_healthcheck_works(server: Server) -> None:
    """The HEALTHCHECK's own command, pointed at a running server, succeeds (and fails when
    nothing listens)."""
    healthcheck = next(rest for word, rest in _instructions() if word == "HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3:].strip())
    assert command[0] == "python" and "http://127.0.0.1:8777/health" in command[2]
    port = server.endpoint.rsplit(":", 1)[1]
    ok = subprocess.run([sys.executable, command[1], command[2].replace("8777", port)],
                        capture_output=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    dead = subprocess.run([sys.executable, command[1],
                           command[2].replace("8777", str(free_port()))],
                          capture_output=True, timeout=30)
    assert dead.returncode != 0
