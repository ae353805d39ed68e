"""The SQL implementation of :class:`opensts.directory.store.Store`.

One schema and one implementation for SQLite (embedded default) and PostgreSQL
(psycopg 3). SQLite runs in WAL mode with ``synchronous=NORMAL`` (durable across
application crashes; the SQLite docs' recommended WAL setting), foreign keys on and a busy
timeout; write transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue
instead of failing on lock upgrade. PostgreSQL runs READ COMMITTED; mutations lock the
parent row (``SELECT ... FOR UPDATE``) before checking quotas or conflicts.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from opensts.directory.aws_managed import aws_managed_policies, bundle_digest
from opensts.store._analyzer import AnalyzerMixin
from opensts.store._apis import ApisMixin
from opensts.store._cognito import CognitoMixin
from opensts.store._credentials import CredentialsMixin
from opensts.store._federation import FederationMixin
from opensts.store._iam_bookkeeping import IamBookkeepingMixin
from opensts.store._iam_extras import IamExtrasMixin
from opensts.store._identity_keys import IdentityKeysMixin
from opensts.store._member_accounts import MemberAccountsMixin
from opensts.store._org_extras import OrgExtrasMixin
from opensts.store._orgs import OrgsMixin
from opensts.store._policies import PoliciesMixin
from opensts.store._previews import AccessPreviewsMixin
from opensts.store._s3 import S3Mixin
from opensts.store._settings import SettingsMixin
from opensts.store._signin import SigninMixin
from opensts.store._unused_findings import UnusedFindingsMixin
from opensts.store.migrations import migrate

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, not the sqlite3 module.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                       "busy_timeout=30000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        options = conn.get_execution_options()
        if options.get("opensts_autocommit"):
            return  # a single-statement read runs in its own implicit transaction
        # Straight to the driver: this runs on every transaction.
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("BEGIN IMMEDIATE" if options.get("opensts_write") else "BEGIN")

    return engine


class SqlStore(
    AccessPreviewsMixin,  # new methods only (access_previews table)
    CognitoMixin,  # new methods only (cognito_* tables)
    IdentityKeysMixin,  # new methods only (identity_token_keys table)
    IamExtrasMixin,
    IamBookkeepingMixin,  # before PoliciesMixin, which it extends
    MemberAccountsMixin, PoliciesMixin, CredentialsMixin, FederationMixin, OrgsMixin, SigninMixin,
    S3Mixin, ApisMixin, OrgExtrasMixin, SettingsMixin, AnalyzerMixin, UnusedFindingsMixin,
):
    """Directory store over SQLite or PostgreSQL. Thread-safe; share one per process."""

    def __init__(self, engine: sa.Engine, *, schema: str | None = None):
        super().__init__(engine)
        self._schema = schema

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()

    def drop_schema(self) -> None:
        """Test helper: drop this store's PostgreSQL schema (and everything in it)."""
        if self._schema is None or self.dialect != "postgresql":
            raise ValueError("drop_schema needs a PostgreSQL store opened with a schema")
        self._engine.dispose()
        base = self._base_engine
        with base.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self._schema}" CASCADE')
        base.dispose()

    _base_engine: sa.Engine


def open_store(
    url: str, *, schema: str | None = None, aws_managed: bool = True
) -> SqlStore:
    """Open (and migrate) a store.

    ``url`` is an SQLAlchemy URL: ``sqlite:////var/lib/opensts/directory.db`` or
    ``postgresql+psycopg://user@host:5432/db``. ``schema`` (PostgreSQL only) keeps all
    tables in that schema, created if missing — used to isolate parallel test runs.
    ``aws_managed`` loads (or refreshes) the bundled AWS managed policies.
    """
    if url.startswith("sqlite"):
        if schema is not None:
            raise ValueError("schema is only supported on PostgreSQL")
        engine = _sqlite_engine(url)
        base = engine
    else:
        # No pool_pre_ping: it costs a round trip per request; a dropped connection
        # fails one request and is replaced by the pool.
        base = sa.create_engine(url, pool_size=10, max_overflow=20, pool_recycle=1800)
        engine = base
        if schema is not None:
            if not _SCHEMA_NAME.match(schema):
                raise ValueError(f"invalid schema name {schema!r}")
            with base.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            engine = base.execution_options(schema_translate_map={None: schema})
    with engine.connect() as conn:
        conn.execution_options(opensts_write=True)
        with conn.begin():
            if engine.dialect.name == "postgresql":
                # Serialize concurrent first starts of several servers on one database.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7170113)"))
            migrate(conn)
    store = SqlStore(engine, schema=schema)
    store._base_engine = base
    if aws_managed:
        # Once per bundle: an unchanged bundle costs one read, not a parse of 1,500 policies.
        digest = int(bundle_digest()[:15], 16)
        if store.aws_managed_digest() != digest:
            store.sync_aws_managed_policies(list(aws_managed_policies()), digest=digest)
    return store
