"""Credential reports and context keys, through boto3 and the AWS CLI; the report's expiry
in-process, with the clock moved.

IAM User Guide (id_credentials_getting-report): the CSV columns and their values; IAM API
reference: ReportNotPresent and ReportExpired (410). The CLI reference's example of
get-context-keys-for-custom-policy answers ["aws:username", "aws:CurrentTime"]."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opensts.config import Settings
from opensts.services.context import CallContext, Caller, RequestMeta
from opensts.services.iam import reports
from opensts.web.app import build_runtime
from opensts.wire.params import Params

from .helpers import allow, doc, error_of, unique

COLUMNS = ("user,arn,user_creation_time,password_enabled,password_last_used,"
           "password_last_changed,password_next_rotation,mfa_active,access_key_1_active,"
           "access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,"
           "access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
           "access_key_2_last_used_date,access_key_2_last_used_region,"
           "access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,"
           "cert_2_last_rotated")
EXAMPLE = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
           '"Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",'
           '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}')


def test_credential_report_rows(iam: Any, server: Any) -> None:
    name = unique("report")
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password="Aa1!" + uuid.uuid4().hex)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
    state = iam.generate_credential_report()["State"]
    assert state in ("STARTED", "COMPLETE")
    if state == "COMPLETE":  # an earlier test's report; it does not have this user yet
        pytest.skip("a report younger than four hours exists on this server")
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    answer = iam.get_credential_report()
    assert answer["ReportFormat"] == "text/csv"
    text = answer["Content"].decode()
    assert text.splitlines()[0] == COLUMNS
    rows = {r["user"]: r for r in csv.DictReader(io.StringIO(text))}
    root = rows["<root_account>"]
    assert root["arn"] == f"arn:aws:iam::{server.account_id}:root"
    assert root["password_enabled"] == "not_supported"
    row = rows[name]
    assert row["password_enabled"] == "true" and row["password_last_used"] == "no_information"
    assert row["mfa_active"] == "false"
    assert row["access_key_1_active"] == "true"
    assert row["access_key_1_last_used_service"] == "sts"
    assert row["access_key_1_last_used_region"] == "us-east-1"
    assert row["access_key_1_last_used_date"].endswith("+00:00")
    assert (row["access_key_2_active"], row["access_key_2_last_rotated"]) == ("false", "N/A")
    assert (row["cert_1_active"], row["cert_1_last_rotated"]) == ("false", "N/A")
    got = server.aws_json("iam", "get-credential-report")
    assert got["ReportFormat"] == "text/csv"
    assert base64.b64decode(got["Content"]).decode() == text
    assert server.aws_json("iam", "generate-credential-report")["State"] == "COMPLETE"


def test_credential_report_authorization(server: Any, new_user: Any) -> None:
    _, key, secret = new_user()
    assert error_of(server.client("iam", key, secret).generate_credential_report)[:2] == (
        "AccessDenied", 403)
    assert error_of(server.client("iam", key, secret).get_credential_report)[:2] == (
        "AccessDenied", 403)


def _in_process(tmp_path: Path) -> Any:
    settings = Settings.from_env(tmp_path / "data", create=True,
                                 env={"OPENSTS_ACCOUNT_ID": "123456789012"})
    runtime, _ = build_runtime(settings)
    return runtime


def _call(runtime: Any, handler: Any, now: datetime) -> Any:
    caller = Caller("Root", "123456789012", "arn:aws:iam::123456789012:root", "123456789012",
                    "AKIAEXAMPLEROOTKEY01")
    meta = RequestMeta("req", now, "127.0.0.1", "test", "us-east-1", "iam.test")
    return handler(CallContext(runtime, caller, meta), Params({}))


def test_report_not_present_then_expired(tmp_path: Path) -> None:
    runtime = _in_process(tmp_path)
    try:
        now = datetime.now(UTC)
        with pytest.raises(reports.ReportNotPresent) as missing:
            _call(runtime, reports.get_credential_report, now)
        assert (missing.value.code, missing.value.status) == ("ReportNotPresent", 410)
        assert _call(runtime, reports.generate_credential_report, now)["State"] == "STARTED"
        assert _call(runtime, reports.generate_credential_report,
                     now + timedelta(hours=3))["State"] == "COMPLETE"
        later = now + timedelta(hours=4, seconds=1)
        with pytest.raises(reports.ReportExpired) as expired:
            _call(runtime, reports.get_credential_report, later)
        assert (expired.value.code, expired.value.status) == ("ReportExpired", 410)
        assert _call(runtime, reports.generate_credential_report, later)["State"] == "STARTED"
        assert _call(runtime, reports.get_credential_report, later)["GeneratedTime"] == later
    finally:
        runtime.audit.close()
        runtime.store.close()


def test_context_keys_for_custom_policy(iam: Any, server: Any) -> None:
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[EXAMPLE])[
        "ContextKeyNames"] == ["aws:username", "aws:CurrentTime"]
    second = doc({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringEquals": {"s3:prefix": "${aws:userid}/", "AWS:CurrentTime": "x"},
                      "Bool": {"aws:MultiFactorAuthPresent": "true"}}}]})
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[EXAMPLE, second])[
        "ContextKeyNames"] == ["aws:username", "aws:CurrentTime", "s3:prefix", "aws:userid",
                               "aws:MultiFactorAuthPresent"]
    assert error_of(iam.get_context_keys_for_custom_policy, PolicyInputList=["{"])[:2] == (
        "InvalidInput", 400)
    out = server.aws_json("iam", "get-context-keys-for-custom-policy",
                          "--policy-input-list", EXAMPLE)
    assert out["ContextKeyNames"] == ["aws:username", "aws:CurrentTime"]


def test_context_keys_for_principal_policy(iam: Any, server: Any, new_user: Any) -> None:
    user = unique("keys")
    group = unique("grp")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    ip = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                "Resource": "*", "Condition": ip}]}))
    iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=doc({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*",
                                                "Resource": "*", "Condition": {
                                                    "StringEquals": {"ec2:Region": "x"}}}]}))
    user_arn = f"arn:aws:iam::{server.account_id}:user/{user}"
    group_arn = f"arn:aws:iam::{server.account_id}:group/{group}"
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=user_arn)["ContextKeyNames"]
    assert set(keys) == {"aws:SourceIp", "ec2:Region"}
    assert iam.get_context_keys_for_principal_policy(PolicySourceArn=group_arn)[
        "ContextKeyNames"] == ["ec2:Region"]
    with_extra = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=group_arn, PolicyInputList=[EXAMPLE])["ContextKeyNames"]
    assert with_extra == ["ec2:Region", "aws:username", "aws:CurrentTime"]
    assert error_of(iam.get_context_keys_for_principal_policy,
                    PolicySourceArn=f"arn:aws:iam::{server.account_id}:user/{unique('no')}")[
        :2] == ("NoSuchEntity", 404)
    assert error_of(iam.get_context_keys_for_principal_policy,
                    PolicySourceArn="arn:aws:s3:::bucket-name-long")[:2] == ("InvalidInput", 400)
    _, key, secret = new_user(json.loads(doc(allow("iam:GetContextKeysForPrincipalPolicy",
                                                   resource=group_arn))))
    limited = server.client("iam", key, secret)
    assert limited.get_context_keys_for_principal_policy(PolicySourceArn=group_arn)[
        "ContextKeyNames"] == ["ec2:Region"]
    assert error_of(limited.get_context_keys_for_principal_policy,
                    PolicySourceArn=user_arn)[:2] == ("AccessDenied", 403)


def test_credential_report_certificates_and_password_rotation(tmp_path: Path) -> None:
    # IAM User Guide, credential report format: cert_N_active / cert_N_last_rotated from
    # the user's X.509 signing certificates; password_last_changed when the password was
    # last set; password_next_rotation from the password policy's MaxPasswordAge (N/A
    # without rotation; not_supported for the root user).
    from tests.conftest import start_server, stop_server

    from .test_user_credentials import certificate_pem

    running = start_server(tmp_path / "data")
    try:
        iam = running.client("iam")
        iam.update_account_password_policy(MinimumPasswordLength=12, MaxPasswordAge=30)
        with_certs, plain = unique("certs"), unique("plain")
        iam.create_user(UserName=with_certs)
        iam.create_user(UserName=plain)
        iam.create_login_profile(UserName=with_certs, Password="Aa1!" + uuid.uuid4().hex)
        first = iam.upload_signing_certificate(UserName=with_certs,
                                               CertificateBody=certificate_pem("one"))
        second = iam.upload_signing_certificate(UserName=with_certs,
                                                CertificateBody=certificate_pem("two"))
        iam.update_signing_certificate(
            UserName=with_certs, CertificateId=second["Certificate"]["CertificateId"],
            Status="Inactive")
        iam.upload_signing_certificate(CertificateBody=certificate_pem("root"))  # root's
        profile = iam.get_login_profile(UserName=with_certs)["LoginProfile"]
        assert iam.generate_credential_report()["State"] == "STARTED"
        text = iam.get_credential_report()["Content"].decode()
        rows = {r["user"]: r for r in csv.DictReader(io.StringIO(text))}
        row = rows[with_certs]
        uploaded = first["Certificate"]["UploadDate"]
        assert row["cert_1_active"] == "true"
        assert datetime.fromisoformat(row["cert_1_last_rotated"]) == uploaded.replace(
            microsecond=0)
        assert row["cert_2_active"] == "false"
        assert row["cert_2_last_rotated"] != "N/A"
        changed = datetime.fromisoformat(row["password_last_changed"])
        assert abs(changed - profile["CreateDate"]) < timedelta(seconds=2)
        assert datetime.fromisoformat(row["password_next_rotation"]) == changed + timedelta(
            days=30)
        assert (rows[plain]["cert_1_active"], rows[plain]["cert_1_last_rotated"]) == (
            "false", "N/A")
        assert rows[plain]["password_last_changed"] == "N/A"
        assert rows[plain]["password_next_rotation"] == "N/A"
        root = rows["<root_account>"]
        assert root["cert_1_active"] == "true" and root["cert_2_active"] == "false"
        assert root["password_next_rotation"] == "not_supported"
    finally:
        stop_server(running)
