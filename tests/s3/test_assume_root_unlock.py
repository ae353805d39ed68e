"""AssumeRoot's S3UnlockBucketPolicy task through the gateway (SeaweedFS behind it): a
member account's bucket locked by a policy that denies everyone is unlocked by a privileged
root session of that account, which may read, replace and delete the bucket policy (the
bucket owner's root keeps those three actions whatever the bucket policy says,
API_DeleteBucketPolicy) and do nothing else (the task policy)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.s3.conftest import Seaweed, s3_client
from tests.s3.e2e import admin_of, allow, code, doc, new_account, unique_bucket, user

UNLOCK = "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"
AUDIT = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"


def lock(bucket: str) -> str:
    return doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]})


def denied(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return code(info.value)


def root_session(gateway: Server, member: str, task: str) -> dict[str, Any]:
    iam = gateway.client("iam")
    gateway.client("organizations").enable_aws_service_access(
        ServicePrincipal="iam.amazonaws.com")
    iam.enable_organizations_root_credentials_management()
    iam.enable_organizations_root_sessions()
    _, key, secret = user(gateway, doc(allow("sts:AssumeRoot", "arn:aws:iam::*:root")))
    sts = gateway.client("sts", key, secret, region="us-west-2")
    return dict(sts.assume_root(TargetPrincipal=member, TaskPolicyArn={"arn": task})[
        "Credentials"])


def test_unlock_a_bucket_policy_that_denies_everyone(gateway: Server, seaweed: Seaweed) -> None:
    member = new_account(gateway, "locked")
    admin = admin_of(gateway, member)
    owner = s3_client(gateway, admin["key"], admin["secret"], admin["token"])
    bucket = unique_bucket("locked")
    owner.create_bucket(Bucket=bucket)
    owner.put_object(Bucket=bucket, Key="data.txt", Body=b"hello")
    owner.put_bucket_policy(Bucket=bucket, Policy=lock(bucket))
    # Locked out: even the account's administrator role.
    assert denied(owner.get_object, Bucket=bucket, Key="data.txt") == "AccessDenied"
    assert denied(owner.delete_bucket_policy, Bucket=bucket) == "AccessDenied"

    # A session with another task cannot touch the bucket policy.
    audit = root_session(gateway, member, AUDIT)
    audit_s3 = s3_client(gateway, audit["AccessKeyId"], audit["SecretAccessKey"],
                         audit["SessionToken"])
    assert denied(audit_s3.delete_bucket_policy, Bucket=bucket) == "AccessDenied"

    session = root_session(gateway, member, UNLOCK)
    root = s3_client(gateway, session["AccessKeyId"], session["SecretAccessKey"],
                     session["SessionToken"])
    assert bucket in [b["Name"] for b in root.list_buckets()["Buckets"]]
    assert "Deny" in root.get_bucket_policy(Bucket=bucket)["Policy"]
    # The task covers the bucket policy only: the objects stay out of reach.
    assert denied(root.get_object, Bucket=bucket, Key="data.txt") == "AccessDenied"
    assert denied(root.put_object, Bucket=bucket, Key="other.txt", Body=b"x") == "AccessDenied"
    assert denied(root.delete_bucket_tagging, Bucket=bucket) == "AccessDenied"
    # Replacing the policy is allowed too (still locked), then deleting it unlocks.
    root.put_bucket_policy(Bucket=bucket, Policy=lock(bucket))
    root.delete_bucket_policy(Bucket=bucket)
    assert denied(root.get_bucket_policy, Bucket=bucket) == "NoSuchBucketPolicy"
    assert owner.get_object(Bucket=bucket, Key="data.txt")["Body"].read() == b"hello"
    assert not seaweed.has_object(bucket, "other.txt")
    # Outside S3 the session has nothing.
    iam = gateway.client("iam", session["AccessKeyId"], session["SecretAccessKey"],
                         session["SessionToken"])
    with pytest.raises(ClientError) as info:
        iam.list_access_keys()
    assert code(info.value) == "AccessDenied"


def test_only_the_owner_root_escapes_the_bucket_policy(gateway: Server) -> None:
    """The lockout exemption is the bucket owner's root's alone: another account's root
    (here the management account's) is refused by the same policy."""
    member = new_account(gateway, "owner")
    admin = admin_of(gateway, member)
    owner = s3_client(gateway, admin["key"], admin["secret"], admin["token"])
    bucket = unique_bucket("owned")
    owner.create_bucket(Bucket=bucket)
    owner.put_bucket_policy(Bucket=bucket, Policy=lock(bucket))
    management_root = s3_client(gateway)
    assert denied(management_root.delete_bucket_policy, Bucket=bucket) == "AccessDenied"
    session = root_session(gateway, member, UNLOCK)
    root = s3_client(gateway, session["AccessKeyId"], session["SecretAccessKey"],
                     session["SessionToken"])
    root.delete_bucket_policy(Bucket=bucket)
