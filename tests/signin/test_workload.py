"""Container and IMDSv2 endpoints of `opensts serve-credentials` through boto3's own
providers, and assume-role profiles (role_arn, source_profile, external_id, mfa_serial)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyotp
import pytest

from tests.conftest import BIN, Server, free_port


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", os.environ.get("OPENSTS_TEST_ENDPOINT", ""))


@pytest.fixture(scope="module")
def instance_role(signin_server: Server, siam: Any) -> tuple[str, str, str]:
    """A role and a user allowed to assume it: (role arn, user key, user secret)."""
    name = f"u-{uuid.uuid4().hex[:8]}"
    user_arn = siam.create_user(UserName=name)["User"]["Arn"]
    siam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Resource": "*"}]}))
    key = siam.create_access_key(UserName=name)["AccessKey"]
    role = siam.create_role(RoleName=f"instance-{name}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Principal": {"AWS": user_arn}}]}))["Role"]
    return role["Arn"], key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="module")
def credentials_server(
    signin_server: Server, instance_role: tuple[str, str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    role_arn, key, secret = instance_role
    port = free_port()
    token_file = tmp_path_factory.mktemp("workload") / "token"
    token = uuid.uuid4().hex
    token_file.write_text(token)
    env = {"PATH": os.environ.get("PATH", ""), "AWS_ACCESS_KEY_ID": key,
           "AWS_SECRET_ACCESS_KEY": secret}
    process = subprocess.Popen(
        [str(BIN / "opensts"), "serve-credentials", "--endpoint-url", signin_server.endpoint,
         "--role-arn", role_arn, "--port", str(port), "--token-file", str(token_file)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(base + "/latest/meta-data/iam/security-credentials/",
                                   timeout=1)
        except urllib.error.HTTPError:
            break  # 401 without a token: it is up
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)
    yield base, token
    process.terminate()
    process.wait(timeout=10)


def test_container_provider(
    signin_server: Server, credentials_server: tuple[str, str], instance_role: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    base, token = credentials_server
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", signin_server.endpoint)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", base + "/v1/credentials")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
    session = boto3.session.Session()
    assert session.get_credentials().method == "container-role"
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert arn.startswith(f"arn:aws:sts::{signin_server.account_id}:assumed-role/instance-")
    # A wrong token is refused.
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong")
    request = urllib.request.Request(base + "/v1/credentials", headers={"Authorization": "x"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401


def test_imdsv2_provider(
    signin_server: Server, credentials_server: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    base, _ = credentials_server
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", signin_server.endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base + "/")
    monkeypatch.setenv("AWS_EC2_METADATA_V1_DISABLED", "true")
    session = boto3.session.Session()
    credentials = session.get_credentials()
    assert credentials.method == "iam-role"
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert ":assumed-role/instance-" in arn
    # IMDSv1 (no session token) is refused.
    with pytest.raises(urllib.error.HTTPError) as v1:
        urllib.request.urlopen(base + "/latest/meta-data/iam/security-credentials/", timeout=5)
    assert v1.value.code == 401


def test_assume_role_profiles(
    signin_server: Server, siam: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name = f"u-{uuid.uuid4().hex[:8]}"
    user_arn = siam.create_user(UserName=name)["User"]["Arn"]
    siam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Resource": "*"}]}))
    key = siam.create_access_key(UserName=name)["AccessKey"]
    device = siam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    seed = seed.decode() if isinstance(seed, bytes) else seed
    totp = pyotp.TOTP(seed)
    now = time.time()
    siam.enable_mfa_device(UserName=name, SerialNumber=device["SerialNumber"],
                           AuthenticationCode1=totp.at(now - 90),
                           AuthenticationCode2=totp.at(now - 60))
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": user_arn},
        "Condition": {"StringEquals": {"sts:ExternalId": "ext-123"},
                      "Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    role = siam.create_role(RoleName=f"dev-{name}",
                            AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    chained = siam.create_role(RoleName=f"chain-{name}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Principal": {"AWS": role["Arn"]}}]}))["Role"]
    siam.put_role_policy(RoleName=role["RoleName"], PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Resource": "*"}]}))
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", signin_server.endpoint)
    (tmp_path / "credentials").write_text(
        f"[base]\naws_access_key_id = {key['AccessKeyId']}\n"
        f"aws_secret_access_key = {key['SecretAccessKey']}\n")
    (tmp_path / "config").write_text(
        f"[profile dev]\nrole_arn = {role['Arn']}\nsource_profile = base\n"
        f"external_id = ext-123\nmfa_serial = {device['SerialNumber']}\n"
        f"role_session_name = dev-session\nregion = us-east-1\n\n"
        f"[profile chain]\nrole_arn = {chained['Arn']}\nsource_profile = dev\n"
        f"region = us-east-1\n\n"
        f"[profile wrong-external]\nrole_arn = {role['Arn']}\nsource_profile = base\n"
        f"external_id = nope-123\nmfa_serial = {device['SerialNumber']}\nregion = us-east-1\n")

    def with_mfa(profile: str) -> boto3.session.Session:
        session = boto3.session.Session(profile_name=profile)
        resolver = session._session.get_component("credential_provider")
        # The AWS CLI prompts with getpass; answer with the current TOTP code.
        resolver.get_provider("assume-role")._prompter = lambda prompt: totp.now()
        return session

    dev = with_mfa("dev")
    assert dev.client("sts").get_caller_identity()["Arn"].endswith(
        f"assumed-role/dev-{name}/dev-session")
    # Chaining: the chain profile assumes dev first (MFA prompt again), then its own role.
    step = int(time.time()) // 30
    while int(time.time()) // 30 == step:  # each TOTP code works once
        time.sleep(0.5)
    chain = with_mfa("chain")
    assert f"assumed-role/chain-{name}/" in chain.client("sts").get_caller_identity()["Arn"]
    wrong = with_mfa("wrong-external")
    with pytest.raises(Exception, match="AccessDenied"):
        wrong.client("sts").get_caller_identity()
