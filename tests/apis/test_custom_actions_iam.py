"""Policies naming a team's own actions (``orders:GetOrder``) through the IAM API with
boto3: stored as identity and session policies, and answered by the Simulate APIs like any
action. AWS service checks are unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.simulate.helpers import allow, deny, policy, unique


def test_create_policy_with_custom_actions_and_simulate_principal(iam: Any) -> None:
    user = unique("orders-user")
    iam.create_user(UserName=user)
    doc = policy(allow("orders:*", "arn:aws:orders:us-east-1:*:order/*"),
                 deny("orders:DeleteOrder"),
                 allow("orders:ListOrders", "*",
                       Condition={"StringEquals": {"orders:Team": "red"}}))
    arn = iam.create_policy(PolicyName=unique("orders"), PolicyDocument=doc)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert "orders:*" in json.dumps(version["Document"])
    user_arn = iam.get_user(UserName=user)["User"]["Arn"]
    order = f"arn:aws:orders:us-east-1:{user_arn.split(':')[4]}:order/42"
    results = iam.simulate_principal_policy(
        PolicySourceArn=user_arn, ActionNames=["orders:GetOrder", "orders:DeleteOrder"],
        ResourceArns=[order])["EvaluationResults"]
    got = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert got == {"orders:GetOrder": "allowed", "orders:DeleteOrder": "explicitDeny"}
    listed = iam.simulate_principal_policy(
        PolicySourceArn=user_arn, ActionNames=["orders:ListOrders"],
        ContextEntries=[{"ContextKeyName": "orders:Team", "ContextKeyValues": ["red"],
                         "ContextKeyType": "string"}])["EvaluationResults"]
    assert listed[0]["EvalDecision"] == "allowed"


def test_simulate_custom_policy_answers_for_custom_actions(iam: Any, sts: Any) -> None:
    account = sts.get_caller_identity()["Account"]
    doc = policy(allow("orders:Get*", f"arn:aws:orders:us-east-1:{account}:order/*"))
    results = iam.simulate_custom_policy(
        PolicyInputList=[doc], ActionNames=["orders:GetOrder", "orders:PutOrder"],
        ResourceArns=[f"arn:aws:orders:us-east-1:{account}:order/7"])["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in results] == [
        ("orders:GetOrder", "allowed"), ("orders:PutOrder", "implicitDeny")]
    # As AWS answers: the requested ARN, even though no ARN format is known for the action.
    assert results[0]["EvalResourceName"] == f"arn:aws:orders:us-east-1:{account}:order/7"


def test_role_and_session_policies_with_custom_actions(iam: Any, sts: Any, server: Server,
                                                      new_user: Any) -> None:
    role = unique("orders-role")
    account = sts.get_caller_identity()["Account"]
    trust = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "sts:AssumeRole"})
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName=role, PolicyName="orders",
                        PolicyDocument=policy(allow(["orders:*", "sts:GetCallerIdentity"])))
    _, key, secret = new_user(policy(allow("sts:AssumeRole")))
    caller = server.client("sts", key, secret)
    session = caller.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}",
                                 RoleSessionName="s1",
                                 Policy=policy(allow(["orders:GetOrder",
                                                      "sts:GetCallerIdentity"])))
    creds = session["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    who = server.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"],
                        creds["SessionToken"]).get_caller_identity()
    assert who["Arn"].endswith(f":assumed-role/{role}/s1")


def test_aws_service_checks_are_unchanged(iam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        iam.create_policy(PolicyName=unique("bad"), PolicyDocument=policy(allow("orders")))
    assert caught.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as caught:
        iam.create_policy(PolicyName=unique("bad"),
                          PolicyDocument=policy(allow("orders:Get:Order")))
    assert caught.value.response["Error"]["Code"] == "MalformedPolicyDocument"
