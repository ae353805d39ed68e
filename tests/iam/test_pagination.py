"""Marker/MaxItems paging of the IAM listings that return small per-entity lists (access
keys, MFA devices, policy versions, tags, entities for a policy), through boto3's
paginators and the AWS CLI, which pages automatically."""

from __future__ import annotations

import time
from typing import Any

import pyotp

from .helpers import allow, doc, error_of, unique


def pages(iam: Any, operation: str, key: str, **kwargs: Any) -> list[list[Any]]:
    """Every page boto3's paginator fetches, one item per page."""
    paginator = iam.get_paginator(operation)
    return [page[key] for page in paginator.paginate(PaginationConfig={"PageSize": 1},
                                                     **kwargs)]


def test_access_keys_page(iam: Any, server: Any) -> None:
    name = unique("pgkeys")
    iam.create_user(UserName=name)
    first = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    second = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    one = iam.list_access_keys(UserName=name, MaxItems=1)
    assert one["IsTruncated"] is True and one["Marker"]
    assert [k["AccessKeyId"] for k in one["AccessKeyMetadata"]] == [first]
    rest = iam.list_access_keys(UserName=name, MaxItems=1, Marker=one["Marker"])
    assert [k["AccessKeyId"] for k in rest["AccessKeyMetadata"]] == [second]
    assert rest["IsTruncated"] is False and "Marker" not in rest
    assert [[k["AccessKeyId"] for k in p] for p in pages(
        iam, "list_access_keys", "AccessKeyMetadata", UserName=name)] == [[first], [second]]
    # the CLI follows the markers itself
    out = server.aws_json("iam", "list-access-keys", "--user-name", name, "--page-size", "1")
    assert [k["AccessKeyId"] for k in out["AccessKeyMetadata"]] == [first, second]
    assert error_of(iam.list_access_keys, UserName=name, Marker="abc") == (
        "ValidationError", 400, "Invalid Marker.")
    # a page resumes after its marker even when that key is gone
    iam.delete_access_key(UserName=name, AccessKeyId=first)
    after = iam.list_access_keys(UserName=name, Marker=one["Marker"])
    assert [k["AccessKeyId"] for k in after["AccessKeyMetadata"]] == [second]


def test_policy_versions_page_newest_first(iam: Any, server: Any) -> None:
    arn = iam.create_policy(PolicyName=unique("pgver"),
                            PolicyDocument=doc(allow("s3:GetObject")))["Policy"]["Arn"]
    for action in ("s3:PutObject", "s3:ListBucket", "s3:DeleteObject"):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow(action)))
    assert [[v["VersionId"] for v in p] for p in pages(
        iam, "list_policy_versions", "Versions", PolicyArn=arn)] == [
        ["v4"], ["v3"], ["v2"], ["v1"]]
    two = iam.list_policy_versions(PolicyArn=arn, MaxItems=2)
    assert [v["VersionId"] for v in two["Versions"]] == ["v4", "v3"] and two["IsTruncated"]
    iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    rest = iam.list_policy_versions(PolicyArn=arn, MaxItems=2, Marker=two["Marker"])
    assert [v["VersionId"] for v in rest["Versions"]] == ["v2", "v1"]
    assert rest["IsTruncated"] is False
    out = server.aws_json("iam", "list-policy-versions", "--policy-arn", arn,
                          "--page-size", "1")
    assert [v["VersionId"] for v in out["Versions"]] == ["v4", "v2", "v1"]


def _enable(iam: Any, user: str, device: str) -> str:
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName=device)["VirtualMFADevice"]
    totp = pyotp.TOTP(created["Base32StringSeed"].decode())
    step = int(time.time()) // 30
    iam.enable_mfa_device(UserName=user, SerialNumber=created["SerialNumber"],
                          AuthenticationCode1=totp.at((step - 2) * 30),
                          AuthenticationCode2=totp.at((step - 1) * 30))
    return str(created["SerialNumber"])


def test_mfa_devices_page(iam: Any, server: Any) -> None:
    name = unique("pgmfa")
    iam.create_user(UserName=name)
    serials = [_enable(iam, name, f"{name}-{i}") for i in range(3)]
    listed = [[d["SerialNumber"] for d in p]
              for p in pages(iam, "list_mfa_devices", "MFADevices", UserName=name)]
    assert listed == [[s] for s in serials]
    out = server.aws_json("iam", "list-mfa-devices", "--user-name", name, "--page-size", "2")
    assert [d["SerialNumber"] for d in out["MFADevices"]] == serials
    # the account-wide listing pages too (it did before; checked alongside)
    virtual = [d["SerialNumber"] for p in pages(
        iam, "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Assigned")
        for d in p]
    assert set(serials) <= set(virtual) and len(virtual) == len(set(virtual))
