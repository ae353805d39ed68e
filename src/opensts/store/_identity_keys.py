"""Identity-token signing keys in the SQL store (migration 14).

One row per key: its id (the RFC 7638 thumbprint), algorithm (RS256 or ES384), the sealed
PKCS #8 private key, and whether it is the primary key of its algorithm. Like the
session-token keys, nodes re-read these every ``OPENSTS_KEY_REFRESH_SECONDS``; writing them
does not move the store generation (no cached directory read depends on them).
"""

from __future__ import annotations

import sqlalchemy as sa

from opensts.directory.errors import NotFound
from opensts.directory.records import IdentityTokenKey
from opensts.store import schema as s
from opensts.store._base import SqlBase

identity_token_keys = sa.Table(
    "identity_token_keys", s.metadata,
    sa.Column("key_id", s._str(64), primary_key=True),
    sa.Column("algorithm", s._str(16), nullable=False),
    sa.Column("sealed_key", sa.LargeBinary, nullable=False),
    sa.Column("created", s.UtcDateTime, nullable=False),
    sa.Column("is_primary", sa.Boolean, nullable=False),
)

TABLES = [identity_token_keys]
_k = identity_token_keys


class IdentityKeysMixin(SqlBase):
    def list_identity_token_keys(self) -> list[IdentityTokenKey]:
        with self._read() as conn:
            rows = conn.execute(sa.select(_k).order_by(_k.c.created, _k.c.key_id))
            return [IdentityTokenKey(r.key_id, r.algorithm, bytes(r.sealed_key), r.created,
                                     bool(r.is_primary)) for r in rows]

    def add_identity_token_key(self, key: IdentityTokenKey) -> None:
        """Store ``key``; if it is primary, the previous primary of its algorithm loses the
        flag (one transaction)."""
        with self._write(bump=False) as conn:
            if key.primary:
                conn.execute(sa.update(_k).where(_k.c.algorithm == key.algorithm)
                             .values(is_primary=False))
            self._insert(conn, _k, {"key_id": key.key_id, "algorithm": key.algorithm,
                                    "sealed_key": key.sealed_key, "created": key.created,
                                    "is_primary": key.primary},
                         "identity_token_key", key.key_id)

    def delete_identity_token_key(self, key_id: str) -> None:
        with self._write(bump=False) as conn:
            if conn.execute(sa.delete(_k).where(_k.c.key_id == key_id)).rowcount == 0:
                raise NotFound("identity_token_key", key_id)
