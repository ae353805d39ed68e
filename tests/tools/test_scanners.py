"""Security scanners against OpenSTS with an endpoint override: Principal Mapper and
Cloudsplaining (both pinned in the test extra) complete their scan.

principalmapper 1.1.5, the newest on PyPI, imports ``collections.Mapping``, which Python
3.10 removed; it is run here with a shim that puts the ``collections.abc`` names back
before importing it (nothing else is changed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, Server, start_server, stop_server, unique

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
PMAPPER_SHIM = (
    "import collections, collections.abc, sys; "
    "[setattr(collections, n, getattr(collections.abc, n)) for n in "
    "('Mapping', 'MutableMapping', 'Sequence', 'Iterable')]; "
    "from principalmapper.__main__ import main; sys.argv[0] = 'pmapper'; sys.exit(main())"
)


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: the scanners read the whole account, and Principal
    Mapper's graph build grows with the square of its principals, so the suite-wide server
    (hundreds of principals by the time this runs) would make it take many minutes."""
    running = start_server(tmp_path_factory.mktemp("scanners") / "data")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def estate(server: Server) -> dict[str, str]:
    """A small account: an admin user, a read-only user in a group, and a role."""
    iam = server.client("iam")
    admin, reader, group, role = (unique("scan-admin"), unique("scan-reader"),
                                  unique("scan-group"), unique("scan-role"))
    iam.create_user(UserName=admin)
    iam.attach_user_policy(UserName=admin, PolicyArn=ADMIN)
    iam.create_user(UserName=reader)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=reader)
    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
            "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName=role, PolicyName="pass", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["iam:PassRole", "iam:CreateAccessKey"],
             "Resource": "*"}]}))
    return {"admin": admin, "reader": reader, "group": group, "role": role}


def _env(server: Server, tmp: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp),
        "AWS_ACCESS_KEY_ID": server.root_key, "AWS_SECRET_ACCESS_KEY": server.root_secret,
        "AWS_DEFAULT_REGION": "us-east-1", "PMAPPER_STORAGE": str(tmp / "pmapper"),
        # botocore's per-service endpoint override (Cloudsplaining has no option of its own).
        "AWS_ENDPOINT_URL_IAM": server.endpoint, "AWS_ENDPOINT_URL_STS": server.endpoint,
        "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
    }


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.skipif(not _have("principalmapper"), reason="pip install -e '.[test]'")
def test_principal_mapper_graphs_the_account(server: Server, estate: dict[str, str],
                                             tmp_path: Path) -> None:
    env = _env(server, tmp_path)
    pmapper = [sys.executable, "-c", PMAPPER_SHIM]
    created = _run([*pmapper, "graph", "create", "--localstack-endpoint", server.endpoint,
                    "--include-services", "iam", "sts", "--include-regions", "us-east-1"],
                   env, tmp_path)
    assert "Graph Data for Account:  " + server.account_id in created.stdout
    graph = tmp_path / "pmapper" / server.account_id / "graph"
    nodes = json.loads((graph / "nodes.json").read_text())
    by_arn = {n["arn"]: n for n in nodes}
    acct = server.account_id
    assert by_arn[f"arn:aws:iam::{acct}:user/{estate['admin']}"]["is_admin"] is True
    assert by_arn[f"arn:aws:iam::{acct}:user/{estate['reader']}"]["is_admin"] is False
    assert f"arn:aws:iam::{acct}:role/{estate['role']}" in by_arn
    groups = json.loads((graph / "groups.json").read_text())
    assert any(g["arn"].endswith(f":group/{estate['group']}") for g in groups)
    # Its local policy simulation over what GetAccountAuthorizationDetails returned.
    asked = _run([*pmapper, "--account", acct, "query",
                  f"can user/{estate['reader']} do s3:GetObject with *"], env, tmp_path)
    assert "IS authorized" in asked.stdout
    who = _run([*pmapper, "--account", acct, "query", "who can do iam:CreateUser with *"],
               env, tmp_path)
    assert f"user/{estate['admin']}" in who.stdout
    assert f"user/{estate['reader']}" not in who.stdout


@pytest.mark.skipif(not _have("cloudsplaining"), reason="pip install -e '.[test]'")
def test_cloudsplaining_downloads_and_scans_the_account(server: Server, estate: dict[str, str],
                                                       tmp_path: Path) -> None:
    env = _env(server, tmp_path)
    out = tmp_path / "download"
    out.mkdir()
    _run([str(BIN / "cloudsplaining"), "download", "--output", str(out)], env, tmp_path)
    details = json.loads((out / "default.json").read_text())
    assert {u["UserName"] for u in details["UserDetailList"]} >= {estate["admin"],
                                                                  estate["reader"]}
    report = tmp_path / "report"
    report.mkdir()
    _run([str(BIN / "cloudsplaining"), "scan", "--input-file", str(out / "default.json"),
          "--output", str(report), "--skip-open-report"], env, tmp_path)
    results: Any = json.loads((report / "iam-results-default.json").read_text())
    text = json.dumps(results)
    assert estate["role"] in text and estate["admin"] in text
    assert (report / "iam-report-default.html").stat().st_size > 10_000
