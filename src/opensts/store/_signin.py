"""Sign-in state in the SQL store: ``aws login`` sessions and failed-attempt counters.

Two small tables of their own (migration 2), kept apart from the directory tables because
they change on every refresh and every failed password: they never bump ``generation()``,
so policy caches are not invalidated by sign-in traffic.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from opensts.directory.errors import NotFound
from opensts.directory.signin import FailureCount, SigninSession
from opensts.store import schema as s
from opensts.store._base import SqlBase

signin_sessions = sa.Table(
    "signin_sessions", s.metadata,
    sa.Column("session_id", s._str(64), primary_key=True),
    sa.Column("account_id", s._str(32), nullable=False),
    sa.Column("user_name", s._str(128), nullable=False),
    sa.Column("role_name", s._str(128)),
    sa.Column("client_id", s._str(128), nullable=False),
    sa.Column("jkt", s._str(64), nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("started", s.UtcDateTime, nullable=False),
    sa.Column("ends", s.UtcDateTime, nullable=False),
    sa.Column("mfa_time", s.UtcDateTime),
    sa.Column("revoked", sa.Boolean, nullable=False),
    sa.Column("last_refreshed", s.UtcDateTime),
    sa.Column("credentials_stamp", s._str(64)),  # migration 4
    sa.Column("role_id", s._str(32)),  # migration 5
    sa.Index("ix_signin_sessions_user", "account_id", "user_name"),
    sa.Index("ix_signin_sessions_ends", "ends"),
)

signin_failures = sa.Table(
    "signin_failures", s.metadata,
    sa.Column("key", s._str(256), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure", s.UtcDateTime, nullable=False),
)

TABLES = [signin_sessions, signin_failures]


def _session(row: sa.Row) -> SigninSession:  # type: ignore[type-arg]
    return SigninSession(
        session_id=row.session_id, account_id=row.account_id, user_name=row.user_name,
        client_id=row.client_id, jkt=row.jkt, started=row.started, ends=row.ends,
        role_name=row.role_name, mfa_time=row.mfa_time, generation=row.generation,
        revoked=bool(row.revoked), last_refreshed=row.last_refreshed,
        credentials_stamp=row.credentials_stamp, role_id=row.role_id,
    )


class SigninMixin(SqlBase):
    def create_signin_session(self, session: SigninSession) -> None:
        with self._write(bump=False) as conn:
            self._insert(conn, signin_sessions, {
                "session_id": session.session_id, "account_id": session.account_id,
                "user_name": session.user_name, "role_name": session.role_name,
                "client_id": session.client_id, "jkt": session.jkt,
                "generation": session.generation, "started": session.started,
                "ends": session.ends, "mfa_time": session.mfa_time,
                "revoked": session.revoked, "last_refreshed": session.last_refreshed,
                "credentials_stamp": session.credentials_stamp, "role_id": session.role_id,
            }, "SigninSession", session.session_id)

    def get_signin_session(self, session_id: str) -> SigninSession:
        t = signin_sessions
        with self._read() as conn:
            row = self._one(conn, sa.select(t).where(t.c.session_id == session_id),
                            "SigninSession", session_id)
            return _session(row)

    def list_signin_sessions(self, account_id: str, user_name: str) -> list[SigninSession]:
        t = signin_sessions
        with self._read() as conn:
            rows = conn.execute(sa.select(t).where(
                t.c.account_id == account_id, t.c.user_name == user_name
            ).order_by(t.c.started, t.c.session_id))
            return [_session(r) for r in rows]

    def rotate_signin_session(self, session_id: str, generation: int, now: datetime) -> bool:
        """Compare-and-swap ``generation`` → ``generation + 1`` of a live session; False
        when the session is revoked or the generation is not the current one."""
        t = signin_sessions
        with self._write(bump=False) as conn:
            result = conn.execute(sa.update(t).where(
                t.c.session_id == session_id, t.c.generation == generation,
                t.c.revoked.is_(False),
            ).values(generation=generation + 1, last_refreshed=now))
            return result.rowcount == 1

    def revoke_signin_session(self, session_id: str) -> None:
        t = signin_sessions
        with self._write(bump=False) as conn:
            result = conn.execute(
                sa.update(t).where(t.c.session_id == session_id).values(revoked=True))
            if result.rowcount != 1:
                raise NotFound("SigninSession", session_id)

    def purge_signin_sessions(self, now: datetime) -> int:
        t = signin_sessions
        with self._write(bump=False) as conn:
            return int(conn.execute(sa.delete(t).where(t.c.ends < now)).rowcount)

    def get_signin_failures(self, key: str) -> FailureCount:
        t = signin_failures
        with self._read() as conn:
            row = conn.execute(sa.select(t).where(t.c.key == key)).first()
        if row is None:
            return FailureCount(key, 0, None)
        return FailureCount(key, row.failures, row.last_failure)

    def record_signin_failure(self, key: str, now: datetime, *, window_seconds: int) -> int:
        """Count one more failure (restarting from 1 after ``window_seconds`` of quiet)."""
        t = signin_failures
        with self._write(bump=False) as conn:
            row = conn.execute(sa.select(t).where(t.c.key == key)).first()
            if row is None:
                self._insert(conn, t, {"key": key, "failures": 1, "last_failure": now},
                             "SigninFailure", key)
                return 1
            stale = (now - row.last_failure).total_seconds() > window_seconds
            failures = 1 if stale else row.failures + 1
            conn.execute(sa.update(t).where(t.c.key == key)
                         .values(failures=failures, last_failure=now))
            return failures

    def clear_signin_failures(self, key: str) -> None:
        t = signin_failures
        with self._write(bump=False) as conn:
            conn.execute(sa.delete(t).where(t.c.key == key))
