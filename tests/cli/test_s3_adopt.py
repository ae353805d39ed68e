"""``opensts s3 adopt`` / ``opensts s3 list`` against a real store file (and a real backend)."""

from __future__ import annotations

import hmac
import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from click.testing import CliRunner, Result

from opensts.cli.s3 import s3, signed_head_bucket
from opensts.config import Settings
from opensts.directory.records import Account, PublicAccessBlock
from opensts.store import open_store
from tests.conftest import BIN

ACCT = "111122223333"
KEY, SECRET = "AKIDBACKENDEXAMPLE01", "backendSecretExample0000000000000000000000"
CLEAN = {name: None for name in os.environ if name.startswith("OPENSTS_")}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    Settings.from_env(data, env={}, create=True)  # a server's data dir holds its master.key
    store = open_store(f"sqlite:///{(data / 'opensts.db').resolve()}", aws_managed=False)
    store.create_account(Account(ACCT, "main", "a@example.com", datetime.now(UTC)))
    store.close()
    return data


def run(data_dir: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(s3, [*args, "--data-dir", str(data_dir)],
                              env={**CLEAN, **env}, catch_exceptions=False)


def stored(data_dir: Path):  # type: ignore[no-untyped-def]
    return open_store(f"sqlite:///{(data_dir / 'opensts.db').resolve()}", aws_managed=False)


def test_adopt_without_a_backend_records_and_says_so(data_dir: Path) -> None:
    result = run(data_dir, "adopt", "legacy-data", "--account", ACCT)
    assert result.exit_code == 0, result.output
    assert "adopted legacy-data for account 111122223333 (region us-east-1)" in result.output
    assert "recorded without checking" in result.output
    store = stored(data_dir)
    bucket = store.get_bucket("legacy-data")
    store.close()
    assert (bucket.account_id, bucket.region, bucket.policy, bucket.tags) == (
        ACCT, "us-east-1", None, ())
    assert bucket.public_access_block == PublicAccessBlock.all_on()


def test_adopt_errors(data_dir: Path) -> None:
    result = run(data_dir, "adopt", "legacy-data", "--account", "999999999999")
    assert result.exit_code == 1 and "no account 999999999999" in result.output
    for bad in ("Legacy_Data", "ab", "192.168.1.1", "a..b", "xn--abc"):
        result = run(data_dir, "adopt", bad, "--account", ACCT)
        assert result.exit_code == 1 and "invalid bucket name" in result.output, bad
    result = run(data_dir, "adopt", "legacy-data", "--account", "1234")
    assert result.exit_code == 1 and "12-digit" in result.output
    assert run(data_dir, "adopt", "legacy-data", "--account", ACCT,
               "--region", "eu-west-1").exit_code == 0
    again = run(data_dir, "adopt", "legacy-data", "--account", ACCT)
    assert again.exit_code == 1
    assert "already owned by account 111122223333" in again.output
    store = stored(data_dir)
    assert [b.name for b in store.list_buckets()] == ["legacy-data"]
    assert store.get_bucket("legacy-data").region == "eu-west-1"
    store.close()


def test_backend_settings_errors(data_dir: Path) -> None:
    result = run(data_dir, "adopt", "legacy-data", "--account", ACCT,
                 "--s3-backend", "http://127.0.0.1:9")
    assert result.exit_code == 1 and "OPENSTS_S3_BACKEND_ACCESS_KEY_ID" in result.output
    result = run(data_dir, "adopt", "legacy-data", "--account", ACCT,
                 "--s3-backend", "ftp://x/y", OPENSTS_S3_BACKEND_ACCESS_KEY_ID=KEY,
                 OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY=SECRET)
    assert result.exit_code == 1 and "http(s)://host[:port]" in result.output
    closed = run(data_dir, "adopt", "legacy-data", "--account", ACCT,
                 OPENSTS_S3_BACKEND_URL="http://127.0.0.1:9",
                 OPENSTS_S3_BACKEND_ACCESS_KEY_ID=KEY,
                 OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY=SECRET)
    assert closed.exit_code == 1 and "did not answer" in closed.output
    assert SECRET not in closed.output
    store = stored(data_dir)
    assert store.list_buckets() == []
    store.close()


def botocore_signature(url: str, amz_date: str, content_sha256: str, region: str,
                       secret: str = SECRET) -> str:
    """The signature botocore's S3 signer computes for this HeadBucket at ``amz_date``."""
    request = AWSRequest(method="HEAD", url=url, headers={
        "X-Amz-Date": amz_date, "X-Amz-Content-SHA256": content_sha256})
    request.context["timestamp"] = amz_date
    signer = S3SigV4Auth(Credentials(KEY, secret), "s3", region)
    return str(signer.signature(signer.string_to_sign(
        request, signer.canonical_request(request)), request))


class _Storage(BaseHTTPRequestHandler):
    """A loopback S3 endpoint that checks each HeadBucket's SigV4 signature with botocore's
    signer (an independent implementation) and knows one bucket."""

    buckets = frozenset({"legacy-data"})
    seen: ClassVar[list[str]] = []

    def do_HEAD(self) -> None:
        auth = self.headers.get("Authorization", "")
        want = botocore_signature(f"http://{self.headers['Host']}{self.path}",
                                  self.headers["X-Amz-Date"],
                                  self.headers["X-Amz-Content-SHA256"], "eu-west-1")
        got = auth.split("Signature=")[1] if "Signature=" in auth else ""
        self.seen.append(self.path)
        if not hmac.compare_digest(want, got):
            self.send_response(403)
        elif self.path.lstrip("/") in self.buckets:
            self.send_response(200)
        else:
            self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def storage() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Storage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def backend_env(url: str, secret: str = SECRET) -> dict[str, str]:
    return {"OPENSTS_S3_BACKEND_URL": url, "OPENSTS_S3_BACKEND_ACCESS_KEY_ID": KEY,
            "OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY": secret,
            "OPENSTS_S3_BACKEND_REGION": "eu-west-1"}


def test_adopt_checks_the_bucket_in_the_backend(data_dir: Path, storage: str) -> None:
    missing = run(data_dir, "adopt", "nowhere", "--account", ACCT, **backend_env(storage))
    assert missing.exit_code == 1 and "has no bucket nowhere" in missing.output
    wrong = run(data_dir, "adopt", "legacy-data", "--account", ACCT,
                **backend_env(storage, secret="wrong" + SECRET[5:]))
    assert wrong.exit_code == 1 and "refused the backend keys" in wrong.output
    found = run(data_dir, "adopt", "legacy-data", "--account", ACCT, **backend_env(storage))
    assert found.exit_code == 0, found.output
    assert f"the bucket exists in the S3 backend {storage}" in found.output
    store = stored(data_dir)
    assert [b.name for b in store.list_buckets(ACCT)] == ["legacy-data"]
    store.close()
    assert _Storage.seen[-1] == "/legacy-data"


def test_the_head_request_is_signed_as_botocore_signs_it() -> None:
    now = datetime(2026, 12, 4, 1, 2, 3, tzinfo=UTC)
    url, headers = signed_head_bucket("https://s3.example.internal:8443", "my.bucket", KEY,
                                      SECRET, "us-east-1", now)
    assert url == "https://s3.example.internal:8443/my.bucket"
    assert headers["x-amz-date"] == "20261204T010203Z"
    want = botocore_signature(url, "20261204T010203Z", headers["x-amz-content-sha256"],
                              "us-east-1")
    assert headers["Authorization"] == (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20261204/us-east-1/s3/aws4_request, "
        f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={want}")


def test_list(data_dir: Path) -> None:
    assert run(data_dir, "adopt", "beta", "--account", ACCT).exit_code == 0
    assert run(data_dir, "adopt", "alpha", "--account", ACCT, "--region", "eu-west-1"
               ).exit_code == 0
    store = stored(data_dir)
    store.create_account(Account("444455556666", "other", "", datetime.now(UTC)))
    store.put_public_access_block("beta", None)
    store.close()
    assert run(data_dir, "adopt", "gamma", "--account", "444455556666").exit_code == 0
    lines = run(data_dir, "list").output.splitlines()
    assert [line.split()[0] for line in lines] == ["alpha", "beta", "gamma"]
    assert lines[0].split()[1:3] == [ACCT, "eu-west-1"]
    assert lines[0].endswith("bpa=1111") and lines[1].endswith("bpa=----")
    mine = run(data_dir, "list", "--account", "444455556666").output.splitlines()
    assert [line.split()[0] for line in mine] == ["gamma"]


def test_the_opensts_command_has_the_group(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSTS_")}
    done = subprocess.run(
        [str(BIN / "opensts"), "s3", "adopt", "from-cli", "--account", ACCT,
         "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([str(BIN / "opensts"), "s3", "list", "--data-dir", str(data_dir)],
                            capture_output=True, text=True, timeout=60, env=env, check=True)
    assert listed.stdout.startswith("from-cli  111122223333  us-east-1")


def test_adopt_against_seaweedfs(data_dir: Path, tmp_path: Path) -> None:
    # The real storage of the S3 tests (tests/s3/conftest.py, the gateway's SeaweedFS).
    support = pytest.importorskip("tests.s3.conftest")
    if not hasattr(support, "start_seaweed"):
        pytest.skip("no SeaweedFS support in tests/s3/conftest.py")
    weed = support.start_seaweed(tmp_path / "weed")
    try:
        weed.client().create_bucket(Bucket="existing-data")
        weed.client().put_object(Bucket="existing-data", Key="a/b.txt", Body=b"kept")
        env = {"OPENSTS_S3_BACKEND_URL": weed.endpoint,
               "OPENSTS_S3_BACKEND_ACCESS_KEY_ID": support.BACKEND_KEY,
               "OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY": support.BACKEND_SECRET}
        missing = run(data_dir, "adopt", "not-in-storage", "--account", ACCT, **env)
        assert missing.exit_code == 1 and "has no bucket not-in-storage" in missing.output
        found = run(data_dir, "adopt", "existing-data", "--account", ACCT, **env)
        assert found.exit_code == 0, found.output
        assert weed.keys("existing-data") == ["a/b.txt"]  # nothing copied or moved
    finally:
        support.stop_seaweed(weed)
    store = stored(data_dir)
    assert [b.name for b in store.list_buckets(ACCT)] == ["existing-data"]
    store.close()
