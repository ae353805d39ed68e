"""The sign-in service's HTTP surface: ``/v1/authorize`` and its pages, ``/v1/token``.

``/v1/token`` speaks botocore's ``signin`` rest-json model: JSON in, JSON out, errors with
``x-amzn-ErrorType`` and ``__type`` plus the OAuth2 ``error`` member. The pages are plain
HTML forms: every POST carries the CSRF token and the sealed flow.

Pages in order: password (``/v1/signin``), MFA code (``/v1/mfa``) when the user has a
device, a new password (``/v1/password``) when the login profile has
``PasswordResetRequired``, then the session picker (``/v1/choose``, skipped when there is
one choice) and consent (``/v1/consent``). An identity joins the browser's sessions cookie
only after the last of the first three, so no step can be skipped. Every error page offers
a way back (``pages.error_page``).
"""

from __future__ import annotations

import base64
import hmac
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from opensts.credentials.errors import InvalidToken
from opensts.credentials.tokens import KeyRing
from opensts.errors import AwsError
from opensts.services.signin import clients, grants, rfc7636
from opensts.services.signin.errors import AuthorizeError, SigninError
from opensts.services.signin.service import Authenticated, Identity, SignInFailed, SigninService
from opensts.web import proxy
from opensts.web.signin import api, choices, state
from opensts.web.signin.api import meta_of, now_utc
from opensts.web.signin.pages import (
    Markup,
    alert,
    error_page,
    fill,
    page,
    restart_link,
    ways_back,
)

CLIENT_NAMES = {clients.SAME_DEVICE: "the OpenSTS / AWS command line on this computer",
                clients.CROSS_DEVICE: "a command line on another device"}
