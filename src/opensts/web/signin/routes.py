"""The sign-in service's HTTP surface: ``/v1/authorize`` and its pages, ``/v1/token``.

``/v1/token`` speaks botocore's ``signin`` rest-json model: JSON in, JSON out, errors with
``x-amzn-ErrorType`` and ``__type`` plus the OAuth2 ``error`` member. The pages are plain
HTML forms: every POST carries the CSRF token and the sealed flow.

Pages in order: password (``/v1/signin``), MFA code (``/v1/mfa``) when the user has a
device, a new password (``/v1/password``) when the login profile has
``PasswordResetRequired``, then the session picker (``/v1/choose``) and consent
(``/v1/consent``). An identity joins the browser's sessions cookie only after the last of
the first three, so no step can be skipped.
"""

from __future__ import annotations

import base64
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from opensts import safejson
from opensts.credentials.errors import InvalidToken
from opensts.credentials.tokens import KeyRing
from opensts.errors import AwsError
from opensts.services.context import RequestMeta
from opensts.services.signin import clients, grants, rfc7636
from opensts.services.signin.errors import AuthorizeError, SigninError, SigninValidation
from opensts.services.signin.service import Authenticated, Identity, SignInFailed, SigninService
from opensts.web import proxy
from opensts.web.signin import state
from opensts.web.signin.pages import Markup, alert, error_page, fill, page

CLIENT_NAMES = {clients.SAME_DEVICE: "the OpenSTS / AWS command line on this computer",
                clients.CROSS_DEVICE: "a command line on another device"}
MAX_STATE = 512


def _now() -> datetime:
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


