"""``opensts analyze who-can ACTION RESOURCE``: every user and role the engine allows, with
the deciding statement; an explicit deny, a boundary or a trust policy not naming the
principal leaves one out; a condition on a key the caller picks makes it conditional."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.analyzer._estate import ADMIN, Builder, allow, analyze, analyze_json, deny, trust
from tests.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("who-can") / "data")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def estate(own_server: Server) -> dict[str, str]:
    b = Builder(own_server)
    target = b.arn("user", "target-of-who-can")
    only_s3 = b.policy("boundary-s3", allow("s3:GetObject"))
    out = {
        "admin": b.admin_user("wc-admin"),
        "named": b.user("wc-named", {"Sid": "Named", **allow("iam:CreateAccessKey", target)}),
        "denied": b.user("wc-denied", allow("iam:*"), deny("iam:CreateAccessKey")),
        "bounded": b.user("wc-bounded", allow("iam:*"), boundary=only_s3),
        "office": b.user("wc-office", {"Sid": "Office", **allow(
            "iam:CreateAccessKey", target,
            Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})}),
        "nothing": b.user("wc-nothing"),
    }
    out["trusted"] = b.user("wc-trusted")
    out["role"] = b.role("wc-role", trust({"AWS": out["trusted"]}), admin=False)
    return out


def _found(report: Any) -> dict[str, Any]:
    return {p["arn"]: p for p in report["principals"]}


def test_who_can_create_an_access_key(own_server: Server, estate: dict[str, str]) -> None:
    target = f"arn:aws:iam::{own_server.account_id}:user/target-of-who-can"
    found = _found(analyze_json(own_server, "who-can", "iam:CreateAccessKey", target))
    assert found[estate["admin"]]["outcome"] == "allowed"
    [admin_statement] = found[estate["admin"]]["statements"]
    assert admin_statement["source"] == ADMIN
    assert admin_statement["statement"]["Action"] == "*"
    assert [s["sid"] for s in found[estate["named"]]["statements"]] == ["Named"]
    office = found[estate["office"]]
    assert office["outcome"] == "conditional"
    assert office["dependsOnKeys"] == ["aws:SourceIp"]
    for left_out in ("denied", "bounded", "nothing", "trusted"):
        assert estate[left_out] not in found, left_out


def test_who_can_assume_a_role_reads_its_trust_policy(own_server: Server,
                                                      estate: dict[str, str]) -> None:
    found = _found(analyze_json(own_server, "who-can", "sts:AssumeRole", estate["role"]))
    trusted = found[estate["trusted"]]
    [statement] = trusted["statements"]
    assert statement["policyType"] == "resource"
    assert statement["statement"]["Principal"] == {"AWS": estate["trusted"]}
    # Administrators of the account are not named by the trust policy: a role's trust
    # policy must allow the caller itself (it names only the one user).
    assert estate["admin"] not in found
    assert set(found) == {estate["trusted"]}


def test_who_can_in_text(own_server: Server, estate: dict[str, str]) -> None:
    done = analyze(own_server, "who-can", "sts:AssumeRole", estate["role"])
    assert done.returncode == 0, done.stderr
    assert estate["trusted"] in done.stdout
    assert "allowed by" not in done.stdout  # text form: the statement follows the ARN
    assert "trust policy of " + estate["role"] + " statement 0" in done.stdout
    none = analyze(own_server, "who-can", "iam:DeleteAccountPasswordPolicy", "*")
    assert estate["admin"] in none.stdout and estate["named"] not in none.stdout
