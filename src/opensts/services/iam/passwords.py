"""A user changing their own console password: IAM ``ChangePassword`` (IAM API reference,
API_ChangePassword.html) and the shared rule the sign-in pages use for a forced change.

ChangePassword acts on the caller's own login profile: only an IAM user may call it (the
root user and role sessions get ``InvalidUserType``, AWS CLI ``change-password`` example),
it needs ``iam:ChangePassword`` on the user's ARN (the ``IAMUserChangePassword`` managed
policy), the old password must be right and the new one must meet the account password
policy (``PasswordPolicyViolation``). A successful change also satisfies
``PasswordResetRequired`` (id_credentials_passwords_admin-change-user.html).

Wrong old passwords count towards the sign-in back-off of the same user, so ChangePassword
is no faster way to guess a password than the sign-in page; past it, ``LimitExceeded``.
"""

from __future__ import annotations

import dataclasses
import hmac
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opensts.directory.records import LoginProfile
from opensts.errors import LimitExceeded, SenderError, ValidationError
from opensts.services.context import CallContext
from opensts.services.iam import password_policy
from opensts.services.iam.common import account, store_errors
from opensts.services.iam.credentials import PASSWORD, PASSWORD_TEXT
from opensts.services.iam.errors import PasswordPolicyViolation
from opensts.services.registry import operation
from opensts.services.signin import throttle
from opensts.wire.params import Params

_hasher = PasswordHasher()
MAX_PASSWORD = 128


class InvalidUserType(SenderError):
    code = "InvalidUserType"


class EntityTemporarilyUnmodifiable(SenderError):
    code = "EntityTemporarilyUnmodifiable"


class PasswordChangedMeanwhile(Exception):
    """The login profile's password changed between checking the old one and writing."""


def verify(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the argon2 ``password_hash`` (constant time inside
    argon2's verify)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def replace_password(
    store: Any, account_id: str, user_name: str, *, verified_hash: str, new_password: str,
    now: datetime | None = None,
) -> LoginProfile:
    """Set a user's new password after the current one (``verified_hash``) was checked:
    policy, not the same password again, then one store mutation writing the new argon2
    hash and clearing ``PasswordResetRequired``.

    Raises ``PasswordPolicyViolation`` (an ``AwsError``) for a policy violation or a
    reused password, :class:`PasswordChangedMeanwhile` when the stored hash is no longer
    ``verified_hash`` (a concurrent change won; nothing is written), ``NotFound`` when the
    user or login profile is gone.
    """
    if len(new_password) > MAX_PASSWORD or not PASSWORD.fullmatch(new_password):
        # Reached from the sign-in page; the API's own parameter check says this first.
        raise ValidationError("The password may hold only tab, line feed, carriage return "
                              "and the characters U+0020 to U+00FF, at most 128 of them.")
    policy = store.find_password_policy(account_id)
    password_policy.check_new_password(policy, new_password)
    if verify(verified_hash, new_password):
        # The point of a forced change is a password the administrator does not know.
        raise PasswordPolicyViolation(
            "Password does not conform to the account password policy: the new password "
            "must differ from the current one.")
    # PasswordReusePrevention, checked outside the write transaction (argon2 is slow): the
    # history changes only with the hash, which the mutation below checks again.
    current = store.get_login_profile(account_id, user_name)
    if not hmac.compare_digest(current.password_hash, verified_hash):
        raise PasswordChangedMeanwhile()
    password_policy.check_reuse(policy, current, new_password, verify)
    new_hash = _hasher.hash(new_password)
    changed_at = now or datetime.now(UTC)

    def change(profile: LoginProfile) -> LoginProfile:
        # Inside the store's transaction: a password changed since the check aborts it.
        if not hmac.compare_digest(profile.password_hash, verified_hash):
            raise PasswordChangedMeanwhile()
        return dataclasses.replace(password_policy.with_new_hash(profile, new_hash, changed_at),
                                   password_reset_required=False)

    return store.update_login_profile(account_id, user_name, change)  # type: ignore[no-any-return]


def _password(params: Params, name: str) -> str:
    return params.required(name, min_len=1, max_len=MAX_PASSWORD, pattern=PASSWORD,
                           pattern_text=PASSWORD_TEXT)


def _throttled(store: Any, key: str, now: datetime) -> None:
    count = store.get_signin_failures(key)
    if throttle.retry_after(throttle.USER, count.failures, count.last_failure, now) > 0:
        raise LimitExceeded("Too many invalid password attempts. Try again later.")


@operation("iam", "ChangePassword")
def change_password(ctx: CallContext, params: Params) -> None:
    old = _password(params, "OldPassword")
    new = _password(params, "NewPassword")
    ctx.audit.request_parameters = None  # both members are secrets
    caller = ctx.require_caller()
    if caller.type != "IAMUser" or caller.user_name is None:
        raise InvalidUserType("Only IAM users can change their own password with "
                              "ChangePassword; use UpdateLoginProfile for other users.")
    acct = account(ctx)
    store = ctx.runtime.store
    user = store.get_user(acct, caller.user_name)
    # AllowUsersToChangePassword grants this to every IAM user (password_policy).
    password_policy.authorize_self_service(ctx, "iam:ChangePassword", user.arn,
                                           store.find_password_policy(acct))
    key = throttle.user_key(acct, user.name)
    _throttled(store, key, ctx.meta.now)
    with store_errors(user=user.name, login_profile=user.name):
        profile = store.get_login_profile(acct, user.name)
        if not verify(profile.password_hash, old):
            store.record_signin_failure(key, ctx.meta.now,
                                        window_seconds=throttle.USER.window_seconds)
            raise InvalidUserType("The old password is incorrect.")
        try:
            replace_password(store, acct, user.name, verified_hash=profile.password_hash,
                             new_password=new, now=ctx.meta.now)
        except PasswordChangedMeanwhile:
            raise EntityTemporarilyUnmodifiable(
                f"Login Profile for User {user.name} is being modified; try again.") from None
    store.clear_signin_failures(key)
