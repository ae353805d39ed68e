"""Virtual MFA devices beyond their lifecycle (services/iam/credentials.py): GetMFADevice,
TagMFADevice, UntagMFADevice, ListMFADeviceTags (IAM API reference, API_GetMFADevice.html,
API_TagMFADevice.html and siblings) and the QR code CreateVirtualMFADevice returns.

Authorization: the tag actions on the device's ARN (``mfa`` resource type); GetMFADevice
on the user (``user`` resource type, service authorization reference).
"""

from __future__ import annotations

import dataclasses
import io
import urllib.parse
from collections.abc import Callable
from typing import Any

import segno

from opensts.directory.records import VirtualMfaDevice
from opensts.errors import NoSuchEntity, ValidationError
from opensts.services.context import CallContext
from opensts.services.iam.common import account, load_user, opt_name_param, store_errors
from opensts.services.iam.credentials import SERIAL, SERIAL_TEXT
from opensts.services.iam.instance_profiles import resource_tags
from opensts.services.iam.resource import Resource
from opensts.services.iam.tagging import register_tag_operations
from opensts.services.registry import operation
from opensts.wire.params import Params


def qr_code_png(device_name: str, account_name: str, seed: str) -> bytes:
    """The PNG of ``otpauth://totp/$virtualMFADeviceName@$AccountName?secret=$Base32String``
    (API_VirtualMFADevice, QRCodePNG)."""
    label = urllib.parse.quote(f"{device_name}@{account_name}", safe="@")
    uri = f"otpauth://totp/{label}?secret={seed}"
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=4)
    return out.getvalue()


def _serial(params: Params) -> str:
    return params.required("SerialNumber", min_len=9, max_len=256, pattern=SERIAL,
                           pattern_text=SERIAL_TEXT)


@operation("iam", "GetMFADevice", read_only=True)
def get_mfa_device(ctx: CallContext, params: Params) -> dict[str, Any]:
    serial = _serial(params)
    name = opt_name_param(params, "UserName")
    caller = ctx.require_caller()
    if name is None:
        if caller.type != "IAMUser" or caller.user_name is None:
            raise ValidationError("Must specify userName when calling with non-User credentials")
        name = caller.user_name
    ctx.audit.request_parameters = {"serialNumber": serial, "userName": name}
    user = load_user(ctx, "iam:GetMFADevice", name)
    device = ctx.runtime.store.find_mfa_device(serial)
    if (device is None or device.account_id != account(ctx) or device.user_name is None
            or device.user_name.lower() != user.name.lower()):
        raise NoSuchEntity(f"MFA Device with serial number {serial} does not exist.")
    return {"UserName": device.user_name, "SerialNumber": device.serial,
            "EnableDate": device.enabled}


def load_device(ctx: CallContext, action: str, serial: str,
                context: dict[str, str | list[str]] | None = None) -> VirtualMfaDevice:
    acct = account(ctx)
    device = ctx.runtime.store.find_mfa_device(serial)
    if device is None or device.account_id != acct:
        ctx.authorize(action, serial, context=context)
        raise NoSuchEntity(f"VirtualMFADevice with serial number {serial} doesn't exist.")
    ctx.authorize(action, device.serial, context=resource_tags(device.tags, context))
    return device  # type: ignore[no-any-return]


def _update(ctx: CallContext, serial: str, device: VirtualMfaDevice,
            change: Callable[[VirtualMfaDevice], VirtualMfaDevice]) -> None:
    with store_errors(mfa_device=serial):
        ctx.runtime.store.update_mfa_device_tags(
            device.serial, lambda tags: change(dataclasses.replace(device, tags=tags)).tags)


RESOURCE = Resource("MFADevice", _serial, "serialNumber", load_device, _update)
register_tag_operations(RESOURCE)
