"""simulate-principal-policy / simulate-custom-policy through the AWS CLI (awscli).

Policy documents are passed as text: awscli v1 splits a ``file://`` value given to a list
parameter such as --policy-input-list into single characters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.simulate.helpers import allow, deny, policy, unique


def test_simulate_custom_policy_cli(server: Any, tmp_path: Path) -> None:
    doc = tmp_path / "policy.json"
    doc.write_text(policy(allow("s3:GetObject", "arn:aws:s3:::b/*",
                                Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
                          deny("s3:GetObject", "arn:aws:s3:::b/private/*"), indent=4))
    out = server.aws_json(
        "iam", "simulate-custom-policy", "--policy-input-list", doc.read_text(),
        "--action-names", "s3:GetObject",
        "--resource-arns", "arn:aws:s3:::b/public/x", "arn:aws:s3:::b/private/y",
        "--context-entries",
        "ContextKeyName=aws:SourceIp,ContextKeyValues=203.0.113.9,ContextKeyType=ip")
    # One EvaluationResult per resource, each with that resource's decision (as AWS answers).
    public, private = out["EvaluationResults"]
    decisions = {r["EvalResourceName"]: r["EvalDecision"] for r in (public, private)}
    assert decisions == {"arn:aws:s3:::b/public/x": "allowed",
                         "arn:aws:s3:::b/private/y": "explicitDeny"}
    assert [r["EvalResourceDecision"] for r in private["ResourceSpecificResults"]] == [
        "explicitDeny"]
    result = private
    deny_stmt = result["MatchedStatements"][0]
    assert deny_stmt["SourcePolicyId"] == "PolicyInputList.1"
    # The Deny statement's "{" is on the line before its "Effect", indented 8 columns.
    lines = doc.read_text().splitlines()
    effect_line = next(i for i, line in enumerate(lines, 1) if '"Deny"' in line)
    assert lines[effect_line - 2] == "        {"
    assert deny_stmt["StartPosition"] == {"Line": effect_line - 1, "Column": 10}
    assert lines[deny_stmt["EndPosition"]["Line"] - 1].startswith("        }")


def test_simulate_custom_policy_cli_missing_context(server: Any, tmp_path: Path) -> None:
    doc = tmp_path / "mfa.json"
    doc.write_text(policy(allow("iam:DeleteUser",
                                Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})))
    out = server.aws_json("iam", "simulate-custom-policy", "--policy-input-list",
                          doc.read_text(), "--action-names", "iam:DeleteUser")
    (result,) = out["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["aws:MultiFactorAuthPresent"]
    out = server.aws_json(
        "iam", "simulate-custom-policy", "--policy-input-list", doc.read_text(),
        "--action-names", "iam:DeleteUser", "--context-entries",
        "ContextKeyName=aws:MultiFactorAuthPresent,ContextKeyValues=true,"
        "ContextKeyType=boolean")
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_simulate_principal_policy_cli(server: Any, iam: Any) -> None:
    user, group = unique("cli-user"), unique("cli-group")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="GroupRead",
                         PolicyDocument=policy(allow("s3:ListBucket")))
    iam.add_user_to_group(GroupName=group, UserName=user)
    arn = iam.get_user(UserName=user)["User"]["Arn"]
    out = server.aws_json("iam", "simulate-principal-policy", "--policy-source-arn", arn,
                          "--action-names", "s3:ListBucket", "s3:DeleteBucket")
    listing, delete = out["EvaluationResults"]
    assert listing["EvalDecision"] == "allowed"
    assert listing["EvalResourceName"] == "*"
    assert [(s["SourcePolicyId"], s["SourcePolicyType"])
            for s in listing["MatchedStatements"]] == [("GroupRead", "group")]
    assert delete["EvalDecision"] == "implicitDeny"
    # The CLI pages through results itself; --max-items hands back a NextToken.
    paged = server.aws_json("iam", "simulate-principal-policy", "--policy-source-arn", arn,
                            "--action-names", "s3:ListBucket", "s3:DeleteBucket",
                            "--max-items", "1")
    assert len(paged["EvaluationResults"]) == 1
    assert "NextToken" in paged
    missing = server.aws("iam", "simulate-principal-policy", "--policy-source-arn",
                         f"arn:aws:iam::{server.account_id}:user/{unique('ghost')}",
                         "--action-names", "s3:ListBucket", check=False)
    assert missing.returncode != 0
    assert "NoSuchEntity" in missing.stderr


def test_cli_invalid_input(server: Any, tmp_path: Path) -> None:
    doc = tmp_path / "broken.json"
    doc.write_text('{"Version": "2012-10-17", "Statement": [')
    result = server.aws("iam", "simulate-custom-policy", "--policy-input-list",
                        doc.read_text(), "--action-names", "s3:GetObject", check=False)
    assert result.returncode != 0
    assert "InvalidInput" in result.stderr
    assert "Syntax errors in policy" in result.stderr
