"""The root user's login profile, reached from a privileged root session (AssumeRoot).

IAM API reference, GetLoginProfile/DeleteLoginProfile/CreateLoginProfile: UserName "is
optional. If no user name is included, it defaults to the principal making the request.
When you make this request with root user credentials, you must use an AssumeRoot session
to omit the user name"; CreateLoginProfile's Password "must be omitted when you make the
request with an AssumeRoot session" (the root then sets one through password recovery,
task IAMCreateRootUserPassword). OpenSTS has no console sign-in for the root user, so the
profile is bookkeeping: whether the root has a password, since when.

Kept as a per-account setting (``iam_root_login_profile``: created, reset flag), not in
the users' login profile table, whose rows belong to IAM users.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from opensts.errors import SenderError, ValidationError
from opensts.services.context import CallContext, Caller
from opensts.wire.params import Params

SETTING = "iam_root_login_profile"


def is_root_session(caller: Caller) -> bool:
    return caller.is_root and (caller.session or {}).get("op") == "AssumeRoot"


def wants_root(ctx: CallContext, params: Params) -> bool:
    """Whether a login-profile call without UserName means the root user (an AssumeRoot
    session); other callers must name a user (the handler's validation answers)."""
    return "UserName" not in params and is_root_session(ctx.require_caller())


def _missing(account_id: str) -> SenderError:
    return SenderError(f"Login Profile for User {account_id} cannot be found.",
                       code="NoSuchEntity", status=404)


def _profile(account_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    return {"UserName": account_id, "CreateDate": datetime.fromisoformat(stored["created"]),
            "PasswordResetRequired": bool(stored.get("reset", False))}


def _stored(ctx: CallContext, account_id: str) -> dict[str, Any] | None:
    text = ctx.runtime.store.find_setting(account_id, SETTING)
    return json.loads(text) if text else None


def get(ctx: CallContext) -> dict[str, Any]:
    caller = ctx.require_caller()
    ctx.authorize("iam:GetLoginProfile", caller.arn)
    stored = _stored(ctx, caller.account_id)
    if stored is None:
        raise _missing(caller.account_id)
    return {"LoginProfile": _profile(caller.account_id, stored)}


def create(ctx: CallContext, params: Params) -> dict[str, Any]:
    caller = ctx.require_caller()
    if "Password" in params:
        raise ValidationError("Password must be omitted when the request is made with an "
                              "AssumeRoot session.")
    reset = params.bool("PasswordResetRequired") or False
    ctx.audit.request_parameters = {"passwordResetRequired": reset}
    ctx.authorize("iam:CreateLoginProfile", caller.arn)
    if _stored(ctx, caller.account_id) is not None:
        raise SenderError(f"Login Profile for user {caller.account_id} already exists.",
                          code="EntityAlreadyExists", status=409)
    stored = {"created": ctx.meta.now.isoformat(), "reset": reset}
    ctx.runtime.store.put_setting(caller.account_id, SETTING, json.dumps(stored))
    return {"LoginProfile": _profile(caller.account_id, stored)}


def delete(ctx: CallContext) -> None:
    caller = ctx.require_caller()
    ctx.authorize("iam:DeleteLoginProfile", caller.arn)
    if _stored(ctx, caller.account_id) is None:
        raise _missing(caller.account_id)
    ctx.runtime.store.put_setting(caller.account_id, SETTING, None)
