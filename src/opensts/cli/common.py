"""What the admin commands share: the data directory they act on, and opening its store.

An admin command (``keys``, ``audit``, ``s3``, ``api``, ...) acts on an existing OpenSTS: run
from the wrong directory, it must say so rather than create an empty store and report
success. ``--data-dir`` (``data_dir_option``) refuses a directory holding no OpenSTS data as
it is parsed; ``open_admin_store`` also refuses a database without an OpenSTS schema and
account (an empty PostgreSQL database, say) before ``open_store`` would create one. Only
``opensts serve`` (and ``restore``) create a data directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from opensts.config import ConfigError, Settings

if TYPE_CHECKING:
    from opensts.credentials.at_rest import SecretBox
    from opensts.store import SqlStore
    from opensts.store.probe import DatabaseInfo

F = TypeVar("F", bound=Callable[..., Any])

# Files that only an OpenSTS data directory holds (the SQLite store, the at-rest key, the
# audit log, the recorded denials); one of them is enough, since with PostgreSQL and
# OPENSTS_MASTER_KEY the directory may hold the logs alone.
_MARKERS = ("opensts.db", "master.key", "audit", "decisions")


def data_dir_option(*, create: bool = False) -> Callable[[F], F]:
    """``--data-dir`` (else ``OPENSTS_DATA_DIR``, else ./data)."""
    verb = "created if missing" if create else "must already hold OpenSTS data"
    return click.option(
        "--data-dir",
        default="./data",
        show_default=True,
        envvar="OPENSTS_DATA_DIR",
        type=click.Path(path_type=Path, file_okay=False),
        # Checked as the option is parsed, so no admin command can forget to.
        callback=None if create else _must_hold_data,
        help=f"the server's data directory (else OPENSTS_DATA_DIR; {verb})",
    )


def _must_hold_data(ctx: click.Context, _param: click.Parameter, value: Path) -> Path:
    if not ctx.resilient_parsing:
        require_data_dir(value)
    return value


def holds_opensts_data(data_dir: Path) -> bool:
    return data_dir.is_dir() and any((data_dir / name).exists() for name in _MARKERS)


def require_data_dir(data_dir: Path) -> None:
    """Refuse a directory that is not an OpenSTS data directory (never create one)."""
    if not holds_opensts_data(data_dir):
        raise click.ClickException(
            f"{data_dir} holds no OpenSTS data (no opensts.db, master.key, audit/ or "
            "decisions/): give the server's --data-dir or set OPENSTS_DATA_DIR")


def admin_settings(data_dir: Path) -> Settings:
    """The settings of the OpenSTS in ``data_dir``, which must exist (nothing is created)."""
    require_data_dir(data_dir)
    try:
        return Settings.from_env(data_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def require_store(settings: Settings) -> DatabaseInfo:
    """Refuse a database that holds no OpenSTS directory (an empty PostgreSQL database, a
    missing SQLite file) rather than let ``open_store`` create one; its description else."""
    from opensts.store.probe import ProbeError, probe

    try:
        return probe(settings.database_url)
    except ProbeError as exc:
        raise click.ClickException(
            f"{exc}: give the server's --data-dir or OPENSTS_DATABASE_URL") from None


def open_admin_store(data_dir: Path) -> tuple[SqlStore, SecretBox]:
    """The store ``opensts serve --data-dir DATA_DIR`` uses, and the key of its secrets."""
    from opensts.credentials.at_rest import SecretBox
    from opensts.store import open_store

    settings = admin_settings(data_dir)
    require_store(settings)
    # The bundled AWS managed policies are the server's to refresh; this only adds a row.
    return open_store(settings.database_url, aws_managed=False), SecretBox(settings.master_key)
