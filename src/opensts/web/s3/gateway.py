"""The S3 gateway: verify, decide, then serve from the store or forward to the storage.

For each request (Amazon S3 User Guide, "How Amazon S3 authorizes a request"):

1. request ids (``x-amz-request-id``, ``x-amz-id-2``) on every answer;
2. the bucket and key (``s3.addressing.locate``) and the operation (``s3.operations.identify``);
3. the signature claim (``sigv4.s3.parse_s3``; none = anonymous), the caller and secret
   behind its key (``services.authn.resolve_credentials``), S3's own verification
   (``sigv4.s3.verify_s3``: no body needed, so bodies stream);
4. the bucket record from OpenSTS's store: a bucket the store does not know is
   ``NoSuchBucket`` even when the storage has it (adoption is an operator's act);
5. every authorization the operation needs (``s3.actions.needs``) decided by
   ``services.s3.authorize.authorize_s3``, with the request's condition keys; a denial is
   S3's AccessDenied and is recorded for ``explain`` by request id;
6. bucket configuration served from the store (``web.s3.buckets``), anything else forwarded
   (``web.s3.backend``) with the body verified as it streams (``BodyDecoder``);
7. the CloudTrail event written durably before the answer (``web.s3.events``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from opensts.audit.decisions import DecisionLog, decisions_dir
from opensts.audit.notes import note_auth_failure
from opensts.errors import AwsError
from opensts.s3 import actions as s3_actions
from opensts.s3 import conditions as s3_conditions
from opensts.s3.addressing import Target, locate
from opensts.s3.errors import S3Error, access_denied, no_such_bucket
from opensts.s3.operations import identify
from opensts.services.authn import record_use, resolve_credentials, verify_failure_reason
from opensts.services.context import Caller, RequestMeta
from opensts.services.runtime import Runtime
from opensts.services.s3.authorize import authorize_s3, s3_access_denied
from opensts.sigv4.errors import ExpiredToken, InvalidClientTokenId
from opensts.sigv4.s3 import S3Auth, parse_s3, verify_s3
from opensts.web import proxy
from opensts.web.asgi import Receive, Scope, Send
from opensts.web.s3 import buckets, deletes, events, forward, post
from opensts.web.s3.backend import Backend
from opensts.web.s3.body import ClientGone, has_body
from opensts.web.s3.objects import (
    TagCache,
    check_key,
    policies_mention_tags,
    wants_object_tags,
)
from opensts.web.s3.respond import Reply, new_host_id, new_request_id
from opensts.web.tls import tls_version

log = logging.getLogger("opensts.s3")

@dataclasses.dataclass
class Call:
    """One S3 request as it is worked on (and what its audit event needs)."""

    reply: Reply
    scope: Scope
    now: datetime
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    header_map: dict[str, str]
    query: dict[str, list[str]]
    query_pairs: list[tuple[str, str]]
    meta: RequestMeta
    target: Target | None = None
    operation: str | None = None
    caller: Caller | None = None
    auth: S3Auth | None = None
    bucket: Any = None  # directory.records.Bucket | None
    bytes_in: int = 0
    body_read: bool = False  # the request body was read to its end
    audited: bool = False
    denied_key: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def resource(self) -> str:
        return self.raw_path.split("?", 1)[0]


class S3Gateway:
    def __init__(self, runtime: Runtime, backend: Backend | None = None):
        self.runtime = runtime
        self.settings = runtime.settings
        self.backend = backend or Backend(runtime.settings)
        self.tags = TagCache()
        self.denials = DecisionLog(decisions_dir(runtime.settings.data_dir))

    async def aclose(self) -> None:
        await self.backend.aclose()
        await asyncio.to_thread(self.denials.close)

    # -- the request ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reply = Reply(send, new_request_id(), new_host_id(), head=scope["method"] == "HEAD")
        call = self._call(scope, reply)
        try:
            await self._serve(call, receive)
        except AwsError as error:
            await self._fail(call, error)
        except ClientGone:
            log.info("client went away (request %s)", reply.request_id)
            await self._audit(call, S3Error("IncompleteBody", "The client went away.", 400))
        except Exception:
            log.exception("unhandled error in S3 %s (request %s)", call.operation,
                          reply.request_id)
            await self._fail(call, S3Error(
                "InternalError", "We encountered an internal error. Please try again.", 500))

    def _call(self, scope: Scope, reply: Reply) -> Call:
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1"))
                   for k, v in scope["headers"]]
        header_map: dict[str, str] = {}
        for name, value in headers:
            header_map[name] = f"{header_map[name]},{value}" if name in header_map else value
        raw_query = scope.get("query_string", b"").decode("latin-1")
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        bad_query = False
        try:
            pairs = parse_qsl(raw_query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            pairs, bad_query = [], True
        query: dict[str, list[str]] = {}
        for name, value in pairs:
            query.setdefault(name, []).append(value)
        origin = proxy.origin(scope)
        now = datetime.now(UTC)
        meta = RequestMeta(
            request_id=reply.request_id, now=now, source_ip=origin.address,
            user_agent=header_map.get("user-agent", ""), region=self.settings.s3_region,
            host=header_map.get("host", ""), secure=origin.secure,
        )
        call = Call(reply=reply, scope=scope, now=now, method=scope["method"],
                    raw_path=raw_path, raw_query=raw_query, headers=headers,
                    header_map=header_map, query=query, query_pairs=pairs, meta=meta)
        if bad_query:
            call.extra["bad_query"] = True
        return call

    async def _serve(self, call: Call, receive: Receive) -> None:
        if "\x00" in call.raw_query or call.extra.get("bad_query"):
            # A query that does not decode is refused, never forwarded as something else.
            raise S3Error("InvalidURI", "Couldn't parse the specified URI.", 400)
        call.target = target = locate(call.header_map.get("host", ""), call.raw_path,
                                      self.settings.s3_domain)
        if target.key is not None:
            check_key(target.key)
        call.operation = identify(call.method, target, call.query, call.header_map)
        signed = parse_s3(call.method, call.raw_path, call.raw_query, call.headers)
        # One trip off the event loop for everything that may read the store.
        await asyncio.to_thread(self._admit, call, signed)
        if call.operation == "PostObject":
            await post.serve(self, call, receive)
            return
        if call.operation == "DeleteObjects":
            await deletes.serve(self, call, receive)
            return
        if call.bucket is None and call.operation not in ("ListBuckets", "CreateBucket"):
            # As S3: a bucket that does not exist is NoSuchBucket to anyone (there is no
            # policy to consult). The storage's own buckets are not ours until adopted.
            raise no_such_bucket(target.bucket or "")
        await self.authorize(call)
        expected = call.header_map.get("x-amz-expected-bucket-owner")
        if expected is not None and call.bucket is not None and (
            expected.strip() != call.bucket.account_id
        ):
            # Checked here, not by the storage: its notion of the owner is its own user.
            raise access_denied()
        if call.operation in buckets.LOCAL:
            await buckets.serve(self, call, receive)
            return
        await forward.forward(self, call, receive)

    def _admit(self, call: Call, signed: Any) -> None:
        """Who is calling (signature verified the S3 way) and the bucket's record."""
        self.runtime.refresh_keys()
        if signed is not None:
            try:
                caller, secret, expires = resolve_credentials(self.runtime, signed, call.now)
            except InvalidClientTokenId:
                raise _unknown_credentials(signed) from None
            except ExpiredToken:
                raise S3Error("ExpiredToken", "The provided token has expired.", 400) from None
            call.caller = caller
            try:
                call.auth = verify_s3(
                    signed, method=call.method, raw_path=call.raw_path,
                    raw_query=call.raw_query, headers=call.headers, secret_access_key=secret,
                    now=call.now, key_cache=self.runtime.signing_keys,
                    token_expires_at=expires, regions={self.settings.s3_region},
                )
            except AwsError as error:  # for the audit event and /metrics (audit.notes)
                note_auth_failure(signed.access_key_id, verify_failure_reason(error))
                raise
            call.meta = dataclasses.replace(call.meta, region=signed.region)
            record_use(self.runtime, signed, "s3", call.now)
        if call.target is not None and call.target.bucket is not None:
            call.bucket = self.runtime.store.find_bucket(call.target.bucket)
        # Decide in the same trip when the request names what it needs up front (every
        # operation but the per-key and form-based ones), saving a second hop.
        if call.operation in ("PostObject", "DeleteObjects"):
            return
        if call.bucket is None and call.operation not in ("ListBuckets", "CreateBucket"):
            return
        try:
            needs = self._needs(call)
        except S3Error:
            return  # raised again, in order, by authorize()
        contexts = self._contexts(call, needs)
        call.extra["plan"] = (needs, contexts, self._decide(call, needs, contexts, False))

    # -- authorization -------------------------------------------------------------------

    def gateway_context(self, call: Call) -> dict[str, str | list[str]]:
        """The condition keys the gateway knows from the connection and the signature."""
        ctx: dict[str, str | list[str]] = {}
        auth = call.auth
        if auth is not None:
            ctx["s3:authType"] = auth.auth_type
            ctx["s3:signatureversion"] = "AWS4-HMAC-SHA256"
            if auth.signature_age_ms is not None:
                ctx["s3:signatureAge"] = str(auth.signature_age_ms)
            if auth.content_sha256 is not None:
                ctx["s3:x-amz-content-sha256"] = auth.content_sha256
        version = tls_version(call.scope)
        if version is not None:
            ctx["s3:TlsVersion"] = version
        return ctx

    def _needs(self, call: Call) -> list[Any]:
        assert call.target is not None and call.operation is not None
        return s3_actions.needs(call.operation, call.target, call.query, call.header_map)

    def _contexts(self, call: Call, needs: list[Any]) -> list[dict[str, Any]]:
        assert call.operation is not None
        base = self.gateway_context(call)
        contexts = []
        for need in needs:
            ctx = dict(base)
            ctx.update(s3_conditions.condition_context(call.operation, need, call.query,
                                                       call.header_map))
            contexts.append(ctx)
        return contexts

    async def authorize(self, call: Call, *, needs: list[Any] | None = None) -> None:
        """Decide every Need of the call; the first denial raises S3's AccessDenied."""
        plan = call.extra.pop("plan", None) if needs is None else None
        if plan is not None:
            needs, contexts, decisions = plan
        else:
            if needs is None:
                needs = self._needs(call)
            contexts = self._contexts(call, needs)
            decisions = await asyncio.to_thread(self._decide, call, needs, contexts, False)
        assert needs is not None
        if decisions is None:
            # A policy may read s3:ExistingObjectTag: fetch the object's tags, decide again.
            for need, ctx in zip(needs, contexts, strict=True):
                ctx.update(await self.tags.context_for(self, need))
            decisions = await asyncio.to_thread(self._decide, call, needs, contexts, True)
        assert decisions is not None
        for need, decision in zip(needs, decisions, strict=True):
            if not decision.allowed:
                self._record_denial(call, need, decision)
                raise s3_access_denied(call.caller, need, decision)

    def _decide(self, call: Call, needs: list[Any], contexts: list[dict[str, Any]],
                have_tags: bool) -> list[Any] | None:
        """The decisions, or None when object tags must be fetched first. CreateBucket is
        decided by the caller's own policies: a taken name is BucketAlreadyExists, not a
        refusal by the owner's bucket policy (the handler looks the name up)."""
        bucket = None if call.operation == "CreateBucket" else call.bucket
        if not have_tags and bucket is not None and any(
            wants_object_tags(need) for need in needs
        ) and policies_mention_tags(self.runtime, call.caller, bucket):
            return None
        return [
            authorize_s3(self.runtime.authorizer, call.caller, need, bucket,
                         meta=call.meta, context=ctx)
            for need, ctx in zip(needs, contexts, strict=True)
        ]

    def _record_denial(self, call: Call, need: Any, decision: Any) -> None:
        call.extra["denied"] = need.action
        try:
            self.denials.record_denial(call.reply.request_id,
                                       call.caller.arn if call.caller else None, need,
                                       decision, now=call.now)
        except Exception:
            log.exception("could not record the denial (request %s)", call.reply.request_id)

    # -- forwarding ----------------------------------------------------------------------

    # -- audit and errors ----------------------------------------------------------------

    async def _fail(self, call: Call, error: AwsError) -> None:
        await self._audit(call, error)
        if call.reply.started:
            return  # the answer began: the connection is cut short by the server
        if has_body(call) and not call.body_read:
            # The body was not read (refused before it): the connection cannot carry
            # another request after it, so it closes with this answer.
            call.reply.extra_headers.append((b"connection", b"close"))
        await call.reply.error(error, call.resource)

    async def _audit(self, call: Call, error: AwsError | None) -> bool:
        """Write the call's event durably; False if the log could not be written."""
        if call.audited:
            return True
        call.audited = True
        chosen = events.build(self.settings, call, error)
        if not chosen:
            return True
        try:
            await asyncio.gather(*(self.runtime.audit.write(e) for e in chosen))
        except OSError:
            log.exception("audit log write failed (request %s)", call.reply.request_id)
            return False
        return True


def _unknown_credentials(signed: Any) -> S3Error:
    """S3's wording (API Reference, Error codes): an unknown key is InvalidAccessKeyId, a
    session token that does not open (or does not match the key) is InvalidToken."""
    if signed.security_token:
        return S3Error("InvalidToken", "The provided token is malformed or otherwise invalid.",
                       400)
    return S3Error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist "
                   "in our records.", 403, fields={"AWSAccessKeyId": signed.access_key_id})
