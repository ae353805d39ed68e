"""What every credential-issuing STS operation shares.

Parameter rules (botocore's STS model), session policies and their packed size, session
tags, MFA checks, and minting: an ASIA access key id that encodes the account, a fresh
secret, and a session token that seals every claim the server needs later.
"""

from __future__ import annotations

import functools
import hmac
import json
import math
import re
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp

from opensts.credentials.ids import new_access_key_id, new_secret_access_key
from opensts.directory.errors import NotFound
from opensts.directory.records import Role
from opensts.errors import (
    AccessDenied,
    AwsError,
    InvalidParameterValue,
    MalformedPolicyDocument,
    PackedPolicyTooLarge,
    ValidationError,
)
from opensts.policy import PolicyKind, parse_policy
from opensts.services.context import CallContext, Caller
from opensts.wire.params import Params, check_str, validation_error
from opensts.wire.xml import iso8601

SESSION_NAME = re.compile(r"[\w+=,.@-]*")
SESSION_NAME_TEXT = r"[\w+=,.@-]*"
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]*")
SERIAL_NUMBER = re.compile(r"[\w+=/:,.@-]*")
TOKEN_CODE = re.compile(r"\d*")
POLICY_CHARS = re.compile(r"[\u0009\u000A\u000D\u0020-\u00FF]+")
ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]{1,64})")

MAX_POLICY_ARNS = 10
MAX_TAGS = 50
# The packed budget is ours (AWS does not publish its packing): the compressed size of the
# session policies, policy ARNs and tags, as a share of 1,024 bytes. A small inline policy
# lands near AWS's typical 10-20%; fifty long random tags exceed 100%, as on AWS.
PACKED_BUDGET_BYTES = 1024


@dataclass(frozen=True)
class SessionPolicies:
    inline: str | None
    arns: tuple[str, ...]


def role_session_name(params: Params) -> str:
    return params.required(
        "RoleSessionName",
        min_len=2,
        max_len=64,
        pattern=SESSION_NAME,
        pattern_text=SESSION_NAME_TEXT,
    )


def duration(params: Params, *, default: int, minimum: int, maximum: int) -> tuple[int, bool]:
    """DurationSeconds within the model's bounds; the flag says whether it was given."""
    value = params.int("DurationSeconds", minimum=minimum, maximum=maximum)
    return (default, False) if value is None else (value, True)


def parse_role_arn(params: Params, name: str = "RoleArn") -> tuple[str, str]:
    """Return (account, role name) of a role ARN, or AWS's ValidationError."""
    arn = params.required(name, min_len=20, max_len=2048)
    match = ROLE_ARN.fullmatch(arn)
    if match is None:
        raise ValidationError(f"{arn} is invalid")
    return match.group(1), match.group(3)


def session_policies(
    ctx: CallContext, params: Params, *, role_account: str, max_inline: int | None
) -> SessionPolicies:
    """Validate the inline ``Policy`` and ``PolicyArns`` (AWS: up to 10, same account)."""
    inline = params.str("Policy", min_len=1, max_len=max_inline, pattern=POLICY_CHARS)
    if inline is not None:
        parse_policy(inline, PolicyKind.SESSION)  # raises MalformedPolicyDocument
    arns = tuple(row.get("arn", "") for row in params.structs("PolicyArns", ["arn"]))
    if len(arns) > MAX_POLICY_ARNS:
        raise validation_error(
            "PolicyArns", f"[{len(arns)} items]", "Member must have length less than or equal to 10"
        )
    for arn in arns:
        check_str("PolicyArns.member.arn", arn, min_len=20, max_len=2048)
        parts = arn.split(":")
        owner = parts[4] if len(parts) > 5 else ""
        if owner not in ("aws", role_account):
            raise MalformedPolicyDocument(f"Policy {arn} must be in the same account as the role")
        try:
            policy = ctx.runtime.store.get_managed_policy(arn)
        except NotFound:
            raise MalformedPolicyDocument(
                f"Policy {arn} does not exist or is not attachable."
            ) from None
        if not policy.is_attachable:
            raise MalformedPolicyDocument(f"Policy {arn} does not exist or is not attachable.")
    return SessionPolicies(inline, arns)


def _tag_text_ok(text: str) -> bool:
    # botocore's pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*: letters, separators, numbers and these.
    for char in text:
        if char in "_.:/=+-@":
            continue
        category = unicodedata.category(char)
        if category[0] not in "LZN":
            return False
    return True


