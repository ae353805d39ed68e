"""Enforcing the account password policy (id_credentials_passwords_account-policy.html,
API_PasswordPolicy.html) wherever a console password is set or used.

* Without a policy, AWS's default applies: at least 8 characters and three of upper case,
  lower case, digits and symbols (``credentials.check_password_policy``).
* With one, exactly its rules: the minimum length, the required character classes, the
  symbols ``! @ # $ % ^ & * ( ) _ + - = [ ] { } | '`` (API_UpdateAccountPasswordPolicy).
* ``PasswordReusePrevention``: a user may not pick any of their last N passwords.
* ``MaxPasswordAge``: a password older than that has expired; at sign-in its user must
  choose a new one, or, with ``HardExpiry``, cannot sign in until an administrator resets it.
* ``AllowUsersToChangePassword``: every IAM user may change their own password (and read
  the policy) without a policy granting ``iam:ChangePassword``; an explicit deny still wins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from opensts.directory.records import LoginProfile, PasswordPolicy
from opensts.services.iam.credentials import check_password_policy
from opensts.services.iam.errors import PasswordPolicyViolation

SYMBOLS = frozenset("!@#$%^&*()_+-=[]{}|'")
HISTORY_KEPT = 24  # the largest PasswordReusePrevention


def violation(policy: PasswordPolicy, password: str) -> str | None:
    """The first rule of ``policy`` that ``password`` breaks, as AWS words it."""
    if len(password) < policy.minimum_password_length:
        return f"Password should have a minimum length of {policy.minimum_password_length}"
    if policy.require_lowercase_characters and not any("a" <= c <= "z" for c in password):
        return "Password should have at least one lowercase letter"
    if policy.require_uppercase_characters and not any("A" <= c <= "Z" for c in password):
        return "Password should have at least one uppercase letter"
    if policy.require_numbers and not any("0" <= c <= "9" for c in password):
        return "Password should have at least one number"
    if policy.require_symbols and not any(c in SYMBOLS for c in password):
        return "Password should have at least one symbol"
    return None


def check_new_password(policy: PasswordPolicy | None, password: str) -> None:
    """Raise PasswordPolicyViolation unless ``password`` meets the account's policy (AWS's
    default when there is none)."""
    if policy is None:
        check_password_policy(password)
        return
    broken = violation(policy, password)
    if broken is not None:
        raise PasswordPolicyViolation(broken)


def check_reuse(policy: PasswordPolicy | None, profile: LoginProfile, password: str,
                verify: Callable[[str, str], bool]) -> None:
    """PasswordReusePrevention N: the new password may be none of the last N (the current
    one and the N-1 before it)."""
    if policy is None or not policy.password_reuse_prevention:
        return
    recent = (profile.password_hash, *profile.previous_hashes)[:policy.password_reuse_prevention]
    if any(verify(h, password) for h in recent):
        raise PasswordPolicyViolation(
            f"Password does not conform to the account password policy: it was used as one "
            f"of the last {policy.password_reuse_prevention} passwords.")


def with_new_hash(profile: LoginProfile, new_hash: str, now: datetime) -> LoginProfile:
    """The profile after a password change: the old hash joins the history."""
    history = (profile.password_hash, *profile.previous_hashes)[:HISTORY_KEPT]
    return dataclasses.replace(profile, password_hash=new_hash, password_changed=now,
                               previous_hashes=history)


def expired(policy: PasswordPolicy | None, profile: LoginProfile, now: datetime) -> bool:
    if policy is None or policy.max_password_age is None:
        return False
    changed = profile.password_changed or profile.created
    return now >= changed + timedelta(days=policy.max_password_age)


def may_change_own_password(policy: PasswordPolicy | None) -> bool:
    return policy is not None and policy.allow_users_to_change_password


def authorize_self_service(ctx: Any, action: str, resource: str,
                           policy: PasswordPolicy | None) -> None:
    """``ctx.authorize``, except that with AllowUsersToChangePassword an IAM user is
    allowed ``action`` unless a policy explicitly denies it."""
    caller = ctx.require_caller()
    authorize_caller(ctx.runtime.authorizer, caller, action, resource, ctx.meta, policy)


def authorize_caller(authorizer: Any, caller: Any, action: str, resource: str, meta: Any,
                     policy: PasswordPolicy | None) -> None:
    if caller.type == "IAMUser" and may_change_own_password(policy):
        decision = authorizer.decide(caller, action, resource, meta=meta)
        if decision.decision != "explicitDeny":
            return
    authorizer.authorize(caller, action, resource, meta=meta)
