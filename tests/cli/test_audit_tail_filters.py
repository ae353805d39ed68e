"""``opensts audit tail --principal/--event/--errors``: filters that combine with each other,
with -n (the newest N matching events) and with --follow."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, BIN, Server


def tail(server: Server, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(BIN / "opensts"), "audit", "tail", "--data-dir", str(server.data_dir), "--json",
         *args], capture_output=True, text=True, timeout=60, check=True, env=dict(os.environ),
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def two_users(server: Server) -> dict[str, Any]:
    """Two users with some successes and failures each; the second may do nothing."""
    iam = server.client("iam")
    made: dict[str, Any] = {}
    for name in ("tail-alice", "tail-bob"):
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        made[name] = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
        made[name + "/sts"] = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    for _ in range(3):
        made["tail-alice/sts"].get_caller_identity()
        made["tail-bob/sts"].get_caller_identity()
        for name in ("tail-alice", "tail-bob"):
            with pytest.raises(ClientError):
                made[name].list_roles()
    return made


def arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"


def test_principal_exact_and_glob(server: Server, two_users: dict[str, Any]) -> None:
    alice = tail(server, "-n", "100", "--principal", arn("tail-alice"))
    assert len(alice) == 6 and {e["userIdentity"]["arn"] for e in alice} == {arn("tail-alice")}
    both = tail(server, "-n", "100", "--principal", f"arn:aws:iam::{ACCOUNT_ID}:user/tail-*")
    assert {e["userIdentity"]["arn"] for e in both} == {arn("tail-alice"), arn("tail-bob")}
    assert len(both) == 12
    assert tail(server, "--principal", arn("tail-nobody")) == []


def test_event_names_errors_and_n_combine(server: Server, two_users: dict[str, Any]) -> None:
    errors = tail(server, "-n", "100", "--errors", "--principal", arn("tail-bob"))
    assert len(errors) == 3
    assert all(e["errorCode"] == "AccessDenied" and e["eventName"] == "ListRoles"
               for e in errors)
    named = tail(server, "-n", "100", "--principal", arn("tail-bob"), "--event",
                 "GetCallerIdentity", "--event", "iam:ListRoles")
    assert sorted(e["eventName"] for e in named) == ["GetCallerIdentity"] * 3 + ["ListRoles"] * 3
    assert tail(server, "-n", "100", "--principal", arn("tail-bob"), "--event",
                "sts:ListRoles") == []  # a qualified name must name the right service
    # -n counts matching events (the newest two), not the events looked at.
    newest = tail(server, "-n", "2", "--errors", "--principal", arn("tail-alice"))
    assert len(newest) == 2 and all(e["errorCode"] for e in newest)
    assert newest == tail(server, "-n", "100", "--errors", "--principal", arn("tail-alice"))[-2:]
    assert tail(server, "-n", "0", "--errors") == []


def test_follow_applies_the_filters(server: Server, two_users: dict[str, Any]) -> None:
    follower = subprocess.Popen(
        [str(BIN / "opensts"), "audit", "tail", "--data-dir", str(server.data_dir), "--json",
         "-n", "0", "--follow", "--errors", "--principal", arn("tail-alice")],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in follower.stdout or ()],
                              daemon=True)
    reader.start()
    try:
        # The follower starts at the end of the live files once it has started (a loaded
        # machine may take seconds to import it): deny alice until one of hers comes through.
        deadline = time.monotonic() + 60
        while True:
            with pytest.raises(ClientError):
                two_users["tail-alice"].list_users()
            try:
                lines.get(timeout=1.0)
                break
            except queue.Empty:
                assert time.monotonic() < deadline, "audit tail --follow never printed"
        time.sleep(1.2)  # later denials of the warm-up may still be on their way
        while not lines.empty():
            lines.get()
        two_users["tail-bob/sts"].get_caller_identity()
        with pytest.raises(ClientError):
            two_users["tail-bob"].list_roles()  # an error, but bob's
        two_users["tail-alice/sts"].get_caller_identity()  # alice's, but no error
        with pytest.raises(ClientError) as denied:
            two_users["tail-alice"].list_users()  # the one to see
        request_id = denied.value.response["ResponseMetadata"]["RequestId"]
        event = json.loads(lines.get(timeout=15))
        assert event["requestID"] == request_id and event["eventName"] == "ListUsers"
        time.sleep(1.2)  # two more polls: nothing else may come through
        assert lines.empty()
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_a_sessions_events_match_its_roles_arn(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="tail-carol")
    iam.put_user_policy(UserName="tail-carol", PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="tail-carol")["AccessKey"]
    role = iam.create_role(RoleName="tail-role", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    got = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
        RoleArn=role, RoleSessionName="tailing")["Credentials"]
    server.client("sts", got["AccessKeyId"], got["SecretAccessKey"],
                  got["SessionToken"]).get_caller_identity()
    events = tail(server, "-n", "100", "--principal", role)
    assert [e["eventName"] for e in events] == ["GetCallerIdentity"]
    assert events[0]["userIdentity"]["arn"].endswith(":assumed-role/tail-role/tailing")
    sessions = tail(server, "-n", "100", "--principal", "arn:aws:sts::*:assumed-role/tail-*")
    assert [e["eventName"] for e in sessions] == ["GetCallerIdentity"]