def session_tags(params: Params) -> tuple[dict[str, str], list[str]]:
    """Tags and TransitiveTagKeys, with AWS's limits and case-insensitive key rules."""
    rows = params.structs("Tags", ["Key", "Value"])
    if len(rows) > MAX_TAGS:
        raise validation_error(
            "Tags", f"[{len(rows)} items]", "Member must have length less than or equal to 50"
        )
    tags: dict[str, str] = {}
    seen: set[str] = set()
    for row in rows:
        key = row.get("Key")
        value = row.get("Value", "")
        if key is None:
            raise validation_error("Tags.member.key", None, "Member must not be null")
        check_str("Tags.member.key", key, min_len=1, max_len=128)
        check_str("Tags.member.value", value, max_len=256)
        if not _tag_text_ok(key) or not _tag_text_ok(value):
            raise validation_error(
                "Tags.member.key" if not _tag_text_ok(key) else "Tags.member.value",
                key if not _tag_text_ok(key) else value,
                r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+",
            )
        if key.lower().startswith("aws:"):
            raise InvalidParameterValue("Tag keys and values can't start with 'aws:'.")
        if key.lower() in seen:
            raise InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(key.lower())
        tags[key] = value
    transitive = params.strings("TransitiveTagKeys")
    if len(transitive) > MAX_TAGS:
        raise validation_error(
            "TransitiveTagKeys",
            f"[{len(transitive)} items]",
            "Member must have length less than or equal to 50",
        )
    for key in transitive:
        if key.lower() not in seen:
            raise InvalidParameterValue(
                "The specified transitive tag key must be included in the requested tags."
            )
    return tags, transitive


def packed_policy_size(
    policies: SessionPolicies, tags: Mapping[str, str], inherited: Mapping[str, str]
) -> int:
    """Percentage of the packed budget used by session policies and tags (ours, see top)."""
    pairs = tuple(f"{k}={v}" for k, v in {**inherited, **tags}.items())
    return _packed_percent(policies.inline, policies.arns, pairs)


@functools.lru_cache(maxsize=1024)
def _packed_percent(inline: str | None, arns: tuple[str, ...], tags: tuple[str, ...]) -> int:
    # Cached: clients tend to send the same session policy with every request.
    parts: list[str] = []
    if inline:
        parts.append(json.dumps(json.loads(inline), separators=(",", ":")))
    parts.extend(arns)
    parts.extend(tags)
    if not parts:
        return 0
    packed = len(zlib.compress("\n".join(parts).encode(), 9))
    return math.ceil(packed * 100 / PACKED_BUDGET_BYTES)


def check_packed_size(size: int, policies: SessionPolicies, tags: Mapping[str, str]) -> None:
    if size <= 100:
        return
    what = "policies and tags"
    if not tags:
        what = "policies"
    elif not policies.inline and not policies.arns:
        what = "tags"
    raise PackedPolicyTooLarge(f"Packed size of session {what} consumes {size}% of allotted space.")


def verify_mfa(ctx: CallContext, caller: Caller, serial: str, code: str) -> None:
    """Check a TOTP code against the caller's enabled virtual MFA device, once per code."""
    unable = AccessDenied(
        "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your "
        "MFA serial number is valid and associated with this user."
    )
    device = ctx.runtime.store.find_mfa_device(serial)
    owner = caller.user_name or (caller.session or {}).get("user")
    if device is None or device.enabled is None or device.account_id != caller.account_id:
        raise unable
    if caller.is_root:
        if device.user_name is not None:
            raise unable
    elif device.user_name is None or owner is None or device.user_name.lower() != owner.lower():
        raise unable
    seed = ctx.runtime.secret_box.open(device.sealed_seed, context=b"mfa:" + serial.encode())
    totp = pyotp.TOTP(seed.decode())
    now = ctx.meta.now
    step_now = int(now.timestamp()) // 30
    for step in (step_now, step_now - 1, step_now + 1):
        expected = totp.at(step * 30)
        if hmac.compare_digest(expected, code):
            if not ctx.runtime.store.use_mfa_code(serial, step):
                break  # replayed code
            return
    raise AccessDenied("MultiFactorAuthentication failed with invalid MFA one time pass code. ")


def mfa_params(params: Params) -> tuple[str | None, str | None]:
    serial = params.str("SerialNumber", min_len=9, max_len=256, pattern=SERIAL_NUMBER)
    code = params.str("TokenCode", min_len=6, max_len=6, pattern=TOKEN_CODE, pattern_text=r"[\d]*")
    if (serial is None) != (code is None):
        raise AccessDenied(
            "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your "
            "MFA serial number is valid and associated with this user."
        )
    return serial, code


