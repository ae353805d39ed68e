"""Principal Mapper and ``opensts analyze paths`` on the same directory (the Rhino cases of
``_estate``): the differences are listed here, each with who is right
(docs/analyzer-escalation.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.analyzer._estate import Case, analyze_json, build_cases
from tests.conftest import Server, start_server, stop_server
from tests.tools.test_scanners import PMAPPER_SHIM, _have

pytestmark = pytest.mark.skipif(not _have("principalmapper"), reason="pip install -e '.[test]'")


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("pmapper") / "data")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def cases(own_server: Server) -> list[Case]:
    return build_cases(own_server)


@pytest.fixture(scope="module")
def pmapper(own_server: Server, cases: list[Case], tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("pmapper-run")
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp),
        "AWS_ACCESS_KEY_ID": own_server.root_key,
        "AWS_SECRET_ACCESS_KEY": own_server.root_secret,
        "AWS_DEFAULT_REGION": "us-east-1", "PMAPPER_STORAGE": str(tmp / "pmapper"),
        "AWS_ENDPOINT_URL_IAM": own_server.endpoint, "AWS_ENDPOINT_URL_STS": own_server.endpoint,
        "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
    }
    done = subprocess.run(
        [sys.executable, "-c", PMAPPER_SHIM, "graph", "create", "--localstack-endpoint",
         own_server.endpoint, "--include-services", "iam", "sts", "lambda", "ec2",
         "cloudformation", "--include-regions", "us-east-1"],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    graph = Path(tmp / "pmapper" / own_server.account_id / "graph")
    nodes = json.loads((graph / "nodes.json").read_text())
    edges = json.loads((graph / "edges.json").read_text())
    return {"admins": {n["arn"] for n in nodes if n["is_admin"]},
            "edges": {(e["source"], e["destination"]): e["reason"] for e in edges},
            "log": done.stdout + done.stderr}


@pytest.fixture(scope="module")
def ours(own_server: Server, cases: list[Case]) -> Any:
    return analyze_json(own_server, "paths", "--to", "admin")


def _names(cases: list[Case]) -> dict[str, str]:
    return {c.attacker: c.name for c in cases} | {c.fixed: c.name + " (fixed)" for c in cases}


def _our_edges(ours: Any) -> set[tuple[str, str]]:
    """Moves between principals as stored (not to or from a variant), as pmapper's edges."""
    return {(m["fromArn"], m["toArn"]) for m in ours["moves"]
            if m["fromArn"] != m["toArn"] and m["from"] == m["fromArn"]
            and m["to"] == m["toArn"]}


def test_administrators_agree_but_for_two_methods_pmapper_lacks(
        pmapper: dict[str, Any], ours: Any, cases: list[Case]) -> None:
    """pmapper's is_admin is "allowed *, or can escalate itself in one step" (PutUserPolicy
    / AttachUserPolicy on itself, CreatePolicyVersion on an attached policy, its groups'
    policies); ours is the first, plus one-move self escalations found as paths. pmapper does
    not model AddUserToGroup or SetDefaultPolicyVersion (Rhino's methods 13 and 2): both
    principals can make themselves administrators (the steps are allowed; we are right)."""
    names = _names(cases)
    our_admins = set(ours["administrators"])
    self_escalators = {p["from"] for p in ours["paths"]
                       if len(p["moves"]) == 1 and p["to"] == p["from"]}
    assert pmapper["admins"] - our_admins - self_escalators == set()
    assert sorted(names.get(a, a) for a in (our_admins | self_escalators)
                  - pmapper["admins"]) == ["AddUserToGroup", "SetDefaultPolicyVersion"]


def test_pmapper_misses_create_role_scoped_to_role_arns(
        pmapper: dict[str, Any], ours: Any, cases: list[Case]) -> None:
    """pmapper asks iam:CreateRole (then AttachRolePolicy / PutRolePolicy) on resource
    ``*``; a policy allowing them on ``arn:aws:iam::ACCT:role/*`` never matches that, yet
    CreateRole is authorized on the new role's ARN (Service Authorization Reference), so the
    user can create, empower and assume a role of its own: we are right."""
    case = next(c for c in cases if c.name == "CreateRole+PutRolePolicy")
    assert case.attacker not in pmapper["admins"]
    [path] = [p for p in ours["paths"] if p["from"] == case.attacker]
    assert [s["action"] for s in path["moves"][0]["steps"]] == [
        "iam:CreateRole", "iam:PutRolePolicy", "sts:AssumeRole"]
    assert case.fixed not in pmapper["admins"]


def test_edges_differ_where_listed(pmapper: dict[str, Any], ours: Any,
                                   cases: list[Case]) -> None:
    names = _names(cases)
    ours_edges = _our_edges(ours)
    one_move = {p["from"] for p in ours["paths"] if len(p["moves"]) == 1}
    missing = {(names.get(a, a), b.rsplit("/", 1)[1].rsplit("-", 1)[0])
               for a, b in set(pmapper["edges"]) - ours_edges
               # A principal with a move straight to an administrator lists only that move
               # (graph.moves_from): any path through it ends there.
               if a not in one_move}
    # pmapper: "can update the trust document to access". The user's permissions boundary
    # allows iam:UpdateAssumeRolePolicy but not sts:AssumeRole, and a user named in a trust
    # policy still needs its boundary to allow sts:AssumeRole (IAM User Guide,
    # id_roles_update-role-trust-policy). pmapper never checks the AssumeRole; we are right.
    assert missing == {("UpdateAssumeRolePolicy (fixed)", "locked")}
    assert "trust document" in pmapper["edges"][next(
        e for e in pmapper["edges"] if names.get(e[0]) == "UpdateAssumeRolePolicy (fixed)")]
    extra = {(names.get(a, a), b.rsplit("/", 1)[1].rsplit("-", 1)[0])
             for a, b in ours_edges - set(pmapper["edges"])}
    # pmapper has no tagging move: the user may tag itself team=<value> and the trust policy
    # then admits it (both steps allowed by the engine; we are right).
    assert extra == {("TagUser+AssumeRole (ABAC)", "abac-admin")}


def test_both_agree_on_the_pass_role_and_credential_moves(
        pmapper: dict[str, Any], ours: Any, cases: list[Case]) -> None:
    edges = set(pmapper["edges"])
    for name in ("CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile",
                 "PassRole+lambda:CreateFunction+InvokeFunction", "PassRole+ec2:RunInstances",
                 "AssumeRole"):
        case = next(c for c in cases if c.name == name)
        ours_to = {b for a, b in _our_edges(ours) if a == case.attacker}
        assert ours_to and ours_to <= {b for a, b in edges if a == case.attacker}, name
        assert not any(a == case.fixed for a, _ in edges), name
