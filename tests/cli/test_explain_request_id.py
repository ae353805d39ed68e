"""A denied S3 request is explainable after the fact from its request id: the gateway records
the decision (``DecisionLog.record_denial``) and ``opensts policy explain --request-id``
prints the same trace ``opensts policy explain`` prints for local files."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from opensts.audit.decisions import DecisionLog, decisions_dir, find_denials
from opensts.cli.policy import policy
from opensts.store import SqlStore, open_store
from tests.s3.authz_world import PROD, World, allow, doc, need

B = "productionapp"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'directory.db'}", aws_managed=False)
    yield opened
    opened.close()


@pytest.fixture
def world(store: SqlStore) -> World:
    return World(store)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def decision_log(data_dir: Path) -> Iterator[DecisionLog]:
    opened = DecisionLog.for_data_dir(data_dir)
    yield opened
    opened.close()


def explain(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(policy, ["explain", "--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_a_recorded_denial_is_explained_by_its_request_id(
    world: World, decision_log: DecisionLog, data_dir: Path
) -> None:
    role = world.role(PROD, "Reader", doc(allow("s3:GetObject", f"arn:aws:s3:::{B}/*")))
    session = world.session(role, policy=doc(allow("s3:GetObject", f"arn:aws:s3:::{B}/public/*")))
    what = need("s3:GetObject", B, "private/k")
    decision = world.decide(session, what, world.bucket(B, PROD), request_id="REQ0000000000001")
    assert not decision.allowed
    decision_log.record_denial("REQ0000000000001", session.arn, what, decision)
    decision_log.flush()

    code, out = explain(data_dir, "--request-id", "REQ0000000000001")
    assert code == 1, out
    lines = out.splitlines()
    assert lines[0].startswith("Request id: REQ0000000000001 at ")
    assert "\n".join(lines[1:]) == decision.explain()
    assert "Decision: implicitDeny — the session policy does not allow" in out
    assert "[session] session-policy" in out

    code, out = explain(data_dir, "--request-id", "REQ0000000000001", "--json")
    record = json.loads(out)
    assert record["principal"] == session.arn
    assert (record["action"], record["resource"]) == ("s3:GetObject", what.resource)
    assert record["decision"]["decision"] == "implicitDeny"
    assert record["decision"]["policies"]  # the per-statement trace
    # No credentials of the caller are recorded.
    raw = (decisions_dir(data_dir) / "denials.jsonl").read_text()
    assert session.access_key_id not in raw


def test_the_installed_command_reads_the_data_dir(
    world: World, decision_log: DecisionLog, data_dir: Path
) -> None:
    what = need("s3:PutObject", B, "k")
    decision = world.decide(world.user(PROD, "bob"), what, world.bucket(B, PROD))
    decision_log.record_denial("REQSUBPROCESS", "arn:aws:iam::222222222222:user/bob", what,
                               decision)
    decision_log.flush()
    opensts = str(Path(sys.executable).parent / "opensts")
    result = subprocess.run([opensts, "policy", "explain", "--request-id", "REQSUBPROCESS"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "OPENSTS_DATA_DIR": str(data_dir)})
    assert result.returncode == 1, result.stderr
    assert "no identity-based policy allows" in result.stdout


def test_anonymous_denials_and_several_per_request(
    world: World, decision_log: DecisionLog, data_dir: Path
) -> None:
    bucket = world.bucket(B, PROD)
    for key in ("a", "b"):  # DeleteObjects decides each key
        what = need("s3:DeleteObject", B, key)
        decision_log.record_denial("REQMULTI", None, what, world.decide(None, what, bucket))
    decision_log.flush()
    records = find_denials(decisions_dir(data_dir), "REQMULTI")
    assert [r["resource"] for r in records] == [f"arn:aws:s3:::{B}/a", f"arn:aws:s3:::{B}/b"]
    assert {r["principal"] for r in records} == {"anonymous"}
    code, out = explain(data_dir, "--request-id", "REQMULTI")
    assert code == 1 and out.count("Request id: REQMULTI") == 2


def test_unknown_request_ids_and_bad_arguments(data_dir: Path) -> None:
    code, out = explain(data_dir, "--request-id", "NOPE")
    assert code == 1 and "holds no OpenSTS data" in out and not data_dir.exists()
    DecisionLog.for_data_dir(data_dir).close()
    code, out = explain(data_dir, "--request-id", "NOPE")
    assert code == 2 and "no denial is recorded" in out
    code, out = explain(data_dir, "--request-id", "NOPE", "--action", "s3:GetObject")
    assert code == 2 and "takes no --action" in out
    code, out = explain(data_dir)
    assert code == 2 and "--request-id" in out


def test_the_local_files_form_still_works(tmp_path: Path) -> None:
    policy = tmp_path / "p.json"
    policy.write_text(doc(allow("s3:GetObject")))
    code, out = explain(tmp_path, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k",
                        "--principal", f"arn:aws:iam::{PROD}:user/a", "--identity", str(policy))
    assert code == 0 and out.startswith("Decision: allowed")


def test_the_log_is_bounded_and_rotates(world: World, data_dir: Path) -> None:
    directory = decisions_dir(data_dir)
    small = DecisionLog(directory, max_bytes=20_000, keep=2)
    what = need("s3:GetObject", B, "k")
    decision = world.decide(None, what, world.bucket(B, PROD))
    try:
        for i in range(120):
            small.record_denial(f"ROT{i:04d}", None, what, decision)
            if i % 10 == 9:
                small.flush()
        small.flush()
    finally:
        small.close()
    files = sorted(p.name for p in directory.glob("denials*.jsonl"))
    assert files == ["denials.1.jsonl", "denials.2.jsonl", "denials.jsonl"]
    assert sum(p.stat().st_size for p in directory.glob("denials*.jsonl")) <= 3 * 20_000
    assert find_denials(directory, "ROT0119")
    assert not find_denials(directory, "ROT0000")  # rotated away, oldest first
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert oct((directory / "denials.jsonl").stat().st_mode & 0o777) == "0o600"


def test_a_full_queue_drops_records_instead_of_blocking(world: World, data_dir: Path) -> None:
    directory = decisions_dir(data_dir)
    directory.mkdir(parents=True)
    lock = os.open(directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # another process holds the log: the writer waits
    slow = DecisionLog(directory, queue_size=2)
    what = need("s3:GetObject", B, "k")
    decision = world.decide(None, what, world.bucket(B, PROD))
    try:
        for i in range(20):
            slow.record_denial(f"Q{i}", None, what, decision)  # never blocks
        assert slow.dropped >= 15
    finally:
        os.close(lock)
        slow.close()
    assert find_denials(directory, "Q0")


def test_a_torn_line_is_skipped(world: World, decision_log: DecisionLog, data_dir: Path) -> None:
    what = need("s3:GetObject", B, "k")
    decision_log.record_denial("TORN1", None, what, world.decide(None, what, world.bucket(B, PROD)))
    decision_log.flush()
    with (decisions_dir(data_dir) / "denials.jsonl").open("ab") as handle:
        handle.write(b'{"requestId":"TORN1","expl')
    assert len(find_denials(decisions_dir(data_dir), "TORN1")) == 1