class SigninRoutes:
    def __init__(self, service: SigninService):
        self.service = service
        self.settings = service.runtime.settings

    @property
    def keyring(self) -> KeyRing:
        # The runtime's current ring, never a copy taken at start: a retired key must stop
        # opening flows and sign-in cookies as it stops sessions.
        return self.service.runtime.keyring

    # -- helpers -----------------------------------------------------------------------------

    def _browser(self, request: Request) -> tuple[str, bool]:
        current = request.cookies.get(state.BROWSER_COOKIE)
        if current and 16 <= len(current) <= 64:
            return current, False
        return state.new_browser_id(), True

    def _set_cookies(self, response: Response, request: Request, browser: str,
                     identities: list[Identity] | None) -> Response:
        secure = proxy.origin(request.scope).secure
        response.set_cookie(state.BROWSER_COOKIE, browser, httponly=True, samesite="strict",
                            secure=secure, path="/")
        if identities is not None:
            if identities:
                response.set_cookie(
                    state.SESSIONS_COOKIE,
                    state.seal_identities(self.keyring, browser, identities),
                    max_age=self.settings.login_session_max_seconds, httponly=True,
                    samesite="lax", secure=secure, path="/v1")
            else:
                response.delete_cookie(state.SESSIONS_COOKIE, path="/v1")
        return response

    def _identities(self, request: Request, browser: str, now: int) -> list[Identity]:
        found = state.open_identities(
            self.keyring, request.cookies.get(state.SESSIONS_COOKIE), browser, now,
            self.settings.login_session_max_seconds)
        return [i for i in found if self.service.still_valid(i)]

    async def _form(self, request: Request) -> tuple[dict[str, str], state.Flow, str] | Response:
        """The POSTed form, its verified flow and browser id, or an error page."""
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        browser = request.cookies.get(state.BROWSER_COOKIE)
        if not state.csrf_ok(self.service.csrf_key, browser, fields.get("csrf")):
            return error_page("This form has expired or did not come from this site. "
                              "Start the sign-in again from your terminal.", "csrf", 403)
        try:
            flow = state.open_flow(self.keyring, fields.get("flow"), browser,
                                   int(_now().timestamp()))
        except InvalidToken:
            return error_page("This sign-in request has expired. Start the sign-in again "
                              "from your terminal.", "expired_request", 400)
        assert browser is not None
        return fields, flow, browser

    def _common(self, flow: state.Flow, browser: str) -> dict[str, str]:
        return {"flow": state.seal_flow(self.keyring, flow),
                "csrf": state.csrf_token(self.service.csrf_key, browser),
                "client": CLIENT_NAMES[flow.client_id]}

    def _signin_page(self, flow: state.Flow, browser: str, *, error: str | None = None,
                     account: str = "", username: str = "", status: int = 200) -> Response:
        body = fill("signin.html", **self._common(flow, browser), error=alert(error),
                    account=account or self.service.runtime.management_account,
                    username=username,
                    focus_user=Markup("" if username else "autofocus"),
                    focus_password=Markup("autofocus" if username else ""))
        return page("Sign in", body, status)

    def _choose_page(self, request: Request, flow: state.Flow, browser: str,
                     identities: list[Identity], error: str | None = None) -> Response:
        meta = meta_of(request, _now(), self.service.region)
        rows: list[str] = []
        first = True
        for index, identity in enumerate(identities):
            options = [("", f"{identity.user_name} (IAM user, account {identity.account_id})")]
            options += [(role.name, f"{role.name} (role, as {identity.user_name})")
                        for role in self.service.assumable_roles(identity, meta)]
            for role_name, text in options:
                value = f"{index}:{role_name}"
                element_id = f"choice-{len(rows)}"
                checked = " checked" if first else ""
                first = False
                rows.append(
                    f'<div class="choice"><input type="radio" name="choice" id="{element_id}" '
                    f'value="{_attr(value)}"{checked}><label for="{element_id}">'
                    f"{_attr(text)}</label></div>")
        body = fill("choose.html", **self._common(flow, browser), error=alert(error),
                    choices=Markup("\n".join(rows)))
        return page("Choose a session", body)

    # -- GET /v1/authorize -------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        browser, fresh = self._browser(request)
        try:
            # The configured public URL, never the Host header: a forged Host must not make
            # another site's page the cross-device confirmation target.
            flow = self._validate(query, self.settings.public_url or "", browser)
        except AuthorizeError as problem:
            redirect_uri = query.get("redirect_uri", "")
            if problem.redirect:
                return _redirect(redirect_uri, {"error": problem.error,
                                                "error_description": problem.description,
                                                "state": query.get("state", "")})
            return error_page(problem.description, problem.error)
        now = int(_now().timestamp())
        identities = [] if fresh else self._identities(request, browser, now)
        if identities:
            response = self._choose_page(request, flow, browser, identities)
        else:
            response = self._signin_page(flow, browser)
        return self._set_cookies(response, request, browser, None)

    def _validate(self, query: Any, base: str, browser: str) -> state.Flow:
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        if client_id not in clients.CLIENTS:
            raise AuthorizeError("invalid_client", "The application is not known to OpenSTS.",
                                 redirect=False)
        if not clients.redirect_uri_allowed(client_id, redirect_uri, base):
            raise AuthorizeError(
                "invalid_redirect_uri",
                "The redirect address is not allowed: it must be a loopback address "
                "(http://127.0.0.1:PORT/oauth/callback) for sign-in on this device.",
                redirect=False)
        if query.get("response_type") != "code":
            raise AuthorizeError("unsupported_response_type", "response_type must be code.",
                                 redirect=True)
        if rfc7636.normalize_method(query.get("code_challenge_method")) is None:
            raise AuthorizeError("invalid_request",
                                 "code_challenge_method must be S256 (or SHA-256).",
                                 redirect=True)
        challenge = query.get("code_challenge")
        if not rfc7636.valid_challenge(challenge):
            raise AuthorizeError("invalid_request", "code_challenge is missing or malformed.",
                                 redirect=True)
        state_value = query.get("state", "")
        if not 1 <= len(state_value) <= MAX_STATE:
            raise AuthorizeError("invalid_request", "state is required.", redirect=True)
        return state.Flow(client_id, redirect_uri, str(challenge), state_value, browser,
                          int(_now().timestamp()) + state.FLOW_SECONDS)

    # -- POST /v1/signin, /v1/mfa, /v1/another, /v1/signout ---------------------------------

    async def signin(self, request: Request) -> Response:
        parsed = await self._form(request)
        if isinstance(parsed, Response):
            return parsed
        fields, flow, browser = parsed
        account = fields.get("account", "").strip()
        username = fields.get("username", "").strip()
        password = fields.get("password", "")
        meta = meta_of(request, _now(), self.service.region)
        if not (len(account) == 12 and account.isdigit()) or not username or not password:
            return self._signin_page(flow, browser, error="Enter your account ID (12 digits), "
                                     "user name and password.", account=account,
                                     username=username, status=400)
        try:
            result = await self.service.check_password(account, username, password, meta)
        except SignInFailed as failed:
            response = self._signin_page(flow, browser, error=failed.message, account=account,
                                         username=username, status=failed.status)
            if failed.retry_after:
                response.headers["Retry-After"] = str(failed.retry_after)
            return response
        identity = result.identity
        if result.mfa_serial is not None:
            flow.pending = {"a": identity.account_id, "u": identity.user_name,
                            "t": identity.auth_time, "p": identity.stamp,
                            "r": result.reset_required}
            body = fill("mfa.html", **self._common(flow, browser), error=alert(None),
                        user=identity.user_name)
            return page("Multi-factor authentication", body)
        return self._authenticated(request, flow, browser, result)

    def _authenticated(self, request: Request, flow: state.Flow, browser: str,
                       result: Authenticated) -> Response:
        """Password (and MFA) checked: a forced password change first, else signed in."""
        if result.reset_required:
            return self._password_page(flow, browser, result.identity)
        return self._signed_in(request, flow, browser, result.identity)

    def _password_page(self, flow: state.Flow, browser: str, identity: Identity, *,
                       error: str | None = None, field: str = "new",
                       status: int = 200) -> Response:
        flow.pending = None
        flow.reset = {"a": identity.account_id, "u": identity.user_name,
                      "t": identity.auth_time, "m": identity.mfa_time, "p": identity.stamp}
        invalid = Markup('aria-invalid="true" aria-errormessage="form-error"')
        body = fill("password.html", **self._common(flow, browser),
                    error=alert(error, element_id="form-error"), user=identity.user_name,
                    new_invalid=invalid if error and field == "new" else Markup(""),
                    confirm_invalid=invalid if error and field == "confirm" else Markup(""),
                    focus_new=Markup("" if error and field == "confirm" else "autofocus"),
                    focus_confirm=Markup("autofocus" if error and field == "confirm" else ""))
        return page("Change your password", body, status)

    async def mfa(self, request: Request) -> Response:
        parsed = await self._form(request)
        if isinstance(parsed, Response):
            return parsed
        fields, flow, browser = parsed
        if not flow.pending:
            return error_page("There is no sign-in waiting for an MFA code.", "invalid_request")
        pending = Identity(flow.pending["a"], flow.pending["u"], flow.pending["t"],
                           stamp=flow.pending.get("p", ""))
        meta = meta_of(request, _now(), self.service.region)
        try:
            identity = self.service.check_totp(pending, fields.get("code", "").strip(), meta)
        except SignInFailed as failed:
            body = fill("mfa.html", **self._common(flow, browser), error=alert(failed.message),
                        user=pending.user_name)
            response = page("Multi-factor authentication", body, failed.status)
            if failed.retry_after:
                response.headers["Retry-After"] = str(failed.retry_after)
            return response
        reset_required = bool(flow.pending.get("r"))
        flow.pending = None
        return self._authenticated(request, flow, browser,
                                   Authenticated(identity, None, reset_required))

    async def password(self, request: Request) -> Response:
        """POST /v1/password: the new password of a user whose login profile requires a
        reset (current password and MFA already checked in this flow)."""
        parsed = await self._form(request)
        if isinstance(parsed, Response):
            return parsed
        fields, flow, browser = parsed
        if not flow.reset:
            return error_page("There is no sign-in waiting for a new password.",
                              "invalid_request")
        reset = flow.reset
        identity = Identity(reset["a"], reset["u"], reset["t"], reset.get("m"),
                            reset.get("p", ""))
        new, confirm = fields.get("new_password", ""), fields.get("confirm_password", "")
        if not new:
            return self._password_page(flow, browser, identity, status=400,
                                        error="Enter a new password.")
        if not hmac.compare_digest(new.encode(), confirm.encode()):
            return self._password_page(flow, browser, identity, field="confirm", status=400,
                                        error="The passwords do not match. Enter the new "
                                        "password again in both fields.")
        meta = meta_of(request, _now(), self.service.region)
        try:
            changed = await self.service.change_password(identity, new, meta)
        except SignInFailed as busy:  # the hashing pool is full
            response = self._password_page(flow, browser, identity, status=busy.status,
                                           error=busy.message)
            response.headers["Retry-After"] = str(busy.retry_after)
            return response
        except SigninError:
            # The password changed elsewhere (or the user went away): start over.
            return self._signin_page(flow, browser, status=401,
                                     error="Your password was changed since you signed in. "
                                     "Sign in again.", account=identity.account_id,
                                     username=identity.user_name)
        except AwsError as refused:
            return self._password_page(flow, browser, identity, status=refused.status,
                                        error=refused.message)
        flow.reset = None
        return self._signed_in(request, flow, browser, changed)

    def _signed_in(self, request: Request, flow: state.Flow, browser: str,
                   identity: Identity) -> Response:
        now = int(_now().timestamp())
        identities = state.add_identity(self._identities(request, browser, now), identity)
        response = self._choose_page(request, flow, browser, identities)
        return self._set_cookies(response, request, browser, identities)

    async def another(self, request: Request) -> Response:
        parsed = await self._form(request)
        if isinstance(parsed, Response):
            return parsed
        _, flow, browser = parsed
        return self._signin_page(flow, browser)

    async def signout(self, request: Request) -> Response:
        parsed = await self._form(request)
        if isinstance(parsed, Response):
            return parsed
        _, flow, browser = parsed
        return self._set_cookies(self._signin_page(flow, browser), request, browser, [])

    # -- POST /v1/choose, /v1/consent ---------------------------------------------------------

    async def choose(self, request: Request) -> Response:
        parsed = await self._form(request)
        if isinstance(parsed, Response):
            return parsed
        fields, flow, browser = parsed
        now = int(_now().timestamp())
        identities = self._identities(request, browser, now)
        index_text, _, role_name = fields.get("choice", "").partition(":")
        if not index_text.isdigit() or int(index_text) >= len(identities):
            return self._signin_page(flow, browser, error="Your browser session ended. "
                                     "Please sign in again.")
        identity = identities[int(index_text)]
        meta = meta_of(request, _now(), self.service.region)
        role_id = None
        if role_name:
            assumable = {r.name: r for r in self.service.assumable_roles(identity, meta)}
            if role_name not in assumable:
                return self._choose_page(request, flow, browser, identities,
                                         error="You cannot assume that role.")
            role_id = assumable[role_name].role_id
        grant = grants.Grant(identity.account_id, identity.user_name, flow.client_id,
                             identity.auth_time, identity.mfa_time, role_name or None,
                             identity.stamp, role_id)
        flow.chosen = {"a": grant.account_id, "u": grant.user_name, "t": grant.auth_time,
                       "m": grant.mfa_time, "r": grant.role_name, "p": grant.stamp,
                       "ri": grant.role_id}
        settings = self.settings
        body = fill("consent.html", **self._common(flow, browser),
                    principal=self.service.session_arn(grant, now),
                    minutes=str(max(1, settings.login_credential_seconds // 60)),
                    hours=str(max(1, settings.login_session_max_seconds // 3600)),
                    where="this device" if flow.client_id == clients.SAME_DEVICE
                    else "another device")
        return page("Allow access?", body)

    async def consent(self, request: Request) -> Response:
        parsed = await self._form(request)
        if isinstance(parsed, Response):
            return parsed
        fields, flow, _ = parsed
        if not flow.chosen:
            return error_page("Choose a session first.", "invalid_request")
        target = flow.redirect_uri
        if fields.get("decision") != "allow":
            if flow.client_id == clients.CROSS_DEVICE:
                return error_page("You denied access. You can close this page.",
                                  "access_denied", 403)
            return _redirect(target, {"error": "access_denied",
                                      "error_description": "The user denied access.",
                                      "state": flow.state})
        chosen = flow.chosen
        grant = grants.Grant(chosen["a"], chosen["u"], flow.client_id, chosen["t"],
                             chosen.get("m"), chosen.get("r"), chosen.get("p", ""),
                             chosen.get("ri"))
        meta = meta_of(request, _now(), self.service.region)
        try:
            code = await self.service.authorize(grant, redirect_uri=target,
                                                challenge=flow.challenge, meta=meta)
        except SigninError as denied:
            return error_page(f"You are not allowed to sign in to this application: "
                              f"{denied.message}", denied.error, 403)
        except AwsError as error:
            return error_page(error.message, error.code, error.status)
        return _redirect(target, {"code": code, "state": flow.state})

    # -- GET /v1/sessions/confirmation ---------------------------------------------------------

    async def confirmation(self, request: Request) -> Response:
        code, state_value = request.query_params.get("code"), request.query_params.get("state")
        if not code or not state_value:
            return error_page("This page shows the verification code of a remote sign-in; "
                              "the link is incomplete.", "invalid_request")
        text = urlencode({"state": state_value, "code": code})
        verification = base64.b64encode(text.encode()).decode()
        return page("Verification code", fill("confirmation.html", code=verification))

    # -- POST /v1/token, /v1/revoke ------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        meta = meta_of(request, _now(), self.service.region)
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
        meta = meta_of(request, _now(), self.service.region)
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


def _attr(value: str) -> str:
    import html

    return html.escape(value, quote=True)


def _redirect(target: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}{urlencode(params)}", status_code=303,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


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
