"""Consistent copies of the embedded SQLite store, taken while servers write to it.

``snapshot`` uses SQLite's online backup API (sqlite3 ``Connection.backup``): copied in one
step, the copy is the database as of one read transaction, whatever other connections
commit meanwhile (WAL mode lets them go on writing). ``check`` is what a restore verifies
before it replaces anything: ``PRAGMA integrity_check``, and an OpenSTS schema this version
knows (a migration number not newer than ours).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from opensts.store.probe import LATEST_MIGRATION

_BUSY_MS = 30_000


class SnapshotError(Exception):
    """The database could not be copied, or the copy is not a sound OpenSTS store."""


@dataclass(frozen=True)
class Checked:
    migration: int
    accounts: int


def snapshot(source: Path, target: Path) -> Checked:
    """Copy the database ``source`` into the new file ``target`` (fsynced), and check it."""
    try:
        # Opened read-write only so SQLite may use the WAL index; nothing is written to it.
        src = sqlite3.connect(source, timeout=_BUSY_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise SnapshotError(f"cannot open {source}: {exc}") from None
    try:
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            src.backup(dst)  # pages=-1: one step, so one consistent read of the source
            # One self-contained file (no -wal): the server turns WAL back on when it opens it.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise SnapshotError(f"cannot copy {source}: {exc}") from None
    finally:
        src.close()
    fsync_file(target)
    return check(target)


def check(path: Path) -> Checked:
    """``path`` is an intact OpenSTS store this version can open, else SnapshotError."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise SnapshotError(f"cannot open {path}: {exc}") from None
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise SnapshotError(f"the database fails integrity_check: {'; '.join(problems[:5])}")
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"schema_migrations", "accounts"} <= tables:
            raise SnapshotError("the database holds no OpenSTS schema")
        migration = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        accounts = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise SnapshotError(f"not an SQLite database: {exc}") from None
    finally:
        conn.close()
    if migration is None or accounts == 0:
        raise SnapshotError("the database holds no OpenSTS account (a server never started)")
    if migration > LATEST_MIGRATION:
        raise SnapshotError(
            f"the database is at migration {migration}, newer than this OpenSTS (migration "
            f"{LATEST_MIGRATION}): restore it with the version that made it, or upgrade")
    return Checked(int(migration), int(accounts))


def release_for_replacement(path: Path) -> None:
    """Make sure no process has ``path`` open, and fold its WAL into the file, before the
    file is replaced: a server still writing to it would go on writing to the old inode,
    and a leftover -wal would be replayed into the new database. SnapshotError if in use."""
    try:
        conn = sqlite3.connect(path, timeout=1, isolation_level=None)
    except sqlite3.Error as exc:
        raise SnapshotError(f"cannot open {path}: {exc}") from None
    try:
        # Leaving WAL mode needs the only connection to the database: it fails while any
        # server (or other process) has it open.
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise SnapshotError(f"{path} is in use ({exc}): stop the servers using it first"
                                ) from None
        return  # not a readable database: nothing in it to protect
    except sqlite3.DatabaseError:
        return  # damaged, which is what a restore is for
    finally:
        conn.close()
    if str(mode).lower() != "delete":
        raise SnapshotError(f"{path} is in use: stop the servers using it first")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
