"""Unused permissions with S3 calls through the gateway: S3 operations count as the IAM
actions that authorize them (ListObjectsV2 is s3:ListBucket, PutObject s3:PutObject)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from opensts.store import schema
from tests.analyzer.conftest import analyzer_client
from tests.conftest import Server
from tests.s3.conftest import s3_client


def test_role_that_used_two_s3_actions_is_left_with_the_others(gateway: Server) -> None:
    iam = gateway.client("iam")
    name = f"s3r-{uuid.uuid4().hex[:10]}"
    account = gateway.account_id
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:PutObject", "s3:GetObject"],
             "Resource": "*"}]}))
    user = f"u-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arn}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    engine = sa.create_engine(f"sqlite:///{gateway.data_dir / 'opensts.db'}")
    with engine.begin() as conn:
        conn.execute(sa.update(schema.roles).where(schema.roles.c.arn == arn).values(
            created=datetime.now(UTC) - timedelta(days=200)))
    engine.dispose()

    bucket = f"unused-{uuid.uuid4().hex[:10]}"
    s3_client(gateway).create_bucket(Bucket=bucket)
    creds = gateway.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"]
                           ).assume_role(RoleArn=arn, RoleSessionName="s3user")["Credentials"]
    as_role = s3_client(gateway, creds["AccessKeyId"], creds["SecretAccessKey"],
                        creds["SessionToken"])
    as_role.put_object(Bucket=bucket, Key="k", Body=b"x")
    as_role.list_objects_v2(Bucket=bucket)

    aa = analyzer_client(gateway)
    analyzer = aa.create_analyzer(analyzerName=f"u-{uuid.uuid4().hex[:8]}",
                                  type="ACCOUNT_UNUSED_ACCESS")["arn"]
    pages = aa.get_paginator("list_findings_v2").paginate(analyzerArn=analyzer)
    [finding] = [f for p in pages for f in p["findings"] if f.get("resource") == arn]
    [detail] = aa.get_finding_v2(analyzerArn=analyzer, id=finding["id"])["findingDetails"]
    permission = detail["unusedPermissionDetails"]
    assert permission["serviceNamespace"] == "s3"
    assert permission["actions"] == [{"action": "s3:GetObject"}]
