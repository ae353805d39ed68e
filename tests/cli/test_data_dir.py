"""Admin commands act on an existing OpenSTS: pointed at a directory or a database that holds
none, they fail, say why, and create nothing (issue 12: `keys rotate` from the wrong
directory used to make a new empty store and report success)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opensts.directory.records import Account
from opensts.store import open_store
from opensts.store.probe import LATEST_MIGRATION
from tests.conftest import BIN

CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("OPENSTS_")}
POSTGRES = os.environ.get("OPENSTS_TEST_POSTGRES_DSN",
                          "postgresql://postgres@127.0.0.1:5432/test")

# Every command that acts on a data dir (serve and restore create one, by design).
ADMIN_COMMANDS = [
    ("keys", "list"), ("keys", "rotate"), ("keys", "retire", "0123abcd"),
    ("audit", "tail"), ("s3", "list"), ("api", "list"), ("api", "show", "orders"),
    ("api", "delete", "orders"), ("s3", "adopt", "some-bucket", "--account", "111122223333"),
    ("status",), ("root", "create-access-key"), ("root", "delete-access-key", "AKIAEXAMPLE"),
    ("backup", "out.tar.gz"), ("policy", "explain", "--request-id", "REQ1"),
]


def opensts(*args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "opensts"), *args], env={**CLEAN, **(env or {})},
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def test_keys_rotate_refuses_an_empty_directory_and_creates_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = opensts("keys", "rotate", "--data-dir", str(empty))
    assert result.returncode != 0
    assert f"{empty} holds no OpenSTS data" in result.stderr
    assert "--data-dir" in result.stderr and "OPENSTS_DATA_DIR" in result.stderr
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("command", ADMIN_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_admin_command_refuses_a_missing_directory(tmp_path: Path,
                                                         command: tuple[str, ...]) -> None:
    missing = tmp_path / "nowhere"
    # From a working directory without ./data, and with the data dir from the environment.
    result = opensts(*command, env={"OPENSTS_DATA_DIR": str(missing)}, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{missing} holds no OpenSTS data" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_data_dir_with_a_key_but_no_database_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "master.key").write_text("A" * 43 + "=")
    (data / "master.key").chmod(0o600)
    result = opensts("keys", "list", "--data-dir", str(data))
    assert result.returncode == 1
    assert f"no OpenSTS database: {data.resolve() / 'opensts.db'} does not exist" in result.stderr
    assert sorted(p.name for p in data.iterdir()) == ["master.key"]


def test_a_data_dir_without_its_master_key_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "audit").mkdir(parents=True)
    result = opensts("keys", "rotate", "--data-dir", str(data))
    assert result.returncode == 1
    assert "master.key does not exist" in result.stderr
    assert "only `opensts serve` creates a data directory" in result.stderr
    assert sorted(p.name for p in data.iterdir()) == ["audit"]


def _postgres() -> object | None:
    try:
        import psycopg

        return psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except Exception:
        return None


def test_an_empty_postgresql_database_is_refused_and_left_empty(tmp_path: Path) -> None:
    conn = _postgres()
    if conn is None:
        pytest.skip(f"no PostgreSQL at {POSTGRES}")
    schema = f"empty_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[attr-defined]
    try:
        data = tmp_path / "data"
        (data / "audit").mkdir(parents=True)
        url = POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1)
        sep = "&" if "?" in url else "?"
        env = {"OPENSTS_DATABASE_URL": f"{url}{sep}options=-csearch_path%3D{schema}",
               "OPENSTS_MASTER_KEY": "A" * 43 + "="}
        for command in (("keys", "rotate"), ("status",), ("root", "create-access-key")):
            result = opensts(*command, "--data-dir", str(data), env=env)
            assert result.returncode == 1, result.stdout + result.stderr
            assert "holds no OpenSTS schema" in result.stderr
            assert "OPENSTS_DATABASE_URL" in result.stderr
        tables = conn.execute(  # type: ignore[attr-defined]
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            (schema,)).fetchone()[0]
        assert tables == 0
        # Once a server has made its schema and account there, the same commands work.
        store = open_store(url, schema=schema, aws_managed=False)
        store.create_account(Account("111122223333", "management", "m@example.com",
                                     datetime.now(UTC)))
        store.close()
        shown = opensts("status", "--json", "--data-dir", str(data), env=env)
        assert shown.returncode == 0, shown.stderr
        report = json.loads(shown.stdout)
        assert report["management_account"] == "111122223333"
        assert report["database"]["dialect"] == "postgresql"
        assert report["database"]["migration"] == LATEST_MIGRATION
        # The password, were there one, never appears: the URL is shown redacted.
        secret_url = "postgresql+psycopg://opensts:s3cr3t-pw@127.0.0.1:1/none"
        result = opensts("status", "--data-dir", str(data),
                         env={**env, "OPENSTS_DATABASE_URL": secret_url})
        assert result.returncode == 1 and "s3cr3t-pw" not in result.stderr
        assert "opensts:***@127.0.0.1:1/none" in result.stderr
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[attr-defined]
        conn.close()  # type: ignore[attr-defined]
