"""The wheel ``pipx install`` would use: built from a copy of the sources, then installed in
a fresh virtual environment and run from there (``opensts --help``, ``opensts serve``).

The last test installs it with pipx for real, dependencies and all. The other tests'
fresh environment gets the wheel alone (``--no-deps``) and sees the shared venv's
third-party packages through a ``.pth`` line, because downloading and building the pinned
dependencies (cryptography, lxml, psycopg, awscrt, ...) would take minutes. What this proves:
every file the server reads at run time is inside the wheel (no source tree on the path: the
import is checked to come from the new environment), the console script works, and the
declared dependencies are the pinned versions the test suite runs against.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.conftest import ACCOUNT_ID, REPO, ROOT_KEY, ROOT_SECRET, free_port

PACKAGE = REPO / "src" / "opensts"


def _source_files() -> list[str]:
    """Every file of the package as the wheel names it (``opensts/...``)."""
    return sorted(
        "opensts/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy so that the worktree gets no build/ or *.egg-info.
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, tree / name)
    shutil.copytree(REPO / "src", tree / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(tree)],
        check=True, capture_output=True, timeout=120,
    )
    (built,) = out.glob("opensts-*.whl")
    return built


def test_wheel_holds_every_package_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in _source_files() if name not in names]
    assert not missing, f"not in the wheel: {missing}"
    # The data the server reads at run time, named so that a moved file fails here too.
    for data in ("opensts/s3/actions.json",
                 "opensts/directory/aws_managed/managed-policies.json.gz",
                 "opensts/web/signin/templates/layout.html",
                 "opensts/web/signin/static/signin.css",
                 "opensts/store/migrations.py"):
        assert data in names


def test_wheel_metadata(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = archive.read(info).decode()
    headers = [line for line in metadata.split("\n\n", 1)[0].splitlines()]
    assert "License-Expression: Apache-2.0 AND MIT" in headers
    assert "Description-Content-Type: text/markdown" in headers
    assert "# OpenSTS" in metadata.split("\n\n", 1)[1]  # the README is the description
    licenses = [n for n in archive.namelist() if "/licenses/" in n]
    assert any(n.endswith("/licenses/LICENSE") for n in licenses)
    assert "Apache License" in archive.read(
        next(n for n in licenses if n.endswith("/licenses/LICENSE"))).decode()
    assert any(n.endswith("LICENSE-iam-dataset.txt") for n in licenses)
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    requires = [line.removeprefix("Requires-Dist: ") for line in headers
                if line.startswith("Requires-Dist: ") and "extra ==" not in line]
    assert sorted(set(requires)) == sorted(set(declared))
    entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "opensts = opensts.cli.main:main" in entry_points


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("venv") / "opensts"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True,
                   timeout=60)
    python = root / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, timeout=120, env=_clean_env(),
    )
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, env=_clean_env(),
    ).stdout.strip())
    # A path line, not the shared venv as a site dir: its .pth files (the editable install
    # of the source tree) are not processed, so only the wheel provides ``opensts``.
    (site / "shared-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    yield root


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "OPENSTS_"))}
    env.pop("VIRTUAL_ENV", None)
    return env


def test_installed_wheel_imports_from_itself(venv: Path) -> None:
    script = (
        "import json, importlib.metadata as m, opensts\n"
        "from packaging.requirements import Requirement\n"
        "bad = []\n"
        "for line in m.requires('opensts') or []:\n"
        "    req = Requirement(line)\n"
        "    if req.marker and not req.marker.evaluate({'extra': ''}):\n"
        "        continue\n"
        "    if not req.specifier.contains(m.version(req.name)):\n"
        "        bad.append(line)\n"
        "print(json.dumps({'file': opensts.__file__, 'bad': bad}))\n"
    )
    found = json.loads(subprocess.run([str(venv / "bin" / "python"), "-c", script], check=True,
                                      capture_output=True, text=True, env=_clean_env(),
                                      cwd=venv).stdout)
    assert Path(found["file"]).is_relative_to(venv), found["file"]
    assert found["bad"] == [], "declared dependencies not satisfied at their pins"


def test_installed_wheel_cli_help(venv: Path) -> None:
    result = subprocess.run([str(venv / "bin" / "opensts"), "--help"], capture_output=True,
                            text=True, env=_clean_env(), timeout=60, cwd=venv)
    assert result.returncode == 0, result.stderr
    for command in ("serve", "keys", "audit", "policy", "login", "serve-credentials"):
        assert f"  {command} " in result.stdout or f"  {command}\n" in result.stdout


def test_installed_wheel_serves(venv: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {**_clean_env(), "OPENSTS_ACCOUNT_ID": ACCOUNT_ID,
           "OPENSTS_ROOT_ACCESS_KEY_ID": ROOT_KEY, "OPENSTS_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET}
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [str(venv / "bin" / "opensts"), "serve", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(base + "/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.05)
        # Package data at run time: the sign-in stylesheet and a page template ...
        with urllib.request.urlopen(base + "/signin/static/signin.css", timeout=5) as css:
            assert css.status == 200 and b"{" in css.read()
        try:
            urllib.request.urlopen(base + "/v1/authorize", timeout=5)
            raise AssertionError("an authorize request without parameters was accepted")
        except urllib.error.HTTPError as page:
            assert b"<html" in page.read().lower()
        # ... AWS's managed policies (the .json.gz) and the S3 action table (actions.json).
        iam = boto3.session.Session().client(
            "iam", endpoint_url=base, region_name="us-east-1", aws_access_key_id=ROOT_KEY,
            aws_secret_access_key=ROOT_SECRET)
        policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
        assert policy["Policy"]["PolicyName"] == "AmazonEC2ReadOnlyAccess"
        check = subprocess.run(
            [str(venv / "bin" / "python"), "-c",
             "from opensts.s3.actions import table; print(len(table()['operations']))"],
            capture_output=True, text=True, env=_clean_env(), cwd=venv)
        assert check.returncode == 0 and int(check.stdout) > 50, check.stderr
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def test_pipx_installs_the_wheel_with_its_pinned_dependencies(wheel: Path, tmp_path: Path) -> None:
    # The real thing the README promises: pipx resolves and installs the declared
    # dependencies itself (from the package index, or a local wheel cache where pip has one),
    # into an environment of its own, and puts ``opensts`` on its bin dir.
    pipx = Path(sys.executable).parent / "pipx"
    env = {**_clean_env(), "PIPX_HOME": str(tmp_path / "pipx"),
           "PIPX_BIN_DIR": str(tmp_path / "bin"), "PIPX_MAN_DIR": str(tmp_path / "man")}
    done = subprocess.run([str(pipx), "install", str(wheel)], capture_output=True, text=True,
                          env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    opensts = tmp_path / "bin" / "opensts"
    version = subprocess.run([str(opensts), "--version"], capture_output=True, text=True,
                             env=env, timeout=60, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("opensts, version "), version
    # Its own environment, not this checkout's: the import comes from pipx's venv.
    python = tmp_path / "pipx" / "venvs" / "opensts" / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import opensts; print(opensts.__file__)"],
                           capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "pipx"), where
