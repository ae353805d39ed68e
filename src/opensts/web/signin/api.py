"""``/v1/token``, ``/v1/revoke`` and the JWKS: botocore's ``signin`` rest-json model, JSON in,
JSON out, errors with ``x-amzn-ErrorType`` and ``__type`` plus the OAuth2 ``error`` member."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from opensts import safejson
from opensts.services.context import RequestMeta
from opensts.services.signin.errors import SigninError, SigninValidation
from opensts.services.signin.service import SigninService
from opensts.web import proxy
from opensts.web.signin.pages import error_page


def now_utc() -> datetime:
    return datetime.now(UTC)


def meta_of(request: Request, now: datetime, region: str) -> RequestMeta:
    origin = proxy.origin(request.scope)
    return RequestMeta(
        request_id=str(uuid.uuid4()), now=now, source_ip=origin.address,
        user_agent=request.headers.get("user-agent", ""), region=region,
        host=request.headers.get("host", ""), secure=origin.secure,
    )


def request_url(request: Request) -> str:
    """The URL this request was sent to, as the client sees it, for DPoP's ``htu`` check
    (RFC 9449 §4.3). It is compared, never emitted, so the Host header may name the server
    however the client reached it; the scheme is the resolved origin's (web/proxy.py)."""
    scheme = "https" if proxy.origin(request.scope).secure else "http"
    return f"{scheme}://{request.headers.get('host', request.url.netloc)}{request.url.path}"


class TokenApi:
    def __init__(self, service: SigninService):
        self.service = service

    async def token(self, request: Request) -> Response:
        meta = meta_of(request, now_utc(), self.service.region)
        try:
            body = safejson.loads(await request.body() or b"{}")
        except safejson.JsonInputError as bad:
            return _json_error(SigninError("INVALID_REQUEST", bad.reason), "ValidationException")
        url = request_url(request)
        try:
            result = await self.service.create_token(
                body, dpop=request.headers.get("dpop"), url=url, meta=meta)
        except SigninError as error:
            return _json_error(error, error.code)
        return JSONResponse(result, headers={"Cache-Control": "no-store",
                                             "x-amzn-RequestId": meta.request_id})

    async def revoke(self, request: Request) -> Response:
        meta = meta_of(request, now_utc(), self.service.region)
        try:
            body = safejson.loads(await request.body() or b"{}")
        except safejson.JsonInputError:
            body = None
        url = request_url(request)
        try:
            await self.service.revoke(body, dpop=request.headers.get("dpop"), url=url,
                                      meta=meta)
        except SigninError as error:
            return _json_error(error, error.code)
        return JSONResponse({}, headers={"Cache-Control": "no-store"})

    async def jwks(self, request: Request) -> Response:
        from opensts.services.signin import idtoken

        return Response(idtoken.jwks(self.service.id_key), media_type="application/json")


def too_large(path: str, limit: int) -> Response:
    """The 413 for ``web.limits.BodyLimit``: the OAuth JSON error on the token endpoints,
    the error page elsewhere."""
    message = f"The request body exceeds {limit} bytes."
    if path in ("/v1/token", "/v1/revoke"):
        error = SigninValidation("INVALID_REQUEST", message)
        error.status = 413
        return _json_error(error, error.code)
    return error_page(message, "request_too_large", 413)


def _json_error(error: SigninError, type_name: str) -> Response:
    return JSONResponse(
        {"__type": type_name, "error": error.error, "message": error.message},
        status_code=error.status,
        headers={"x-amzn-ErrorType": type_name, "Cache-Control": "no-store"},
    )
