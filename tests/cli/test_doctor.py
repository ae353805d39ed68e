"""``opensts doctor`` against real config files in a scratch HOME and the real installed clients
(the venv's AWS CLI v1, Debian's AWS CLI v2 2.9 at /usr/bin/aws), and every prediction checked
against what that very client resolves: ``aws --debug`` logs the URL of the request it is about
to send; a proxy on a closed local port makes sure nothing leaves for AWS."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO, Server, free_port

AWS_V1 = BIN / "aws"
AWS_V2 = Path("/usr/bin/aws")  # Debian's awscli 2.9.19 (scripts/install-test-tools)


def aws_binary(version: int) -> Path:
    binary = AWS_V1 if version == 1 else AWS_V2
    if not binary.exists():
        pytest.fail(f"{binary} missing: install the test extra / scripts/install-test-tools")
    return binary


def scratch_env(tmp_path: Path, aws: Path, **extra: str) -> dict[str, str]:
    """A HOME of its own, ``aws`` (a link to the client under test) first on PATH, and no
    AWS_* variable but those given."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    link = bindir / "aws"
    if not link.exists():
        link.symlink_to(aws)
    return {"PATH": f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(home),
            "PYTHONPATH": f"{REPO / 'src'}", **extra}


def doctor(env: dict[str, str], *args: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "opensts.cli.main", "doctor", *args],
                          env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def predicted(output: str, profile: str, client: str) -> dict[str, str]:
    """{service: url} that doctor printed for ``profile`` with the client labelled ``client``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"profile {profile}"))
    routes: dict[str, str] = {}
    inside = False
    for line in lines[start + 1:]:
        if line.startswith("profile "):
            break
        if line.startswith("  with "):
            inside = client in line
        elif inside and (found := re.match(r"    (\w+): (\S+)", line)):
            routes[found[1]] = found[2]
    assert routes, output
    return routes


def actual(env: dict[str, str], *command: str) -> str:
    """The URL the ``aws`` on env's PATH sends ``command`` to (never reaching AWS: every
    connection goes through a proxy that is not there, or to a closed local port)."""
    closed = f"http://127.0.0.1:{free_port()}"
    run_env = {**env, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEDOCTOR001",
               "AWS_SECRET_ACCESS_KEY": "doctor-test-secret", "AWS_MAX_ATTEMPTS": "1",
               "HTTPS_PROXY": closed, "HTTP_PROXY": closed, "NO_PROXY": ""}
    done = subprocess.run(["aws", "--debug", "--cli-connect-timeout", "1", *command],
                          env=run_env, capture_output=True, text=True, timeout=120)
    found = re.search(r"'url': '([^']+)'", done.stderr)
    assert found is not None, done.stderr[-2000:]
    return found[1].rstrip("/")


def test_the_cli_2_9_trap_is_caught(tmp_path: Path) -> None:
    """AWS_ENDPOINT_URL set, and Debian's CLI v2 2.9 is the aws that runs: it ignores the
    variable, so its signed calls would go to AWS. Doctor says so and fails."""
    env = scratch_env(tmp_path, aws_binary(2), AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL="http://127.0.0.1:8777")
    code, out = doctor(env, "--no-probe")
    assert code == 1, out
    assert "AWS CLI v2 2.9.19" in out
    routes = predicted(out, "default", "AWS CLI v2")
    assert routes["sts"] == "https://sts.us-east-1.amazonaws.com"
    assert "AWS_ENDPOINT_URL is IGNORED" in out and "from 2.13.0 on" in out
    assert "PROBLEM" in out
    # The real client agrees: it would send GetCallerIdentity to AWS.
    assert actual(env, "sts", "get-caller-identity") == routes["sts"]
    assert actual(env, "iam", "list-users") == routes["iam"]


def test_cli_v1_honours_aws_endpoint_url(tmp_path: Path) -> None:
    env = scratch_env(tmp_path, aws_binary(1), AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL="http://127.0.0.1:8777")
    code, out = doctor(env, "--no-probe")
    assert code == 0, out
    routes = predicted(out, "default", "AWS CLI v1")
    assert routes == {"sts": "http://127.0.0.1:8777", "iam": "http://127.0.0.1:8777",
                      "s3": "http://127.0.0.1:8777"}
    assert actual(env, "sts", "get-caller-identity") == routes["sts"]
    # Debian's v2 later on PATH is reported, but it is not what `aws` runs.
    assert "shadowed on PATH" in out


def test_a_services_section_that_forgets_s3(tmp_path: Path) -> None:
    """A profile whose services section names OpenSTS for STS and IAM only: its S3 calls go
    to AWS, signed with OpenSTS credentials, and so do its login_session's refreshes."""
    env = scratch_env(tmp_path, aws_binary(1))
    config = Path(env["HOME"]) / ".aws" / "config"
    config.write_text(
        "[profile dev]\nregion = eu-west-1\nservices = local\n"
        "login_session = arn:aws:iam::111122223333:user/alice\n\n"
        "[services local]\nsts =\n  endpoint_url = http://127.0.0.1:8777\n"
        "iam =\n  endpoint_url = http://127.0.0.1:8777\n")
    code, out = doctor(env, "--profile", "dev", "--no-probe")
    assert code == 1, out
    routes = predicted(out, "dev", "AWS CLI v1")
    assert routes["sts"] == routes["iam"] == "http://127.0.0.1:8777"
    assert routes["s3"] == "https://s3.eu-west-1.amazonaws.com"
    # The login_session's refresh token would go to AWS's sign-in too.
    assert routes["signin"] == "https://eu-west-1.signin.aws.amazon.com"
    assert out.count("PROBLEM") == 2 * out.count("  with ")
    assert "[services local] sts endpoint_url" in out
    assert "login_session arn:aws:iam::111122223333:user/alice" in out
    profile_env = {**env, "AWS_PROFILE": "dev"}
    assert actual(profile_env, "sts", "get-caller-identity") == routes["sts"]
    assert actual(profile_env, "s3api", "list-buckets") == routes["s3"]


