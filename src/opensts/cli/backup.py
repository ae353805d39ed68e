"""``opensts backup`` / ``opensts restore``: the embedded SQLite store and its master key.

The archive is a gzipped tar of ``manifest.json`` (format, version, schema migration,
management account, SHA-256 of each member), ``opensts.db`` (a consistent snapshot taken
with SQLite's backup API, so servers may keep running) and ``master.key`` (unless the key
comes from OPENSTS_MASTER_KEY). The master key decrypts every secret in the store, so the
archive is as secret as the data dir: it is written 0600 and never over an existing file.

A restore reads and verifies the whole archive (checksums, ``integrity_check``, a schema
not newer than this version, the key opening the store's secrets) before it replaces
anything; each file is written to a temporary name, fsynced and renamed into place, so a
crash leaves the old file or the new one, never half of one. The audit log is history and
is left as it is. PostgreSQL has its own tools (pg_dump / pg_restore).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from opensts.cli.common import admin_settings, data_dir_option, require_store
from opensts.cli.status import opensts_version

FORMAT = "opensts-backup/1"
MANIFEST, DATABASE, MASTER_KEY = "manifest.json", "opensts.db", "master.key"
_MEMBERS = {MANIFEST, DATABASE, MASTER_KEY}
_PG_HINT = ("the store is in PostgreSQL (OPENSTS_DATABASE_URL): back it up with pg_dump and "
            "restore it with pg_restore (or psql), and keep the master key with it")


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@data_dir_option()
def backup(file: Path, data_dir: Path) -> None:
    """Write the store and its master key to the archive FILE, while servers run.

    FILE is SECRET: its master.key decrypts every secret in the store (it is written 0600,
    and never over an existing file). Embedded SQLite store only; for PostgreSQL use pg_dump.
    """
    from opensts.store.probe import sqlite_path
    from opensts.store.sqlite_backup import SnapshotError, snapshot

    settings = admin_settings(data_dir)
    source = sqlite_path(settings.database_url)
    if source is None:
        raise click.ClickException(_PG_HINT)
    info = require_store(settings)
    if file.exists() or file.is_symlink():
        raise click.ClickException(f"{file} exists: refusing to overwrite it")
    key_file = data_dir / MASTER_KEY
    from_env = bool(os.environ.get("OPENSTS_MASTER_KEY"))
    with tempfile.TemporaryDirectory(prefix="opensts-backup-") as staging:
        copy = Path(staging) / DATABASE
        try:
            checked = snapshot(source, copy)
        except SnapshotError as exc:
            raise click.ClickException(str(exc)) from None
        members = {DATABASE: copy}
        if not from_env:
            members[MASTER_KEY] = key_file
        manifest = {
            "format": FORMAT, "opensts_version": opensts_version(),
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "migration": checked.migration, "management_account": info.management_account,
            "master_key": "environment" if from_env else "file",
            "sha256": {name: _sha256(path) for name, path in members.items()},
        }
        _write_archive(file, manifest, members)
    click.echo(f"backed up account {info.management_account} (migration "
               f"{checked.migration}) to {file}")
    if from_env:
        click.echo("the master key comes from OPENSTS_MASTER_KEY and is NOT in the archive: "
                   "keep it with the archive, a restore needs it", err=True)


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@data_dir_option(create=True)
@click.option("--force", is_flag=True,
              help="replace the store and master.key of a data dir that is not empty (its "
                   "servers must be stopped; the audit log is kept)")
def restore(file: Path, data_dir: Path, force: bool) -> None:
    """Restore the store and master key from the archive FILE (made by 'opensts backup')
    into DATA_DIR.

    The whole archive is verified first (checksums, integrity_check, a schema not newer than
    this version, the master key opening the store's secrets); then each file is written
    under a temporary name, fsynced and renamed into place. Refuses a data dir that is not
    empty unless --force, and a store a server is using. Embedded SQLite store only; for
    PostgreSQL use pg_restore.
    """
    from opensts.store.probe import sqlite_path
    from opensts.store.sqlite_backup import SnapshotError, check, release_for_replacement

    url = os.environ.get("OPENSTS_DATABASE_URL")
    db = sqlite_path(url) if url else data_dir / DATABASE
    if db is None:
        raise click.ClickException(_PG_HINT)
    occupied = sorted(p.name for p in data_dir.iterdir()) if data_dir.is_dir() else []
    if db.exists() and db.name not in occupied:
        occupied.append(str(db))
    if occupied and not force:
        raise click.ClickException(
            f"{data_dir} is not empty (holds {', '.join(occupied[:6])}): restore into an empty "
            "directory, or give --force to replace its store and master key")
    created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staged: list[Path] = []
    try:
        manifest, staged_db, staged_key = _unpack(file, db.parent, data_dir, staged)
        checked = check(staged_db)
        key = _master_key(staged_key)
        _key_opens_store(key, staged_db)
        if db.exists():
            release_for_replacement(db)
        for leftover in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            leftover.unlink(missing_ok=True)
        if staged_key is not None:
            os.replace(staged_key, data_dir / MASTER_KEY)
            _fsync_dir(data_dir)
        os.replace(staged_db, db)
        _fsync_dir(db.parent)
    except (SnapshotError, _ArchiveError) as exc:
        _discard(staged, data_dir if created else None)
        raise click.ClickException(f"{file}: {exc}; nothing was changed") from None
    except BaseException:
        _discard(staged, data_dir if created else None)
        raise
    click.echo(f"restored account {manifest.get('management_account')} (migration "
               f"{checked.migration}, backed up {manifest.get('created')}) into {data_dir}")


class _ArchiveError(Exception):
    pass


def _write_archive(file: Path, manifest: dict[str, Any], members: dict[str, Path]) -> None:
    """The archive, fsynced under a temporary name and then linked to ``file`` (which
    must not exist: a link, unlike a rename, never replaces one)."""
    parent = file.parent if str(file.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{file.name}.", dir=parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                _add(tar, MANIFEST, io.BytesIO(json.dumps(manifest, indent=2).encode()))
                for name, path in members.items():
                    with path.open("rb") as handle:
                        _add(tar, name, handle)
            raw.flush()
            os.fsync(raw.fileno())
        try:
            os.link(temp, file)
        except FileExistsError:
            raise click.ClickException(f"{file} exists: refusing to overwrite it") from None
        _fsync_dir(parent)
    finally:
        Path(temp).unlink(missing_ok=True)


def _add(tar: tarfile.TarFile, name: str, handle: IO[bytes]) -> None:
    handle.seek(0, io.SEEK_END)
    info = tarfile.TarInfo(name)
    info.size = handle.tell()
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    handle.seek(0)
    tar.addfile(info, handle)


def _unpack(file: Path, db_dir: Path, key_dir: Path, staged: list[Path]
            ) -> tuple[dict[str, Any], Path, Path | None]:
    """Members to temporary files next to their targets (so the renames stay on one
    filesystem), each checked against the manifest's SHA-256."""
    try:
        tar = tarfile.open(file, mode="r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as exc:
        raise _ArchiveError(f"not an OpenSTS backup ({exc})") from None
    with tar:
        found: dict[str, tuple[Path | None, str, bytes]] = {}
        try:
            for member in tar:
                if member.name not in _MEMBERS or not member.isreg() or member.name in found:
                    raise _ArchiveError(f"unexpected member {member.name!r}")
                source = tar.extractfile(member)
                assert source is not None  # a regular file
                if member.name == MANIFEST:
                    found[MANIFEST] = (None, "", source.read(1 << 20))
                    continue
                fd, temp = tempfile.mkstemp(prefix=f".{member.name}.restore-",
                                            dir=db_dir if member.name == DATABASE else key_dir)
                staged.append(Path(temp))
                digest = hashlib.sha256()
                with os.fdopen(fd, "wb") as out:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                found[member.name] = (Path(temp), digest.hexdigest(), b"")
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:  # truncated, corrupt
            raise _ArchiveError(f"the archive is damaged ({exc})") from None
    if MANIFEST not in found or DATABASE not in found:
        raise _ArchiveError("not an OpenSTS backup (no manifest.json or opensts.db)")
    try:
        manifest = json.loads(found[MANIFEST][2])
    except ValueError:
        raise _ArchiveError("manifest.json is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _ArchiveError(f"unknown backup format {manifest.get('format')!r}"
                            if isinstance(manifest, dict) else "manifest.json is malformed")
    sums = manifest.get("sha256") or {}
    for name in (DATABASE, MASTER_KEY):
        if name in found and sums.get(name) != found[name][1]:
            raise _ArchiveError(f"{name} does not match its checksum: the archive is damaged")
    if manifest.get("master_key") == "file" and MASTER_KEY not in found:
        raise _ArchiveError("master.key is missing from the archive")
    key_path = found[MASTER_KEY][0] if MASTER_KEY in found else None
    db_path = found[DATABASE][0]
    assert db_path is not None
    return manifest, db_path, key_path


def _master_key(staged: Path | None) -> bytes:
    env = os.environ.get("OPENSTS_MASTER_KEY")
    text = env.encode() if env else (staged.read_bytes().strip() if staged else b"")
    if not text:
        raise _ArchiveError("the archive holds no master.key and OPENSTS_MASTER_KEY is not "
                            "set: the store's secrets could not be decrypted")
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise _ArchiveError("the master key is not base64 of 32 bytes")
    return key


def _key_opens_store(key: bytes, db: Path) -> None:
    """The master key decrypts the store's secrets (OPENSTS_MASTER_KEY may be another one)."""
    from opensts.credentials import SecretBox, SecretBoxError

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT key_id, sealed_key FROM signing_keys LIMIT 1").fetchone()
        context = b"signing-key:"
        if row is None:
            row = conn.execute(
                "SELECT access_key_id, sealed_secret FROM access_keys LIMIT 1").fetchone()
            context = b"access-key:"
    finally:
        conn.close()
    if row is None:
        return  # nothing sealed yet
    try:
        SecretBox(key).open(row[1], context=context + str(row[0]).encode())
    except SecretBoxError:
        source = "OPENSTS_MASTER_KEY" if os.environ.get("OPENSTS_MASTER_KEY") else "master.key"
        raise _ArchiveError(f"the master key ({source}) does not decrypt this store's "
                            "secrets") from None


def _discard(staged: list[Path], created_dir: Path | None) -> None:
    for path in staged:
        path.unlink(missing_ok=True)
    if created_dir is not None:
        shutil.rmtree(created_dir, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    from opensts.store.sqlite_backup import fsync_dir

    fsync_dir(path)
