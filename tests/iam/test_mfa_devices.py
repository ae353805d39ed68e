"""Virtual MFA devices: the QR code CreateVirtualMFADevice returns, GetMFADevice, device
tags (Tag/Untag/ListMFADeviceTags), through boto3 and the AWS CLI."""

from __future__ import annotations

import time
from typing import Any

import pyotp

from opensts.services.iam.mfa import qr_code_png

from .helpers import allow, error_of, unique


def _enable(iam: Any, user: str, device: dict[str, Any]) -> None:
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    now = time.time()
    iam.enable_mfa_device(UserName=user, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp.at(now - 30),
                          AuthenticationCode2=totp.at(now))


def test_qr_code_and_get_mfa_device(iam: Any, server: Any) -> None:
    name = unique("qr")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    png = device["QRCodePNG"]  # botocore decodes the base64 blob
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # the otpauth URI AWS documents, with the seed the answer carries
    assert png == qr_code_png(name, server.account_id, device["Base32StringSeed"].decode())
    serial = device["SerialNumber"]
    iam.create_user(UserName=name)
    assert error_of(iam.get_mfa_device, SerialNumber=serial, UserName=name) == (
        "NoSuchEntity", 404, f"MFA Device with serial number {serial} does not exist.")
    _enable(iam, name, device)
    got = iam.get_mfa_device(SerialNumber=serial, UserName=name)
    assert (got["UserName"], got["SerialNumber"]) == (name, serial) and got["EnableDate"]
    assert error_of(iam.get_mfa_device, SerialNumber=serial, UserName=unique("nobody"))[0] == (
        "NoSuchEntity")
    # a device the user holds keeps the user from being deleted
    assert error_of(iam.delete_user, UserName=name) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete MFA device first.")
    iam.deactivate_mfa_device(UserName=name, SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.delete_user(UserName=name)


def test_mfa_device_tags(iam: Any, server: Any, new_user: Any) -> None:
    name = unique("mt")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Tags=[
        {"Key": "owner", "Value": "ann"}])["VirtualMFADevice"]["SerialNumber"]
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "env", "Value": "prod"}])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [
        {"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "ann"}]
    page = iam.list_mfa_device_tags(SerialNumber=serial, MaxItems=1)
    assert page["IsTruncated"] and page["Tags"] == [{"Key": "env", "Value": "prod"}]
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["owner"])
    listed = [d for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]
              if d["SerialNumber"] == serial]
    assert listed[0]["Tags"] == [{"Key": "env", "Value": "prod"}]
    missing = f"arn:aws:iam::{server.account_id}:mfa/{unique('none')}"
    assert error_of(iam.tag_mfa_device, SerialNumber=missing,
                    Tags=[{"Key": "k", "Value": "v"}]) == (
        "NoSuchEntity", 404, f"VirtualMFADevice with serial number {missing} doesn't exist.")
    # tag permissions by resource tag
    _, key, secret = new_user({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:ListMFADeviceTags", "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}]})
    client = server.client("iam", key, secret)
    assert error_of(client.list_mfa_device_tags, SerialNumber=serial)[:2] == (
        "AccessDenied", 403)
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "env", "Value": "dev"}])
    assert client.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [
        {"Key": "env", "Value": "dev"}]
    server.aws("iam", "untag-mfa-device", "--serial-number", serial, "--tag-keys", "env")
    assert server.aws_json("iam", "list-mfa-device-tags", "--serial-number", serial)[
        "Tags"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)


def test_get_mfa_device_authorization(server: Any, new_user: Any) -> None:
    name, key, secret = new_user(allow("iam:ListMFADevices"))
    client = server.client("iam", key, secret)
    serial = f"arn:aws:iam::{server.account_id}:mfa/{name}"
    code, status, message = error_of(client.get_mfa_device, SerialNumber=serial)
    assert (code, status) == ("AccessDenied", 403)
    assert f"iam:GetMFADevice on resource: arn:aws:iam::{server.account_id}:user/{name}" in (
        message)
