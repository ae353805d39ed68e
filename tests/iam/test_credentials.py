"""Access keys, virtual MFA, login profiles; boundaries and session policies observed
through IAM calls; atomicity of failed mutations."""

from __future__ import annotations

import json
import time
from typing import Any

import pyotp

from .helpers import allow, doc, error_of, trust, unique


def test_access_key_lifecycle(iam: Any, server: Any) -> None:
    name = unique("keys")
    iam.create_user(UserName=name)
    k1 = iam.create_access_key(UserName=name)["AccessKey"]
    assert k1["AccessKeyId"].startswith("AKIA") and len(k1["AccessKeyId"]) == 20
    assert len(k1["SecretAccessKey"]) == 40 and k1["Status"] == "Active"
    k2 = iam.create_access_key(UserName=name)["AccessKey"]
    assert error_of(iam.create_access_key, UserName=name) == (
        "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert {k["AccessKeyId"] for k in listed} == {k1["AccessKeyId"], k2["AccessKeyId"]}
    assert all("SecretAccessKey" not in k for k in listed)
    # the new key works, and stops working once inactive
    sts = server.client("sts", k1["AccessKeyId"], k1["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    last = iam.get_access_key_last_used(AccessKeyId=k2["AccessKeyId"])
    assert last["UserName"] == name and last["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    used = iam.get_access_key_last_used(AccessKeyId=k1["AccessKeyId"])["AccessKeyLastUsed"]
    assert (used["ServiceName"], used["Region"]) == ("sts", "us-east-1")
    iam.update_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"], Status="Inactive")
    assert error_of(sts.get_caller_identity)[0] == "InvalidClientTokenId"
    iam.delete_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"])
    assert error_of(iam.delete_access_key, UserName=name, AccessKeyId=k1["AccessKeyId"]) == (
        "NoSuchEntity", 404, f"The Access Key with id {k1['AccessKeyId']} cannot be found.")
    # a user manages its own keys without naming itself
    iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=doc(allow(
        "iam:ListAccessKeys", "iam:CreateAccessKey",
        resource=f"arn:aws:iam::{server.account_id}:user/{name}")))
    me = server.client("iam", k2["AccessKeyId"], k2["SecretAccessKey"])
    assert [k["AccessKeyId"] for k in me.list_access_keys()["AccessKeyMetadata"]] == [
        k2["AccessKeyId"]]
    assert me.create_access_key()["AccessKey"]["UserName"] == name


def test_virtual_mfa_enable_and_use(iam: Any, server: Any) -> None:
    name = unique("mfa")
    iam.create_user(UserName=name)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    serial = device["SerialNumber"]
    assert serial == f"arn:aws:iam::{server.account_id}:mfa/{name}"
    seed = device["Base32StringSeed"].decode()  # botocore decodes the base64 blob
    totp = pyotp.TOTP(seed)
    step = int(time.time()) // 30
    assert error_of(iam.enable_mfa_device, UserName=name, SerialNumber=serial,
                    AuthenticationCode1="000000", AuthenticationCode2="000000") in [
        ("InvalidAuthenticationCode", 403, "Authentication code for device is not valid.")]
    iam.enable_mfa_device(UserName=name, SerialNumber=serial,
                          AuthenticationCode1=totp.at((step - 2) * 30),
                          AuthenticationCode2=totp.at((step - 1) * 30))
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=name)["MFADevices"]] == [
        serial]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert serial in [d["SerialNumber"] for d in assigned]
    assert error_of(iam.delete_virtual_mfa_device, SerialNumber=serial)[:2] == (
        "DeleteConflict", 409)
    assert error_of(iam.delete_user, UserName=name) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete MFA device first.")
    # the device now guards STS: a current code works once
    key = iam.create_access_key(UserName=name)["AccessKey"]
    sts = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    code = totp.at(int(time.time()))
    creds = sts.get_session_token(SerialNumber=serial, TokenCode=code)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert error_of(sts.get_session_token, SerialNumber=serial, TokenCode=code)[0] == (
        "AccessDenied")
    iam.deactivate_mfa_device(UserName=name, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=name)["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error_of(iam.delete_virtual_mfa_device, SerialNumber=serial) == (
        "NoSuchEntity", 404, f"VirtualMFADevice with serial number {serial} doesn't exist.")


def test_login_profile(iam: Any) -> None:
    name = unique("login")
    iam.create_user(UserName=name)
    assert error_of(iam.create_login_profile, UserName=name, Password="short")[:2] == (
        "PasswordPolicyViolation", 400)
    profile = iam.create_login_profile(UserName=name, Password="Correct-Horse-9",
                                       PasswordResetRequired=True)["LoginProfile"]
    assert profile["UserName"] == name and profile["PasswordResetRequired"] is True
    assert error_of(iam.create_login_profile, UserName=name, Password="Correct-Horse-9") == (
        "EntityAlreadyExists", 409, f"Login Profile for user {name} already exists.")
    iam.update_login_profile(UserName=name, PasswordResetRequired=False)
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is False
    assert error_of(iam.delete_user, UserName=name) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete login profile first.")
    iam.delete_login_profile(UserName=name)
    assert error_of(iam.get_login_profile, UserName=name) == (
        "NoSuchEntity", 404, f"Login Profile for User {name} cannot be found.")
    iam.delete_user(UserName=name)


def test_permissions_boundary_limits_iam_calls(iam: Any, server: Any, new_user: Any) -> None:
    name, key, secret = new_user({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})
    client = server.client("iam", key, secret)
    assert client.list_users(MaxItems=1)["Users"]
    iam.put_user_permissions_boundary(
        UserName=name, PermissionsBoundary="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    assert client.list_users(MaxItems=1)["Users"]
    assert error_of(client.create_user, UserName=unique("x"))[:2] == ("AccessDenied", 403)


def test_session_policy_limits_iam_calls(iam: Any, server: Any, new_user: Any) -> None:
    role = unique("session-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(server.account_id))
    iam.attach_role_policy(RoleName=role,
                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    _, key, secret = new_user(allow("sts:AssumeRole"))
    sts = server.client("sts", key, secret)
    arn = f"arn:aws:iam::{server.account_id}:role/{role}"
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="sess",
                            Policy=json.dumps(allow("iam:ListRoles")))["Credentials"]
    limited = server.client("iam", creds["AccessKeyId"], creds["SecretAccessKey"],
                            creds["SessionToken"])
    assert limited.list_roles(MaxItems=1)["Roles"]
    assert error_of(limited.list_users)[:2] == ("AccessDenied", 403)
    # a role session has no user of its own
    assert error_of(limited.get_user)[0] in ("ValidationError", "AccessDenied")


def test_failed_mutations_leave_nothing_behind(iam: Any, server: Any) -> None:
    name = unique("atomic")
    missing = "arn:aws:iam::aws:policy/DoesNotExistAnywhere"
    assert error_of(iam.create_role, RoleName=name,
                    AssumeRolePolicyDocument=trust(server.account_id),
                    PermissionsBoundary=missing)[0] == "NoSuchEntity"
    assert error_of(iam.get_role, RoleName=name)[0] == "NoSuchEntity"
    assert error_of(iam.create_user, UserName=name, Tags=[
        {"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}])[0] == "InvalidInput"
    assert error_of(iam.get_user, UserName=name)[0] == "NoSuchEntity"
    assert error_of(iam.create_policy, PolicyName=name, PolicyDocument="{}")[0] == (
        "MalformedPolicyDocument")
    assert name not in [p["PolicyName"] for p in iam.list_policies(Scope="Local", MaxItems=1000)[
        "Policies"]]
