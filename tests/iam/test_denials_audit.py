"""Every mutating IAM operation is authorized; audit records never carry secrets; concurrent
creations of one name produce exactly one entity."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import allow, doc, error_of, trust, unique

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


@pytest.fixture(scope="module")
def fixtures(server: Any) -> dict[str, str]:
    """Entities that the read-only caller will try (and fail) to change."""
    iam = server.client("iam")
    names = {"user": unique("victim"), "group": unique("vgroup"), "role": unique("vrole")}
    iam.create_user(UserName=names["user"])
    iam.create_group(GroupName=names["group"])
    iam.create_role(RoleName=names["role"], AssumeRolePolicyDocument=trust(server.account_id))
    names["policy"] = iam.create_policy(PolicyName=unique("vpol"),
                                        PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    return names


MUTATIONS: list[tuple[str, str, Any]] = [
    ("iam:CreateUser", "create_user", lambda n: {"UserName": unique("x")}),
    ("iam:DeleteUser", "delete_user", lambda n: {"UserName": n["user"]}),
    ("iam:UpdateUser", "update_user", lambda n: {"UserName": n["user"], "NewPath": "/x/"}),
    ("iam:TagUser", "tag_user", lambda n: {"UserName": n["user"],
                                           "Tags": [{"Key": "a", "Value": "b"}]}),
    ("iam:CreateGroup", "create_group", lambda n: {"GroupName": unique("x")}),
    ("iam:AddUserToGroup", "add_user_to_group", lambda n: {"GroupName": n["group"],
                                                           "UserName": n["user"]}),
    ("iam:DeleteGroup", "delete_group", lambda n: {"GroupName": n["group"]}),
    ("iam:CreateRole", "create_role", lambda n: {
        "RoleName": unique("x"), "AssumeRolePolicyDocument": trust("123456789012")}),
    ("iam:UpdateAssumeRolePolicy", "update_assume_role_policy", lambda n: {
        "RoleName": n["role"], "PolicyDocument": trust("123456789012")}),
    ("iam:DeleteRole", "delete_role", lambda n: {"RoleName": n["role"]}),
    ("iam:PutRolePermissionsBoundary", "put_role_permissions_boundary", lambda n: {
        "RoleName": n["role"], "PermissionsBoundary": READ_ONLY}),
    ("iam:CreatePolicy", "create_policy", lambda n: {
        "PolicyName": unique("x"), "PolicyDocument": doc(allow("s3:*"))}),
    ("iam:CreatePolicyVersion", "create_policy_version", lambda n: {
        "PolicyArn": n["policy"], "PolicyDocument": doc(allow("s3:*"))}),
    ("iam:DeletePolicy", "delete_policy", lambda n: {"PolicyArn": n["policy"]}),
    ("iam:AttachRolePolicy", "attach_role_policy", lambda n: {
        "RoleName": n["role"], "PolicyArn": READ_ONLY}),
    ("iam:PutUserPolicy", "put_user_policy", lambda n: {
        "UserName": n["user"], "PolicyName": "p", "PolicyDocument": doc(allow("s3:*"))}),
    ("iam:PutGroupPolicy", "put_group_policy", lambda n: {
        "GroupName": n["group"], "PolicyName": "p", "PolicyDocument": doc(allow("s3:*"))}),
    ("iam:CreateAccessKey", "create_access_key", lambda n: {"UserName": n["user"]}),
    ("iam:CreateLoginProfile", "create_login_profile", lambda n: {
        "UserName": n["user"], "Password": "Correct-Horse-9"}),
    ("iam:CreateVirtualMFADevice", "create_virtual_mfa_device", lambda n: {
        "VirtualMFADeviceName": unique("x")}),
    # issue 13
    ("iam:CreateInstanceProfile", "create_instance_profile", lambda n: {
        "InstanceProfileName": unique("x")}),
    ("iam:CreateAccountAlias", "create_account_alias", lambda n: {
        "AccountAlias": unique("x").lower()}),
    ("iam:UpdateAccountPasswordPolicy", "update_account_password_policy", lambda n: {}),
    ("iam:DeleteAccountPasswordPolicy", "delete_account_password_policy", lambda n: {}),
    ("iam:UploadSSHPublicKey", "upload_ssh_public_key", lambda n: {
        "UserName": n["user"], "SSHPublicKeyBody": "ssh-rsa AAAA"}),
    ("iam:UploadSigningCertificate", "upload_signing_certificate", lambda n: {
        "UserName": n["user"], "CertificateBody": "x"}),
    ("iam:CreateServiceSpecificCredential", "create_service_specific_credential", lambda n: {
        "UserName": n["user"], "ServiceName": "codecommit.amazonaws.com"}),
    ("iam:UploadServerCertificate", "upload_server_certificate", lambda n: {
        "ServerCertificateName": unique("x"), "CertificateBody": "x", "PrivateKey": "y"}),
]


@pytest.mark.parametrize(("action", "method", "kwargs"), MUTATIONS,
                         ids=[m[0] for m in MUTATIONS])
def test_read_only_caller_is_denied(server: Any, fixtures: dict[str, str], action: str,
                                    method: str, kwargs: Any,
                                    read_only_client: Any) -> None:
    code, status, message = error_of(getattr(read_only_client, method), **kwargs(fixtures))
    assert (code, status) == ("AccessDenied", 403)
    assert f"is not authorized to perform: {action}" in message


@pytest.fixture(scope="module")
def read_only_client(server: Any) -> Any:
    iam = server.client("iam")
    name = unique("reader")
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=READ_ONLY)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])


def test_read_only_caller_can_read(read_only_client: Any, fixtures: dict[str, str]) -> None:
    assert read_only_client.get_user(UserName=fixtures["user"])["User"]["UserName"] == (
        fixtures["user"])
    assert read_only_client.get_policy(PolicyArn=fixtures["policy"])["Policy"]["Arn"] == (
        fixtures["policy"])
    assert read_only_client.list_roles(MaxItems=5)["Roles"]


def test_audit_has_parameters_and_no_secrets(iam: Any, server: Any) -> None:
    name = unique("audited")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    events = [e for e in server.audit_events()
              if e.get("eventSource") == "iam.amazonaws.com"
              and name in json.dumps(e.get("requestParameters") or {})]
    names = {e["eventName"] for e in events}
    assert {"CreateUser", "CreateAccessKey", "CreateVirtualMFADevice"} <= names
    cred = iam.create_service_specific_credential(
        UserName=name, ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
    reset = iam.reset_service_specific_credential(
        UserName=name, ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])
    text = json.dumps(server.audit_events())
    assert key["SecretAccessKey"] not in text
    assert seed not in text
    assert cred["ServicePassword"] not in text
    assert reset["ServiceSpecificCredential"]["ServicePassword"] not in text


def test_concurrent_create_user_exactly_one_wins(server: Any) -> None:
    name = unique("race")
    clients = [server.client("iam") for _ in range(4)]
    results: list[str] = []
    barrier = threading.Barrier(4)

    def run(client: Any) -> None:
        barrier.wait()
        try:
            client.create_user(UserName=name)
            results.append("ok")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["EntityAlreadyExists"] * 3 + ["ok"]


def test_cli_roles_and_keys(server: Any) -> None:
    role = unique("clirole")
    created = server.aws_json("iam", "create-role", "--role-name", role,
                              "--assume-role-policy-document", trust(server.account_id))
    assert created["Role"]["RoleName"] == role
    server.aws("iam", "attach-role-policy", "--role-name", role, "--policy-arn", READ_ONLY)
    attached = server.aws_json("iam", "list-attached-role-policies", "--role-name", role)
    assert attached["AttachedPolicies"] == [{"PolicyName": "ReadOnlyAccess",
                                             "PolicyArn": READ_ONLY}]
    failed = server.aws("iam", "delete-role", "--role-name", role, check=False)
    assert failed.returncode != 0 and "DeleteConflict" in failed.stderr
    server.aws("iam", "detach-role-policy", "--role-name", role, "--policy-arn", READ_ONLY)
    server.aws("iam", "delete-role", "--role-name", role)
    user = unique("clikey")
    server.aws("iam", "create-user", "--user-name", user)
    key = server.aws_json("iam", "create-access-key", "--user-name", user)["AccessKey"]
    who = server.aws_json("sts", "get-caller-identity", key=key["AccessKeyId"],
                          secret=key["SecretAccessKey"])
    assert who["Arn"].endswith(f":user/{user}")
