"""``opensts status`` and the break-glass ``opensts root create-access-key``, against a real
server's data dir (the real CLI in a subprocess; boto3 using the key it makes)."""

from __future__ import annotations

import configparser
import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from opensts.store.probe import LATEST_MIGRATION
from tests.conftest import ACCOUNT_ID, BIN, ROOT_KEY, Server, free_port, start_server, stop_server

CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("OPENSTS_")}


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Its own server: these tests add and delete root keys, which others must not see.
    running = start_server(tmp_path_factory.mktemp("status") / "data")
    yield running
    stop_server(running)


def opensts(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "opensts"), *args], env=CLEAN, capture_output=True,
                          text=True, timeout=60)


def test_status_describes_the_running_server(own_server: Server) -> None:
    data = str(own_server.data_dir)
    listed = opensts("keys", "list", "--data-dir", data).stdout.splitlines()
    primary = next(line.split()[0] for line in listed[1:] if line.endswith("primary"))
    shown = opensts("status", "--data-dir", data, "--json", "--endpoint-url",
                    own_server.endpoint)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["version"] == version("opensts")
    assert report["management_account"] == ACCOUNT_ID
    assert report["data_dir"] == str(own_server.data_dir.resolve())
    assert report["database"] == {
        "url": f"sqlite:///{(own_server.data_dir / 'opensts.db').resolve()}",
        "dialect": "sqlite", "migration": LATEST_MIGRATION, "latest_migration": LATEST_MIGRATION}
    assert report["signing_keys"]["count"] == len(listed) - 1
    assert report["signing_keys"]["primary"] == primary
    assert 0 <= report["signing_keys"]["primary_age_days"] < 1
    assert report["server"] == {"endpoint": own_server.endpoint, "answering": True,
                                "error": None}
    text = opensts("status", "--data-dir", data).stdout
    assert f"management account: {ACCOUNT_ID}" in text
    assert f"migration {LATEST_MIGRATION} of {LATEST_MIGRATION}" in text
    assert f"primary {primary} created" in text and "not checked (give --endpoint-url)" in text


def test_status_fails_when_the_server_does_not_answer(own_server: Server) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = opensts("status", "--data-dir", str(own_server.data_dir), "--endpoint-url", dead)
    assert result.returncode == 1
    assert f"server:             {dead} NOT answering" in result.stdout


def test_root_create_access_key_is_usable_limited_to_two_and_audited(
        own_server: Server, tmp_path: Path) -> None:
    data = str(own_server.data_dir)
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    result = opensts("root", "create-access-key", "--data-dir", data,
                     "--credentials-file", str(taken))
    assert result.returncode == 1 and "exists: refusing to overwrite it" in result.stderr
    assert taken.read_text() == "keep me"
    assert [k["AccessKeyId"] for k in own_server.client("iam").list_access_keys()[
        "AccessKeyMetadata"]] == [ROOT_KEY]

    target = tmp_path / "break-glass.ini"
    result = opensts("root", "create-access-key", "--data-dir", data,
                     "--credentials-file", str(target))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    profile = configparser.ConfigParser()
    profile.read(target)
    key, secret = (profile["default"]["aws_access_key_id"],
                   profile["default"]["aws_secret_access_key"])
    assert secret not in result.stdout
    assert own_server.client("sts", key, secret).get_caller_identity()["Arn"] == \
        f"arn:aws:iam::{ACCOUNT_ID}:root"

    third = opensts("root", "create-access-key", "--data-dir", data)
    assert third.returncode == 1
    assert "already has 2 access keys, AWS's limit" in third.stderr
    assert ROOT_KEY in third.stderr and key in third.stderr
    assert "opensts root delete-access-key KEY_ID" in third.stderr

    events = [json.loads(line) for path in (own_server.data_dir / "audit").glob("*.jsonl")
              for line in path.read_text().splitlines()]
    made = [e for e in events if e["eventName"] == "CreateAccessKey"
            and e["userIdentity"].get("invokedBy") == "opensts-cli"]
    assert len(made) == 1
    assert made[0]["responseElements"]["accessKey"]["accessKeyId"] == key
    assert made[0]["recipientAccountId"] == ACCOUNT_ID
    assert made[0]["additionalEventData"]["command"] == "opensts root create-access-key"
    assert all(secret not in json.dumps(e) for e in events)

    deleted = opensts("root", "delete-access-key", key, "--data-dir", data)
    assert deleted.returncode == 0 and f"deleted root access key {key}" in deleted.stdout
    deadline = time.monotonic() + 10  # servers see the store's new generation shortly
    while True:
        try:
            own_server.client("sts", key, secret).get_caller_identity()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "InvalidClientTokenId"
            break
        assert time.monotonic() < deadline, "the deleted key still works"
        time.sleep(0.2)
    again = opensts("root", "delete-access-key", key, "--data-dir", data)
    assert again.returncode == 1 and f"has no access key {key}" in again.stderr


def test_status_json_and_root_help_say_what_they_do() -> None:
    for command in (("status",), ("root", "create-access-key"), ("backup",), ("restore",)):
        shown = opensts(*command, "--help")
        assert shown.returncode == 0 and "--data-dir" in shown.stdout
    assert "SECRET" in opensts("backup", "--help").stdout