MAX_STATE = 512


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
        restart = state.restart_path_of(self.keyring, fields.get("flow"))
        back = restart_link(restart) if restart else None
        if not state.csrf_ok(self.service.csrf_key, browser, fields.get("csrf")):
            return error_page("This form has expired or did not come from this site.",
                              "csrf", 403, back=back)
        try:
            flow = state.open_flow(self.keyring, fields.get("flow"), browser,
                                   int(now_utc().timestamp()))
        except InvalidToken:
            return error_page("This sign-in request has expired.", "expired_request", 400,
                              back=back)
        assert browser is not None
        return fields, flow, browser

    def _common(self, flow: state.Flow, browser: str) -> dict[str, str]:
        return {"flow": state.seal_flow(self.keyring, flow),
                "csrf": state.csrf_token(self.service.csrf_key, browser),
                "client": CLIENT_NAMES[flow.client_id]}

    def _different(self, flow: state.Flow, browser: str) -> Markup:
        """The "Sign in as a different user" form, a way back from the later pages."""
        return fill("different.html", **self._common(flow, browser))

    def _flow_error(self, flow: state.Flow, browser: str, message: str, code: str,
                    status: int = 400, request_id: str | None = None) -> Response:
        """An error page of a flow that still holds: start again, or sign in as another.
        With the audited request's id, which `opensts audit explain` takes."""
        back = Markup(restart_link(state.restart_path(flow)) + self._different(flow, browser))
        note = fill("reference.html", request_id=request_id) if request_id else Markup("")
        return error_page(message, code, status, back=back, note=note)

    def _signin_page(self, flow: state.Flow, browser: str, *, error: str | None = None,
                     account: str = "", username: str = "", status: int = 200) -> Response:
        # Prefilled only when the operator configured it: the management account id is
        # not for every visitor of the page to read.
        account = account or self.settings.signin_account_id or ""
        first_empty = "account" if not account else "user" if not username else "password"
        body = fill("signin.html", **self._common(flow, browser), error=alert(error),
                    account=account, username=username,
                    **{f"focus_{name}": Markup("autofocus" if name == first_empty else "")
                       for name in ("account", "user", "password")})
        return page("Sign in", body, status)

    def _picker(self, request: Request, flow: state.Flow, browser: str,
                identities: list[Identity], error: str | None = None) -> Response:
        """The session picker; consent straight away when there is one choice, the
        plain-words refusal when there is none."""
        meta = meta_of(request, now_utc(), self.service.region)
        found = choices.choices(self.service, flow, identities, meta)
        if not found.allowed:
            return self._refused(flow, browser, found.refused[0])
        if len(found.allowed) == 1 and error is None:
            return self._consent_page(flow, browser, found.allowed[0].grant)
        rows: list[str] = []
        for number, choice in enumerate(found.allowed):
            element_id = f"choice-{number}"
            checked = " checked" if number == 0 else ""
            rows.append(
                f'<div class="choice"><input type="radio" name="choice" id="{element_id}" '
                f'value="{_attr(choice.value)}"{checked}><label for="{element_id}">'
                f'<strong>{_attr(choice.name)}</strong> <span class="what">'
                f"{_attr(choice.what)}</span></label></div>")
        body = fill("choose.html", **self._common(flow, browser), error=alert(error),
                    choices=Markup("\n".join(rows)), different=self._different(flow, browser))
        return page("Choose a session", body)

    def _refused(self, flow: state.Flow, browser: str, refusal: choices.Refusal,
                 status: int = 403) -> Response:
        """No principal of this identity may sign in here: say so in plain words, with
        the exact actions to grant, before any further step."""
        back = ways_back(restart_link(state.restart_path(flow)),
                         self._different(flow, browser))
        body = fill("denied.html", message=choices.refusal_message(refusal),
                    resource=choices.resource_of(flow, self.service,
                                                 refusal.identity.account_id), back=back)
        return page("CLI sign-in not allowed", body, status)

    def _consent_page(self, flow: state.Flow, browser: str, grant: grants.Grant) -> Response:
        now = int(now_utc().timestamp())
        flow.chosen = {"a": grant.account_id, "u": grant.user_name, "t": grant.auth_time,
                       "m": grant.mfa_time, "r": grant.role_name, "p": grant.stamp,
                       "ri": grant.role_id}
        settings = self.settings
        body = fill("consent.html", **self._common(flow, browser),
                    principal=self.service.session_arn(grant, now),
                    minutes=str(max(1, settings.login_credential_seconds // 60)),
                    hours=str(max(1, settings.login_session_max_seconds // 3600)),
                    where="this device" if flow.client_id == clients.SAME_DEVICE
                    else "another device", different=self._different(flow, browser),
                    client_title=_sentence_start(CLIENT_NAMES[flow.client_id]))
        return page("Allow access?", body)

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
        now = int(now_utc().timestamp())
        identities = [] if fresh else self._identities(request, browser, now)
        if identities:
            response = self._picker(request, flow, browser, identities)
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
                          int(now_utc().timestamp()) + state.FLOW_SECONDS)

    # -- POST /v1/signin, /v1/mfa, /v1/another, /v1/signout ---------------------------------

    async def signin(self, request: Request) -> Response:
        parsed = await self._form(request)
        if isinstance(parsed, Response):
            return parsed
        fields, flow, browser = parsed
        account = fields.get("account", "").strip()
        username = fields.get("username", "").strip()
        password = fields.get("password", "")
        meta = meta_of(request, now_utc(), self.service.region)
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
        """Password (and MFA) checked: may this user sign in here at all? Then a forced
        password change first, else signed in.

        The sign-in permissions are checked here, once the visitor has proven who they
        are, and not right after they typed an account and user name: an answer to an
        unauthenticated visitor ("this user may not sign in") would tell them that the
        user exists, which the password page never does (the same message and the same
        argon2 cost for a wrong password and an unknown user). After MFA too, not
        between password and MFA: a stolen password alone must not reveal what the user
        may do. It still comes before the forced password change, the picker and consent,
        so nobody goes through those to reach a refusal."""
        meta = meta_of(request, now_utc(), self.service.region)
        found = choices.choices(self.service, flow, [result.identity], meta)
        if not found.allowed:
            return self._refused(flow, browser, found.refused[0])
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
            return self._flow_error(flow, browser, "There is no sign-in waiting for an MFA "
                                    "code.", "invalid_request")
        pending = Identity(flow.pending["a"], flow.pending["u"], flow.pending["t"],
                           stamp=flow.pending.get("p", ""))
        meta = meta_of(request, now_utc(), self.service.region)
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
            return self._flow_error(flow, browser, "There is no sign-in waiting for a new "
                                    "password.", "invalid_request")
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
        meta = meta_of(request, now_utc(), self.service.region)
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
        now = int(now_utc().timestamp())
        identities = state.add_identity(self._identities(request, browser, now), identity)
        response = self._picker(request, flow, browser, identities)
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
        now = int(now_utc().timestamp())
        identities = self._identities(request, browser, now)
        index_text, _, role_name = fields.get("choice", "").partition(":")
        if not index_text.isdigit() or int(index_text) >= len(identities):
            return self._signin_page(flow, browser, error="Your browser session ended. "
                                     "Please sign in again.")
        identity = identities[int(index_text)]
        meta = meta_of(request, now_utc(), self.service.region)
        role_id = None
        if role_name:
            assumable = {r.name: r for r in self.service.assumable_roles(identity, meta)}
            if role_name not in assumable:
                return self._picker(request, flow, browser, identities,
                                    error="You cannot assume that role.")
            role_id = assumable[role_name].role_id
        grant = choices.grant_of(flow, identity, role_name or None, role_id)
        return self._consent_page(flow, browser, grant)

    async def consent(self, request: Request) -> Response:
        parsed = await self._form(request)
        if isinstance(parsed, Response):
            return parsed
        fields, flow, browser = parsed
        if not flow.chosen:
            return self._flow_error(flow, browser, "Choose a session first.",
                                    "invalid_request")
        target = flow.redirect_uri
        if fields.get("decision") != "allow":
            if flow.client_id == clients.CROSS_DEVICE:
                return error_page("You denied access. You can close this page.",
                                  "access_denied", 403, title="Access denied",
                                  back=restart_link(state.restart_path(flow)))
            return _redirect(target, {"error": "access_denied",
                                      "error_description": "The user denied access.",
                                      "state": flow.state})
        chosen = flow.chosen
        grant = grants.Grant(chosen["a"], chosen["u"], flow.client_id, chosen["t"],
                             chosen.get("m"), chosen.get("r"), chosen.get("p", ""),
                             chosen.get("ri"))
        meta = meta_of(request, now_utc(), self.service.region)
        try:
            code = await self.service.authorize(grant, redirect_uri=target,
                                                challenge=flow.challenge, meta=meta)
        except SigninError as denied:
            # Plain words, never the authorizer's message: it ends in an encoded
            # authorization blob (for DecodeAuthorizationMessage), unreadable here.
            message = (choices.denied_at_consent(grant, "signin:AuthorizeOAuth2Access")
                       if denied.error == "INSUFFICIENT_PERMISSIONS" else denied.message)
            return self._flow_error(flow, browser, message, denied.error, 403,
                                    request_id=meta.request_id)
        except AwsError as error:
            return self._flow_error(flow, browser, error.message, error.code, error.status,
                                    request_id=meta.request_id)
        return _redirect(target, {"code": code, "state": flow.state})

    # -- GET /v1/sessions/confirmation ---------------------------------------------------------

    async def confirmation(self, request: Request) -> Response:
        code, state_value = request.query_params.get("code"), request.query_params.get("state")
        if not code or not state_value:
            return error_page("This page shows the verification code of a remote sign-in; "
                              "the link is incomplete.", "invalid_request")
        text = urlencode({"state": state_value, "code": code})
        verification = base64.b64encode(text.encode()).decode()
        # A few lines of it: the code is several hundred characters, copied with the
        # button (or selected whole), never read; a box of all of it is a wall of text.
        rows = str(min(6, -(-len(verification) // 38)))
        return page("Verification code", fill("confirmation.html", code=verification,
                                              rows=rows))

def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _attr(value: str) -> str:
    import html

    return html.escape(value, quote=True)


def _redirect(target: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}{urlencode(params)}", status_code=303,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


# The 413 page of web.app's BodyLimit, which imports it from here.
too_large = api.too_large
