"""AWS rest-json services on the shared endpoint (IAM Access Analyzer, SigV4 name
``access-analyzer``).

A request signed for a rest-json service comes here (web/app.py routes by the credential
scope's service). The route table (wire/restjson.py) names the operation from the method and
path; the operation registered as ``@operation("access-analyzer", Name)`` runs exactly like
a query or JSON 1.1 one (AwsEndpoint._run: SigV4, the caller, the handler; the audit event
written durably before the answer). Input members are validated against the model after
authentication, as AWS does (an unauthenticated caller learns nothing about the input).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

from opensts import safejson
from opensts.errors import AwsError, InternalFailure
from opensts.services.context import AuditRecord, CallContext, Caller, RequestMeta
from opensts.services.registry import Operation, Result
from opensts.web import proxy
from opensts.web.asgi import Receive, Scope, Send
from opensts.web.aws import AwsEndpoint, _CallState, read_body
from opensts.wire import restjson
from opensts.wire.params import Params

log = logging.getLogger("opensts.web")

SERVICE = "access-analyzer"

# The core's errors under the names rest-json clients expect (AWS's front end answers
# authentication failures of JSON services with these codes, 403).
CODES: Mapping[str, tuple[str, int | None]] = {
    "AccessDenied": ("AccessDeniedException", 403),
    "ValidationError": ("ValidationException", 400),
    "InvalidClientTokenId": ("UnrecognizedClientException", 403),
    "SignatureDoesNotMatch": ("InvalidSignatureException", 403),
    "IncompleteSignature": ("IncompleteSignatureException", 403),
    "MissingAuthenticationToken": ("MissingAuthenticationTokenException", 403),
    "ExpiredToken": ("ExpiredTokenException", 403),
    "InternalFailure": ("InternalServerException", 500),
}


class RestJsonEndpoint(AwsEndpoint):
    """The Access Analyzer API: ``/analyzer``, ``/finding``, ``/policy/...`` and the rest."""

    table = restjson.access_analyzer_table()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        header_map = dict(headers)
        body = await read_body(receive)
        raw_query = scope.get("query_string", b"").decode("latin-1")
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0]
        method = scope["method"]
        origin = proxy.origin(scope)
        meta = RequestMeta(request_id=request_id, now=now, source_ip=origin.address,
                           user_agent=header_map.get("user-agent", ""), region="us-east-1",
                           host=header_map.get("host", ""), secure=origin.secure)
        record = AuditRecord()
        caller: Caller | None = None
        operation: Operation | None = None
        action = ""
        try:
            matched = self.table.match(method, raw_path)
            if matched is None:
                raise AwsError(f"No operation for {method} {raw_path}",
                               code="UnknownOperationException", status=404)
            route, labels = matched
            action = route.name
            registered = self.operations.get((SERVICE, action))
            if registered is None:
                raise AwsError(f"OpenSTS does not implement {action}.",
                               code="NotImplemented", status=501)
            values, violations = self._decode(route, labels, raw_query, header_map, body)
            operation = dataclasses.replace(
                registered, handler=_validated(registered.handler, violations))
            state = _CallState(caller=None, meta=meta)
            try:
                result = await asyncio.to_thread(
                    self._run, operation, Params(values), record, state,
                    method, raw_path, raw_query, headers, body)
            finally:
                caller, meta = state.caller, state.meta
        except AwsError as raised:
            error = _translated(raised)  # CloudTrail records the code the client saw
            await self._audit(SERVICE, action, meta, caller, record, operation, error)
            await _error(send, error, request_id)
            return
        except Exception:
            log.exception("unhandled error in %s:%s (request %s)", SERVICE, action, request_id)
            internal = InternalFailure("We encountered an internal error. Please try again.")
            await self._audit(SERVICE, action, meta, caller, record, operation, internal)
            await _error(send, internal, request_id)
            return
        if not await self._audit(SERVICE, action, meta, caller, record, operation, None):
            unavailable = AwsError("The service could not record the request. Please try "
                                   "again.", code="ServiceUnavailable", status=503)
            await _error(send, unavailable, request_id)
            return
        payload = orjson.dumps(restjson.to_wire(result or {}))
        await _respond(send, route.status, payload, request_id)

    def _decode(self, route: restjson.Route, labels: Mapping[str, str], raw_query: str,
                headers: Mapping[str, str], body: bytes
                ) -> tuple[dict[str, Any], list[restjson.Violation]]:
        try:
            query = parse_qsl(raw_query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise AwsError("Request parameters are not valid UTF-8.",
                           code="SerializationException", status=400) from None
        document: Any = None
        if body.strip():
            try:
                document = safejson.loads(body)
            except safejson.JsonInputError as bad:
                raise AwsError(bad.reason, code="SerializationException", status=400) from None
            if not isinstance(document, dict):
                raise AwsError("Request body must be a JSON object.",
                               code="SerializationException", status=400)
        return self.table.decode(route, labels, query, headers, document)


def _validated(handler: Any, violations: list[restjson.Violation]) -> Any:
    """The handler, preceded (after authentication) by the model's input validation."""
    if not violations:
        return handler

    def run(ctx: CallContext, params: Params) -> Result:
        from opensts.services.accessanalyzer.errors import ValidationException

        count = len(violations)
        noun = "error" if count == 1 else "errors"
        message = f"{count} validation {noun} detected: " + "; ".join(
            f"Value at '{v.path}' failed to satisfy constraint: {v.message}" for v in violations)
        raise ValidationException(message, fields=[(v.path, v.message) for v in violations])

    return run


def _translated(error: AwsError) -> AwsError:
    """The core's error under the rest-json code and status (members kept)."""
    code, status = CODES.get(error.code, (error.code, None))
    if code == error.code and status in (None, error.status):
        return error
    out = AwsError(error.message, code=code, status=status or error.status)
    out.members = getattr(error, "members", {})  # type: ignore[attr-defined]
    return out


async def _error(send: Send, error: AwsError, request_id: str) -> None:
    error = _translated(error)
    body: dict[str, Any] = {"message": error.message}
    body.update(getattr(error, "members", {}) or {})
    payload = orjson.dumps(body)
    await _respond(send, error.status, payload, request_id,
                   extra=[(b"x-amzn-errortype", error.code.encode())])


async def _respond(send: Send, status: int, payload: bytes, request_id: str,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"x-amzn-requestid", request_id.encode()),
            *(extra or []),
        ],
    })
    await send({"type": "http.response.body", "body": payload})
