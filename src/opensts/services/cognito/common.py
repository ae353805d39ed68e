"""What every cognito-identity operation shares: AWS's errors, model validation of the
JSON input, the pool lookup and IAM authorization of the signed (management) calls."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

from opensts.cognito.ids import POOL_ID, pool_arn, region_of
from opensts.directory.errors import NotFound
from opensts.errors import AwsError, ValidationError
from opensts.services.context import CallContext
from opensts.services.registry import Result, operation
from opensts.store._cognito import CognitoMixin, IdentityPoolRow
from opensts.wire.params import Params

SERVICE = "cognito-identity"
COGNITO_PRINCIPAL = "cognito-identity.amazonaws.com"


def error(code: str, message: str, status: int = 400) -> AwsError:
    return AwsError(message, code=code, status=status)


def invalid_parameter(message: str) -> AwsError:
    return error("InvalidParameterException", message)


def not_authorized(message: str) -> AwsError:
    return error("NotAuthorizedException", message)


def not_found(message: str) -> AwsError:
    return error("ResourceNotFoundException", message)


def conflict(message: str) -> AwsError:
    return error("ResourceConflictException", message)


def store(ctx: CallContext) -> CognitoMixin:
    """The store's Cognito methods (``store._cognito``), through the caching wrapper."""
    return cast(CognitoMixin, ctx.runtime.store)


def cognito_operation(name: str, *, signed: bool = True, read_only: bool = False
                      ) -> Callable[[Callable[[CallContext, Params], Result]],
                                    Callable[[CallContext, Params], Result]]:
    """``@operation`` for cognito-identity: a model violation is AWS's front end's
    ``ValidationException`` (HTTP 400) here, not IAM's ``ValidationError``."""

    def register(handler: Callable[[CallContext, Params], Result]
                 ) -> Callable[[CallContext, Params], Result]:
        @functools.wraps(handler)
        def run(ctx: CallContext, params: Params) -> Result:
            try:
                return handler(ctx, params)
            except ValidationError as bad:
                raise error("ValidationException", bad.message) from None

        return operation(SERVICE, name, signed=signed, read_only=read_only)(run)

    return register


def _member(name: str) -> str:
    return name[:1].lower() + name[1:]


def _violation(name: str, value: object, constraint: str) -> ValidationError:
    shown = "***" if name in ("logins", "token") else value
    return ValidationError(
        f"1 validation error detected: Value '{shown}' at '{_member(name)}' failed to "
        f"satisfy constraint: Member must {constraint}")


def text(raw: Mapping[str, Any], name: str, *, required: bool = False, min_len: int = 1,
         max_len: int | None = None, pattern: re.Pattern[str] | None = None) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise _violation(name, None, "not be null")
        return None
    if not isinstance(value, str):
        raise error("SerializationException", f"Value for {name} must be a string")
    if len(value) < min_len:
        raise _violation(name, value, f"have length greater than or equal to {min_len}")
    if max_len is not None and len(value) > max_len:
        raise _violation(name, value, f"have length less than or equal to {max_len}")
    if pattern is not None and not pattern.fullmatch(value):
        raise _violation(name, value, f"satisfy regular expression pattern: {pattern.pattern}")
    return value


def required_text(raw: Mapping[str, Any], name: str, **kw: Any) -> str:
    value = text(raw, name, required=True, **kw)
    assert value is not None
    return value


def flag(raw: Mapping[str, Any], name: str, *, required: bool = False) -> bool | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise _violation(name, None, "not be null")
        return None
    if not isinstance(value, bool):
        raise error("SerializationException", f"Value for {name} must be a boolean")
    return value


def integer(raw: Mapping[str, Any], name: str, *, minimum: int, maximum: int,
            required: bool = False) -> int | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise _violation(name, None, "not be null")
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise error("SerializationException", f"Value for {name} must be an integer")
    if value < minimum:
        raise _violation(name, value, f"have value greater than or equal to {minimum}")
    if value > maximum:
        raise _violation(name, value, f"have value less than or equal to {maximum}")
    return value


def string_map(raw: Mapping[str, Any], name: str, *, max_items: int, key_max: int = 128,
               value_max: int = 2048, required: bool = False) -> dict[str, str]:
    value = raw.get(name)
    if value is None:
        if required:
            raise _violation(name, None, "not be null")
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise error("SerializationException", f"Value for {name} must be a map of strings")
    if len(value) > max_items:
        raise _violation(name, f"[{len(value)} entries]",
                         f"have length less than or equal to {max_items}")
    for key, item in value.items():
        if not 1 <= len(key) <= key_max:
            raise _violation(name, key, f"have key length between 1 and {key_max}")
        if not 1 <= len(item) <= value_max:
            raise _violation(name, "***" if name == "Logins" else item,
                             f"have value length between 1 and {value_max}")
    return dict(value)


def string_list(raw: Mapping[str, Any], name: str, *, max_len: int = 2048,
                min_len: int = 1) -> list[str] | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise error("SerializationException", f"Value for {name} must be a list of strings")
    for item in value:
        if not min_len <= len(item) <= max_len:
            raise _violation(name, item, f"have length between {min_len} and {max_len}")
    return list(value)


def pool_id_param(raw: Mapping[str, Any], name: str = "IdentityPoolId") -> str:
    return required_text(raw, name, max_len=55, pattern=POOL_ID)


def find_pool(ctx: CallContext, pool_id: str) -> IdentityPoolRow:
    """The pool, else AWS's ResourceNotFoundException; a signed caller sees only pools of
    its own account and region (another account's pool is as good as absent)."""
    try:
        pool = store(ctx).get_identity_pool(pool_id)
    except NotFound:
        raise not_found(f"IdentityPool '{pool_id}' not found.") from None
    caller = ctx.caller
    if caller is not None and (caller.account_id != pool.account_id
                               or region_of(pool_id) != ctx.meta.region):
        raise not_found(f"IdentityPool '{pool_id}' not found.")
    return pool


def authorize_pool(ctx: CallContext, action: str, pool: IdentityPoolRow) -> None:
    ctx.authorize(f"cognito-identity:{action}", pool_arn(pool.account_id, pool.pool_id))


def audit_pool(ctx: CallContext, pool: IdentityPoolRow) -> None:
    ctx.audit.resources = [{"ARN": pool_arn(pool.account_id, pool.pool_id),
                            "accountId": pool.account_id,
                            "type": "AWS::Cognito::IdentityPool"}]
    ctx.audit.recipient_account = pool.account_id
