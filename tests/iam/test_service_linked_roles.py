"""Service-linked roles and RoleLastUsed, through boto3 and the AWS CLI.

AWS's answers quoted in the tests were recorded by users of the Terraform provider and
aws-nuke: "Service role name AWSServiceRoleForECS has been taken in this account, please
try a different suffix.", "Custom suffix is not allowed for es.amazonaws.com" (InvalidInput
400), "Cannot perform the operation on the protected role 'AWSServiceRoleForX' - this role
is only modifiable by AWS" (UnmodifiableEntity 400)."""

from __future__ import annotations

import json
from typing import Any

from .helpers import allow, doc, error_of, trust, unique

ECS = "ecs.amazonaws.com"


def test_create_get_delete_with_status(iam: Any, server: Any) -> None:
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com",
                                          CustomSuffix=unique("s"), Description="d")["Role"]
    assert role["RoleName"].startswith("AWSServiceRoleForAutoScaling_")
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert role["Arn"] == (f"arn:aws:iam::{server.account_id}:role/aws-service-role/"
                           f"autoscaling.amazonaws.com/{role['RoleName']}")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": ["autoscaling.amazonaws.com"]}
    got = iam.get_role(RoleName=role["RoleName"])["Role"]
    assert got["Description"] == "d"
    name = role["RoleName"]
    assert error_of(iam.delete_role, RoleName=name) == (
        "UnmodifiableEntity", 400, f"Cannot perform the operation on the protected role "
        f"'{name}' - this role is only modifiable by AWS")
    for call, kwargs in [
        (iam.update_assume_role_policy, {"PolicyDocument": trust(server.account_id)}),
        (iam.put_role_policy, {"PolicyName": "p", "PolicyDocument": doc(allow("s3:*"))}),
        (iam.attach_role_policy, {"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        (iam.delete_role_policy, {"PolicyName": "p"}),
    ]:
        assert error_of(call, RoleName=name, **kwargs)[0] == "UnmodifiableEntity"
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert task.startswith(f"task/aws-service-role/autoscaling.amazonaws.com/{name}/")
    status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
    assert status["Status"] == "SUCCEEDED"
    assert error_of(iam.get_role, RoleName=name)[:2] == ("NoSuchEntity", 404)


def test_names_and_their_errors(iam: Any) -> None:
    try:
        name = iam.create_service_linked_role(AWSServiceName=ECS)["Role"]["RoleName"]
    except Exception:  # created by an earlier test on this server
        name = "AWSServiceRoleForECS"
    assert name == "AWSServiceRoleForECS"
    assert error_of(iam.create_service_linked_role, AWSServiceName=ECS) == (
        "InvalidInput", 400, "Service role name AWSServiceRoleForECS has been taken in this "
        "account, please try a different suffix.")
    assert error_of(iam.create_service_linked_role, AWSServiceName="es.amazonaws.com",
                    CustomSuffix="x") == (
        "InvalidInput", 400, "Custom suffix is not allowed for es.amazonaws.com")
    assert error_of(iam.create_service_linked_role, AWSServiceName="example")[:2] == (
        "InvalidInput", 400)
    assert error_of(iam.create_role, RoleName=unique("r"), Path="/aws-service-role/x/",
                    AssumeRolePolicyDocument=trust("123456789012"))[0] in (
        "InvalidInput", "MalformedPolicyDocument")
    plain = unique("plain")
    iam.create_role(RoleName=plain, AssumeRolePolicyDocument=trust_self(iam))
    assert error_of(iam.delete_service_linked_role, RoleName=plain)[:2] == ("InvalidInput", 400)
    iam.delete_role(RoleName=plain)
    assert error_of(iam.delete_service_linked_role, RoleName=unique("none"))[:2] == (
        "NoSuchEntity", 404)
    assert error_of(iam.get_service_linked_role_deletion_status,
                    DeletionTaskId="nonsense")[:2] == ("InvalidInput", 400)
    assert error_of(iam.get_service_linked_role_deletion_status,
                    DeletionTaskId="task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/"
                    "00000000-0000-0000-0000-000000000000")[:2] == ("NoSuchEntity", 404)
    iam.delete_service_linked_role(RoleName="AWSServiceRoleForECS")


def trust_self(iam: Any) -> str:
    account = iam.get_user()["User"]["Arn"].split(":")[4]
    return trust(account)


def test_authorization_names_the_service(server: Any, new_user: Any) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
        "Condition": {"StringEquals": {"iam:AWSServiceName": "config.amazonaws.com"}}}]}
    _, key, secret = new_user(policy)
    limited = server.client("iam", key, secret)
    assert error_of(limited.create_service_linked_role,
                    AWSServiceName="rds.amazonaws.com")[:2] == ("AccessDenied", 403)
    role = limited.create_service_linked_role(AWSServiceName="config.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForConfig"
    assert error_of(limited.delete_service_linked_role,
                    RoleName="AWSServiceRoleForConfig")[:2] == ("AccessDenied", 403)
    server.client("iam").delete_service_linked_role(RoleName="AWSServiceRoleForConfig")


def test_cli_create_and_delete(server: Any) -> None:
    suffix = unique("cli")
    created = server.aws_json("iam", "create-service-linked-role", "--aws-service-name",
                              "autoscaling.amazonaws.com", "--custom-suffix", suffix)
    name = created["Role"]["RoleName"]
    task = server.aws_json("iam", "delete-service-linked-role", "--role-name", name)
    status = server.aws_json("iam", "get-service-linked-role-deletion-status",
                             "--deletion-task-id", task["DeletionTaskId"])
    assert status["Status"] == "SUCCEEDED"


def test_role_last_used_is_recorded_when_assumed(iam: Any, server: Any, new_user: Any) -> None:
    name = unique("used")
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(server.account_id))[
        "Role"]["Arn"]
    assert iam.get_role(RoleName=name)["Role"]["RoleLastUsed"] == {}
    _, key, secret = new_user(json.loads(doc(allow("sts:AssumeRole", resource=role_arn))))
    server.client("sts", key, secret, region="eu-west-1").assume_role(
        RoleArn=role_arn, RoleSessionName="first")
    used = iam.get_role(RoleName=name)["Role"]["RoleLastUsed"]
    assert used["Region"] == "eu-west-1" and "LastUsedDate" in used
    # Not in ListRoles (AWS: RoleLastUsed is returned by GetRole).
    listed = [r for r in iam.list_roles()["Roles"] if r["RoleName"] == name]
    assert "RoleLastUsed" not in listed[0]
