"""CloudTrail events for S3 requests (CloudTrail User Guide, "Logging Amazon S3 API calls
using AWS CloudTrail" and "Logging data events").

Bucket-level operations (create, delete, list buckets, policy, tagging, Public Access
Block, ...) are management events; object reads and writes (and object listings) are data
events: ``eventCategory: "Data"``, ``managementEvent: false``, ``resources`` naming the
object (``AWS::S3::Object``) and its bucket, ``additionalEventData`` with
``SignatureVersion``, ``AuthenticationMethod`` (``AuthHeader`` / ``QueryString``),
``bytesTransferredIn`` and ``bytesTransferredOut``.

``OPENSTS_S3_DATA_EVENTS`` selects data events: ``all`` (the default: an IAM gateway that
forgets who read what is of little use to an auditor), ``write-only`` or ``none``. A denied
request is always logged, whatever the setting. Management events are always logged.

For a streamed GET the event is written (durably) before the first byte of the answer goes
out; ``bytesTransferredOut`` is then the length the storage announced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opensts.audit import notes
from opensts.audit.events import build_event, cross_account_copy
from opensts.config import Settings
from opensts.errors import AwsError
from opensts.services.context import AuditRecord

if TYPE_CHECKING:
    from opensts.web.s3.gateway import Call

# Listing operations CloudTrail counts as data events although they name no object.
DATA_BUCKET_OPERATIONS = frozenset(
    {"ListObjects", "ListObjectsV2", "ListObjectVersions", "ListMultipartUploads",
     "DeleteObjects", "PostObject"}
)
READ_PREFIXES = ("Get", "Head", "List")
ANONYMOUS = {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"}


def is_data_event(call: Call) -> bool:
    target = call.target
    if target is None or target.bucket is None:
        return False
    return target.key is not None or (call.operation or "") in DATA_BUCKET_OPERATIONS


def build(settings: Settings, call: Call, error: AwsError | None) -> list[dict[str, Any]]:
    """The events to write for ``call`` (none when it is a data event not selected)."""
    operation = call.operation
    if operation is None:
        return []  # not an S3 API call (the request named no operation)
    read_only = operation.startswith(READ_PREFIXES)
    data = is_data_event(call)
    # Denials and authentication failures are logged whatever the data-event setting.
    denied = error is not None and (error.code == "AccessDenied" or _auth_refused())
    if data and not denied:
        if settings.s3_data_events == "none":
            return []
        if settings.s3_data_events == "write-only" and read_only:
            return []
    target = call.target
    bucket_name = target.bucket if target else None
    key = target.key if target else None
    record = AuditRecord()
    params: dict[str, Any] = {"Host": call.meta.host}
    if bucket_name:
        params["bucketName"] = bucket_name
    if key is not None:
        params["key"] = key
    for name in call.query:
        if not name.startswith("X-Amz-"):
            params[name] = call.query[name][0] if len(call.query[name]) == 1 else call.query[name]
    record.request_parameters = params
    extra: dict[str, Any] = {
        "SignatureVersion": "SigV4" if call.auth is not None else None,
        "AuthenticationMethod": _auth_method(call),
        "bytesTransferredIn": call.bytes_in,
        "bytesTransferredOut": int(call.extra.get("bytes_out", 0)),
        "x-amz-id-2": call.reply.host_id,
    }
    record.additional_event_data = {k: v for k, v in extra.items() if v is not None}
    owner = call.bucket.account_id if call.bucket is not None else None
    if bucket_name:
        resources = []
        if key is not None:
            resources.append({"type": "AWS::S3::Object",
                              "ARN": f"arn:aws:s3:::{bucket_name}/{key}"})
        bucket_resource = {"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket_name}"}
        if owner:
            bucket_resource["accountId"] = owner
        resources.append(bucket_resource)
        record.resources = resources
    caller = call.caller
    if caller is None:
        record.user_identity = dict(ANONYMOUS)
    recipient = owner or (caller.account_id if caller else None)
    event = build_event(
        service="s3", action=operation, meta=call.meta, caller=caller, record=record,
        read_only=read_only, recipient_account=caller.account_id if caller else recipient,
        error_code=error.code if error else None,
        error_message=error.message if error else None,
    )
    if data:
        event["eventCategory"] = "Data"
        event["managementEvent"] = False
    # The bucket owner's account gets its own copy of a successful cross-account call.
    if owner and error is None and (caller is None or caller.account_id != owner):
        if caller is None:
            return [{**event, "recipientAccountId": owner}]
        return cross_account_copy(event, owner)
    return [event]


def _auth_refused() -> bool:
    found = notes.current()
    return found is not None and found.auth_failure is not None


def _auth_method(call: Call) -> str | None:
    if call.auth is None:
        return None
    return {"REST-HEADER": "AuthHeader", "REST-QUERY-STRING": "QueryString",
            "POST": "HTTPPost"}.get(call.auth.auth_type, "AuthHeader")
