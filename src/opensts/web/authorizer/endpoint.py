"""The HTTP authorizer: nginx, Traefik and Envoy ask it whether a client's request may pass.

Order of work per hook request, as in the AWS endpoint (web/aws.py): rebuild the client's
request from the hook's shape (hooks.py); off the event loop, find the API, verify the
SigV4 signature (service ``execute-api``, the standard flavour: path normalised and
encoded twice, as botocore, the JS SDK and API Gateway do) and decide with
``decide_invoke``; write the execute-api ``Invoke`` event durably (denials too, and
denials into the DecisionLog for ``opensts policy explain --request-id``); answer 200 with
the identity headers, or 403 with API Gateway's JSON.

Where the client's address comes from: the hook request's peer is the gateway. Only when
that peer is in ``--trusted-proxies`` is the gateway's ``X-Forwarded-For`` read (right to
left, web/proxy.py); otherwise the address is unknown: ``aws:SourceIp`` is left out of the
request context (``IpAddress`` conditions fail, ``NotIpAddress`` and ``Null`` deny) and the
answer says ``X-OpenSTS-Source-Ip: unknown``.

Body: a hook that does not see the body (nginx always; Traefik without ``forwardBody``;
Envoy without ``with_request_body``) verifies the signature over the claimed
``x-amz-content-sha256`` (the empty body's hash when none is claimed) and answers
``X-OpenSTS-Body-Verified: false``: the upstream must hash the body itself if it matters.
An API with ``require_body_hash`` refuses such requests, and ``UNSIGNED-PAYLOAD``.

Replay: a header-signed request verifies within API Gateway's five minutes of clock skew
(any number of times, as on AWS: SigV4 has no nonce); a presigned one until its
X-Amz-Expires, and never past its session's expiry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from opensts.audit.decisions import DecisionLog, decisions_dir
from opensts.audit.events import build_event
from opensts.errors import AwsError
from opensts.services.authn import authenticate
from opensts.services.context import AuditRecord, Caller, RequestMeta
from opensts.services.runtime import Runtime
from opensts.sigv4 import canonical as canon
from opensts.sigv4 import parse_request
from opensts.sigv4.errors import ContentSHA256Mismatch
from opensts.web import proxy
from opensts.web.asgi import Receive, Scope, Send
from opensts.web.authorizer import answers, hooks
from opensts.web.authorizer.answers import Answer
from opensts.web.aws import read_body, write_events

log = logging.getLogger("opensts.web.authorizer")

SERVICE = "execute-api"
MAX_SKEW = timedelta(minutes=5)  # API Gateway's window (answers.py's sources)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class _Outcome:
    """What the decision thread found, kept even when it then fails (for the audit event)."""

    caller: Caller | None = None
    region: str = "us-east-1"
    account_id: str | None = None  # the API's owner
    action: str = "execute-api:Invoke"
    resource: str | None = None
    body_verified: bool = False
    answer: Answer | None = None


class AuthorizerHooks:
    """ASGI app for ``/_opensts/authorize/...`` (mounted by web/app.py)."""

    def __init__(self, runtime: Runtime, proxies: proxy.TrustedProxies):
        self.runtime = runtime
        self.proxies = proxies
        self.denials = DecisionLog(decisions_dir(runtime.settings.data_dir))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0]
        target = hooks.parse_target(raw_path)
        body = await read_body(receive)
        if target is None:
            await _send(send, answers.missing_token(), request_id)
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        try:
            original = self._original(target, scope, headers, body)
        except hooks.HookError as bad:
            await _send(send, answers.hook_error(bad.message), request_id)
            return
        trusted = self._trusted(scope)
        source_ip = self._source_ip(scope) if trusted else None
        # aws:SecureTransport describes the client's connection: only a trusted gateway can
        # say what it was (Traefik's X-Forwarded-Proto, or nginx's read by web/proxy.py).
        if not trusted:
            secure = False
        elif original.secure is not None:
            secure = original.secure
        else:
            secure = proxy.origin(scope).secure
        meta = RequestMeta(
            request_id=request_id,
            now=now,
            source_ip=source_ip or "",
            user_agent=_first(original.headers, "user-agent") or "",
            region="us-east-1",
            host=_first(original.headers, "host") or "",
            secure=secure,
        )
        outcome = _Outcome()
        try:
            await asyncio.to_thread(self._decide, target, original, meta, outcome)
        except Exception:
            log.exception("authorizer hook failed (request %s)", request_id)
            outcome.answer = answers.internal()
        answer = outcome.answer or Answer(200, {})
        meta = dataclasses.replace(meta, region=outcome.region)
        if not await self._audit(target, original, meta, outcome, answer, scope):
            answer = answers.unavailable()  # fail closed: no unlogged pass
        if answer.status == 200:
            answer.headers = [
                *answers.identity_headers(outcome.caller),
                ("X-OpenSTS-Request-Id", request_id),
                ("X-OpenSTS-Body-Verified", "true" if outcome.body_verified else "false"),
                ("X-OpenSTS-Source-Ip", source_ip or "unknown"),
                ("X-OpenSTS-Action", outcome.action),
                ("X-OpenSTS-Resource", outcome.resource or ""),
            ]
        await _send(send, answer, request_id)

    def close(self) -> None:
        self.denials.close()  # queued denials reach the disk before the process exits

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The 413 for ``BodyLimit`` (a forwarded or buffered body over --max-body-bytes)."""
        answer = answers.too_large(self.runtime.settings.max_body_bytes)
        await _send(send, answer, str(uuid.uuid4()))

    # -- the request -------------------------------------------------------------------

    @staticmethod
    def _original(target: hooks.Target, scope: Scope, headers: list[tuple[str, str]],
                  body: bytes) -> hooks.Original:
        if target.hook == "nginx":
            return hooks.from_nginx(headers)
        if target.hook == "traefik":
            query = scope.get("query_string", b"").decode("latin-1")
            return hooks.from_traefik(headers, body, "body=forwarded" in query.split("&"))
        return hooks.from_envoy(scope["method"], target,
                                scope.get("query_string", b"").decode("latin-1"), headers, body)

    def _trusted(self, scope: Scope) -> bool:
        """Whether the hook request's own peer (the gateway) is in --trusted-proxies."""
        peer = scope.get("opensts.peer")
        address = proxy.parse_address(peer) if isinstance(peer, str) else None
        return address is not None and self.proxies.trusts(address)

    @staticmethod
    def _source_ip(scope: Scope) -> str | None:
        """The client's address from a trusted gateway's X-Forwarded-For; None if unknown.
        An untrusted peer's headers say nothing, and the peer itself is not the client."""
        hops = [part for name, value in scope["headers"] if name.lower() == b"x-forwarded-for"
                for part in value.decode("latin-1").split(",")]
        if not hops or any(proxy.parse_address(hop) is None for hop in hops):
            return None  # a trusted gateway that does not say (or garbles it): no guess
        return proxy.origin(scope).address  # web/proxy.py's right-to-left reading

    # -- the decision (in a worker thread: store reads, HMACs, policy evaluation) -----

    def _decide(self, target: hooks.Target, original: hooks.Original, meta: RequestMeta,
                outcome: _Outcome) -> None:
        from opensts.services.apis.decide import decide_invoke, invoke_denied

        runtime = self.runtime
        runtime.refresh_keys()
        api = runtime.store.find_api(target.api_id)
        if api is None or target.stage not in api.stages:
            # API Gateway answers a request for no resource it knows as an unsigned one.
            outcome.answer = answers.missing_token()
            return
        outcome.account_id = api.account_id
        outcome.region = api.region
        try:
            signed = parse_request(original.method, original.raw_path, original.raw_query,
                                   original.headers)
            if signed is not None:
                payload_hash, outcome.body_verified = _payload(original)
                if api.require_body_hash and not outcome.body_verified:
                    outcome.answer = answers.body_unverifiable()
                    return
                outcome.caller = authenticate(
                    runtime, signed, method=original.method, raw_path=original.raw_path,
                    raw_query=original.raw_query, headers=original.headers,
                    body=original.body or b"", now=meta.now, service=SERVICE,
                    payload_hash=payload_hash, max_skew=MAX_SKEW,
                )
            elif original.body is not None:
                outcome.body_verified = False  # nothing signed, nothing to verify against
            invocation = decide_invoke(
                runtime.authorizer, outcome.caller, api, stage=target.stage,
                method=original.method, path=original.raw_path, meta=meta,
            )
            outcome.action, outcome.resource = invocation.action, invocation.resource
            if not invocation.decision.allowed:
                self.denials.record_denial(
                    meta.request_id, outcome.caller.arn if outcome.caller else None,
                    _Need(invocation.action, invocation.resource), invocation.decision,
                    now=meta.now,
                )
                outcome.answer = answers.from_error(invoke_denied(outcome.caller, invocation))
        except AwsError as error:
            outcome.answer = answers.from_error(error)

    # -- the audit event ---------------------------------------------------------------

    async def _audit(self, target: hooks.Target, original: hooks.Original, meta: RequestMeta,
                     outcome: _Outcome, answer: Answer, scope: Scope) -> bool:
        caller = outcome.caller
        record = AuditRecord(
            request_parameters={
                "apiId": target.api_id,
                "stage": target.stage,
                "httpMethod": original.method,
                "resourcePath": _decoded_path(original.raw_path),
                "hook": target.hook,
            },
            additional_event_data={
                "bodyVerified": outcome.body_verified,
                "sourceIpKnown": bool(meta.source_ip),
                "gatewayAddress": scope.get("opensts.peer"),
            },
        )
        if outcome.resource:
            record.resources = [{"ARN": outcome.resource,
                                 "accountId": outcome.account_id or ""}]
        denied = answer.status != 200
        body = answer.body if denied else {}
        error_code = (answer.error_type or "Unknown").removesuffix("Exception") if denied else None
        event = build_event(
            service=SERVICE,
            action=outcome.action.partition(":")[2] or "Invoke",
            meta=meta,
            caller=caller,
            record=record,
            read_only=original.method in _READ_ONLY,
            recipient_account=caller.account_id if caller else outcome.account_id,
            error_code=error_code,
            error_message=str(body.get("message") or body.get("Message") or "") or None,
        )
        # An API call, not an IAM change: CloudTrail files execute-api calls as data events.
        event["eventSource"] = f"{outcome.action.partition(':')[0] or SERVICE}.amazonaws.com"
        event["managementEvent"] = False
        event["eventCategory"] = "Data"
        if meta.source_ip == "":
            event["sourceIPAddress"] = None
        shared = None
        if answer.status == 200 and caller is not None and outcome.account_id \
                and caller.account_id != outcome.account_id:
            # As web/aws.py: the caller's account gets the full event, the API owner's an
            # AWSAccount copy; a denied cross-account call is logged for the caller only.
            shared = outcome.account_id
        return await write_events(self.runtime, event, shared)


