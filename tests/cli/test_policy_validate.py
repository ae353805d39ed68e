"""`opensts policy validate` and `explain` warnings, as subprocesses (no server): JSON
errors with their line and column, unknown actions, resources an action cannot act on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OPENSTS = str(Path(sys.executable).parent / "opensts")
ALICE = "arn:aws:iam::111122223333:user/alice"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPENSTS, "policy", *args], capture_output=True, text=True,
                          timeout=60)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_json_error_gives_line_and_column(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.json", '{\n  "Version": "2012-10-17",\n'
                   '  "Statement": [\n    {"Effect": "Allow"\n     "Action": "*"}]}')
    result = run("validate", str(broken))
    assert result.returncode == 1
    assert result.stdout.strip() == (
        f"{broken}: MalformedPolicyDocument: Syntax errors in policy. "
        "(line 5, column 6: Expecting ',' delimiter)")


def test_explain_refuses_a_broken_file_with_its_location(tmp_path: Path) -> None:
    broken = write(tmp_path, "trust.json", '{"Version": "2012-10-17", "Statement": [')
    result = run("explain", "--principal", ALICE, "--action", "sts:AssumeRole",
                 "--resource", "arn:aws:iam::111122223333:role/r",
                 "--resource-policy", str(broken), "--trust")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"{broken}: MalformedPolicyDocument: This policy contains "
                                     "invalid Json (line 1, column 41: Expecting value)")


def test_validate_warns_on_resources_the_action_cannot_act_on(tmp_path: Path) -> None:
    doc = write(tmp_path, "p.json", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": "arn:aws:s3:::reports"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports*"},
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "arn:aws:iam::*:user/*"},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:user/*"},
    ]}))
    result = run("validate", str(doc))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == ["warning RESOURCE_TYPE_MISMATCH"] * 3
    assert "Statement[0]: s3:GetObject acts on accesspointobject" in lines[0]
    assert "object (arn:${Partition}:s3:::${BucketName}/${ObjectName}); no Resource of the " \
        "statement names one" in lines[0]
    assert 'Statement[2]: iam:ListUsers acts on no resource type, only on "*"' in lines[1]
    assert "Statement[3]: sts:AssumeRole acts on role (arn:${Partition}:iam::${Account}:role/" \
        in lines[2]
    assert run("validate", "--strict", str(doc)).returncode == 1


def test_explain_warns_on_unknown_actions_and_mismatched_resources(tmp_path: Path) -> None:
    allow_all = write(tmp_path, "all.json", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))

    def explain(action: str, resource: str) -> subprocess.CompletedProcess[str]:
        return run("explain", "--principal", ALICE, "--action", action, "--resource", resource,
                   "--identity", str(allow_all))

    typo = explain("s3:GetObjekt", "arn:aws:s3:::b/k")
    assert typo.returncode == 0
    assert typo.stderr == "warning: unknown action s3:GetObjekt (not in the IAM service catalog)\n"
    bucket = explain("s3:GetObject", "arn:aws:s3:::b")
    assert bucket.stderr.startswith("warning: s3:GetObject acts on accesspointobject")
    assert bucket.stderr.endswith("; arn:aws:s3:::b is none of them\n")
    assert explain("s3:GetObject", "arn:aws:s3:::b/k").stderr == ""
    assert explain("s3:ListBucket", "arn:aws:s3:::b").stderr == ""
    custom = explain("orders:GetOrder", "arn:aws:orders:::o/1")
    assert custom.stderr.startswith("note: orders is not an AWS service")
