"""``opensts audit tail`` reads the CloudTrail-format log the server writes."""

from __future__ import annotations

import json
import subprocess

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, Server


def tail(server: Server, *args: str) -> str:
    return subprocess.run(
        [str(BIN / "opensts"), "audit", "tail", "--data-dir", str(server.data_dir), *args],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout


def test_tail_shows_successes_and_failures(server: Server) -> None:
    server.client("sts").get_caller_identity()
    with pytest.raises(ClientError):
        server.client("sts", "AKIAUNKNOWNUNKNOWN02", "x" * 40).get_caller_identity()
    lines = tail(server, "-n", "50").splitlines()
    assert any("sts:GetCallerIdentity" in line and "OK" in line for line in lines)
    assert any("InvalidClientTokenId" in line for line in lines)
    events = [json.loads(line) for line in tail(server, "-n", "2", "--json").splitlines()]
    assert len(events) == 2
    assert all(e["eventVersion"] == "1.08" and "requestID" in e for e in events)
