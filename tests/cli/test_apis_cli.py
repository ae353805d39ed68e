"""``opensts api apply/list/show/delete`` against a real store file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from opensts.cli.apis import api
from opensts.config import Settings
from opensts.directory.records import Account
from opensts.store import open_store

ACCT, OTHER = "111122223333", "444455556666"
CLEAN = {name: None for name in os.environ if name.startswith("OPENSTS_")}
DECL = {
    "api_id": "orders", "account": ACCT, "stages": ["prod"],
    "policy": {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
        "Resource": "execute-api:/prod/GET/health"}]},
    "routes": [{"route": "GET /orders/{id}", "action": "orders:GetOrder",
                "resource": f"arn:aws:orders:us-east-1:{ACCT}:order/{{id}}"},
               {"route": "ANY /{proxy+}"}],
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    Settings.from_env(data, env={}, create=True)  # a server's data dir holds its master.key
    store = open_store(f"sqlite:///{(data / 'opensts.db').resolve()}", aws_managed=False)
    for account in (ACCT, OTHER):
        store.create_account(Account(account, account, "a@example.com", datetime.now(UTC)))
    store.close()
    return data


def run(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(api, [*args, "--data-dir", str(data_dir)], env=CLEAN,
                              catch_exceptions=False)


def write(tmp_path: Path, doc: object, name: str = "orders.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return path


def stored(data_dir: Path):  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{(data_dir / 'opensts.db').resolve()}", aws_managed=False)
    try:
        return store.find_api("orders")
    finally:
        store.close()


def test_apply_creates_then_replaces(data_dir: Path, tmp_path: Path) -> None:
    result = run(data_dir, "apply", str(write(tmp_path, DECL)))
    assert result.exit_code == 0, result.output
    assert "created API orders of account 111122223333 (region us-east-1, stages prod, " \
           "2 routes, resource policy)" in result.output
    api_ = stored(data_dir)
    assert api_.routes[0].action == "orders:GetOrder" and len(api_.routes) == 2
    assert "arn:aws:execute-api:us-east-1:111122223333:orders/prod/GET/health" in api_.policy
    created = api_.created
    replaced = {**DECL, "stages": ["prod", "beta"], "routes": []}
    replaced.pop("policy")
    result = run(data_dir, "apply", str(write(tmp_path, replaced)))
    assert result.exit_code == 0 and "replaced API orders" in result.output
    api_ = stored(data_dir)
    assert api_.stages == ("prod", "beta") and api_.routes == () and api_.policy is None
    assert api_.created == created


def test_an_invalid_file_writes_nothing_and_points_at_the_field(data_dir: Path,
                                                                tmp_path: Path) -> None:
    bad = {**DECL, "routes": [{"route": "GET /orders/{id}", "resource": "arn:aws:x:::{nope}"}]}
    path = write(tmp_path, bad)
    result = run(data_dir, "apply", str(path))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines and all(line.startswith(f"{path}:") for line in lines)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if '"resource": "arn:aws:x' in text)
    assert f"{path}:{line}:19: routes[0].resource: a custom resource needs a custom action" in (
        result.output)
    assert stored(data_dir) is None


def test_toml_and_the_policy_finding(data_dir: Path, tmp_path: Path) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "orders:List", "Resource": "*"}]})
    toml = f'''api_id = "orders"
account = "{ACCT}"
stages = ["prod"]
policy = '{policy}'
'''
    result = run(data_dir, "apply", str(write(tmp_path, toml, "orders.toml")))
    assert result.exit_code == 0, result.output
    assert "orders is not an AWS service; its actions are not checked" in result.output
    assert stored(data_dir).policy is not None


def test_account_problems(data_dir: Path, tmp_path: Path) -> None:
    nobody = {"api_id": "orders", "account": "999999999999", "stages": ["prod"]}
    result = run(data_dir, "apply", str(write(tmp_path, nobody)))
    assert result.exit_code == 1 and "no account 999999999999" in result.output
    assert run(data_dir, "apply", str(write(tmp_path, DECL))).exit_code == 0
    other = {**DECL, "account": OTHER, "routes": []}
    other.pop("policy")
    result = run(data_dir, "apply", str(write(tmp_path, other)))
    assert result.exit_code == 1 and "taken by account 111122223333" in result.output
    assert stored(data_dir).account_id == ACCT


def test_list_show_round_trip_and_delete(data_dir: Path, tmp_path: Path) -> None:
    run(data_dir, "apply", str(write(tmp_path, DECL)))
    second = {"api_id": "billing", "account": OTHER, "stages": ["v1", "v2"]}
    run(data_dir, "apply", str(write(tmp_path, second, "billing.json")))
    listing = run(data_dir, "list").output.splitlines()
    assert listing == ["billing  444455556666  us-east-1  v1,v2  routes=0  -",
                       "orders  111122223333  us-east-1  prod  routes=2  policy"]
    assert run(data_dir, "list", "--account", OTHER).output.startswith("billing ")
    shown = run(data_dir, "show", "orders")
    assert shown.exit_code == 0
    declaration = json.loads(shown.output)
    assert declaration["routes"] == DECL["routes"]
    before = stored(data_dir)
    assert run(data_dir, "apply", str(write(tmp_path, shown.output, "again.json"))).exit_code == 0
    after = stored(data_dir)
    assert (after.policy, after.routes, after.stages) == (before.policy, before.routes,
                                                          before.stages)
    assert run(data_dir, "delete", "orders").output.strip() == "deleted API orders"
    assert stored(data_dir) is None
    result = run(data_dir, "delete", "orders")
    assert result.exit_code == 1 and "no API orders" in result.output
    assert run(data_dir, "show", "orders").exit_code == 1


def test_the_group_is_registered() -> None:
    out = subprocess.run([sys.executable, "-m", "opensts.cli.main", "api", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert all(name in out for name in ("apply", "list", "show", "delete"))


def test_policy_explain_and_validate_answer_for_custom_actions(tmp_path: Path) -> None:
    from opensts.cli.policy import policy as policy_group

    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "orders:Get*",
         "Resource": f"arn:aws:orders:us-east-1:{ACCT}:order/*"},
        {"Effect": "Deny", "Action": "orders:GetOrder",
         "Resource": f"arn:aws:orders:us-east-1:{ACCT}:order/secret"}]}
    path = write(tmp_path, doc, "p.json")
    runner = CliRunner()
    args = ["explain", "--principal", f"arn:aws:iam::{ACCT}:user/a", "--identity", str(path),
            "--action", "orders:GetOrder", "--resource"]
    allowed = runner.invoke(policy_group, [*args, f"arn:aws:orders:us-east-1:{ACCT}:order/1"])
    assert allowed.exit_code == 0 and "Decision: allowed" in allowed.output
    assert "note: orders is not an AWS service; its actions are not checked" in allowed.output
    denied = runner.invoke(policy_group, [*args,
                                          f"arn:aws:orders:us-east-1:{ACCT}:order/secret"])
    assert denied.exit_code == 1 and "explicitDeny" in denied.output
    validated = runner.invoke(policy_group, ["validate", str(path), "--strict"])
    assert validated.exit_code == 1  # --strict: the note is a finding
    assert ("suggestion NOT_AN_AWS_SERVICE: Statement[0]: orders is not an AWS service; its "
            "actions are not checked") in validated.output
    assert runner.invoke(policy_group, ["validate", str(path)]).exit_code == 0
