"""Build CloudTrail event records (eventVersion 1.08) for OpenSTS calls.

Shapes follow the CloudTrail record contents and userIdentity element documentation:
``userIdentity`` with ``sessionContext`` (``sessionIssuer``, ``attributes.mfaAuthenticated``,
``creationDate``, ``sourceIdentity``), ``requestParameters`` without secrets and
``responseElements`` without the secret access key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opensts.audit import notes as request_notes
from opensts.services.context import AuditRecord, Caller, RequestMeta
from opensts.services.session_claims import session_context

EVENT_SOURCES = {
    "sts": "sts.amazonaws.com",
    "iam": "iam.amazonaws.com",
    "organizations": "organizations.amazonaws.com",
    "signin": "signin.amazonaws.com",
}


_last_second: list[tuple[int, str]] = [(-1, "")]  # eventTime has whole seconds: format once


def _iso(moment: datetime) -> str:
    second = int(moment.timestamp())
    cached = _last_second[0]
    if cached[0] == second:
        return cached[1]
    text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _last_second[0] = (second, text)
    return text


def event_id() -> str:
    """A random (version 4) UUID as text: what ``event_id()`` gives, without building
    the UUID object (a fifth of an audit event's build time)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def user_identity(caller: Caller | None) -> dict[str, Any] | None:
    if caller is None:
        return None
    identity: dict[str, Any] = {
        "type": caller.type,
        "principalId": caller.principal_id,
        "arn": caller.arn,
        "accountId": caller.account_id,
        "accessKeyId": caller.access_key_id,
    }
    if caller.user_name and caller.type in ("IAMUser",):
        identity["userName"] = caller.user_name
    if caller.session:
        identity["sessionContext"] = session_context(caller.session)
    return identity


def build_event(
    *,
    service: str,
    action: str,
    meta: RequestMeta,
    caller: Caller | None,
    record: AuditRecord,
    read_only: bool,
    recipient_account: str | None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": record.user_identity or user_identity(caller) or {"type": "Unknown"},
        "eventTime": _iso(meta.now),
        "eventSource": EVENT_SOURCES.get(service, f"{service}.amazonaws.com"),
        "eventName": action,
        "awsRegion": meta.region,
        "sourceIPAddress": meta.source_ip,
        "userAgent": meta.user_agent,
        "requestParameters": record.request_parameters,
        "responseElements": record.response_elements if error_code is None else None,
        "requestID": meta.request_id,
        "eventID": event_id(),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": recipient_account,
        "eventCategory": "Management",
        "tlsDetails": {"clientProvidedHostHeader": meta.host},
    }
    if record.resources:
        event["resources"] = record.resources
    if record.additional_event_data:
        event["additionalEventData"] = record.additional_event_data
    if error_code is not None:
        event["errorCode"] = error_code
        event["errorMessage"] = error_message or ""
    notes = request_notes.current()
    if notes is not None:
        _with_notes(event, notes, error_code)
    return event


def _with_notes(event: dict[str, Any], notes: request_notes.RequestNotes,
                error_code: str | None) -> None:
    """Tell the request's notes what its event says; a request refused for authentication
    gets the access key id and reason that ``services.authn`` noted (never the secret)."""
    if notes.service is None:
        notes.service = event["eventSource"].removesuffix(".amazonaws.com")
        notes.action = event["eventName"]
        notes.error_code = error_code or ""
        notes.request_id = event["requestID"]
    if error_code is None or notes.auth_failure is None:
        return
    identity = event["userIdentity"]
    if identity.get("type") == "Unknown":
        event["userIdentity"] = {**identity, "accessKeyId": notes.access_key_id}
    event["additionalEventData"] = {
        **(event.get("additionalEventData") or {}),
        "authenticationFailure": {"accessKeyId": notes.access_key_id,
                                  "reason": notes.auth_failure},
    }


def cross_account_copy(event: dict[str, Any], account_id: str) -> list[dict[str, Any]]:
    """The caller's event and its copy for the resource's account (CloudTrail's AWSAccount
    identity), linked by ``sharedEventID``."""
    shared = event_id()
    caller = event.get("userIdentity") or {}
    copy = {
        **event,
        "userIdentity": {
            "type": "AWSAccount",
            "principalId": caller.get("principalId", ""),
            "accountId": caller.get("accountId", ""),
        },
        "eventID": event_id(),
        "recipientAccountId": account_id,
        "sharedEventID": shared,
    }
    return [{**event, "sharedEventID": shared}, copy]


def redact(parameters: Mapping[str, Any], secret_names: frozenset[str]) -> dict[str, Any]:
    """Copy request parameters, replacing secret values by AWS's placeholder."""
    return {
        key: ("HIDDEN_DUE_TO_SECURITY_REASONS" if key in secret_names else value)
        for key, value in parameters.items()
    }