def mint(
    ctx: CallContext, account_id: str, claims: dict[str, Any], lifetime: int
) -> tuple[dict[str, Any], datetime]:
    """Issue temporary credentials; returns the ``Credentials`` result and the expiry."""
    now = ctx.meta.now
    expires = now + timedelta(seconds=lifetime)
    access_key_id = new_access_key_id("ASIA", account_id)
    secret = new_secret_access_key()
    claims.update(
        akid=access_key_id,
        sk=secret,
        acct=claims.get("acct", account_id),
        iat=int(now.timestamp()),
        exp=int(expires.timestamp()),
    )
    token = ctx.runtime.keyring.seal({k: v for k, v in claims.items() if v not in (None, [], {})})
    credentials = {
        "AccessKeyId": access_key_id,
        "SecretAccessKey": secret,
        "SessionToken": token,
        "Expiration": expires,
    }
    return credentials, expires


def role_session(
    ctx: CallContext,
    role: Role,
    session_name: str,
    *,
    lifetime: int,
    policies: SessionPolicies,
    tags: Mapping[str, str],
    transitive_keys: Sequence[str],
    source_identity: str | None,
    mfa_at: int | None = None,
    fed: Mapping[str, Any] | None = None,
    operation: str,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Mint a role session; returns (Credentials, AssumedRoleUser) result structures."""
    assumed_arn = f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/{session_name}"
    assumed_id = f"{role.role_id}:{session_name}"
    claims: dict[str, Any] = {
        "type": "AssumedRole",
        "acct": role.account_id,
        "arn": assumed_arn,
        "pid": assumed_id,
        "role_arn": role.arn,
        "role_id": role.role_id,
        "role_name": role.name,
        "sn": session_name,
        "pol": policies.inline,
        "parns": list(policies.arns),
        "tags": dict(tags),
        "ttk": list(dict.fromkeys(transitive_keys)),
        "si": source_identity,
        "mfa": mfa_at,
        "fed": dict(fed) if fed else None,
        "op": operation,
    }
    credentials, _ = mint(ctx, role.account_id, claims, lifetime)
    record_role_use(ctx, role)
    return credentials, {"AssumedRoleId": assumed_id, "Arn": assumed_arn}


def role_lifetime(requested: int, explicit: bool, role: Role) -> int:
    if explicit and requested > role.max_session_duration:
        raise ValidationError(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    return requested


def credentials_for_audit(credentials: Mapping[str, Any]) -> dict[str, Any]:
    """CloudTrail keeps the key id, token and expiry of issued credentials, never the secret."""
    return {
        "accessKeyId": credentials["AccessKeyId"],
        "sessionToken": credentials["SessionToken"],
        "expiration": iso8601(credentials["Expiration"]),
    }


def tags_for_audit(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def request_tag_context(
    tags: Mapping[str, str], transitive: Sequence[str]
) -> dict[str, str | list[str]]:
    context: dict[str, str | list[str]] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    if tags:
        context["aws:TagKeys"] = list(tags)
    if transitive:
        context["sts:TransitiveTagKeys"] = list(transitive)
    return context


# RoleLastUsed (GetRole) is approximate, as access-key last use is: recorded when a session
# of the role is issued, at most this often per role and node, so a burst of AssumeRole
# calls costs one write.
ROLE_LAST_USED_GRANULARITY_SECONDS = 300


def record_role_use(ctx: CallContext, role: Role) -> None:
    stamp = ctx.meta.now.timestamp()
    key = f"role:{role.role_id}"
    recorded = ctx.runtime.key_last_recorded
    if stamp - recorded.get(key, 0.0) < ROLE_LAST_USED_GRANULARITY_SECONDS:
        return
    recorded[key] = stamp
    ctx.runtime.store.record_role_use(role.role_id, ctx.meta.now, ctx.meta.region)


# -- denials, for the operator's record (``opensts audit explain``) ---------------------


def trust_details(role: Role, operation: str) -> dict[str, Any]:
    """What a trust-policy denial's record keeps besides the decision: the operation and
    the trust policy as it was evaluated (it may have changed by the time anyone asks)."""
    try:
        document: Any = json.loads(role.assume_role_policy)
    except ValueError:
        document = role.assume_role_policy
    return {"operation": operation, "trustPolicy": {"role": role.arn, "document": document}}


def refusal(
    ctx: CallContext,
    error: AwsError,
    *,
    principal: str | None,
    action: str,
    resource: str,
    reason: str,
    operation: str,
    refused_by: str = "sts",
    extra: Mapping[str, Any] | None = None,
) -> AwsError:
    """Record a denial no policy decided (``refused_by`` ``sts``: a rule of the service,
    ``federation``: the assertion or token) with the reason the caller is not told, and
    return ``error`` to raise."""
    details: dict[str, Any] = {"operation": operation, "refusedBy": refused_by,
                               "errorCode": error.code, "errorMessage": error.message}
    if extra:
        details.update(extra)
    ctx.runtime.authorizer.record(ctx.meta, principal, action, resource, None, reason=reason,
                                  details=details)
    return error
