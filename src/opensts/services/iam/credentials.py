"""Access keys, virtual MFA devices and login profiles (IAM API reference:
API_CreateAccessKey.html, API_CreateVirtualMFADevice.html, API_EnableMFADevice.html,
API_CreateLoginProfile.html and siblings).

Secrets never leave this module unsealed except in the one response that hands them out
(CreateAccessKey, CreateVirtualMFADevice); they are never written to the audit record.
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import re
from typing import Any

import pyotp
from argon2 import PasswordHasher

from opensts.credentials.ids import new_access_key_id, new_secret_access_key
from opensts.directory.errors import NotFound
from opensts.directory.records import AccessKey, LoginProfile, VirtualMfaDevice
from opensts.errors import NoSuchEntity, ValidationError
from opensts.services.context import CallContext
from opensts.services.iam import root_login
from opensts.services.iam.common import (
    NAME,
    NAME_TEXT,
    account,
    arn,
    load_user,
    name_param,
    opt_name_param,
    page_of,
    page_result,
    paging,
    path_param,
    render_tags,
    store_errors,
    tags_param,
    user_dict,
)
from opensts.services.iam.errors import InvalidAuthenticationCode, PasswordPolicyViolation
from opensts.services.registry import operation
from opensts.wire.params import Params

KEY_ID_TEXT = r"[\w]+"
KEY_ID = re.compile(KEY_ID_TEXT, re.ASCII)
SERIAL_TEXT = r"[\w+=/:,.@-]+"
SERIAL = re.compile(SERIAL_TEXT, re.ASCII)
CODE_TEXT = r"[\d]+"
CODE = re.compile(CODE_TEXT, re.ASCII)
PASSWORD_TEXT = r"[\u0009\u000A\u000D\u0020-\u00FF]+"  # noqa: S105 - a pattern
PASSWORD = re.compile(PASSWORD_TEXT)
ACCESS_KEYS_PER_USER = 2
MFA_DEVICES_PER_USER = 8
TOTP_STEP = 30
# EnableMFADevice: accept two consecutive codes from a few minutes around now, so a
# device whose clock drifts (or a user who waits) still enrolls.
ENROLL_WINDOW_STEPS = 10

_hasher = PasswordHasher()


def key_context(access_key_id: str) -> bytes:
    """Sealing context of an access key's secret (shared with services.authn)."""
    return b"access-key:" + access_key_id.encode()


def seed_context(serial: str) -> bytes:
    """Sealing context of a TOTP seed (shared with services.sts.sessions)."""
    return b"mfa:" + serial.encode()


def _key_owner(ctx: CallContext, params: Params, action: str) -> tuple[str | None, str]:
    """(user name or None for the account root, resource ARN), authorized for ``action``.

    Without UserName the caller's own keys are meant ("IAM determines the user name
    implicitly based on the Amazon Web Services access key ID signing the request")."""
    name = opt_name_param(params, "UserName", max_len=128)
    caller = ctx.require_caller()
    if name is None:
        if caller.is_root:
            ctx.authorize(action, caller.arn)
            return None, caller.arn
        if caller.type != "IAMUser" or caller.user_name is None:
            raise ValidationError("Must specify userName when calling with non-User credentials")
        name = caller.user_name
    user = load_user(ctx, action, name)
    return user.name, user.arn


def _key_metadata(key: AccessKey, user_name: str | None) -> dict[str, Any]:
    return {"UserName": user_name or key.user_name, "AccessKeyId": key.access_key_id,
            "Status": key.status, "CreateDate": key.created}


# -- access keys ----------------------------------------------------------------------------

