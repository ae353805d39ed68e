"""`opensts policy explain` and `opensts policy validate` as subprocesses (no server)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.simulate.helpers import allow, deny, policy

OPENSTS = str(Path(sys.executable).parent / "opensts")
ALICE = "arn:aws:iam::111122223333:user/alice"
OBJECT = "arn:aws:s3:::reports/q1.csv"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPENSTS, "policy", *args], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    docs = {
        "read": policy(allow("s3:GetObject", "arn:aws:s3:::reports/*", Sid="ReadReports",
                             Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
        "guard": policy(deny("s3:GetObject", "arn:aws:s3:::reports/q1.csv", Sid="HideQ1")),
        "boundary": policy(allow("dynamodb:*", Sid="OnlyDynamo")),
        "bucket": policy({"Sid": "PartnerRead", "Effect": "Allow",
                          "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                          "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}),
        "scp": policy(deny("s3:*", Sid="NoS3",
                           Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}),
                      allow("*", Sid="All")),
        "broken": '{"Version": "2012-10-17", "Statement": {"Effect": "Permit"}}',
        "typo": policy(allow("s3:GetObjekt")),
    }
    out = {}
    for name, text in docs.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        out[name] = path
    return out


def explain(files: dict[str, Path], *extra: str) -> subprocess.CompletedProcess[str]:
    return run("explain", "--action", "s3:GetObject", "--resource", OBJECT,
               "--principal", ALICE, *extra)


def test_allowed_exits_zero_and_names_the_statement(files: dict[str, Path]) -> None:
    result = explain(files, "--identity", str(files["read"]), "--context",
                     "aws:SourceIp=10.1.2.3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Decision: allowed")
    assert f"decisive: Allow identity {files['read']} Statement[0] (Sid ReadReports)" \
        in result.stdout


def test_failing_condition_is_explained(files: dict[str, Path]) -> None:
    result = explain(files, "--identity", str(files["read"]), "--context",
                     "aws:SourceIp=192.0.2.7")
    assert result.returncode == 1
    assert "Decision: implicitDeny" in result.stdout
    assert ("condition IpAddress aws:SourceIp failed: request value '192.0.2.7', "
            "policy values ['10.0.0.0/8']") in result.stdout


def test_missing_context_value(files: dict[str, Path]) -> None:
    result = explain(files, "--identity", str(files["read"]))
    assert result.returncode == 1
    assert "Missing context values: aws:SourceIp" in result.stdout
    assert "request value missing" in result.stdout


def test_explicit_deny_in_second_identity_file(files: dict[str, Path]) -> None:
    result = explain(files, "--identity", str(files["read"]), "--identity",
                     str(files["guard"]), "--context", "aws:SourceIp=10.0.0.1")
    assert result.returncode == 1
    assert "Decision: explicitDeny" in result.stdout
    assert f"decisive: Deny identity {files['guard']} Statement[0] (Sid HideQ1)" \
        in result.stdout


def test_boundary_limits(files: dict[str, Path]) -> None:
    result = explain(files, "--identity", str(files["read"]), "--boundary",
                     str(files["boundary"]), "--context", "aws:SourceIp=10.0.0.1")
    assert result.returncode == 1
    assert "the permissions boundary does not allow" in result.stdout
    assert "Permissions boundary: implicitDeny" in result.stdout


def test_cross_account_resource_policy_and_json(files: dict[str, Path]) -> None:
    carol = "arn:aws:iam::444455556666:user/carol"
    args = ["explain", "--action", "s3:GetObject", "--resource", OBJECT, "--principal", carol,
            "--resource-policy", str(files["bucket"]), "--resource-account", "111122223333",
            "--json"]
    denied = run(*args)
    assert denied.returncode == 1
    body = json.loads(denied.stdout)
    assert body["decision"] == "implicitDeny"
    assert "caller's policies do not allow" in body["reason"]
    allowed = run(*args, "--identity", str(files["read"]), "--context", "aws:SourceIp=10.9.9.9")
    assert allowed.returncode == 0
    body = json.loads(allowed.stdout)
    assert {(m["sourcePolicyType"], m["sid"]) for m in body["matchedStatements"]} == {
        ("identity", "ReadReports"), ("resource", "PartnerRead")}


def test_scp_levels_and_multivalued_context(files: dict[str, Path]) -> None:
    base = ["--identity", str(files["read"]), "--scp", str(files["scp"]),
            "--context", "aws:SourceIp=10.0.0.1"]
    denied = explain(files, *base, "--context", "aws:RequestedRegion=us-east-1")
    assert denied.returncode == 1
    assert "scp level 0" in denied.stdout and "(Sid NoS3)" in denied.stdout
    allowed = explain(files, *base, "--context", "aws:RequestedRegion=eu-west-1")
    assert allowed.returncode == 0


def test_invalid_arguments_exit_two(files: dict[str, Path]) -> None:
    bad_policy = explain(files, "--identity", str(files["broken"]))
    assert bad_policy.returncode == 2
    assert "MalformedPolicyDocument" in bad_policy.stderr
    bad_principal = run("explain", "--action", "s3:GetObject", "--principal", "alice")
    assert bad_principal.returncode == 2
    bad_context = explain(files, "--context", "novalue")
    assert bad_context.returncode == 2


def test_help_documents_exit_codes() -> None:
    result = run("explain", "--help")
    assert result.returncode == 0
    assert "0 when the request is allowed, 1 when it is denied" in " ".join(result.stdout.split())


def test_validate(files: dict[str, Path]) -> None:
    ok = run("validate", str(files["read"]))
    assert (ok.returncode, ok.stdout.strip()) == (0, f"{files['read']}: valid identity policy")
    malformed = run("validate", str(files["broken"]))
    assert malformed.returncode == 1
    assert "MalformedPolicyDocument: Invalid effect: Permit" in malformed.stdout
    typo = run("validate", str(files["typo"]))
    assert typo.returncode == 0
    assert "warning UNKNOWN_ACTION" in typo.stdout and "s3:GetObjekt" in typo.stdout
    assert run("validate", "--strict", str(files["typo"])).returncode == 1
    wrong_kind = run("validate", "--kind", "resource", str(files["read"]))
    assert wrong_kind.returncode == 1
    assert "Missing required field Principal" in wrong_kind.stdout
    trust = run("validate", "--kind", "trust", str(files["bucket"]))
    assert trust.returncode == 1
    assert "Has prohibited field Resource" in trust.stdout
    assert run("validate", "--kind", "resource", str(files["bucket"])).returncode == 0


def test_matching_statement_shows_resolved_variables(tmp_path: Path) -> None:
    home = tmp_path / "home.json"
    home.write_text(policy(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*")))
    result = run(
        "explain", "--action", "s3:GetObject", "--resource", "arn:aws:s3:::home/alice/x",
        "--principal", ALICE, "--identity", str(home), "--context", "aws:username=alice",
    )
    assert result.returncode == 0, result.stderr
    assert "MATCH (${aws:username}='alice')" in result.stdout
