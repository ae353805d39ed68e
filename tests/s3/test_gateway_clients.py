"""Other S3 clients through the gateway: AWS CLI v1 (the venv's) and v2 (Debian's
/usr/bin/aws), the AWS SDK for JavaScript v3 with lib-storage, rclone and s3cmd; and boto3
over HTTPS, where it sends the unsigned-trailer aws-chunked form with a CRC32 trailer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, REPO, Server, start_server, stop_server
from tests.s3.conftest import Seaweed, gateway_env, s3_client
from tests.s3.e2e import unique_bucket

AWS_V1 = BIN / "aws"
AWS_V2 = Path("/usr/bin/aws")
PEER = REPO / "tests" / "peers" / "aws-sdk-js"


def run_aws(binary: Path, server: Server, *args: str, cwd: Path | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    # SigV2 is not served: CLI v1 presigns with SigV4 only when told to.
    config = server.data_dir / "aws-cli-s3v4"
    config.write_text("[default]\ns3 =\n    signature_version = s3v4\n")
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(server.data_dir),
        "AWS_ACCESS_KEY_ID": server.root_key, "AWS_SECRET_ACCESS_KEY": server.root_secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(server.data_dir / "no-credentials"),
        "AWS_PAGER": "",
    }
    result = subprocess.run([str(binary), "--endpoint-url", server.endpoint, *args], env=env,
                            capture_output=True, text=True, timeout=120, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"{binary} {' '.join(args)}: {result.stderr}")
    return result


def _binary(version: int) -> Path:
    binary = AWS_V1 if version == 1 else AWS_V2
    if not binary.exists():
        pytest.fail(f"{binary} missing: install the test extra / scripts/install-test-tools")
    shown = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                           timeout=60)
    assert (shown.stdout + shown.stderr).startswith(f"aws-cli/{version}.")
    return binary


@pytest.mark.parametrize("version", [1, 2])
def test_aws_cli(gateway: Server, seaweed: Seaweed, tmp_path: Path, version: int) -> None:
    aws = _binary(version)
    bucket = unique_bucket(f"cli{version}")
    run_aws(aws, gateway, "s3", "mb", f"s3://{bucket}")
    source = tmp_path / "src"
    (source / "nested").mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "nested" / "b.bin").write_bytes(os.urandom(9 * 1024 * 1024))  # multipart
    run_aws(aws, gateway, "s3", "cp", str(source / "a.txt"), f"s3://{bucket}/a.txt")
    run_aws(aws, gateway, "s3", "sync", str(source), f"s3://{bucket}/synced")
    assert sorted(seaweed.keys(bucket)) == ["a.txt", "synced/a.txt", "synced/nested/b.bin"]
    listed = run_aws(aws, gateway, "s3", "ls", f"s3://{bucket}/synced/", "--recursive").stdout
    assert "synced/nested/b.bin" in listed
    back = tmp_path / "back"
    run_aws(aws, gateway, "s3", "cp", f"s3://{bucket}/synced", str(back), "--recursive")
    assert (back / "nested" / "b.bin").read_bytes() == (source / "nested" / "b.bin").read_bytes()
    url = run_aws(aws, gateway, "s3", "presign", f"s3://{bucket}/a.txt",
                  "--expires-in", "300").stdout.strip()
    import urllib.request

    with urllib.request.urlopen(url) as answer:
        assert answer.read() == b"alpha"
    head = json.loads(run_aws(aws, gateway, "s3api", "head-object", "--bucket", bucket,
                              "--key", "a.txt").stdout)
    assert head["ContentLength"] == 5
    run_aws(aws, gateway, "s3api", "put-object-tagging", "--bucket", bucket, "--key", "a.txt",
            "--tagging", "TagSet=[{Key=k,Value=v}]")
    tags = json.loads(run_aws(aws, gateway, "s3api", "get-object-tagging", "--bucket", bucket,
                              "--key", "a.txt").stdout)
    assert tags["TagSet"] == [{"Key": "k", "Value": "v"}]
    run_aws(aws, gateway, "s3", "rm", f"s3://{bucket}", "--recursive")
    assert seaweed.keys(bucket) == []
    run_aws(aws, gateway, "s3", "rb", f"s3://{bucket}")
    denied = run_aws(aws, gateway, "s3api", "get-object", "--bucket", bucket, "--key", "x",
                     str(tmp_path / "x"), check=False)
    assert denied.returncode != 0 and "NoSuchBucket" in denied.stderr


def test_js_sdk_with_lib_storage(gateway: Server, seaweed: Seaweed) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run scripts/install-test-tools")
    for package in ("@aws-sdk/client-s3", "@aws-sdk/lib-storage"):
        if not (PEER / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"{package} is not installed in {PEER}: run scripts/install-test-tools")
    bucket = unique_bucket("js")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(gateway.data_dir),
           "OPENSTS_ENDPOINT": gateway.endpoint, "OPENSTS_PEER_DIR": str(PEER),
           "OPENSTS_BUCKET": bucket, "AWS_ACCESS_KEY_ID": gateway.root_key,
           "AWS_SECRET_ACCESS_KEY": gateway.root_secret}
    result = subprocess.run([node, str(Path(__file__).with_name("s3_sdk.mjs"))], env=env,
                            capture_output=True, text=True, timeout=180)
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    out = json.loads(lines[-1])
    assert "fatal" not in out, out
    assert out["small"] is True and out["contentType"] == "text/plain"
    assert out["bigLength"] == 12 * 1024 * 1024 + 123 and out["bigSha"] is True
    assert sorted(out["keys"]) == ["js/big.bin", "js/small.txt"]
    assert out["deleted"] is True
    assert (out["missingBucket"], out["missingStatus"]) == ("NoSuchBucket", 404)
    assert seaweed.keys(bucket) == ["js/big.bin"]


def test_rclone(gateway: Server, seaweed: Seaweed, tmp_path: Path) -> None:
    rclone = shutil.which("rclone")
    if rclone is None:
        pytest.fail("rclone is not installed: run scripts/install-test-tools")
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
        "RCLONE_CONFIG": str(tmp_path / "none.conf"),
        "RCLONE_CONFIG_GW_TYPE": "s3", "RCLONE_CONFIG_GW_PROVIDER": "Other",
        "RCLONE_CONFIG_GW_ACCESS_KEY_ID": gateway.root_key,
        "RCLONE_CONFIG_GW_SECRET_ACCESS_KEY": gateway.root_secret,
        "RCLONE_CONFIG_GW_ENDPOINT": gateway.endpoint, "RCLONE_CONFIG_GW_REGION": "us-east-1",
        "RCLONE_CONFIG_GW_FORCE_PATH_STYLE": "true",
        # rclone's default canned ACL is "private"; ACLs are disabled (BucketOwnerEnforced).
        "RCLONE_CONFIG_GW_ACL": "bucket-owner-full-control",
    }
    bucket = unique_bucket("rclone")
    source = tmp_path / "src"
    source.mkdir()
    (source / "one.txt").write_text("one")
    (source / "two.bin").write_bytes(os.urandom(300_000))

    def rc(*args: str) -> str:
        done = subprocess.run([rclone, *args], env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    rc("mkdir", f"gw:{bucket}")
    rc("copy", str(source), f"gw:{bucket}/dir")
    assert sorted(seaweed.keys(bucket)) == ["dir/one.txt", "dir/two.bin"]
    assert sorted(rc("lsf", f"gw:{bucket}/dir").split()) == ["one.txt", "two.bin"]
    rc("copy", f"gw:{bucket}/dir", str(tmp_path / "back"))
    assert (tmp_path / "back" / "two.bin").read_bytes() == (source / "two.bin").read_bytes()
    rc("check", str(source), f"gw:{bucket}/dir")
    rc("delete", f"gw:{bucket}/dir")
    assert seaweed.keys(bucket) == []


def test_s3cmd(gateway: Server, seaweed: Seaweed, tmp_path: Path) -> None:
    s3cmd = shutil.which("s3cmd")
    if s3cmd is None:
        pytest.fail("s3cmd is not installed: run scripts/install-test-tools")
    host = gateway.endpoint.split("//", 1)[1]
    config = tmp_path / "s3cfg"
    config.write_text(
        "[default]\n"
        f"access_key = {gateway.root_key}\nsecret_key = {gateway.root_secret}\n"
        f"host_base = {host}\nhost_bucket = {host}\nuse_https = False\n"
        "signature_v2 = False\nbucket_location = us-east-1\n")
    bucket = unique_bucket("s3cmd")
    (tmp_path / "f.txt").write_text("from s3cmd")

    def cmd(*args: str) -> str:
        done = subprocess.run([s3cmd, "-c", str(config), *args], capture_output=True,
                              text=True, timeout=120, env={"PATH": os.environ.get("PATH", ""),
                                                           "HOME": str(tmp_path)})
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    cmd("mb", f"s3://{bucket}")
    cmd("put", str(tmp_path / "f.txt"), f"s3://{bucket}/f.txt")
    assert seaweed.keys(bucket) == ["f.txt"]
    assert f"s3://{bucket}/f.txt" in cmd("ls", f"s3://{bucket}")
    cmd("get", f"s3://{bucket}/f.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "from s3cmd"
    cmd("del", f"s3://{bucket}/f.txt")
    cmd("rb", f"s3://{bucket}")


# -- HTTPS -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_gateway(tmp_path_factory: pytest.TempPathFactory,
                seaweed: Seaweed) -> Iterator[Server]:
    from tests.federation.pki import ca_and_server

    directory = tmp_path_factory.mktemp("tls-gateway")
    ca, leaf = ca_and_server("127.0.0.1")
    (directory / "ca.pem").write_text(ca.cert_pem)
    (directory / "cert.pem").write_text(leaf.cert_pem)
    (directory / "key.pem").write_text(leaf.key_pem)
    server = start_server(
        directory / "data", extra_env=gateway_env(seaweed),
        args=("--s3-backend", seaweed.endpoint, "--tls-cert", str(directory / "cert.pem"),
              "--tls-key", str(directory / "key.pem")),
        ca_bundle=directory / "ca.pem")
    yield server
    stop_server(server)


def test_boto3_over_https_sends_unsigned_trailers(tls_gateway: Server,
                                                  seaweed: Seaweed) -> None:
    s3 = s3_client(tls_gateway)
    bucket = unique_bucket("tls")
    s3.create_bucket(Bucket=bucket)
    sent: list[dict[str, str]] = []
    s3.meta.events.register("before-send.s3.PutObject",
                            lambda request, **_: sent.append(dict(request.headers)))
    body = os.urandom(2 * 1024 * 1024 + 7)
    s3.put_object(Bucket=bucket, Key="over-tls", Body=body)
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in
               sent[-1].items()}
    assert headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert headers["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert s3.get_object(Bucket=bucket, Key="over-tls")["Body"].read() == body
    assert seaweed.client().get_object(Bucket=bucket, Key="over-tls")["Body"].read() == body
    # aws:SecureTransport is true over TLS.
    events = [e for e in tls_gateway.audit_events() if e["eventName"] == "PutObject"]
    assert events[-1]["additionalEventData"]["bytesTransferredIn"] > len(body)


def test_multipart_and_copy_over_https(tls_gateway: Server) -> None:
    s3: Any = s3_client(tls_gateway)
    bucket = unique_bucket("tlsmp")
    s3.create_bucket(Bucket=bucket)
    data = os.urandom(11 * 1024 * 1024)
    from boto3.s3.transfer import TransferConfig

    s3.upload_fileobj(__import__("io").BytesIO(data), bucket, "mp",
                      Config=TransferConfig(multipart_threshold=5 * 1024 * 1024,
                                            multipart_chunksize=5 * 1024 * 1024))
    s3.copy_object(Bucket=bucket, Key="mp-copy", CopySource={"Bucket": bucket, "Key": "mp"})
    assert s3.get_object(Bucket=bucket, Key="mp-copy")["Body"].read() == data


def test_tls_version_and_secure_transport_conditions(tls_gateway: Server, gateway: Server
                                                     ) -> None:
    """s3:TlsVersion (numeric) and aws:SecureTransport come from the client's connection."""
    from botocore.exceptions import ClientError

    from tests.s3.e2e import allow, code, doc, user

    policy = doc(allow("s3:PutObject", "*", Condition={
        "NumericGreaterThanEquals": {"s3:TlsVersion": "1.2"},
        "Bool": {"aws:SecureTransport": "true"}}))
    for server in (tls_gateway, gateway):
        s3_client(server).create_bucket(Bucket=(bucket := unique_bucket("tlsv")))
        _, key, secret = user(server, policy)
        client = s3_client(server, key, secret)
        if server is tls_gateway:
            client.put_object(Bucket=bucket, Key="k", Body=b"x")
        else:
            with pytest.raises(ClientError) as refused:
                client.put_object(Bucket=bucket, Key="k", Body=b"x")
            assert code(refused.value) == "AccessDenied"
