"""Running OpenSTS: first start, restart, SIGTERM without lost writes, PostgreSQL nodes."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, Server, start_server, stop_server
from tests.sts.helpers import creds

POSTGRES = os.environ.get("OPENSTS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def test_first_start_generates_and_prints_root_credentials_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSTS_")}
    process = subprocess.Popen(
        [str(BIN / "opensts"), "serve", "--port", "0", "--data-dir", str(data)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = [process.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
    process.terminate()
    process.wait(timeout=15)
    assert lines[0].startswith("OpenSTS management account: ")
    account = lines[0].split(": ")[1].strip()
    assert len(account) == 12 and account.isdigit()
    assert lines[1].startswith("Root access key id: AKIA")
    assert lines[2].startswith("Root secret access key (shown once): ")
    assert oct((data / "master.key").stat().st_mode & 0o777) == "0o600"
    # Second start: nothing is printed again, and the same credentials keep working.
    secret = lines[2].split(": ")[1].strip()
    key = lines[1].split(": ")[1].strip()
    server = start_server(
        data,
        {
            "OPENSTS_ACCOUNT_ID": "",
            "OPENSTS_ROOT_ACCESS_KEY_ID": "",
            "OPENSTS_ROOT_SECRET_ACCESS_KEY": "",
        },
    )
    try:
        identity = server.client("sts", key, secret).get_caller_identity()
        assert identity["Account"] == account
    finally:
        stop_server(server)
    log = (data.parent / "data-server.log").read_text()
    assert secret not in log


def test_sigterm_finishes_in_flight_requests_and_loses_no_audit_event(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    errors: list[Exception] = []

    def hammer() -> None:
        sts = server.client("sts")
        for _ in range(40):
            try:
                sts.get_caller_identity()
            except Exception as exc:  # connection refused after shutdown is expected
                errors.append(exc)
                return

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = 160 - len(errors)
    assert stop_server(server) == 0
    events = [e for e in server.audit_events() if e["eventName"] == "GetCallerIdentity"]
    assert len(events) >= answered - len(errors)
    assert len(events) == 160


def test_restart_keeps_sessions_valid(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    session = creds(server.client("sts").get_session_token())
    stop_server(server)
    again = start_server(data)
    try:
        identity = again.client("sts", **session).get_caller_identity()
        assert identity["Arn"].endswith(":root")
    finally:
        stop_server(again)


def _postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def test_two_nodes_on_postgresql_share_directory_and_sessions(tmp_path: Path) -> None:
    if not _postgres_available():
        pytest.fail(f"PostgreSQL is required for the scale-out test ({POSTGRES})")
    schema = f"opensts_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in url else "?"
    env = {
        "OPENSTS_DATABASE_URL": f"{url}{sep}options=-csearch_path%3D{schema}",
        "OPENSTS_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    first = start_server(tmp_path / "a", env)
    second: Server | None = None
    try:
        second = start_server(tmp_path / "b", env)
        iam_a = first.client("iam")
        name = f"pg-{uuid.uuid4().hex[:8]}"
        iam_a.create_user(UserName=name)
        key = iam_a.create_access_key(UserName=name)["AccessKey"]
        # The user and key created through node A authenticate on node B.
        identity = second.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
        assert identity.get_caller_identity()["Arn"].endswith(f":user/{name}")
        # A session minted by node B is accepted by node A (shared signing keys).
        session = creds(second.client("sts").get_session_token())
        assert first.client("sts", **session).get_caller_identity()["Arn"].endswith(":root")
        with pytest.raises(ClientError) as exists:
            second.client("iam").create_user(UserName=name)
        assert exists.value.response["Error"]["Code"] == "EntityAlreadyExists"
    finally:
        stop_server(first)
        if second is not None:
            stop_server(second)
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_key_rotation_keeps_live_sessions_and_retiring_revokes_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, {"OPENSTS_KEY_REFRESH_SECONDS": "0"})
    cli_env = {**server.env}

    def keys(*args: str) -> str:
        result = subprocess.run(
            [str(BIN / "opensts"), "keys", *args, "--data-dir", str(data)],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout

    try:
        old_key = keys("list").splitlines()[1].split()[0]  # below the header
        before = creds(server.client("sts").get_session_token())
        new_key = keys("rotate").strip()
        assert new_key != old_key
        listed = keys("list")
        assert f"{new_key}" in listed and "primary" in listed and "verify-only" in listed
        after = creds(server.client("sts").get_session_token())
        # Both the session sealed before and the one sealed after the rotation work.
        server.client("sts", **before).get_caller_identity()
        server.client("sts", **after).get_caller_identity()
        keys("retire", old_key)
        with pytest.raises(ClientError) as revoked:
            server.client("sts", **before).get_caller_identity()
        assert revoked.value.response["Error"]["Code"] == "InvalidClientTokenId"
        server.client("sts", **after).get_caller_identity()
    finally:
        stop_server(server)


def test_several_worker_processes_share_one_data_dir(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", args=("--workers", "2"))
    try:
        iam = server.client("iam")
        name = f"w-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        sts = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
        for _ in range(20):  # spread over both workers by the kernel's accept balancing
            assert sts.get_caller_identity()["Arn"].endswith(f":user/{name}")
    finally:
        assert stop_server(server) == 0
    calls = [e for e in server.audit_events() if e["eventName"] == "GetCallerIdentity"]
    assert len(calls) == 20


def test_calls_fail_closed_when_the_audit_log_cannot_be_written(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        # Before the first event the log has no file open: make its directory unusable.
        audit = data / "audit"
        audit.rmdir()
        audit.write_text("not a directory")
        with pytest.raises(ClientError) as unavailable:
            server.client("sts").get_session_token()
        error = unavailable.value.response
        assert error["Error"]["Code"] == "ServiceUnavailable"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
        audit.unlink()
        audit.mkdir()
        assert server.client("sts").get_caller_identity()["Account"]
    finally:
        stop_server(server)


def test_tls_listener_and_aws_secure_transport(tmp_path: Path) -> None:
    from tests.federation.pki import ca_and_server

    ca, leaf = ca_and_server("127.0.0.1")
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    (tmp_path / "cert.pem").write_text(leaf.cert_pem)
    (tmp_path / "key.pem").write_text(leaf.key_pem)
    server = start_server(
        tmp_path / "data",
        args=("--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")),
        ca_bundle=tmp_path / "ca.pem",
    )
    try:
        assert server.endpoint.startswith("https://")
        iam = server.client("iam")
        name = f"tls-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name,
            PolicyName="tls-only",
            PolicyDocument=(
                '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers",'
                '"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}'
            ),
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        server.client("iam", key["AccessKeyId"], key["SecretAccessKey"]).list_users()
    finally:
        stop_server(server)
