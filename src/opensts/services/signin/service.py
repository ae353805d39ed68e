"""The sign-in service: joins the pure OAuth pieces to the store, keys, policy and audit.

Flow (AWS CLI User Guide, cli-configure-sign-in; aws-clients.md §2):

1. the browser pages authenticate an IAM user (password, then TOTP when the user has an
   MFA device) and let them pick the principal: themselves or a role they may assume;
2. :meth:`SigninService.authorize` checks ``signin:AuthorizeOAuth2Access`` and issues a
   one-time authorization code (audited);
3. :meth:`SigninService.create_token` (``POST /v1/token``) exchanges the code (PKCE,
   redirect URI, DPoP) or rotates a refresh token, checks ``signin:CreateOAuth2Token`` and
   mints 15-minute credentials until the session limit (audited).

A login profile with ``PasswordResetRequired`` makes the user choose a new password after
the password (and MFA) check, before step 1's picker (:meth:`SigninService.change_password`,
audited as IAM ``ChangePassword``). Every identity, code and session carries the
credentials stamp of its password check (``stamps``): once the password changes, or the
login profile or user is deleted, they stop working (``USER_CREDENTIALS_CHANGED``).

Every method takes the request's ``RequestMeta`` (and so ``now``) from the caller.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opensts.audit.events import build_event
from opensts.credentials.errors import InvalidToken
from opensts.directory.errors import NotFound
from opensts.directory.records import LoginProfile, Role, User
from opensts.directory.signin import SigninSession
from opensts.errors import AccessDenied, AwsError
from opensts.services.context import AuditRecord, CallContext, Caller, RequestMeta
from opensts.services.iam import password_policy, passwords
from opensts.services.runtime import Runtime
from opensts.services.signin import (
    checks,
    clients,
    grants,
    idtoken,
    rfc7636,
    rfc9449,
    stamps,
    throttle,
)
from opensts.services.signin.errors import (
    SigninAccessDenied,
    SigninError,
    invalid_grant,
    invalid_request,
    token_expired,
)
from opensts.services.sts import sessions
from opensts.web.metrics import signin_failure

REFRESH_TOKEN_MAX = 2048
CODE_MAX = 4096
MAX_ROLES_LISTED = 100
_HASHER = PasswordHasher()
# Verified against when the user does not exist, so both paths cost one argon2 check
# and response timing does not reveal which user names exist.
_DUMMY_HASH = _HASHER.hash("opensts-no-such-user")


class SignInFailed(Exception):
    """A browser sign-in step failed; ``message`` is safe to show, ``retry_after`` set when
    throttled (429) or when too many checks are in progress (503)."""

    def __init__(self, message: str, retry_after: int = 0, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.status = status or (429 if retry_after else 401)


def _busy() -> SignInFailed:
    return SignInFailed("Too many sign-ins are in progress. Try again in a moment.",
                        checks.Busy.retry_after, status=503)


def _verify(password_hash: str, password: str) -> bool:
    """The argon2 check (in a hashing thread); ``_HASHER`` is looked up at call time."""
    try:
        return bool(_HASHER.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Identity:
    """A user signed in in this browser (kept in the sealed browser cookie)."""

    account_id: str
    user_name: str
    auth_time: int
    mfa_time: int | None = None
    stamp: str = ""  # credentials stamp of the password check


@dataclass(frozen=True)
class Authenticated:
    """A correct password: who, the serial of the MFA device still to check (if any), and
    whether the user must choose a new password before going on."""

    identity: Identity
    mfa_serial: str | None
    reset_required: bool


def _credentials_changed() -> SigninError:
    return SigninAccessDenied(
        "USER_CREDENTIALS_CHANGED",
        "The user's sign-in credentials changed. Please sign in again.")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class SigninService:
    def __init__(self, runtime: Runtime, region: str = "us-east-1"):
        self.runtime = runtime
        self.region = region
        self.id_key = idtoken.signing_key(runtime.settings.master_key)
        self.csrf_key = idtoken.derive_key(runtime.settings.master_key, b"csrf")
        self.stamp_key = idtoken.derive_key(runtime.settings.master_key, b"credentials-stamp")
        self.password_checks = checks.PasswordChecks()
        self.in_flight = throttle.InFlight()

    @property
    def store(self) -> Any:
        return self.runtime.store

    # -- browser sign-in -------------------------------------------------------------------

    async def check_password(
        self, account_id: str, user_name: str, password: str, meta: RequestMeta
    ) -> Authenticated:
        """Authenticate. When the result names an MFA device, the caller must then check a
        TOTP code with :meth:`check_totp`; when it says ``reset_required``, the user must
        choose a new password (:meth:`change_password`) before anything else.

        Throttled per (user, address) and per address (``throttle``); the argon2 check
        runs in the bounded hashing pool (``checks``), raising ``SignInFailed`` with
        status 503 when that is full."""
        now = meta.now
        user_key = throttle.user_address_key(account_id, user_name, meta.source_ip)
        ip_key = throttle.ip_key(meta.source_ip) if throttle.limits_address(
            meta.source_ip) else None
        self._throttled(user_key, throttle.USER, now)
        if ip_key is not None:
            self._throttled(ip_key, throttle.SOURCE_IP, now)
        keys = (user_key,) if ip_key is None else (user_key, ip_key)
        with self.in_flight.checking(*keys):
            try:
                user, profile = await self.password_checks.run(
                    self._verify_password, account_id, user_name, password, user_key, ip_key,
                    now)
            except checks.Busy:
                raise _busy() from None
        devices = [d for d in self.store.list_mfa_devices_for_user(account_id, user.name)
                   if d.enabled is not None]
        identity = Identity(account_id, user.name, _epoch(now),
                            stamp=self._stamp(user, profile))
        # MaxPasswordAge: an expired password must be changed now, or with HardExpiry
        # cannot be used until an administrator resets it (id_credentials_passwords_
        # account-policy).
        policy = self.store.find_password_policy(account_id)
        expired = password_policy.expired(policy, profile, now)
        if expired and policy is not None and policy.hard_expiry:
            raise SignInFailed("Your password has expired. Contact your administrator to "
                               "reset it.")
        return Authenticated(identity, devices[0].serial if devices else None,
                             profile.password_reset_required or expired)

    def _verify_password(
        self, account_id: str, user_name: str, password: str, user_key: str,
        ip_key: str | None, now: datetime,
    ) -> tuple[User, LoginProfile]:
        """In a hashing thread: the argon2 check, then the throttle counters. The failure
        is on record before the attempt stops counting as in flight (never undercounted)."""
        user, profile = self._login_profile(account_id, user_name)
        ok = _verify(profile.password_hash if profile else _DUMMY_HASH, password)
        if not ok or user is None or profile is None:
            self.store.record_signin_failure(
                user_key, now, window_seconds=throttle.USER.window_seconds)
            if ip_key is not None:
                self.store.record_signin_failure(
                    ip_key, now, window_seconds=throttle.SOURCE_IP.window_seconds)
            signin_failure("CheckPassword")  # /metrics: writes no audit event (web.metrics)
            raise SignInFailed("Your authentication information is incorrect. Please try again.")
        self.store.clear_signin_failures(user_key)
        # PasswordLastUsed (GetUser, the credential report, unused-access findings) is the
        # time of the last sign-in with the password, as IAM records it.
        self.store.record_password_use(user.user_id, now)
        return user, profile

    def check_totp(self, identity: Identity, code: str, meta: RequestMeta) -> Identity:
        now = meta.now
        user_key = throttle.user_key(identity.account_id, identity.user_name)
        self._throttled(user_key, throttle.USER, now)
        failure = SignInFailed("The MFA code is not valid. Please try again.")
        devices = [d for d in self.store.list_mfa_devices_for_user(
            identity.account_id, identity.user_name) if d.enabled is not None]
        if not (len(code) == 6 and code.isdigit()):
            devices = []
        for device in devices:
            seed = self.runtime.secret_box.open(
                device.sealed_seed, context=b"mfa:" + device.serial.encode())
            totp = pyotp.TOTP(seed.decode())
            step_now = _epoch(now) // 30
            for step in (step_now, step_now - 1, step_now + 1):
                if hmac.compare_digest(totp.at(step * 30), code):
                    if self.store.use_mfa_code(device.serial, step):
                        self.store.clear_signin_failures(user_key)
                        return Identity(identity.account_id, identity.user_name,
                                        identity.auth_time, _epoch(now), identity.stamp)
                    raise failure  # a replayed code
        self.store.record_signin_failure(
            user_key, now, window_seconds=throttle.USER.window_seconds)
        raise failure

    def _throttled(self, key: str, policy: throttle.Policy, now: datetime) -> None:
        count = self.store.get_signin_failures(key)
        # Attempts still being checked count as failures that happen now (throttle.InFlight).
        pending = self.in_flight.count(key)
        last = now if pending else count.last_failure
        wait = throttle.retry_after(policy, count.failures + pending, last, now)
        if wait > 0:
            raise SignInFailed(
                f"Too many failed sign-in attempts. Try again in {wait} seconds.", wait)

    def _login_profile(
        self, account_id: str, user_name: str
    ) -> tuple[User | None, LoginProfile | None]:
        try:
            user = self.store.get_user(account_id, user_name)
            profile = self.store.get_login_profile(account_id, user.name)
        except NotFound:
            return None, None
        return user, profile

    def _stamp(self, user: User, profile: LoginProfile) -> str:
        return stamps.stamp(self.stamp_key, user.user_id, profile.password_hash)

    def current_stamp(self, account_id: str, user_name: str) -> str | None:
        """The stamp of the user's current password; None without user or login profile."""
        user, profile = self._login_profile(account_id, user_name)
        return None if user is None or profile is None else self._stamp(user, profile)

    def still_valid(self, identity: Identity) -> bool:
        """Whether a browser's signed-in identity still holds: same user, same password."""
        current = self.current_stamp(identity.account_id, identity.user_name)
        return current is not None and stamps.matches(identity.stamp, current)

    async def change_password(
        self, identity: Identity, new_password: str, meta: RequestMeta
    ) -> Identity:
        """The forced password change of a just-authenticated user (AWS's "Change
        password" sign-in page for ``PasswordResetRequired``): the caller needs
        ``iam:ChangePassword`` on itself, the new password the account password policy (the
        IAM service's own check, ``services.iam.passwords``). One store mutation writes the
        new hash and clears the reset flag, and only if the password is still the one
        checked. Audited as CloudTrail logs a console password change: ``ChangePassword``
        from ``iam.amazonaws.com``, no request parameters.

        Returns the identity with its new stamp. Raises ``USER_CREDENTIALS_CHANGED`` when
        the password changed (or the user went away) since the check, ``AccessDenied`` or
        ``PasswordPolicyViolation`` otherwise."""
        record = AuditRecord()
        caller: Caller | None = None
        try:
            user, profile = self._login_profile(identity.account_id, identity.user_name)
            if user is None or profile is None or not stamps.matches(
                identity.stamp, self._stamp(user, profile)
            ):
                raise _credentials_changed()
            caller = self._user_caller(identity, meta)
            # AllowUsersToChangePassword grants it to every IAM user (password_policy).
            password_policy.authorize_caller(
                self.runtime.authorizer, caller, "iam:ChangePassword", user.arn, meta,
                self.store.find_password_policy(identity.account_id))
            try:
                # Hashing the new password costs as much as a check: the same pool.
                changed = await self.password_checks.run(functools.partial(
                    passwords.replace_password, self.store, user.account_id, user.name,
                    verified_hash=profile.password_hash, new_password=new_password,
                    now=meta.now))
            except (passwords.PasswordChangedMeanwhile, NotFound):
                raise _credentials_changed() from None
            except checks.Busy:
                raise _busy() from None
        except AwsError as error:
            await self._audit("ChangePassword", meta, caller, record, None, error,
                              service="iam", read_only=False,
                              account=identity.account_id)
            raise
        await self._audit("ChangePassword", meta, caller, record, None, None, service="iam",
                          read_only=False, account=identity.account_id)
        return Identity(identity.account_id, user.name, identity.auth_time, identity.mfa_time,
                        self._stamp(user, changed))

    # -- principals ------------------------------------------------------------------------

    def assumable_roles(self, identity: Identity, meta: RequestMeta) -> list[Role]:
        """Roles of the user's account whose trust policy lets the user assume them."""
        caller = self._user_caller(identity, meta)
        page = self.store.list_roles(identity.account_id, max_items=MAX_ROLES_LISTED)
        allowed = []
        for role in page.items:
            decision = self.runtime.authorizer.decide(
                caller, "sts:AssumeRole", role.arn, meta=meta,
                resource_policy=role.assume_role_policy, resource_account=role.account_id,
                extra_context={"sts:RoleSessionName": identity.user_name}, trust=True,
            )
            if decision.allowed:
                allowed.append(role)
        return allowed

    def _user_caller(self, identity: Identity | grants.Grant, meta: RequestMeta) -> Caller:
        user = self.store.get_user(identity.account_id, identity.user_name)
        claims = self._user_claims(user, identity.mfa_time, _epoch(meta.now))
        return Caller("IAMUser", user.account_id, user.arn, user.user_id, "", user.name, claims)

    @staticmethod
    def _user_claims(user: User, mfa_time: int | None, now: int) -> dict[str, Any]:
        return {
            "type": "IAMUser", "acct": user.account_id, "arn": user.arn, "pid": user.user_id,
            "user": user.name, "uid": user.user_id, "uarn": user.arn, "mfa": mfa_time,
            "mfa_ctx": bool(mfa_time), "iat": now, "op": "CreateOAuth2Token",
        }

    def _principal(
        self, grant: grants.Grant, now: int
    ) -> tuple[Caller, dict[str, Any], int | None]:
        """The session's caller, the claims to seal in its credentials, and the principal's
        own session limit (a role's MaxSessionDuration)."""
        user, profile = self._login_profile(grant.account_id, grant.user_name)
        # A deleted user or login profile, or a password changed since the sign-in.
        if user is None or profile is None or not stamps.matches(
            grant.stamp, self._stamp(user, profile)
        ):
            raise _credentials_changed()
        claims = self._user_claims(user, grant.mfa_time, now)
        limit: int | None = None
        if grant.role_name is not None:
            try:
                role = self.store.get_role(grant.account_id, grant.role_name)
            except NotFound:
                raise token_expired("The role of this session no longer exists.") from None
            if role.role_id != grant.role_id:
                # Deleted and created again under the same name: another role, which the
                # user never chose (and whose trust policy may not name them).
                raise token_expired("The role of this session no longer exists.")
            name = user.name
            arn = f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/{name}"
            claims = {
                "type": "AssumedRole", "acct": role.account_id, "arn": arn,
                "pid": f"{role.role_id}:{name}", "role_arn": role.arn, "role_id": role.role_id,
                "role_name": role.name, "sn": name, "si": None, "mfa": grant.mfa_time,
                "mfa_ctx": bool(grant.mfa_time), "iat": now, "op": "CreateOAuth2Token",
            }
            limit = role.max_session_duration
        caller = Caller(claims["type"], claims["acct"], claims["arn"], claims["pid"], "",
                        user.name if grant.role_name is None else None, claims)
        return caller, claims, limit

    def session_arn(self, grant: grants.Grant, now: int) -> str:
        return self._principal(grant, now)[0].arn

    def missing_permissions(
        self, grant: grants.Grant, *, redirect_uri: str, meta: RequestMeta
    ) -> list[str]:
        """The sign-in actions the grant's principal would be refused, in flow order: the
        same checks, resource and context as :meth:`authorize` and the code exchange, asked
        in advance so the pages can say so before consent. Not audited: nothing is done."""
        caller, _, _ = self._principal(grant, _epoch(meta.now))
        resource = clients.resource_arn(grant.client_id, self.region, grant.account_id)
        asked = (
            ("signin:AuthorizeOAuth2Access", {"signin:OAuthClientId": grant.client_id,
                                              "signin:OAuthRedirectUri": redirect_uri}),
            ("signin:CreateOAuth2Token",
             self._token_context(grant, "authorization_code", redirect_uri)),
        )
        return [action for action, context in asked if not self.runtime.authorizer.decide(
            caller, action, resource, meta=meta, extra_context=context).allowed]

    def _authorize(
        self, caller: Caller, action: str, grant: grants.Grant, meta: RequestMeta,
        context: dict[str, str | list[str]],
    ) -> None:
        resource = clients.resource_arn(grant.client_id, self.region, grant.account_id)
        try:
            self.runtime.authorizer.authorize(
                caller, action, resource, meta=meta, extra_context=context)
        except AccessDenied as denied:
            raise SigninAccessDenied("INSUFFICIENT_PERMISSIONS", denied.message) from None

    # -- /v1/authorize: the code -----------------------------------------------------------

    async def authorize(
        self, grant: grants.Grant, *, redirect_uri: str, challenge: str, meta: RequestMeta
    ) -> str:
        """Check ``signin:AuthorizeOAuth2Access`` for the chosen principal and issue a code."""
        record = AuditRecord(request_parameters={
            "clientId": grant.client_id, "redirectUri": redirect_uri,
            "codeChallengeMethod": "SHA-256", "responseType": "code",
        })
        caller: Caller | None = None
        try:
            caller, _, _ = self._principal(grant, _epoch(meta.now))
            self._authorize(caller, "signin:AuthorizeOAuth2Access", grant, meta, {
                "signin:OAuthClientId": grant.client_id,
                "signin:OAuthRedirectUri": redirect_uri,
            })
            code, _ = grants.seal_code(self.runtime.keyring, grant, redirect_uri=redirect_uri,
                                       challenge=challenge, now=_epoch(meta.now))
        except AwsError as error:
            await self._audit("AuthorizeOAuth2Access", meta, caller, record, grant, error)
            raise
        record.additional_event_data = {"MFAUsed": "Yes" if grant.mfa_time else "No"}
        await self._audit("AuthorizeOAuth2Access", meta, caller, record, grant, None)
        return code

    # -- /v1/token ---------------------------------------------------------------------------

    async def create_token(
        self, body: Any, *, dpop: str | None, url: str, meta: RequestMeta
    ) -> dict[str, Any]:
        record = AuditRecord()
        state: dict[str, Any] = {}
        try:
            result = self._create_token(body, dpop, url, meta, record, state)
        except AwsError as error:
            await self._audit("CreateOAuth2Token", meta, state.get("caller"), record,
                              state.get("grant"), error)
            raise
        await self._audit("CreateOAuth2Token", meta, state.get("caller"), record,
                          state.get("grant"), None)
        return result

    def _create_token(
        self, body: Any, dpop: str | None, url: str, meta: RequestMeta, record: AuditRecord,
        state: dict[str, Any],
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_request("The request body must be a JSON object.")
        client_id, grant_type = body.get("clientId"), body.get("grantType")
        record.request_parameters = {"clientId": client_id, "grantType": grant_type}
        if client_id not in clients.CLIENTS:
            raise SigninAccessDenied("invalid_client", "Unknown clientId.")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise SigninAccessDenied("unsupported_grant_type",
                                     "grantType must be authorization_code or refresh_token.")
        try:
            proof = rfc9449.verify_proof(dpop, method="POST", url=url, now=meta.now)
        except rfc9449.InvalidProof as bad:
            raise invalid_request(f"Invalid DPoP proof: {bad}.") from None
        # §11.1: a proof is good for one request.
        if not self.store.add_used_token(
            f"dpop:{proof.jkt}:{proof.jti}", _at(proof.iat + rfc9449.MAX_AGE_SECONDS * 2)
        ):
            raise invalid_request("Invalid DPoP proof: the proof was already used.")
        if grant_type == "authorization_code":
            return self._exchange_code(body, client_id, proof, url, meta, record, state)
        return self._refresh(body, client_id, proof, meta, state)

    def _exchange_code(
        self, body: dict[str, Any], client_id: str, proof: rfc9449.Proof, url: str,
        meta: RequestMeta, record: AuditRecord, state: dict[str, Any],
    ) -> dict[str, Any]:
        now = _epoch(meta.now)
        text, verifier, redirect_uri = body.get("code"), body.get("codeVerifier"), body.get(
            "redirectUri")
        if not isinstance(text, str) or not 1 <= len(text) <= CODE_MAX:
            raise invalid_request("code is required for grantType authorization_code.")
        if not isinstance(redirect_uri, str) or not redirect_uri:
            raise invalid_request("redirectUri is required for grantType authorization_code.")
        if not rfc7636.valid_verifier(verifier):
            raise invalid_request("codeVerifier must be 43-128 characters of [A-Za-z0-9-._~].")
        record.request_parameters = {**(record.request_parameters or {}),
                                     "redirectUri": redirect_uri}
        try:
            code = grants.open_code(self.runtime.keyring, text)
        except InvalidToken:
            raise invalid_grant("The authorization code is not valid.") from None
        state["grant"] = code.grant
        if code.expires <= now:
            raise SigninAccessDenied("AUTHCODE_EXPIRED", "The authorization code has expired.")
        if not self.store.add_used_token(f"signin-code:{code.jti}", _at(code.expires)):
            # RFC 6749 §4.1.2: a code used twice revokes what it already granted.
            with contextlib.suppress(NotFound):
                self.store.revoke_signin_session(code.session_id)
            raise invalid_grant("The authorization code was already used.")
        if code.grant.client_id != client_id:
            raise invalid_grant("The authorization code was issued to another client.")
        if not hmac.compare_digest(code.redirect_uri, redirect_uri):  # §4.1.3
            raise invalid_grant("redirectUri does not match the authorization request.")
        if not rfc7636.verify(str(verifier), code.challenge):
            raise invalid_grant("The PKCE code verifier does not match the code challenge.")
        grant = code.grant
        caller, claims, limit = self._principal(grant, now)
        state["caller"] = caller
        self._authorize(caller, "signin:CreateOAuth2Token", grant, meta, self._token_context(
            grant, "authorization_code", redirect_uri))
        ends = grants.session_ends(
            grant.auth_time, setting_max=self.runtime.settings.login_session_max_seconds,
            principal_max=limit)
        lifetime = grants.credential_lifetime(
            now, ends, setting=self.runtime.settings.login_credential_seconds)
        if lifetime <= 0:
            raise token_expired("The sign-in session has reached its maximum duration.")
        session = SigninSession(
            session_id=code.session_id, account_id=grant.account_id,
            user_name=grant.user_name, client_id=client_id, jkt=proof.jkt,
            started=_at(grant.auth_time), ends=_at(ends), role_name=grant.role_name,
            mfa_time=_at(grant.mfa_time) if grant.mfa_time else None,
            credentials_stamp=grant.stamp, role_id=grant.role_id,
        )
        self.store.create_signin_session(session)
        credentials = self._mint(claims, grant.account_id, lifetime, meta)
        amr = ["pwd", "mfa"] if grant.mfa_time else ["pwd"]
        id_token = idtoken.build(
            self.id_key, issuer=url.rsplit("/v1/", 1)[0], subject=caller.arn,
            audience=client_id, now=now, auth_time=grant.auth_time, amr=amr)
        result = self._token_result(credentials, lifetime, session.session_id, 0)
        result["idToken"] = id_token
        return result

    def _refresh(
        self, body: dict[str, Any], client_id: str, proof: rfc9449.Proof, meta: RequestMeta,
        state: dict[str, Any],
    ) -> dict[str, Any]:
        now = _epoch(meta.now)
        text = body.get("refreshToken")
        if not isinstance(text, str):
            raise invalid_request("refreshToken is required for grantType refresh_token.")
        # Any string that is not one of our tokens (garbage, too long, sealed with a key
        # retired since) is a session that cannot go on: TOKEN_EXPIRED is what makes
        # botocore's LoginProvider ask for ``aws login`` (LoginRefreshRequired).
        try:
            if not 1 <= len(text) <= REFRESH_TOKEN_MAX:
                raise InvalidToken()
            token = grants.open_refresh_token(self.runtime.keyring, text)
            session = self.store.get_signin_session(token.session_id)
        except (InvalidToken, NotFound):
            raise token_expired() from None
        grant = grants.Grant(session.account_id, session.user_name, session.client_id,
                             _epoch(session.started),
                             _epoch(session.mfa_time) if session.mfa_time else None,
                             session.role_name, session.credentials_stamp or "",
                             session.role_id)
        state["grant"] = grant
        if session.client_id != client_id:
            raise invalid_grant("The refresh token was issued to another client.")
        # RFC 9449 §5: the refresh token is bound to the key that proved possession at issue.
        if not hmac.compare_digest(session.jkt, proof.jkt):
            raise invalid_grant("The DPoP proof is not signed by the key bound to this token.")
        if session.revoked:
            raise token_expired("This sign-in session was signed out. Please sign in again.")
        if _epoch(session.ends) <= now:
            raise token_expired("The sign-in session has reached its maximum duration.")
        if token.generation != session.generation:
            raise self._replayed(session)
        # Checked before rotating: a refused refresh (credentials changed, permissions
        # gone) leaves the holder's token as it was, so the next try gets the same answer.
        caller, claims, _ = self._principal(grant, now)
        state["caller"] = caller
        self._authorize(caller, "signin:CreateOAuth2Token", grant, meta,
                        self._token_context(grant, "refresh_token", None))
        if not self.store.rotate_signin_session(session.session_id, token.generation,
                                                meta.now):
            raise self._replayed(session)
        lifetime = grants.credential_lifetime(
            now, _epoch(session.ends), setting=self.runtime.settings.login_credential_seconds)
        credentials = self._mint(claims, grant.account_id, lifetime, meta)
        return self._token_result(credentials, lifetime, session.session_id,
                                  token.generation + 1)

    def _replayed(self, session: SigninSession) -> SigninError:
        # RFC 9700 §4.14.2: a rotated-out refresh token came back; one of the two holders
        # is an attacker, so the whole session ends.
        self.store.revoke_signin_session(session.session_id)
        return token_expired("The refresh token was already used. Please sign in again.")

    async def revoke(self, body: Any, *, dpop: str | None, url: str, meta: RequestMeta) -> None:
        """Sign out a session (``opensts logout``): the holder proves the bound key."""
        if not isinstance(body, dict) or not isinstance(body.get("refreshToken"), str):
            raise invalid_request("refreshToken is required.")
        try:
            proof = rfc9449.verify_proof(dpop, method="POST", url=url, now=meta.now)
        except rfc9449.InvalidProof as bad:
            raise invalid_request(f"Invalid DPoP proof: {bad}.") from None
        try:
            token = grants.open_refresh_token(self.runtime.keyring, body["refreshToken"])
            session = self.store.get_signin_session(token.session_id)
        except (InvalidToken, NotFound):
            return  # RFC 7009 §2.2: an invalid token is not an error for revocation
        if hmac.compare_digest(session.jkt, proof.jkt):
            self.store.revoke_signin_session(session.session_id)

    @staticmethod
    def _token_context(
        grant: grants.Grant, grant_type: str, redirect_uri: str | None
    ) -> dict[str, str | list[str]]:
        context: dict[str, str | list[str]] = {
            "signin:OAuthClientId": grant.client_id,
            "signin:OAuthGrantType": grant_type,
            "signin:OAuthClientAuthentication": "none",
        }
        if redirect_uri:
            context["signin:OAuthRedirectUri"] = redirect_uri
        return context

    def _mint(
        self, claims: dict[str, Any], account_id: str, lifetime: int, meta: RequestMeta
    ) -> dict[str, Any]:
        claims = {k: v for k, v in claims.items() if k != "iat"}
        ctx = CallContext(self.runtime, None, meta)
        credentials, _ = sessions.mint(ctx, account_id, claims, lifetime)
        return credentials

    def _token_result(
        self, credentials: dict[str, Any], lifetime: int, session_id: str, generation: int
    ) -> dict[str, Any]:
        refresh = grants.seal_refresh_token(
            self.runtime.keyring, grants.RefreshToken(session_id, generation))
        return {
            "accessToken": {
                "accessKeyId": credentials["AccessKeyId"],
                "secretAccessKey": credentials["SecretAccessKey"],
                "sessionToken": credentials["SessionToken"],
            },
            "tokenType": "aws_sigv4",
            "expiresIn": lifetime,
            "refreshToken": refresh,
        }

    # -- audit -------------------------------------------------------------------------------

    async def _audit(
        self, action: str, meta: RequestMeta, caller: Caller | None, record: AuditRecord,
        grant: grants.Grant | None, error: AwsError | None, *, service: str = "signin",
        read_only: bool = True, account: str | None = None,
    ) -> None:
        if caller is not None:
            record.user_identity = {
                "type": caller.type, "principalId": caller.principal_id, "arn": caller.arn,
                "accountId": caller.account_id,
                **({"userName": caller.user_name} if caller.user_name else {}),
            }
        if service == "signin" and isinstance(error, SigninError):
            record.additional_event_data = {**record.additional_event_data,
                                            "oauthError": error.error}
        event = build_event(
            service=service, action=action, meta=meta, caller=None, record=record,
            read_only=read_only,
            recipient_account=grant.account_id if grant else account,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
        )
        await self.runtime.audit.write(event)
