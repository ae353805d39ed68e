"""``opensts backup`` / ``restore``: a backup taken while the server runs (and writes) restores
into a fresh data dir whose server accepts the old credentials; a bad archive or an occupied
target changes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from opensts.store.probe import LATEST_MIGRATION
from tests.conftest import ACCOUNT_ID, BIN, start_server, stop_server, unique

CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("OPENSTS_")}


def opensts(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "opensts"), *args], env={**CLEAN, **env},
                          capture_output=True, text=True, timeout=120)


def test_backup_while_serving_then_restore_and_use_the_credentials(tmp_path: Path) -> None:
    source = start_server(tmp_path / "source-data")
    try:
        iam = source.client("iam")
        name = unique("backed-up")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="list", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        # The server keeps writing while the backup runs: the snapshot is still consistent.
        stop = threading.Event()

        def churn() -> None:
            while not stop.is_set():
                iam.create_user(UserName=unique("churn"))

        writer = threading.Thread(target=churn)
        writer.start()
        try:
            archive = tmp_path / "opensts-backup.tar.gz"
            made = opensts("backup", str(archive), "--data-dir", str(source.data_dir))
        finally:
            stop.set()
            writer.join()
        assert made.returncode == 0, made.stderr
        assert f"backed up account {ACCOUNT_ID} (migration {LATEST_MIGRATION})" in made.stdout
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600
        again = opensts("backup", str(archive), "--data-dir", str(source.data_dir))
        assert again.returncode == 1 and "exists: refusing to overwrite it" in again.stderr
        # Not over a store a server is using, even with --force.
        busy = opensts("restore", str(archive), "--data-dir", str(source.data_dir), "--force")
        assert busy.returncode == 1 and "is in use" in busy.stderr, busy.stderr
        assert "nothing was changed" in busy.stderr
    finally:
        stop_server(source)

    target = tmp_path / "fresh-data"
    restored = opensts("restore", str(archive), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    assert sorted(p.name for p in target.iterdir()) == ["master.key", "opensts.db"]
    assert stat.S_IMODE((target / "master.key").stat().st_mode) == 0o600
    assert (target / "master.key").read_bytes() == \
        (source.data_dir / "master.key").read_bytes()
    server = start_server(target)
    try:
        user = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
        assert user.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
        users = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"]).list_users()
        assert name in {u["UserName"] for u in users["Users"]}
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A backup of a data dir that a server (in process: faster) has started on."""
    from opensts.config import Settings
    from opensts.web.app import build_runtime

    base = tmp_path_factory.mktemp("backup")
    settings = Settings.from_env(base / "data", env={"OPENSTS_ACCOUNT_ID": ACCOUNT_ID},
                                 create=True)
    runtime, _ = build_runtime(settings)
    runtime.audit.close()
    runtime.store.close()
    made = opensts("backup", str(base / "archive.tar.gz"), "--data-dir", str(base / "data"))
    assert made.returncode == 0, made.stderr
    yield base / "archive.tar.gz"


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def repack(path: Path, files: dict[str, bytes], *, fix_sums: bool = True) -> Path:
    manifest = json.loads(files["manifest.json"])
    if fix_sums:
        manifest["sha256"] = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()
                              if n != "manifest.json"}
    files = {**files, "manifest.json": json.dumps(manifest).encode()}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def db_with(files: dict[str, bytes], tmp_path: Path, sql: str) -> bytes:
    copy = tmp_path / "edit.db"
    copy.write_bytes(files["opensts.db"])
    with sqlite3.connect(copy) as conn:
        conn.execute(sql)
    conn.close()
    return copy.read_bytes()


def assert_refused(result: subprocess.CompletedProcess[str], reason: str, target: Path) -> None:
    assert result.returncode == 1, result.stdout
    assert reason in result.stderr and "nothing was changed" in result.stderr, result.stderr
    assert not target.exists(), "a refused restore left a directory behind"


def test_a_damaged_or_foreign_archive_changes_nothing(archive: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    files = members(archive)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    assert_refused(opensts("restore", str(truncated), "--data-dir", str(target)),
                   "the archive is damaged", target)
    tampered = repack(tmp_path / "tampered.tar.gz",
                      {**files, "opensts.db": files["opensts.db"][:-1] + b"\x01"},
                      fix_sums=False)
    assert_refused(opensts("restore", str(tampered), "--data-dir", str(target)),
                   "opensts.db does not match its checksum", target)
    newer = repack(tmp_path / "newer.tar.gz", {**files, "opensts.db": db_with(
        files, tmp_path, "INSERT INTO schema_migrations VALUES (999, 'from the future')")})
    assert_refused(opensts("restore", str(newer), "--data-dir", str(target)),
                   f"at migration 999, newer than this OpenSTS (migration {LATEST_MIGRATION})",
                   target)
    half = files["opensts.db"][: len(files["opensts.db"]) // 2]
    broken = repack(tmp_path / "broken.tar.gz", {**files, "opensts.db": half})
    result = opensts("restore", str(broken), "--data-dir", str(target))
    assert_refused(result, "", target)
    assert "integrity_check" in result.stderr or "malformed" in result.stderr, result.stderr
    other_key = repack(tmp_path / "other-key.tar.gz",
                       {**files, "master.key": b"B" * 43 + b"=\n"})
    assert_refused(opensts("restore", str(other_key), "--data-dir", str(target)),
                   "the master key (master.key) does not decrypt this store's secrets", target)
    stray = repack(tmp_path / "stray.tar.gz", {**files, "../../etc/cron.d/x": b"* * * * *"})
    assert_refused(opensts("restore", str(stray), "--data-dir", str(target)),
                   "unexpected member '../../etc/cron.d/x'", target)
    not_tar = tmp_path / "notes.txt"
    not_tar.write_text("hello")
    assert_refused(opensts("restore", str(not_tar), "--data-dir", str(target)),
                   "not an OpenSTS backup", target)


def test_restore_refuses_a_non_empty_target_unless_forced(archive: Path, tmp_path: Path
                                                          ) -> None:
    from opensts.config import Settings
    from opensts.web.app import build_runtime

    target = tmp_path / "data"
    settings = Settings.from_env(target, env={"OPENSTS_ACCOUNT_ID": "999988887777"},
                                 create=True)
    runtime, _ = build_runtime(settings)
    runtime.audit.close()
    runtime.store.close()
    before = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    refused = opensts("restore", str(archive), "--data-dir", str(target))
    assert refused.returncode == 1 and "is not empty" in refused.stderr
    assert "--force" in refused.stderr
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == before
    forced = opensts("restore", str(archive), "--data-dir", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    status = json.loads(opensts("status", "--data-dir", str(target), "--json").stdout)
    assert status["management_account"] == ACCOUNT_ID
    assert (target / "audit").is_dir()  # history is kept
    assert not list(target.glob(".*restore-*"))  # no temporary file left


def test_postgresql_is_pointed_to_pg_dump(archive: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "audit").mkdir(parents=True)
    env = {"OPENSTS_DATABASE_URL": "postgresql+psycopg://opensts:pw@127.0.0.1:1/opensts",
           "OPENSTS_MASTER_KEY": "A" * 43 + "="}
    made = opensts("backup", str(tmp_path / "b.tar.gz"), "--data-dir", str(data), **env)
    assert made.returncode == 1 and "pg_dump" in made.stderr and "pw@" not in made.stderr
    restored = opensts("restore", str(archive), "--data-dir", str(tmp_path / "new"), **env)
    assert restored.returncode == 1 and "pg_restore" in restored.stderr
    assert not (tmp_path / "b.tar.gz").exists() and not (tmp_path / "new").exists()