@operation("iam", "CreateAccessKey")
def create_access_key(ctx: CallContext, params: Params) -> dict[str, Any]:
    user_name, _ = _key_owner(ctx, params, "iam:CreateAccessKey")
    acct = account(ctx)
    ctx.audit.request_parameters = {"userName": user_name}
    user_id = None if user_name is None else ctx.runtime.store.get_user(acct, user_name).user_id
    key_id = new_access_key_id("AKIA", acct)
    secret = new_secret_access_key()
    key = AccessKey(key_id, acct, user_name, user_id,
                    ctx.runtime.secret_box.seal(secret.encode(), context=key_context(key_id)),
                    "Active", ctx.meta.now)
    with store_errors(user=user_name or ""):
        ctx.runtime.store.create_access_key(key, max_per_user=ACCESS_KEYS_PER_USER)
    ctx.audit.response_elements = {"accessKey": {"accessKeyId": key_id, "status": "Active",
                                                 "userName": user_name}}
    return {"AccessKey": {"UserName": user_name or acct, "AccessKeyId": key_id,
                          "Status": "Active", "SecretAccessKey": secret,
                          "CreateDate": key.created}}


@operation("iam", "ListAccessKeys", read_only=True)
def list_access_keys(ctx: CallContext, params: Params) -> dict[str, Any]:
    user_name, _ = _key_owner(ctx, params, "iam:ListAccessKeys")
    marker, max_items = paging(params)
    ctx.audit.request_parameters = {"userName": user_name}
    with store_errors(user=user_name or ""):
        keys = ctx.runtime.store.list_access_keys(account(ctx), user_name)
    # The store's order: oldest first.
    page = page_of(keys, marker, max_items,
                   lambda k: f"{k.created.isoformat(timespec='microseconds')} {k.access_key_id}")
    return page_result(page, "AccessKeyMetadata",
                       [_key_metadata(k, user_name) for k in page.items])


def _key_id(params: Params) -> str:
    return params.required("AccessKeyId", min_len=16, max_len=128, pattern=KEY_ID,
                           pattern_text=KEY_ID_TEXT)


@operation("iam", "UpdateAccessKey")
def update_access_key(ctx: CallContext, params: Params) -> None:
    key_id = _key_id(params)
    status = params.required("Status", choices=["Active", "Inactive", "Expired"])
    user_name, _ = _key_owner(ctx, params, "iam:UpdateAccessKey")
    ctx.audit.request_parameters = {"accessKeyId": key_id, "status": status,
                                    "userName": user_name}
    if status == "Expired":
        raise ValidationError("Access key status Expired cannot be set.")
    with store_errors(user=user_name or "", access_key=key_id):
        ctx.runtime.store.set_access_key_status(account(ctx), user_name, key_id,
                                                status)  # type: ignore[arg-type]


@operation("iam", "DeleteAccessKey")
def delete_access_key(ctx: CallContext, params: Params) -> None:
    key_id = _key_id(params)
    user_name, _ = _key_owner(ctx, params, "iam:DeleteAccessKey")
    ctx.audit.request_parameters = {"accessKeyId": key_id, "userName": user_name}
    with store_errors(user=user_name or "", access_key=key_id):
        ctx.runtime.store.delete_access_key(account(ctx), user_name, key_id)


@operation("iam", "GetAccessKeyLastUsed", read_only=True)
def get_access_key_last_used(ctx: CallContext, params: Params) -> dict[str, Any]:
    key_id = _key_id(params)
    ctx.audit.request_parameters = {"accessKeyId": key_id}
    acct = account(ctx)
    store = ctx.runtime.store
    # Last use is bookkeeping that does not move the generation: read past the cache.
    key = getattr(store, "uncached", store).find_access_key(key_id)
    if key is None or key.account_id != acct:
        ctx.authorize("iam:GetAccessKeyLastUsed", arn(acct, "user", "/", "*"))
        raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
    if key.user_name is None:
        ctx.authorize("iam:GetAccessKeyLastUsed", f"arn:aws:iam::{acct}:root")
    else:
        load_user(ctx, "iam:GetAccessKeyLastUsed", key.user_name)
    last = key.last_used
    return {"UserName": key.user_name or acct,
            "AccessKeyLastUsed": {"LastUsedDate": last.when if last else None,
                                  "ServiceName": last.service if last else "N/A",
                                  "Region": last.region if last else "N/A"}}


