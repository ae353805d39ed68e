"""The README's quick-start, run as written: its ```sh blocks (those under "## Quick start"),
verbatim and in order, in one ``bash -euo pipefail`` against the server the script starts
itself, with a scratch HOME (no ~/.aws of the machine's) and the venv's bin first on PATH
(its AWS CLI v1 and opensts). So the README cannot rot: a command that stops working, a
missing file or a changed output fails here."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from pathlib import Path

from tests.conftest import BIN, REPO, free_port

README = REPO / "README.md"


def quickstart_blocks(text: str) -> list[str]:
    """The ```sh blocks between "## Quick start" and the next second-level heading."""
    start = text.index("\n## Quick start\n")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end != -1 else None]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.M | re.S)


def test_the_quickstart_section_is_found_with_its_steps() -> None:
    blocks = quickstart_blocks(README.read_text())
    script = "\n".join(blocks)
    assert len(blocks) >= 4
    for step in ("opensts serve", "create-access-key", "trust.json", "policy.json",
                 "sts assume-role", "--policy file://session.json",
                 "decode-authorization-message", "opensts policy explain"):
        assert step in script, step
    # Nothing hard-coded: the account id comes from the first start's output.
    assert "123456789012" not in script


def test_the_readme_quickstart_runs_verbatim(tmp_path: Path) -> None:
    script = "\n".join(quickstart_blocks(README.read_text()))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("AWS_", "OPENSTS_"))
    }
    env.update(
        HOME=str(home),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PORT=str(free_port()),
        TMPDIR=str(tmp_path),
        AWS_PAGER="",
    )
    # A new session: the script's background server is in its process group, so it can be
    # stopped even when the script fails half-way. Output to files, not pipes: a server left
    # running by a failed script would hold a pipe open.
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("w") as out_file, stderr.open("w") as err_file:
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script], cwd=REPO, env=env,
            stdout=out_file, stderr=err_file, start_new_session=True,
        )
        try:
            process.wait(timeout=180)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    out, err = stdout.read_text(), stderr.read_text()
    assert process.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}"

    # opensts doctor: the venv's aws honours AWS_ENDPOINT_URL, so nothing goes to AWS.
    assert "PROBLEM" not in out
    # The account id was taken from the first start, not invented.
    account = re.search(r"arn:aws:sts::(\d{12}):assumed-role/reader/alice", out)
    assert account is not None, out
    first_start = next(tmp_path.glob("tmp.*/first-start.txt")).read_text()
    assert f"OpenSTS management account: {account[1]}" in first_start
    # The allow: the session listed users (alice among them).
    assert f'"arn:aws:iam::{account[1]}:user/alice"' in out
    # The denial, shown, then decoded ...
    assert "when calling the ListRoles operation: User: arn:aws:sts::" in out
    decoded = json.loads(next(line for line in out.splitlines()
                              if line.startswith('{"allowed":false')))
    assert decoded["context"]["action"] == "iam:ListRoles"
    assert decoded["context"]["principal"]["arn"].endswith(":assumed-role/reader/alice")
    assert "session policy does not allow" in decoded["explanation"]
    # ... and explained by opensts policy explain from the same files.
    explained = out[out.index('{"allowed":false'):]
    assert "Decision: implicitDeny" in explained
    assert "[session]" in explained and "Action does not cover the action" in explained
    # ... and by the operator from the server's record, by request id.
    recorded = out[out.index("Request id: "):]
    assert "iam:ListRoles" in recorded, recorded
    assert "Refused by: the caller's session policy" in recorded, recorded
