"""What one request has learnt about itself, for the operator's log, metrics and audit.

``OpenStsApp`` starts fresh notes at the top of every HTTP request (:func:`begin`); the
request's task, and the threads it hands work to (``asyncio.to_thread`` copies the context,
so they share the one object), fill them in:

* ``audit.events.build_event`` records the service, action and error of the request's first
  CloudTrail event (what the access log and ``/metrics`` label the request with), and adds
  an authentication failure noted here to that event;
* ``services.authn`` notes, when it refuses a request, the access key id it was signed with
  and a short reason (one of :data:`AUTH_FAILURE_REASONS`; never the secret, the signature
  or the session token).

Outside a request (CLI, tests calling services directly) there are no notes and every
function here does nothing.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

# The reasons services.authn gives; a fixed set, so they can label a metric.
AUTH_FAILURE_REASONS = frozenset(
    {
        "unknown_access_key",
        "inactive_access_key",
        "user_deleted",
        "missing_session_token",
        "invalid_session_token",
        "session_token_key_mismatch",
        "session_token_with_long_term_key",
        "expired_token",
        "signature_mismatch",
        "clock_skew",
        "request_expired",
        "incomplete_signature",
        "session_scope",
        "other",
    }
)
# An access key id is 16-128 characters (IAM AccessKeyId). A longer claimed one is cut, so a
# request cannot make its failure's audit event arbitrarily large.
MAX_KEY_ID = 128


@dataclass(slots=True)
class RequestNotes:
    route: str = ""  # which part of the server answered: aws, s3, signin, authorizer, ...
    service: str | None = None  # from the request's audit event
    action: str = ""
    error_code: str = ""
    request_id: str = ""
    access_key_id: str | None = None  # of a request refused for authentication
    auth_failure: str | None = None  # its reason (AUTH_FAILURE_REASONS)


_CURRENT: ContextVar[RequestNotes | None] = ContextVar("opensts_request_notes", default=None)


def begin(route: str = "") -> RequestNotes:
    notes = RequestNotes(route=route)
    _CURRENT.set(notes)
    return notes


def current() -> RequestNotes | None:
    return _CURRENT.get()


def note_auth_failure(access_key_id: str, reason: str) -> None:
    notes = _CURRENT.get()
    if notes is None:
        return
    notes.access_key_id = access_key_id[:MAX_KEY_ID]
    notes.auth_failure = reason if reason in AUTH_FAILURE_REASONS else "other"