# -- virtual MFA devices --------------------------------------------------------------------

def _serial(params: Params) -> str:
    return params.required("SerialNumber", min_len=9, max_len=256, pattern=SERIAL,
                           pattern_text=SERIAL_TEXT)


def _device(ctx: CallContext, action: str, serial: str) -> VirtualMfaDevice:
    acct = account(ctx)
    device = ctx.runtime.store.find_mfa_device(serial)
    ctx.authorize(action, serial if device is None else device.serial)
    if device is None or device.account_id != acct:
        raise NoSuchEntity(f"VirtualMFADevice with serial number {serial} doesn't exist.")
    return device


@operation("iam", "CreateVirtualMFADevice")
def create_virtual_mfa_device(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = params.required("VirtualMFADeviceName", min_len=1, max_len=226, pattern=NAME,
                           pattern_text=NAME_TEXT)
    path = path_param(params)
    tags = tags_param(params)
    acct = account(ctx)
    serial = arn(acct, "mfa", path, name)
    ctx.audit.request_parameters = {"virtualMFADeviceName": name, "path": path}
    ctx.authorize("iam:CreateVirtualMFADevice", serial)
    seed = pyotp.random_base32(length=64)
    device = VirtualMfaDevice(
        serial, acct, name, path,
        ctx.runtime.secret_box.seal(seed.encode(), context=seed_context(serial)),
        ctx.meta.now, tags=tags)
    with store_errors(mfa_device=name):
        ctx.runtime.store.create_mfa_device(device)
    ctx.audit.response_elements = {"virtualMFADevice": {"serialNumber": serial}}
    # Base32StringSeed is a blob in the API model: the base32 text travels base64-encoded.
    from opensts.services.iam.mfa import qr_code_png

    return {"VirtualMFADevice": {
        "SerialNumber": serial,
        "Base32StringSeed": base64.b64encode(seed.encode()).decode(),
        "QRCodePNG": base64.b64encode(qr_code_png(name, acct, seed)).decode(),
        "Tags": render_tags(tags) or None,
    }}


def _find_step(totp: pyotp.TOTP, now_step: int, code1: str, code2: str) -> int | None:
    for step in range(now_step - ENROLL_WINDOW_STEPS, now_step + 2):
        if (hmac.compare_digest(totp.at(step * TOTP_STEP), code1)
                and hmac.compare_digest(totp.at((step + 1) * TOTP_STEP), code2)):
            return step + 1
    return None


@operation("iam", "EnableMFADevice")
def enable_mfa_device(ctx: CallContext, params: Params) -> None:
    user_name = name_param(params, "UserName", max_len=128)
    serial = _serial(params)
    code1 = params.required("AuthenticationCode1", min_len=6, max_len=6, pattern=CODE,
                            pattern_text=CODE_TEXT)
    code2 = params.required("AuthenticationCode2", min_len=6, max_len=6, pattern=CODE,
                            pattern_text=CODE_TEXT)
    ctx.audit.request_parameters = {"userName": user_name, "serialNumber": serial}
    user = load_user(ctx, "iam:EnableMFADevice", user_name)
    device = ctx.runtime.store.find_mfa_device(serial)
    if device is None or device.account_id != account(ctx):
        raise NoSuchEntity(f"VirtualMFADevice with serial number {serial} doesn't exist.")
    seed = ctx.runtime.secret_box.open(device.sealed_seed, context=seed_context(serial))
    last_step = _find_step(pyotp.TOTP(seed.decode()),
                           int(ctx.meta.now.timestamp()) // TOTP_STEP, code1, code2)
    if last_step is None:
        raise InvalidAuthenticationCode("Authentication code for device is not valid.")
    with store_errors(user=user_name, mfa_device=serial):
        ctx.runtime.store.enable_mfa_device(serial, account(ctx), user.name, ctx.meta.now,
                                            last_step, max_per_user=MFA_DEVICES_PER_USER)


@operation("iam", "DeactivateMFADevice")
def deactivate_mfa_device(ctx: CallContext, params: Params) -> None:
    serial = _serial(params)
    user_name, _ = _key_owner(ctx, params, "iam:DeactivateMFADevice")
    ctx.audit.request_parameters = {"userName": user_name, "serialNumber": serial}
    if user_name is None:
        raise NoSuchEntity(f"MFA Device with serial number {serial} does not exist.")
    try:
        ctx.runtime.store.deactivate_mfa_device(serial, account(ctx), user_name)
    except NotFound as exc:
        if exc.kind == "user":
            raise NoSuchEntity(f"The user with name {user_name} cannot be found.") from None
        raise NoSuchEntity(f"MFA Device with serial number {serial} does not exist.") from None


@operation("iam", "DeleteVirtualMFADevice")
def delete_virtual_mfa_device(ctx: CallContext, params: Params) -> None:
    serial = _serial(params)
    ctx.audit.request_parameters = {"serialNumber": serial}
    _device(ctx, "iam:DeleteVirtualMFADevice", serial)
    with store_errors(mfa_device=serial):
        ctx.runtime.store.delete_mfa_device(serial)


@operation("iam", "ListMFADevices", read_only=True)
def list_mfa_devices(ctx: CallContext, params: Params) -> dict[str, Any]:
    user_name, _ = _key_owner(ctx, params, "iam:ListMFADevices")
    marker, max_items = paging(params)
    ctx.audit.request_parameters = {"userName": user_name}
    devices: list[VirtualMfaDevice] = []
    if user_name is not None:
        with store_errors(user=user_name):
            devices = ctx.runtime.store.list_mfa_devices_for_user(account(ctx), user_name)
    # The store's order: first enabled first (a listed device is enabled).
    page = page_of(devices, marker, max_items, lambda d: f"{_enabled(d)} {d.serial}")
    return page_result(page, "MFADevices", [
        {"UserName": d.user_name, "SerialNumber": d.serial, "EnableDate": d.enabled}
        for d in page.items])


def _enabled(device: VirtualMfaDevice) -> str:
    return device.enabled.isoformat(timespec="microseconds") if device.enabled else ""


@operation("iam", "ListVirtualMFADevices", read_only=True)
def list_virtual_mfa_devices(ctx: CallContext, params: Params) -> dict[str, Any]:
    status = params.str("AssignmentStatus", choices=["Assigned", "Unassigned", "Any"]) or "Any"
    marker, max_items = paging(params)
    acct = account(ctx)
    ctx.authorize("iam:ListVirtualMFADevices", arn(acct, "mfa", "/", ""))
    assigned = {"Assigned": True, "Unassigned": False, "Any": None}[status]
    with store_errors():
        page = ctx.runtime.store.list_virtual_mfa_devices(acct, assigned=assigned,
                                                          marker=marker, max_items=max_items)
    items = []
    for d in page.items:
        user = None
        if d.user_name is not None:
            user = user_dict(ctx.runtime.store.get_user(acct, d.user_name))
        items.append({"SerialNumber": d.serial, "User": user, "EnableDate": d.enabled,
                      "Tags": render_tags(d.tags) or None})
    return page_result(page, "VirtualMFADevices", items)


# -- login profiles -------------------------------------------------------------------------

def check_password_policy(password: str) -> None:
    """AWS's default password policy (id_credentials_passwords_account-policy): at least 8
    characters and at least three of upper case, lower case, digits, other characters."""
    classes = sum([
        any(c.isupper() for c in password), any(c.islower() for c in password),
        any(c.isdigit() for c in password), any(not c.isalnum() for c in password),
    ])
    if len(password) < 8 or classes < 3:
        raise PasswordPolicyViolation("Password does not conform to the account password policy.")


def _check_against_account_policy(ctx: CallContext, password: str) -> None:
    """The account's password policy, or AWS's default without one (password_policy)."""
    from opensts.services.iam.password_policy import check_new_password

    check_new_password(ctx.runtime.store.find_password_policy(account(ctx)), password)


def _password(params: Params, *, required: bool) -> str | None:
    return params.str("Password", required=required, min_len=1, max_len=128, pattern=PASSWORD,
                      pattern_text=PASSWORD_TEXT)


def _profile_dict(p: LoginProfile) -> dict[str, Any]:
    return {"UserName": p.user_name, "CreateDate": p.created,
            "PasswordResetRequired": p.password_reset_required}


@operation("iam", "CreateLoginProfile")
def create_login_profile(ctx: CallContext, params: Params) -> dict[str, Any]:
    if root_login.wants_root(ctx, params):  # an AssumeRoot session's own root
        return root_login.create(ctx, params)
    user_name = name_param(params, "UserName")
    password = _password(params, required=True)
    assert password is not None
    reset = params.bool("PasswordResetRequired") or False
    ctx.audit.request_parameters = {"userName": user_name, "passwordResetRequired": reset}
    user = load_user(ctx, "iam:CreateLoginProfile", user_name)
    _check_against_account_policy(ctx, password)
    profile = LoginProfile(account(ctx), user.name, _hasher.hash(password), ctx.meta.now, reset,
                           password_changed=ctx.meta.now)
    with store_errors(user=user_name, login_profile=user_name):
        ctx.runtime.store.create_login_profile(profile)
    return {"LoginProfile": _profile_dict(profile)}


@operation("iam", "GetLoginProfile", read_only=True)
def get_login_profile(ctx: CallContext, params: Params) -> dict[str, Any]:
    if root_login.wants_root(ctx, params):  # an AssumeRoot session's own root
        return root_login.get(ctx)
    user_name = name_param(params, "UserName")
    ctx.audit.request_parameters = {"userName": user_name}
    user = load_user(ctx, "iam:GetLoginProfile", user_name)
    with store_errors(user=user_name, login_profile=user_name):
        profile = ctx.runtime.store.get_login_profile(account(ctx), user.name)
    return {"LoginProfile": _profile_dict(profile)}


@operation("iam", "UpdateLoginProfile")
def update_login_profile(ctx: CallContext, params: Params) -> None:
    user_name = name_param(params, "UserName")
    password = _password(params, required=False)
    reset = params.bool("PasswordResetRequired")
    ctx.audit.request_parameters = {"userName": user_name, "passwordResetRequired": reset}
    user = load_user(ctx, "iam:UpdateLoginProfile", user_name)
    new_hash = None
    if password is not None:
        _check_against_account_policy(ctx, password)
        new_hash = _hasher.hash(password)
    now = ctx.meta.now

    def change(p: LoginProfile) -> LoginProfile:
        from opensts.services.iam.password_policy import with_new_hash

        if new_hash is not None:
            p = with_new_hash(p, new_hash, now)
        return dataclasses.replace(
            p, password_reset_required=p.password_reset_required if reset is None else reset)

    with store_errors(user=user_name, login_profile=user_name):
        ctx.runtime.store.update_login_profile(account(ctx), user.name, change)


@operation("iam", "DeleteLoginProfile")
def delete_login_profile(ctx: CallContext, params: Params) -> None:
    if root_login.wants_root(ctx, params):  # an AssumeRoot session's own root
        root_login.delete(ctx)
        return
    user_name = name_param(params, "UserName")
    ctx.audit.request_parameters = {"userName": user_name}
    user = load_user(ctx, "iam:DeleteLoginProfile", user_name)
    with store_errors(user=user_name, login_profile=user_name):
        ctx.runtime.store.delete_login_profile(account(ctx), user.name)
