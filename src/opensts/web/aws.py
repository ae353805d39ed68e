"""The AWS API endpoint: query protocol (STS, IAM) and JSON 1.1 (Organizations) on ``/``.

Order of work for each request: bound the body, decode parameters, find the operation,
authenticate (SigV4) unless the operation is unsigned, run the handler, write the audit
event durably, answer. Every failure is an AWS error envelope; nothing else escapes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

from opensts import safejson
from opensts.audit.events import build_event, cross_account_copy
from opensts.errors import AwsError, InternalFailure, InvalidAction, RequestEntityTooLarge
from opensts.services import inline
from opensts.services.authn import authenticate, check_session_scope
from opensts.services.context import AuditRecord, CallContext, Caller, RequestMeta
from opensts.services.registry import Operation, Result
from opensts.services.runtime import Runtime
from opensts.sigv4 import parse_request
from opensts.sigv4.errors import IncompleteSignature, MissingAuthenticationToken
from opensts.web import proxy
from opensts.web.asgi import Receive, Scope, Send
from opensts.wire import xml
from opensts.wire.params import Params

log = logging.getLogger("opensts.web")


QUERY_VERSIONS = {
    "2011-06-15": ("sts", xml.STS_NAMESPACE),
    "2010-05-08": ("iam", xml.IAM_NAMESPACE),
}
JSON_TARGET_PREFIXES = {
    "AWSOrganizationsV20161128": "organizations",
    "AWSCognitoIdentityService": "cognito-identity",
}
# JSON-protocol clients expect the "...Exception" names for the errors shared with IAM.
JSON_ERROR_CODES = {
    "AccessDenied": "AccessDeniedException",
    "MalformedPolicyDocument": "MalformedPolicyDocumentException",
    "ValidationError": "InvalidInputException",
    "IncompleteSignature": "IncompleteSignatureException",
}
JSON_SERVICES = frozenset(JSON_TARGET_PREFIXES.values())
# Operations tried inline first (services.inline): their only I/O is the store, and with a
# warm cache they make none. Others (outbound fetches, uncached IAM reads) go to a thread.
INLINE_OPERATIONS = frozenset(
    {
        ("sts", "AssumeRole"),
        ("sts", "GetCallerIdentity"),
        ("sts", "GetSessionToken"),
        ("sts", "GetFederationToken"),
        ("sts", "GetAccessKeyInfo"),
        ("sts", "DecodeAuthorizationMessage"),
        ("sts", "GetWebIdentityToken"),  # signs with keys in memory (services/issuer.py)
    }
)


@dataclass
class _CallState:
    """Who the caller turned out to be, kept even when the call then fails (for audit)."""

    caller: Caller | None
    meta: RequestMeta


async def read_body(receive: Receive) -> bytes:
    """The whole body; its size is bounded by ``web.limits.BodyLimit`` around the app."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class AwsEndpoint:
    def __init__(self, runtime: Runtime, operations: Mapping[tuple[str, str], Operation]):
        self.runtime = runtime
        self.operations = operations
        # Inline attempts are safe only over a store that fences its I/O off.
        self._inline = isinstance(runtime.store, inline.GuardedCachingStore)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        header_map = dict(headers)
        target = header_map.get("x-amz-target")
        namespace = xml.STS_NAMESPACE
        json_protocol = target is not None
        body = await read_body(receive)

        raw_query = scope.get("query_string", b"").decode("latin-1")
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0]
        service, action, params = "sts", "", Params({})
        caller: Caller | None = None
        region = "us-east-1"
        record = AuditRecord()
        operation: Operation | None = None
        origin = proxy.origin(scope)
        meta = RequestMeta(
            request_id=request_id,
            now=now,
            source_ip=origin.address,
            user_agent=header_map.get("user-agent", ""),
            region=region,
            host=header_map.get("host", ""),
            secure=origin.secure,
        )
        try:
            if json_protocol:
                service, action, params = self._decode_json(target or "", body)
            else:
                service, namespace, action, params = self._decode_query(
                    scope["method"], raw_query, header_map, body
                )
            operation = self.operations.get((service, action))
            if operation is None:
                raise InvalidAction(
                    f"Could not find operation {action} for version "
                    f"{params.raw().get('Version', '')}"
                    if not json_protocol
                    else f"Unknown operation {target}"
                )
            state = _CallState(caller=None, meta=meta)
            call = (scope["method"], raw_path, raw_query, headers, body)
            try:
                # Authentication and the handler touch the store and, for web identity,
                # the IdP: run them off the event loop so a slow call never stalls others.
                # Calls that need no I/O (warm cache) run inline; an attempt that would
                # reach the database is abandoned before it does and re-run in a thread
                # from scratch, with a fresh audit record and state (services.inline).
                key = (operation.service, operation.name)
                if self._inline and key in INLINE_OPERATIONS and not self.runtime.keys_due():
                    try:
                        result = inline.attempt(
                            self._run, operation, params, record, state, *call
                        )
                    except inline.NeedsIO:
                        record = AuditRecord()
                        state = _CallState(caller=None, meta=meta)
                        result = await asyncio.to_thread(
                            self._run, operation, params, record, state, *call
                        )
                else:
                    result = await asyncio.to_thread(
                        self._run, operation, params, record, state, *call
                    )
            finally:
                caller, meta = state.caller, state.meta
        except AwsError as error:
            await self._audit(service, action, meta, caller, record, operation, error)
            await self._error(send, error, namespace, request_id, json_protocol)
            return
        except Exception:
            log.exception("unhandled error in %s:%s (request %s)", service, action, request_id)
            internal = InternalFailure("We encountered an internal error. Please try again.")
            await self._audit(service, action, meta, caller, record, operation, internal)
            await self._error(send, internal, namespace, request_id, json_protocol)
            return
        if not await self._audit(service, action, meta, caller, record, operation, None):
            # Fail closed: a call whose audit event cannot be made durable is not answered
            # with its result (credentials are never handed out unlogged).
            unavailable = AwsError(
                "The service could not record the request. Please try again.",
                code="ServiceUnavailable",
                status=503,
            )
            await self._error(send, unavailable, namespace, request_id, json_protocol)
            return
        if json_protocol:
            payload = orjson.dumps(
                result or {}, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME
            )
            await _respond(send, 200, payload, b"application/x-amz-json-1.1", request_id)
        else:
            payload = xml.success(action, namespace, result, request_id)
            await _respond(send, 200, payload, b"text/xml", request_id)

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The 413 for ``BodyLimit``: an AWS error envelope, JSON for JSON 1.1 requests."""
        json_protocol = any(name.lower() == b"x-amz-target" for name, _ in scope["headers"])
        error = RequestEntityTooLarge(
            f"Request body exceeds {self.runtime.settings.max_body_bytes} bytes."
        )
        await self._error(send, error, xml.STS_NAMESPACE, str(uuid.uuid4()), json_protocol)

    def _run(
        self,
        operation: Operation,
        params: Params,
        record: AuditRecord,
        state: _CallState,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> Result:
        meta = state.meta
        self.runtime.refresh_keys()
        signed = parse_request(method, raw_path, raw_query, headers)
        if operation.signed:
            if signed is None:
                raise MissingAuthenticationToken()
            if operation.service in JSON_SERVICES and "x-amz-target" not in signed.signed_headers:
                # The target names the operation: unsigned, a captured request could be
                # replayed as another operation within its window. SDKs always sign it.
                # AWS's front end answers an unsigned required header with
                # IncompleteSignature(Exception) 400 and this wording (as for 'Host').
                raise IncompleteSignature(
                    "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
                )
            state.caller = authenticate(
                self.runtime,
                signed,
                method=method,
                raw_path=raw_path,
                raw_query=raw_query,
                headers=headers,
                body=body,
                now=meta.now,
                service=operation.service,
            )
            check_session_scope(state.caller, operation.service, operation.name)
            region = "us-east-1" if signed.region == "aws-global" else signed.region
            on_global = signed.region == "aws-global" or _is_global_host(meta.host)
            if region != meta.region or on_global:
                state.meta = meta = dataclasses.replace(meta, region=region,
                                                        global_endpoint=on_global)
        ctx = CallContext(self.runtime, state.caller, meta, record)
        return operation.handler(ctx, params)

    def _decode_query(
        self, method: str, raw_query: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[str, str, str, Params]:
        # Percent-encodings must decode as UTF-8 (errors="strict"): replacing bad bytes would
        # change the value, and UTF-8-encoded lone surrogates must not reach the store.
        try:
            pairs = (
                parse_qsl(raw_query, keep_blank_values=True, errors="strict") if raw_query else []
            )
            if method == "POST":
                content_type = headers.get("content-type", "")
                if body and content_type.startswith("application/x-www-form-urlencoded"):
                    pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                       errors="strict")
        except UnicodeDecodeError:
            raise AwsError(
                "Request parameters are not valid UTF-8.", code="MalformedQueryString",
                status=400,
            ) from None
        params = Params.from_pairs(pairs)
        action = params.raw().get("Action", "")
        version = params.raw().get("Version", "")
        if not action:
            raise AwsError("Missing Action", code="MissingAction", status=400)
        if version not in QUERY_VERSIONS:
            raise InvalidAction(f"Could not find operation {action} for version {version}")
        service, namespace = QUERY_VERSIONS[version]
        return service, namespace, action, params

    def _decode_json(self, target: str, body: bytes) -> tuple[str, str, Params]:
        prefix, _, action = target.partition(".")
        service = JSON_TARGET_PREFIXES.get(prefix)
        if service is None or not action:
            raise AwsError(
                f"Unknown operation {target}", code="UnknownOperationException", status=400
            )
        try:
            document = safejson.loads(body or b"{}")
        except safejson.JsonInputError as bad:
            raise AwsError(bad.reason, code="SerializationException", status=400) from None
        if not isinstance(document, dict):
            raise AwsError(
                "Request body must be a JSON object.", code="SerializationException", status=400
            )
        return service, action, Params(document)

    async def _audit(
        self,
        service: str,
        action: str,
        meta: RequestMeta,
        caller: Caller | None,
        record: AuditRecord,
        operation: Operation | None,
        error: AwsError | None,
    ) -> bool:
        """Write the call's CloudTrail event durably; False if the log could not be written."""
        if operation is None:
            return True  # requests that name no operation are not API calls
        event = build_event(
            service=service,
            action=action,
            meta=meta,
            caller=caller,
            record=record,
            read_only=operation.read_only,
            recipient_account=record.recipient_account or (caller.account_id if caller else None),
            error_code=error.code if error else None,
            error_message=error.message if error else None,
        )
        # CloudTrail does not log denied cross-account requests in the target account.
        shared = record.shared_with_account if error is None else None
        return await write_events(self.runtime, event, shared)

    async def _error(
        self, send: Send, error: AwsError, namespace: str, request_id: str, json_protocol: bool
    ) -> None:
        if json_protocol:
            code = JSON_ERROR_CODES.get(error.code, error.code)
            payload = orjson.dumps({"__type": code, "message": error.message})
            await _respond(send, error.status, payload, b"application/x-amz-json-1.1", request_id)
        else:
            payload = xml.error(namespace, error.code, error.message, error.fault, request_id)
            await _respond(send, error.status, payload, b"text/xml", request_id)


def _is_global_host(host: str) -> bool:
    """Whether a Host header names STS's global endpoint (``sts.amazonaws.com``)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower().rstrip(".") == "sts.amazonaws.com"


async def write_events(runtime: Runtime, event: dict[str, Any], shared_with: str | None) -> bool:
    """Write ``event`` (and its copy for ``shared_with``'s account) durably; False if the
    log could not be written, and the caller must then not answer with the result."""
    events = cross_account_copy(event, shared_with) if shared_with else [event]
    try:
        await asyncio.gather(*(runtime.audit.write(e) for e in events))
    except OSError:
        log.exception("audit log write failed (request %s)", event.get("requestID"))
        return False
    return True


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


async def _respond(send: Send, status: int, payload: bytes, content_type: bytes, rid: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
                (b"x-amzn-requestid", rid.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
