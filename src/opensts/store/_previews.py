"""IAM Access Analyzer's access previews in the SQL store (migration 13).

A preview is computed once, when it is created, and then only read (GetAccessPreview,
ListAccessPreviews, ListAccessPreviewFindings), so one row holds it all: the proposed
configurations as sent and the preview findings as JSON. Like the analyzer's other rows
these describe the directory and are not part of it: writing them does not move the store
generation. Deleting an analyzer deletes its previews (``delete_access_previews``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from opensts.store import schema as s
from opensts.store._base import SqlBase

access_previews = sa.Table(
    "access_previews", s.metadata,
    sa.Column("id", s._str(36), primary_key=True),
    sa.Column("analyzer_arn", s._str(512), nullable=False),
    sa.Column("created", s.UtcDateTime, nullable=False),
    sa.Column("status", s._str(16), nullable=False),
    sa.Column("status_reason", s._str(32)),
    sa.Column("configurations", sa.JSON, nullable=False),
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("client_token", s._str(64)),
    sa.Index("ix_access_previews_analyzer", "analyzer_arn", "created"),
)

TABLES = [access_previews]
_p = access_previews


@dataclass(frozen=True)
class AccessPreviewRow:
    id: str
    analyzer_arn: str
    created: datetime
    status: str
    status_reason: str | None
    configurations: Mapping[str, Any]
    findings: Sequence[Mapping[str, Any]]
    client_token: str | None = None


def _row(r: Any) -> AccessPreviewRow:
    return AccessPreviewRow(r.id, r.analyzer_arn, r.created, r.status, r.status_reason,
                            r.configurations or {}, r.findings or [], r.client_token)


class AccessPreviewsMixin(SqlBase):
    def save_access_preview(self, row: AccessPreviewRow) -> None:
        with self._write(bump=False) as conn:
            self._insert(conn, _p, {"id": row.id, "analyzer_arn": row.analyzer_arn,
                                    "created": row.created, "status": row.status,
                                    "status_reason": row.status_reason,
                                    "configurations": dict(row.configurations),
                                    "findings": [dict(f) for f in row.findings],
                                    "client_token": row.client_token},
                         "access_preview", row.id)

    def get_access_preview(self, analyzer_arn: str, preview_id: str) -> AccessPreviewRow:
        """The preview of that analyzer; NotFound otherwise."""
        with self._read() as conn:
            return _row(self._one(conn, sa.select(_p).where(
                _p.c.id == preview_id, _p.c.analyzer_arn == analyzer_arn),
                "access_preview", preview_id))

    def find_access_preview_by_token(self, analyzer_arn: str, token: str
                                     ) -> AccessPreviewRow | None:
        """The preview an earlier CreateAccessPreview with this clientToken made."""
        with self._read() as conn:
            r = conn.execute(sa.select(_p).where(_p.c.analyzer_arn == analyzer_arn,
                                                 _p.c.client_token == token)).first()
            return _row(r) if r is not None else None

    def list_access_previews(self, analyzer_arn: str) -> list[AccessPreviewRow]:
        """The analyzer's previews, oldest first (without their findings' order changing)."""
        with self._read() as conn:
            rows = conn.execute(sa.select(_p).where(_p.c.analyzer_arn == analyzer_arn)
                                .order_by(_p.c.created, _p.c.id))
            return [_row(r) for r in rows]

    def delete_access_previews(self, analyzer_arn: str) -> None:
        with self._write(bump=False) as conn:
            conn.execute(sa.delete(_p).where(_p.c.analyzer_arn == analyzer_arn))
