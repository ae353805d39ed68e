"""The audit-log usage index of unused access: real AuditLog files, rotated and compressed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opensts.audit.log import AuditLog, streams
from opensts.services.accessanalyzer.unused import UsageIndex, event_actions, used_by

BASE = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def role_event(n: int, name: str = "ListUsers", source: str = "iam") -> dict[str, Any]:
    return {"eventTime": (BASE + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": f"{source}.amazonaws.com", "eventName": name,
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAROLE:s",
                             "sessionContext": {"sessionIssuer": {
                                 "type": "Role", "principalId": "AROAROLE",
                                 "arn": "arn:aws:iam::123456789012:role/r"}}},
            "padding": "x" * 200}


def wait_compressed(directory: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = [p.name for paths in streams(directory).values() for p in paths]
        plain_segments = [n for n in names if n.count(".") == 2 and not n.endswith(".gz")]
        if not plain_segments:
            return
        time.sleep(0.05)


def test_index_follows_appends_rotation_and_compression(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    log = AuditLog(directory, max_bytes=2000)  # a few events per segment
    index = UsageIndex(directory)
    try:
        for n in range(5):
            log.write_sync(role_event(n))
        assert index.refresh()["AROAROLE"] == {"iam:listusers": BASE + timedelta(seconds=4)}
        for n in range(5, 40):
            log.write_sync(role_event(n, "ListRoles" if n == 39 else "ListUsers"))
        wait_compressed(directory)
        assert any(p.suffix == ".gz" for ps in streams(directory).values() for p in ps)
        got = index.refresh()["AROAROLE"]
        assert got == {"iam:listusers": BASE + timedelta(seconds=38),
                       "iam:listroles": BASE + timedelta(seconds=39)}
        # A fresh index reading the same files finds the same.
        assert UsageIndex(directory).refresh()["AROAROLE"] == got
    finally:
        log.close()


def test_who_used_what() -> None:
    user = {"eventTime": "2026-12-04T10:00:00Z", "eventSource": "sts.amazonaws.com",
            "eventName": "GetCallerIdentity",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAUSER",
                             "arn": "arn:aws:iam::123456789012:user/u"}}
    assert used_by(user) == ("AIDAUSER", ("sts:getcalleridentity",),
                             datetime(2026, 12, 4, 10, tzinfo=UTC))
    assert used_by(role_event(0))[0] == "AROAROLE"  # type: ignore[index]
    root = {**user, "userIdentity": {"type": "Root", "principalId": "123456789012"}}
    anonymous = {**user, "userIdentity": {"type": "AWSAccount", "principalId": ""}}
    assert used_by(root) is None and used_by(anonymous) is None
    assert event_actions("s3", "ListObjectsV2") == ("s3:listbucket",)
    assert event_actions("s3", "GetObject") == ("s3:getobject",)
    assert event_actions("access-analyzer", "ListFindingsV2") == (
        "access-analyzer:listfindings",)
    assert event_actions("iam", "ListUsers") == ("iam:listusers",)
