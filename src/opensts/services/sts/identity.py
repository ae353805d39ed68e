"""GetCallerIdentity, GetAccessKeyInfo and DecodeAuthorizationMessage."""

from __future__ import annotations

import json
import re
from typing import Any

from opensts.credentials.ids import account_from_access_key_id
from opensts.credentials.tokens import InvalidToken
from opensts.errors import AccessDenied, SenderError
from opensts.services.context import CallContext
from opensts.services.registry import operation
from opensts.wire.params import Params

KEY_ID = re.compile(r"[\w]*")


class InvalidAuthorizationMessage(SenderError):
    code = "InvalidAuthorizationMessageException"


@operation("sts", "GetCallerIdentity", read_only=True)
def get_caller_identity(ctx: CallContext, params: Params) -> dict[str, Any]:
    # STS API reference: no permission is required, and an explicit deny has no effect.
    caller = ctx.require_caller()
    return {"UserId": caller.principal_id, "Account": caller.account_id, "Arn": caller.arn}


@operation("sts", "GetAccessKeyInfo", read_only=True)
def get_access_key_info(ctx: CallContext, params: Params) -> dict[str, Any]:
    key_id = params.required(
        "AccessKeyId", min_len=16, max_len=128, pattern=KEY_ID, pattern_text=r"[\w]*"
    )
    ctx.audit.request_parameters = {"accessKeyId": key_id}
    ctx.authorize("sts:GetAccessKeyInfo", "*")
    account = account_from_access_key_id(key_id)
    if account is None:
        stored = ctx.runtime.store.find_access_key(key_id)
        if stored is None:
            raise SenderError(
                f"The access key {key_id} does not exist.", code="InvalidParameterValue"
            )
        account = stored.account_id
    return {"Account": account}


@operation("sts", "DecodeAuthorizationMessage", read_only=True)
def decode_authorization_message(ctx: CallContext, params: Params) -> dict[str, Any]:
    encoded = params.required("EncodedMessage", min_len=1, max_len=10240)
    ctx.audit.request_parameters = {"encodedMessage": encoded}
    ctx.authorize("sts:DecodeAuthorizationMessage", "*")
    try:
        message = ctx.runtime.keyring.unseal(encoded)
    except InvalidToken:
        raise InvalidAuthorizationMessage(
            "The message is not a valid authorization message, or it has expired."
        ) from None
    if message.get("kind") != "authz" or message.get("exp", 0) < ctx.meta.now.timestamp():
        raise InvalidAuthorizationMessage(
            "The message is not a valid authorization message, or it has expired."
        )
    # Cross-account secrecy (services.denials): a message explains one account's policies
    # and is sealed with that account's id; only that account's principals may read it,
    # whoever holds the blob (a caller refused by another account's trust policy does).
    # Refused as AccessDenied, the way AWS refuses a decoder its policies do not allow:
    # sts:DecodeAuthorizationMessage is granted by an account's own policies, which cannot
    # reach another account's messages. A message sealed with no account (none are) or
    # any other account than the caller's is refused: fail closed.
    caller = ctx.require_caller()
    if message.get("account") != caller.account_id:
        raise AccessDenied(
            f"User: {caller.arn} is not authorized to perform: sts:DecodeAuthorizationMessage "
            "on resource: * because the message explains the policies of another account; "
            "only that account's principals can decode it"
        )
    return {"DecodedMessage": json.dumps(message["body"], separators=(",", ":"))}
