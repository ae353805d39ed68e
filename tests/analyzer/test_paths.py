"""``opensts analyze paths --to admin`` finds each escalation method of Rhino Security Labs'
list, built with boto3 on a real server, with its path and the statement that allows each step;
each fixed twin (a permissions boundary, an explicit deny, a trust policy not naming the
principal...) has no path."""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.analyzer._estate import Case, analyze, analyze_json, build_cases
from tests.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the directory holds the cases and nothing else."""
    running = start_server(tmp_path_factory.mktemp("paths") / "data")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def cases(own_server: Server) -> list[Case]:
    return build_cases(own_server)


@pytest.fixture(scope="module")
def report(own_server: Server, cases: list[Case]) -> Any:
    return analyze_json(own_server, "paths", "--to", "admin")


def _path(report: Any, arn: str) -> dict[str, Any] | None:
    found = [p for p in report["paths"] if p["from"] == arn]
    return found[0] if found else None


CASE_NAMES = ["CreatePolicyVersion", "SetDefaultPolicyVersion", "CreateAccessKey",
              "CreateLoginProfile", "UpdateLoginProfile", "AttachUserPolicy",
              "AttachGroupPolicy", "AttachRolePolicy", "PutUserPolicy", "PutGroupPolicy",
              "PutRolePolicy", "AddUserToGroup", "UpdateAssumeRolePolicy", "AssumeRole",
              "PassRole+lambda:CreateFunction+InvokeFunction", "PassRole+ec2:RunInstances",
              "PassRole+cloudformation:CreateStack", "TagUser+AssumeRole (ABAC)",
              "CreateRole+PutRolePolicy"]


def _case(cases: list[Case], name: str) -> Case:
    return next(c for c in cases if c.name == name)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_each_method_is_found_with_its_statements(report: Any, cases: list[Case],
                                                   name: str) -> None:
    case = _case(cases, name)
    path = _path(report, case.attacker)
    assert path is not None, f"{name}: no path from {case.attacker}"
    first = path["moves"][0]
    assert first["move"] == case.move, path
    assert not path["conditional"]
    assert path["to"] in report["administrators"] or path["toVariant"], path
    # Every step names the statement that allows it; the attacker's own statement (Sid
    # Escalate) decides the first step unless the step is the trust policy's alone.
    for move in path["moves"]:
        for step in move["steps"]:
            assert step["outcome"] == "allowed"
            assert step["statements"], step
    sids = {s["sid"] for step in first["steps"] for s in step["statements"]}
    if case.move != "assume-role":
        assert "Escalate" in sids, first
    else:
        trust = first["steps"][0]["statements"][0]
        assert trust["policyType"] == "resource"
        assert trust["statement"]["Principal"] == {"AWS": case.attacker}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_each_fixed_twin_has_no_path(report: Any, cases: list[Case], name: str) -> None:
    case = _case(cases, name)
    assert _path(report, case.fixed) is None, (case.fix, _path(report, case.fixed))
    assert case.fixed not in report["administrators"]


def test_the_search_is_complete(report: Any) -> None:
    """No principal hit the variant limit: "no path" above is an answer, not a cut-off
    (switching a default version back and forth returns to a node already seen)."""
    assert report["incomplete"] == []


def test_steps_of_a_two_call_move(report: Any, cases: list[Case]) -> None:
    """UpdateAssumeRolePolicy, then AssumeRole under the trust policy the attacker wrote."""
    path = _path(report, _case(cases, "UpdateAssumeRolePolicy").attacker)
    assert path is not None
    steps = path["moves"][0]["steps"]
    assert [s["action"] for s in steps] == ["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"]
    assert steps[1]["statements"][0]["policyType"] == "resource"
    assert "trust policy it wrote" in steps[1]["note"]


def test_abac_path_tags_then_assumes(report: Any, cases: list[Case]) -> None:
    path = _path(report, _case(cases, "TagUser+AssumeRole (ABAC)").attacker)
    assert path is not None
    steps = path["moves"][0]["steps"]
    assert [s["action"] for s in steps] == ["iam:TagUser", "sts:AssumeRole"]
    assert {s["sid"] for s in steps[0]["statements"]} == {"Tag"}
    assert steps[0]["note"].startswith("tags team=ops-")


def test_from_one_principal_in_text(own_server: Server, cases: list[Case]) -> None:
    case = _case(cases, "CreateAccessKey")
    done = analyze(own_server, "paths", "--to", "admin", "--from", case.attacker)
    assert done.returncode == 0, done.stderr
    assert "create-access-key" in done.stdout
    assert "iam:CreateAccessKey on arn:aws:iam::" in done.stdout
    assert "Sid Escalate" in done.stdout
    fixed = analyze(own_server, "paths", "--to", "admin", "--from", case.fixed)
    assert "No privilege-escalation path" in fixed.stdout
    unknown = analyze(own_server, "paths", "--to", "admin", "--from",
                      f"arn:aws:iam::{own_server.account_id}:user/nobody-here")
    assert unknown.returncode != 0 and "not a user or role" in unknown.stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="apt-get install graphviz")
def test_svg_of_the_paths(own_server: Server, cases: list[Case], tmp_path: Path) -> None:
    svg = tmp_path / "paths.svg"
    done = analyze(own_server, "paths", "--to", "admin", "--svg", str(svg))
    assert done.returncode == 0, done.stderr
    text = html.unescape(svg.read_text())  # dot writes "-" as &#45;
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for move in ("create-access-key", "pass-role-lambda", "tag-then-assume-role"):
        assert move in text
    assert "#f8d0d0" in text  # administrators drawn red


def test_a_condition_on_a_key_the_caller_picks_makes_the_path_conditional(
        own_server: Server, cases: list[Case]) -> None:
    """sts:ExternalId in the trust policy, and an explicit deny that applies only without
    MFA: the analysis cannot know either key, so it keeps the path and says what it depends
    on (never a false "no path"); a deny that holds whatever the keys removes it."""
    from tests.analyzer._estate import Builder, allow, trust

    b = Builder(own_server)
    external = b.user("ext")
    b.role("ext-admin", trust({"AWS": external}, Condition={
        "StringEquals": {"sts:ExternalId": "the-secret"}}))
    mfa = b.user("mfa", {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*",
                         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})
    b.role("mfa-admin", trust({"AWS": mfa}))
    denied = b.user("always-denied", allow("iam:ListRoles"),
                    {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"})
    b.role("denied-admin", trust({"AWS": denied}))
    for user, key in ((external, "sts:ExternalId"), (mfa, "aws:MultiFactorAuthPresent")):
        report = analyze_json(own_server, "paths", "--to", "admin", "--from", user)
        [path] = report["paths"]
        assert path["conditional"] is True
        [step] = path["moves"][0]["steps"]
        assert step["outcome"] == "conditional" and step["dependsOnKeys"] == [key]
    assert analyze_json(own_server, "paths", "--to", "admin", "--from", denied)["paths"] == []
