"""The pure parts on a snapshot built in memory (no server): what counts as an
administrator, and an ABAC move that tags the role rather than the caller."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from opensts.analyzer.escalation.admin import is_admin
from opensts.analyzer.escalation.graph import build, paths_to_admin
from opensts.analyzer.escalation.model import Directory, Entity
from opensts.directory.aws_managed import aws_managed_policies
from opensts.policy import PolicyKind, PolicySet, parse_policy

ACCT = "111122223333"


def _managed(name: str) -> str:
    for policy in aws_managed_policies():
        if policy.name == name:
            return policy.document
    raise LookupError(name)


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _user(name: str, *docs: str, boundary: str | None = None,
          tags: dict[str, str] | None = None) -> Entity:
    arn = f"arn:aws:iam::{ACCT}:user/{name}"
    identity = tuple((f"{arn}#inline:p{i}", parse_policy(d, PolicyKind.IDENTITY))
                     for i, d in enumerate(docs))
    bound = ("boundary", parse_policy(boundary, PolicyKind.BOUNDARY)) if boundary else None
    return Entity(arn, "user", ACCT, name, f"AIDA{name.upper():0<16}", tags or {},
                  PolicySet(identity=identity, boundary=bound))


def _directory(*entities: Entity) -> Directory:
    return Directory({e.arn: e for e in entities}, now=datetime(2026, 12, 4, tzinfo=UTC))


@pytest.mark.parametrize(("policy", "admin"), [
    ("AdministratorAccess", True),
    ("PowerUserAccess", False),  # NotAction iam:*, organizations:*, account:*
    ("IAMFullAccess", False),  # iam:* only
    ("ReadOnlyAccess", False),
])
def test_what_counts_as_an_administrator(policy: str, admin: bool) -> None:
    user = _user("u", _managed(policy))
    assert is_admin(_directory(user), user) is admin


def test_a_boundary_or_a_deny_makes_administrator_access_no_administrator() -> None:
    admin = _managed("AdministratorAccess")
    bounded = _user("b", admin, boundary=_doc({"Effect": "Allow", "Action": "s3:*",
                                               "Resource": "*"}))
    denied = _user("d", admin, _doc({"Effect": "Deny", "Action": "kms:*", "Resource": "*"}))
    mfa = _user("m", admin, _doc({"Effect": "Deny", "Action": "*", "Resource": "*",
                                  "Condition": {"BoolIfExists": {
                                      "aws:MultiFactorAuthPresent": "false"}}}))
    directory = _directory(bounded, denied, mfa)
    assert not is_admin(directory, bounded)
    assert not is_admin(directory, denied)
    # Allowed only for some values of a key the caller picks: not certainly one.
    assert not is_admin(directory, mfa)


def test_tag_the_role_so_that_its_trust_condition_matches_the_callers_tag() -> None:
    role_arn = f"arn:aws:iam::{ACCT}:role/abac"
    trust = parse_policy(_doc({
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}),
        PolicyKind.TRUST)
    admin = parse_policy(_managed("AdministratorAccess"), PolicyKind.IDENTITY)
    role = Entity(role_arn, "role", ACCT, "abac", "AROAABAC000000000000", {"team": "admins"},
                  PolicySet(identity=(("arn:aws:iam::aws:policy/AdministratorAccess", admin),)),
                  trust=trust)
    caller = _user("ops", _doc({"Sid": "Assume", "Effect": "Allow", "Action": "sts:AssumeRole",
                                "Resource": role_arn},
                               {"Sid": "Tag", "Effect": "Allow", "Action": "iam:TagRole",
                                "Resource": role_arn}), tags={"team": "ops"})
    no_tagging = _user("ops2", _doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                     "Resource": role_arn}), tags={"team": "ops"})
    directory = _directory(role, caller, no_tagging)
    paths = {p.start.id: p for p in paths_to_admin(build(directory))}
    [move] = paths[caller.arn].moves
    assert move.kind == "tag-then-assume-role"
    tag, assume = move.steps
    assert (tag.action, tag.note) == ("iam:TagRole", "tags team=ops")
    assert [s.sid for s in tag.statements] == ["Tag"]
    assert assume.action == "sts:AssumeRole" and assume.outcome == "allowed"
    assert no_tagging.arn not in paths


def test_lifting_a_limit_on_oneself() -> None:
    """AdministratorAccess held back by a boundary the user may delete, or by an inline Deny
    it may delete: one move each; a boundary that does not allow the deletion keeps it."""
    admin = _managed("AdministratorAccess")
    boundary = _doc({"Effect": "Allow", "Action": ["s3:*", "iam:DeleteUserPermissionsBoundary"],
                     "Resource": "*"})
    bounded = _user("bounded", admin, boundary=boundary)
    stuck = _user("stuck", admin, boundary=_doc({"Effect": "Allow", "Action": "s3:*",
                                                  "Resource": "*"}))
    denied = _user("denied", admin, _doc({"Effect": "Deny", "Action": "kms:*",
                                          "Resource": "*"}))
    paths = {p.start.id: p for p in paths_to_admin(build(_directory(bounded, stuck, denied)))}
    assert [m.kind for m in paths[bounded.arn].moves] == ["delete-user-permissions-boundary"]
    [move] = paths[denied.arn].moves
    assert move.kind == "delete-user-policy"
    assert move.steps[0].resource == denied.arn
    assert stuck.arn not in paths


def test_only_an_allow_on_an_unknown_key_makes_a_refusal_conditional() -> None:
    from opensts.analyzer.escalation.graph import who_can

    office = _user("office", _doc({"Effect": "Allow", "Action": "iam:CreateUser",
                                   "Resource": "*", "Condition": {
                                       "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}))
    fenced = _user("fenced", _doc({"Effect": "Allow", "Action": "iam:ListUsers",
                                   "Resource": "*"},
                                  {"Effect": "Deny", "Action": "iam:*", "Resource": "*",
                                   "Condition": {"NotIpAddress": {
                                       "aws:SourceIp": "203.0.113.0/24"}}}))
    found = {e.arn: s for e, s in who_can(_directory(office, fenced), "iam:CreateUser",
                                          f"arn:aws:iam::{ACCT}:user/new")}
    assert found[office.arn].outcome == "conditional"
    assert found[office.arn].unknown_keys == ("aws:SourceIp",)
    assert fenced.arn not in found  # no Allow at all: no value of aws:SourceIp helps


def test_pass_role_to_lambda_run_by_an_event_source() -> None:
    """Rhino's method 16: no lambda:InvokeFunction, but an event source mapping runs the
    function; without either, the function never runs as the role."""
    role_arn = f"arn:aws:iam::{ACCT}:role/fn"
    admin = parse_policy(_managed("AdministratorAccess"), PolicyKind.IDENTITY)
    role = Entity(role_arn, "role", ACCT, "fn", "AROAFN00000000000000", {},
                  PolicySet(identity=(("arn:aws:iam::aws:policy/AdministratorAccess", admin),)),
                  trust=parse_policy(_doc({"Effect": "Allow", "Principal": {
                      "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}),
                      PolicyKind.TRUST))
    mapper = _user("mapper", _doc({"Effect": "Allow", "Resource": "*", "Action": [
        "iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"]}))
    creator = _user("creator", _doc({"Effect": "Allow", "Resource": "*", "Action": [
        "iam:PassRole", "lambda:CreateFunction"]}))
    paths = {p.start.id: p for p in paths_to_admin(build(_directory(role, mapper, creator)))}
    [move] = paths[mapper.arn].moves
    assert move.kind == "pass-role-lambda"
    assert [s.action for s in move.steps] == [
        "iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping",
        "sts:AssumeRole"]
    assert creator.arn not in paths
