"""Records of the sign-in service kept in the store (shared by every node).

A ``SigninSession`` is one ``aws login`` session: the principal the user chose, the DPoP key
its refresh tokens are bound to, and the rotation counter. Only the refresh token carrying
the current ``generation`` is accepted; using it moves the counter on (RFC 9700 §4.14.2,
refresh token rotation), so a replayed older token is detected and ends the session.
``credentials_stamp`` fingerprints the user's login profile when the user authenticated;
a refresh compares it with the current one, so a changed or removed password ends the
session (botocore's ``USER_CREDENTIALS_CHANGED``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SigninSession:
    session_id: str
    account_id: str
    user_name: str
    client_id: str
    jkt: str  # RFC 7638 thumbprint of the client's DPoP key
    started: datetime  # when the user authenticated; the session limit counts from here
    ends: datetime
    role_name: str | None = None
    mfa_time: datetime | None = None
    generation: int = 0
    revoked: bool = False
    last_refreshed: datetime | None = None
    credentials_stamp: str | None = None
    role_id: str | None = None  # the unique id of ``role_name`` when the session began


@dataclass(frozen=True, slots=True)
class FailureCount:
    key: str
    failures: int
    last_failure: datetime | None