@dataclass(frozen=True)
class _Need:
    action: str
    resource: str


def _payload(original: hooks.Original) -> tuple[str | None, bool]:
    """The HashedPayload to verify with (None: verify's own hashing of the body) and
    whether the body was checked against it."""
    claimed = _first(original.headers, "x-amz-content-sha256")
    claimed = claimed.strip() if claimed is not None else None
    if original.body is not None:
        if claimed == canon.UNSIGNED_PAYLOAD:
            return claimed, False  # the client chose not to sign the body
        return None, True  # verify hashes the body we hold (and checks a claimed hash)
    if claimed is None:
        # Nothing claimed: the client signed the hash of the body it sent, which only an
        # empty body lets us reproduce (a GET); any other body fails the signature.
        return canon.EMPTY_SHA256, False
    if claimed == canon.UNSIGNED_PAYLOAD or _HEX64.fullmatch(claimed.lower()):
        return claimed if claimed == canon.UNSIGNED_PAYLOAD else claimed.lower(), False
    raise ContentSHA256Mismatch()


def _decoded_path(raw_path: str) -> str:
    return unquote(raw_path, errors="surrogateescape")


def _first(headers: Any, name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return str(value)
    return None


async def _send(send: Send, answer: Answer, request_id: str) -> None:
    payload = answer.encoded() if answer.status != 200 else b""
    headers = answer.http_headers(request_id)
    if answer.status == 200:
        headers = [(k, v) for k, v in headers if k != b"content-length"]
        headers.append((b"content-length", b"0"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
