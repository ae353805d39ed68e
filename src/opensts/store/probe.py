"""Look at a database without changing it: does it hold an OpenSTS directory, and which.

``open_store`` creates and migrates the schema, which is right for ``opensts serve`` and
wrong for an admin command pointed at the wrong place (it would make an empty OpenSTS
there). ``probe`` only reads: for SQLite it never opens a file that does not exist (SQLite
would create it), for PostgreSQL it checks for the schema before touching it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from opensts.store import schema as s
from opensts.store.migrations import MIGRATIONS

LATEST_MIGRATION = MIGRATIONS[-1].version


@dataclass(frozen=True)
class SigningKeyInfo:
    key_id: str
    created: datetime
    primary: bool


@dataclass(frozen=True)
class DatabaseInfo:
    url: str  # redacted: never holds the password
    dialect: str
    migration: int  # the newest migration applied (0: no OpenSTS schema)
    accounts: tuple[tuple[str, datetime | None], ...] = ()  # (id, created), oldest first
    signing_keys: tuple[SigningKeyInfo, ...] = field(default=())

    @property
    def management_account(self) -> str | None:
        return self.accounts[0][0] if self.accounts else None


class ProbeError(Exception):
    """The database holds no OpenSTS directory, or cannot be read; the message says which."""


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and ``opensts status``)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases or an in-memory one)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def probe(url: str) -> DatabaseInfo:
    """What the database at ``url`` holds; ProbeError unless it is an OpenSTS directory
    with its management account (a store ``opensts serve`` has started on)."""
    shown = redact(url)
    try:
        dialect = sa.engine.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        raise ProbeError(f"the database URL {shown} is not a database URL") from None
    if dialect == "sqlite":
        path = sqlite_path(url)
        if path is None or not path.is_file():
            raise ProbeError(f"no OpenSTS database: {path or shown} does not exist")
    # A database that does not answer is an answer too: do not wait for TCP's timeout.
    connect_args = {"connect_timeout": 10} if dialect == "postgresql" else {}
    engine = sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            if not inspector.has_table("schema_migrations") or not inspector.has_table(
                    "accounts"):
                raise ProbeError(f"the database {shown} holds no OpenSTS schema")
            migration = conn.execute(sa.select(sa.func.max(s.schema_migrations.c.version))
                                     ).scalar_one() or 0
            accounts = tuple((r.account_id, r.created) for r in conn.execute(
                sa.select(s.accounts.c.account_id, s.accounts.c.created)))
            keys = tuple(SigningKeyInfo(r.key_id, r.created, bool(r.is_primary))
                         for r in conn.execute(sa.select(
                             s.signing_keys.c.key_id, s.signing_keys.c.created,
                             s.signing_keys.c.is_primary).order_by(s.signing_keys.c.created)))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ProbeError(f"cannot read the database {shown}: {reason}") from None
    finally:
        engine.dispose()
    if not accounts:
        raise ProbeError(f"the database {shown} holds no OpenSTS account (a server never "
                         "started on it)")
    # The management account is the first one made (bootstrap's rule).
    ordered = tuple(sorted(accounts, key=lambda a: (a[1] is None, a[1] or datetime.min)))
    return DatabaseInfo(shown, dialect, int(migration), ordered, keys)