def test_service_variable_beats_the_profile_endpoint(tmp_path: Path) -> None:
    env = scratch_env(tmp_path, aws_binary(1), AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL_STS="http://127.0.0.1:9001")
    (Path(env["HOME"]) / ".aws" / "config").write_text(
        "[profile ops]\nendpoint_url = http://127.0.0.1:9002\n")
    (Path(env["HOME"]) / ".aws" / "credentials").write_text(
        "[ops]\naws_access_key_id = AKIAEXAMPLEOPS000001\naws_secret_access_key = s\n")
    code, out = doctor(env, "--profile", "ops", "--no-probe")
    assert code == 0, out
    routes = predicted(out, "ops", "AWS CLI v1")
    assert routes == {"sts": "http://127.0.0.1:9001", "iam": "http://127.0.0.1:9002",
                      "s3": "http://127.0.0.1:9002"}
    assert "access key in the shared files" in out
    profile_env = {**env, "AWS_PROFILE": "ops"}
    assert actual(profile_env, "sts", "get-caller-identity") == routes["sts"]
    assert actual(profile_env, "iam", "list-users") == routes["iam"]


def test_ignore_configured_endpoint_urls_sends_everything_to_aws(tmp_path: Path) -> None:
    env = scratch_env(tmp_path, aws_binary(1), AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL="http://127.0.0.1:8777",
                      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="true")
    code, out = doctor(env, "--no-probe")
    assert code == 1, out
    routes = predicted(out, "default", "AWS CLI v1")
    assert routes["sts"] == "https://sts.us-east-1.amazonaws.com"
    assert actual(env, "sts", "get-caller-identity") == routes["sts"]


def test_a_plain_aws_profile_is_no_problem(tmp_path: Path) -> None:
    env = scratch_env(tmp_path, aws_binary(1))
    (Path(env["HOME"]) / ".aws" / "config").write_text("[default]\nregion = us-west-2\n")
    code, out = doctor(env)
    assert code == 0, out
    assert predicted(out, "default", "AWS CLI v1")["sts"] == "https://sts.us-west-2.amazonaws.com"
    assert "(real AWS)" in out and "PROBLEM" not in out


def test_the_endpoint_is_probed(tmp_path: Path, server: Server) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = scratch_env(tmp_path, aws_binary(1), AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=server.endpoint,
                      AWS_ENDPOINT_URL_S3=dead)
    code, out = doctor(env)
    assert code == 0, out
    assert f"sts: {server.endpoint}  [AWS_ENDPOINT_URL]  (/health answers 200)" in out
    assert f"s3: {dead}  [AWS_ENDPOINT_URL_S3]  (does not answer /health" in out


def test_an_aws_vpc_endpoint_is_not_taken_for_opensts(tmp_path: Path) -> None:
    """A real-AWS profile with a VPC endpoint for STS: the other services going to AWS is
    what its owner wants, not a problem."""
    env = scratch_env(tmp_path, aws_binary(1))
    vpce = "https://vpce-0abc-x1y2.sts.eu-west-1.vpce.amazonaws.com"
    (Path(env["HOME"]) / ".aws" / "config").write_text(
        f"[profile prod]\nregion = eu-west-1\nservices = vpc\n\n"
        f"[services vpc]\nsts =\n  endpoint_url = {vpce}\n")
    code, out = doctor(env, "--profile", "prod")
    assert code == 0, out
    routes = predicted(out, "prod", "AWS CLI v1")
    assert routes["sts"] == vpce and routes["iam"] == "https://iam.amazonaws.com"
    assert "PROBLEM" not in out
