"""The differences from AWS found against AWS-recorded responses (issue 13), one test each.

Each test fails on the code before the fix and states AWS's answer."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config

from .helpers import allow, doc, error_of, trust, unique

CHANGE_PASSWORD = "arn:aws:iam::aws:policy/IAMUserChangePassword"


@pytest.mark.parametrize("kind", ["user", "role", "group"])
def test_attach_with_a_non_arn_policy_arn_is_a_validation_error(iam: Any, server: Any,
                                                                kind: str) -> None:
    name = unique(f"na{kind}")
    {"user": lambda: iam.create_user(UserName=name),
     "group": lambda: iam.create_group(GroupName=name),
     "role": lambda: iam.create_role(RoleName=name,
                                     AssumeRolePolicyDocument=trust(server.account_id))}[kind]()
    attach = {"user": iam.attach_user_policy, "group": iam.attach_group_policy,
              "role": iam.attach_role_policy}[kind]
    noun = {"user": "UserName", "group": "GroupName", "role": "RoleName"}[kind]
    assert error_of(attach, **{noun: name}, PolicyArn="IAMUserChangePassword-not-an-arn") == (
        "ValidationError", 400, "Invalid ARN:  Could not be parsed!")
    # Before the entity is looked up, as AWS does.
    assert error_of(attach, **{noun: unique("nobody")},
                    PolicyArn="IAMUserChangePassword-not-an-arn")[0] == "ValidationError"
    attach(**{noun: name}, PolicyArn=CHANGE_PASSWORD)  # a real ARN still attaches


def _conditioned(condition: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": condition}]})


def test_iam_policy_grammar_refusals_and_acceptances(iam: Any, server: Any) -> None:
    region_in_iam = doc(allow("iam:GetUser",
                              resource="arn:aws:iam:us-east-1:123456789012:user/alice"))
    assert error_of(iam.create_policy, PolicyName=unique("lp"), PolicyDocument=region_in_iam) == (
        "MalformedPolicyDocument", 400, "The policy failed legacy parsing")
    vendorless = _conditioned({"StringEquals": {"username": "x"}})
    iam.create_policy(PolicyName=unique("vk"), PolicyDocument=vendorless)
    bad_date = _conditioned({"DateLessThan": {":k": "soon"}})
    assert error_of(iam.create_policy, PolicyName=unique("bd"), PolicyDocument=bad_date)[2] == (
        "The policy failed legacy parsing")
    unknown_op = _conditioned({"StringEqualz": {":k": "x"}})
    assert error_of(iam.create_policy, PolicyName=unique("uo"), PolicyDocument=unknown_op)[2] == (
        "Syntax errors in policy.")
    s3_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "s3:GetObject"}]})
    assert error_of(iam.create_role, RoleName=unique("tr"), AssumeRolePolicyDocument=s3_trust) \
        == ("MalformedPolicyDocument", 400, "Trust Policy statement actions can only be "
            "sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity")
    assert error_of(iam.create_role, RoleName=unique("tj"),
                    AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": [') == (
        "MalformedPolicyDocument", 400,
        "This policy contains invalid Json (line 1, column 41: Expecting value)")


def test_simulate_reports_each_requested_resource(iam: Any) -> None:
    policy = doc(allow("s3:GetObject", resource="arn:aws:s3:::b/public/*"))
    a, b = "arn:aws:s3:::b/public/x", "arn:aws:s3:::b/private/y"
    out = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"],
                                     ResourceArns=[a, b])["EvaluationResults"]
    assert [(r["EvalResourceName"], r["EvalDecision"]) for r in out] == [
        (a, "allowed"), (b, "implicitDeny")]
    assert out[0]["MatchedStatements"][0]["SourcePolicyType"] == "IAM Policy"
    for r in out:
        (specific,) = r["ResourceSpecificResults"]
        assert specific["EvalResourceName"] == r["EvalResourceName"]
        assert "EvalDecisionDetails" not in specific


def test_role_and_policy_shapes(iam: Any, server: Any) -> None:
    name = unique("shape")
    created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(server.account_id),
                              Description="described", MaxSessionDuration=7200,
                              PermissionsBoundary=CHANGE_PASSWORD)["Role"]
    assert "MaxSessionDuration" not in created
    assert created["PermissionsBoundary"] == {"PermissionsBoundaryType": "Policy",
                                              "PermissionsBoundaryArn": CHANGE_PASSWORD}
    got = iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 7200
    assert got["PermissionsBoundary"]["PermissionsBoundaryType"] == "Policy"
    listed = next(r for r in iam.get_paginator("list_roles").paginate()
                  .build_full_result()["Roles"] if r["RoleName"] == name)
    assert listed["Description"] == "described" and listed["MaxSessionDuration"] == 7200
    policy_arn = iam.create_policy(PolicyName=unique("untagged"),
                                   PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["Tags"] == []
    assert iam.get_policy(PolicyArn=CHANGE_PASSWORD)["Policy"]["Tags"] == []


def test_delete_open_id_connect_provider_is_idempotent(iam: Any, server: Any) -> None:
    url = f"https://{unique('idp')}.example.com"
    arn = iam.create_open_id_connect_provider(Url=url, ClientIDList=["app"],
                                              ThumbprintList=["a" * 40])[
        "OpenIDConnectProviderArn"]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)  # again: no error
    never = f"arn:aws:iam::{server.account_id}:oidc-provider/{unique('never')}.example.com"
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=never)


def test_every_violated_constraint_is_reported(iam: Any) -> None:
    code, status, message = error_of(iam.create_role, RoleName="r" * 65, Path="no-slash",
                                     AssumeRolePolicyDocument=doc(allow()))
    assert (code, status) == ("ValidationError", 400)
    assert message.startswith("2 validation errors detected: ")
    assert "at 'roleName' failed to satisfy constraint: Member must have length less than or " \
           "equal to 64" in message
    assert "at 'path' failed to satisfy constraint: Member must satisfy regular expression " \
           "pattern" in message
    one = error_of(iam.create_role, RoleName="r" * 65, AssumeRolePolicyDocument=doc(allow()))[2]
    assert one.startswith("1 validation error detected: Value '" + "r" * 65 + "' at 'roleName'")


def test_assume_role_checks_role_session_name_before_role_arn(server: Any) -> None:
    # Without botocore's own checks, so that the server sees the bad values.
    sts = boto3.session.Session().client(
        "sts", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=server.root_key, aws_secret_access_key=server.root_secret,
        config=Config(retries={"max_attempts": 1}, parameter_validation=False))
    code, _, message = error_of(sts.assume_role, RoleArn="arn:aws:iam::123456789012:user/xyz",
                                RoleSessionName="a")
    assert code == "ValidationError"
    assert message == ("1 validation error detected: Value 'a' at 'roleSessionName' failed to "
                       "satisfy constraint: Member must have length greater than or equal to 2")
    both = error_of(sts.assume_role, RoleArn="short", RoleSessionName="a")[2]
    assert both.startswith("2 validation errors detected: Value 'a' at 'roleSessionName'")
    assert "at 'roleArn' failed to satisfy constraint" in both
