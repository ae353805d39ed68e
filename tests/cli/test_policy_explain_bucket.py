"""`opensts policy explain --endpoint-url` on S3: the bucket policy is read with
GetBucketPolicy from the gateway (OpenSTS in front of SeaweedFS) and decides like the
gateway does on real GetObject calls (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.cli.test_policy_explain_live import explain
from tests.conftest import Server
from tests.s3.conftest import gateway, s3, s3_client, seaweed  # noqa: F401  (fixtures)
from tests.s3.e2e import code, doc, unique_bucket, user


def test_a_bucket_policy_is_read_and_decides_like_the_gateway(
        gateway: Server, s3: Any) -> None:  # noqa: F811
    bucket = unique_bucket("ep")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public/a.txt", Body=b"a")
    s3.put_object(Bucket=bucket, Key="private/b.txt", Body=b"b")
    reader, key, secret = user(gateway)  # no identity policy at all
    s3.put_bucket_policy(Bucket=bucket, Policy=doc({
        "Sid": "ReadPublic", "Effect": "Allow", "Principal": {"AWS": reader},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/public/*"}))
    as_reader = s3_client(gateway, key, secret)

    public = explain(gateway, reader, "s3:GetObject", f"arn:aws:s3:::{bucket}/public/a.txt")
    assert public.returncode == 0, public.stdout + public.stderr
    assert f"[resource] arn:aws:s3:::{bucket} (bucket policy)" in public.stdout
    assert "decisive: Allow resource" in public.stdout and "(Sid ReadPublic)" in public.stdout
    assert as_reader.get_object(Bucket=bucket, Key="public/a.txt")["Body"].read() == b"a"

    private = explain(gateway, reader, "s3:GetObject", f"arn:aws:s3:::{bucket}/private/b.txt")
    assert private.returncode == 1, private.stdout + private.stderr
    with pytest.raises(ClientError) as denied:
        as_reader.get_object(Bucket=bucket, Key="private/b.txt")
    assert code(denied.value) == "AccessDenied"

    bare = unique_bucket("ep")
    s3.create_bucket(Bucket=bare)
    none = explain(gateway, reader, "s3:GetObject", f"arn:aws:s3:::{bare}/k")
    assert none.returncode == 1
    assert f"note: bucket {bare} has no bucket policy" in none.stdout
