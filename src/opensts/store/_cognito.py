"""Cognito identity pools and their identities in the SQL store (migration 15).

A pool is one row: its configuration (providers, roles, role mappings, tags) as one JSON
document, rewritten whole by UpdateIdentityPool and SetIdentityPoolRoles. An identity is a
row of its pool; each login linked to it (provider name and the subject the provider
vouched for, or the developer user identifier) is a row of ``cognito_logins``, unique per
pool, so one login can never belong to two identities. Pools and identities are not part
of the IAM directory, but a pool's configuration is read on every public call: writing a
pool moves the store generation, so that ``CachingStore`` may serve ``get_identity_pool``
(identities and logins do not move it and are never cached).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, NotFound
from opensts.store import schema as s
from opensts.store._base import SqlBase

identity_pools = sa.Table(
    "cognito_identity_pools", s.metadata,
    sa.Column("pool_id", s._str(64), primary_key=True),
    sa.Column("account_id", s._str(12), nullable=False),
    sa.Column("name", s._str(128), nullable=False),
    sa.Column("created", s.UtcDateTime, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Index("ix_cognito_pools_account", "account_id", "created"),
)
identities = sa.Table(
    "cognito_identities", s.metadata,
    sa.Column("identity_id", s._str(64), primary_key=True),
    sa.Column("pool_id", s._str(64), nullable=False),
    sa.Column("created", s.UtcDateTime, nullable=False),
    sa.Column("modified", s.UtcDateTime, nullable=False),
    sa.Index("ix_cognito_identities_pool", "pool_id", "created"),
)
logins = sa.Table(
    "cognito_logins", s.metadata,
    sa.Column("pool_id", s._str(64), nullable=False),
    sa.Column("provider", s._str(2048), nullable=False),
    sa.Column("subject", s._str(1024), nullable=False),
    sa.Column("identity_id", s._str(64), nullable=False),
    sa.Column("created", s.UtcDateTime, nullable=False),
    sa.UniqueConstraint("pool_id", "provider", "subject", name="uq_cognito_logins"),
    sa.Index("ix_cognito_logins_identity", "identity_id"),
)
TABLES = [identity_pools, identities, logins]
_p, _i, _l = identity_pools, identities, logins


@dataclass(frozen=True)
class IdentityPoolRow:
    pool_id: str
    account_id: str
    name: str
    created: datetime
    config: Mapping[str, Any]


@dataclass(frozen=True)
class CognitoIdentityRow:
    identity_id: str
    pool_id: str
    created: datetime
    modified: datetime
    logins: Mapping[str, str] = field(default_factory=dict)  # provider -> subject


def _pool(r: Any) -> IdentityPoolRow:
    return IdentityPoolRow(r.pool_id, r.account_id, r.name, r.created, r.config or {})


class CognitoMixin(SqlBase):
    # -- pools ------------------------------------------------------------------------
    def create_identity_pool(self, row: IdentityPoolRow) -> None:
        with self._write() as conn:
            self._insert(conn, _p, {"pool_id": row.pool_id, "account_id": row.account_id,
                                    "name": row.name, "created": row.created,
                                    "config": dict(row.config)}, "identity_pool", row.pool_id)

    def get_identity_pool(self, pool_id: str) -> IdentityPoolRow:
        with self._read() as conn:
            return _pool(self._one(conn, sa.select(_p).where(_p.c.pool_id == pool_id),
                                   "identity_pool", pool_id))

    def update_identity_pool(self, pool_id: str, name: str, config: Mapping[str, Any]) -> None:
        with self._write() as conn:
            done = conn.execute(sa.update(_p).where(_p.c.pool_id == pool_id).values(
                name=name, config=dict(config))).rowcount
            if not done:
                raise NotFound("identity_pool", pool_id)

    def list_identity_pools(self, account_id: str) -> list[IdentityPoolRow]:
        with self._read() as conn:
            rows = conn.execute(sa.select(_p).where(_p.c.account_id == account_id)
                                .order_by(_p.c.created, _p.c.pool_id))
            return [_pool(r) for r in rows]

    def delete_identity_pool(self, pool_id: str) -> None:
        """The pool, its identities and their logins, in one transaction."""
        with self._write() as conn:
            if not conn.execute(sa.delete(_p).where(_p.c.pool_id == pool_id)).rowcount:
                raise NotFound("identity_pool", pool_id)
            conn.execute(sa.delete(_l).where(_l.c.pool_id == pool_id))
            conn.execute(sa.delete(_i).where(_i.c.pool_id == pool_id))

    # -- identities -------------------------------------------------------------------
    def _identity(self, conn: sa.Connection, identity_id: str) -> CognitoIdentityRow:
        r = self._one(conn, sa.select(_i).where(_i.c.identity_id == identity_id),
                      "cognito_identity", identity_id)
        linked = conn.execute(sa.select(_l.c.provider, _l.c.subject)
                              .where(_l.c.identity_id == identity_id).order_by(_l.c.created))
        return CognitoIdentityRow(r.identity_id, r.pool_id, r.created, r.modified,
                                  {p: sub for p, sub in linked})

    def get_cognito_identity(self, identity_id: str) -> CognitoIdentityRow:
        with self._read() as conn:
            return self._identity(conn, identity_id)

    def find_cognito_identity(self, pool_id: str, provider: str, subject: str) -> str | None:
        with self._read() as conn:
            value = conn.execute(sa.select(_l.c.identity_id).where(
                _l.c.pool_id == pool_id, _l.c.provider == provider,
                _l.c.subject == subject)).scalar()
        return None if value is None else str(value)

    def create_cognito_identity(self, pool_id: str, identity_id: str,
                                linked: Mapping[str, str], now: datetime) -> None:
        """A new identity with its logins; AlreadyExists if a login has an identity."""
        with self._write(bump=False) as conn:
            conn.execute(sa.insert(_i).values(identity_id=identity_id, pool_id=pool_id,
                                              created=now, modified=now))
            self._link(conn, pool_id, identity_id, linked, now)

    def _link(self, conn: sa.Connection, pool_id: str, identity_id: str,
              linked: Mapping[str, str], now: datetime) -> None:
        for provider, subject in linked.items():
            self._insert(conn, _l, {"pool_id": pool_id, "provider": provider,
                                    "subject": subject, "identity_id": identity_id,
                                    "created": now}, "cognito_login", provider)

    def link_cognito_logins(self, identity_id: str, linked: Mapping[str, str],
                            now: datetime) -> None:
        """Add logins to an identity (those it already has are kept); AlreadyExists when
        one belongs to another identity of the pool."""
        with self._write(bump=False) as conn:
            current = self._identity(conn, identity_id)
            new = {p: sub for p, sub in linked.items() if current.logins.get(p) != sub}
            if not new:
                return
            self._link(conn, current.pool_id, identity_id, new, now)
            conn.execute(sa.update(_i).where(_i.c.identity_id == identity_id)
                         .values(modified=now))

    def unlink_cognito_logins(self, identity_id: str, providers: Sequence[str],
                              now: datetime) -> None:
        with self._write(bump=False) as conn:
            conn.execute(sa.delete(_l).where(_l.c.identity_id == identity_id,
                                             _l.c.provider.in_(list(providers))))
            conn.execute(sa.update(_i).where(_i.c.identity_id == identity_id)
                         .values(modified=now))

    def list_cognito_identities(self, pool_id: str) -> list[CognitoIdentityRow]:
        with self._read() as conn:
            ids = conn.execute(sa.select(_i.c.identity_id).where(_i.c.pool_id == pool_id)
                               .order_by(_i.c.created, _i.c.identity_id)).scalars().all()
            return [self._identity(conn, i) for i in ids]

    def delete_cognito_identity(self, identity_id: str) -> None:
        with self._write(bump=False) as conn:
            if not conn.execute(sa.delete(_i).where(_i.c.identity_id == identity_id)).rowcount:
                raise NotFound("cognito_identity", identity_id)
            conn.execute(sa.delete(_l).where(_l.c.identity_id == identity_id))

    def merge_cognito_identities(self, source_id: str, destination_id: str,
                                 now: datetime) -> None:
        """MergeDeveloperIdentities: the source's logins move to the destination, and the
        source identity is deleted, in one transaction."""
        with self._write(bump=False) as conn:
            source = self._identity(conn, source_id)
            target = self._identity(conn, destination_id)
            if source.pool_id != target.pool_id:
                raise AlreadyExists("cognito_identity", source_id)
            conn.execute(sa.update(_l).where(_l.c.identity_id == source_id)
                         .values(identity_id=destination_id))
            conn.execute(sa.delete(_i).where(_i.c.identity_id == source_id))
            conn.execute(sa.update(_i).where(_i.c.identity_id == destination_id)
                         .values(modified=now))

    def list_cognito_subjects(self, identity_id: str, provider: str) -> list[str]:
        """Every subject of ``provider`` linked to the identity (merged developer users)."""
        with self._read() as conn:
            return [str(v) for v in conn.execute(
                sa.select(_l.c.subject).where(_l.c.identity_id == identity_id,
                                              _l.c.provider == provider)
                .order_by(_l.c.created, _l.c.subject)).scalars()]

    def unlink_cognito_subject(self, identity_id: str, provider: str, subject: str,
                               now: datetime) -> bool:
        with self._write(bump=False) as conn:
            done = conn.execute(sa.delete(_l).where(
                _l.c.identity_id == identity_id, _l.c.provider == provider,
                _l.c.subject == subject)).rowcount
            if done:
                conn.execute(sa.update(_i).where(_i.c.identity_id == identity_id)
                             .values(modified=now))
            return bool(done)
