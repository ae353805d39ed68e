"""What the gateway records: management and data events, the data-event setting, denials
explainable by request id; and conditions only the gateway can supply
(``s3:ExistingObjectTag``, ``aws:SecureTransport``-style keys from the connection)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, Server, start_server, stop_server
from tests.s3.conftest import Seaweed, gateway_env, s3_client
from tests.s3.e2e import allow, code, deny, doc, unique_bucket, user


def events_for(server: Server, request_id: str) -> list[dict[str, Any]]:
    return [e for e in server.audit_events() if e["requestID"] == request_id]


def rid(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["RequestId"])


def test_management_and_data_events(gateway: Server, s3: Any) -> None:
    bucket = unique_bucket("audit")
    created = s3.create_bucket(Bucket=bucket)
    (event,) = events_for(gateway, rid(created))
    assert event["eventSource"] == "s3.amazonaws.com" and event["eventName"] == "CreateBucket"
    assert event["eventCategory"] == "Management" and event["managementEvent"] is True
    assert event["readOnly"] is False
    assert event["requestParameters"]["bucketName"] == bucket
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"12345")
    (event,) = events_for(gateway, rid(put))
    assert event["eventCategory"] == "Data" and event["managementEvent"] is False
    assert event["readOnly"] is False
    assert event["resources"][0] == {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/k"}
    assert event["additionalEventData"]["bytesTransferredIn"] == 5
    assert event["additionalEventData"]["SignatureVersion"] == "SigV4"
    assert event["additionalEventData"]["AuthenticationMethod"] == "AuthHeader"
    got = s3.get_object(Bucket=bucket, Key="k")
    got["Body"].read()
    (event,) = events_for(gateway, rid(got))
    assert event["readOnly"] is True and event["additionalEventData"]["bytesTransferredOut"] == 5
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    import urllib.request

    with urllib.request.urlopen(url) as answer:
        presigned_id = answer.headers["x-amz-request-id"]
    (event,) = events_for(gateway, presigned_id)
    assert event["additionalEventData"]["AuthenticationMethod"] == "QueryString"


def test_denial_is_logged_and_explainable(gateway: Server, s3: Any) -> None:
    bucket = unique_bucket("explain")
    s3.create_bucket(Bucket=bucket)
    arn, key, secret = user(gateway, doc(allow("s3:*", "*"),
                                         deny("s3:GetObject", f"arn:aws:s3:::{bucket}/secret/*")))
    client = s3_client(gateway, key, secret)
    client.put_object(Bucket=bucket, Key="secret/x", Body=b"x")
    with pytest.raises(ClientError) as denied:
        client.get_object(Bucket=bucket, Key="secret/x")
    assert code(denied.value) == "AccessDenied"
    assert "with an explicit deny in an identity-based policy" in str(denied.value)
    request_id = denied.value.response["ResponseMetadata"]["RequestId"]
    (event,) = events_for(gateway, request_id)
    assert event["errorCode"] == "AccessDenied" and event["userIdentity"]["arn"] == arn
    deadline = time.monotonic() + 10
    while True:  # the decision log is written off the request path
        shown = subprocess.run(
            [str(BIN / "opensts"), "policy", "explain", "--request-id", request_id,
             "--data-dir", str(gateway.data_dir)], capture_output=True, text=True, timeout=60)
        if shown.returncode == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert shown.returncode == 1, shown.stderr
    assert "s3:GetObject" in shown.stdout and "Deny" in shown.stdout


def test_existing_object_tag_condition(gateway: Server, s3: Any, seaweed: Seaweed) -> None:
    bucket = unique_bucket("tags")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public-doc", Body=b"open", Tagging="class=public")
    s3.put_object(Bucket=bucket, Key="private-doc", Body=b"closed", Tagging="class=private")
    _, key, secret = user(gateway, doc(allow(
        "s3:GetObject", f"arn:aws:s3:::{bucket}/*",
        Condition={"StringEquals": {"s3:ExistingObjectTag/class": "public"}})))
    reader = s3_client(gateway, key, secret)
    assert reader.get_object(Bucket=bucket, Key="public-doc")["Body"].read() == b"open"
    with pytest.raises(ClientError) as denied:
        reader.get_object(Bucket=bucket, Key="private-doc")
    assert code(denied.value) == "AccessDenied"
    # A tag change through the gateway is seen at once (the cached tags are dropped).
    s3.put_object_tagging(Bucket=bucket, Key="private-doc",
                          Tagging={"TagSet": [{"Key": "class", "Value": "public"}]})
    assert reader.get_object(Bucket=bucket, Key="private-doc")["Body"].read() == b"closed"


@pytest.fixture(scope="module")
def quiet_gateway(tmp_path_factory: pytest.TempPathFactory,
                  seaweed: Seaweed) -> Iterator[Server]:
    server = start_server(
        tmp_path_factory.mktemp("quiet") / "data",
        extra_env=gateway_env(seaweed, OPENSTS_S3_DATA_EVENTS="write-only"),
        args=("--s3-backend", seaweed.endpoint))
    yield server
    stop_server(server)


def test_write_only_data_events(quiet_gateway: Server) -> None:
    s3 = s3_client(quiet_gateway)
    bucket = unique_bucket("quiet")
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    got = s3.get_object(Bucket=bucket, Key="k")
    listed = s3.list_objects_v2(Bucket=bucket)
    assert events_for(quiet_gateway, rid(put))
    assert not events_for(quiet_gateway, rid(got))
    assert not events_for(quiet_gateway, rid(listed))
    with pytest.raises(ClientError) as denied:
        s3_client(quiet_gateway, secret="x" * 40).get_object(Bucket=bucket, Key="k")
    assert code(denied.value) == "SignatureDoesNotMatch"
    _, key, secret = user(quiet_gateway)
    with pytest.raises(ClientError) as denied:
        s3_client(quiet_gateway, key, secret).get_object(Bucket=bucket, Key="k")
    (event,) = events_for(quiet_gateway, denied.value.response["ResponseMetadata"]["RequestId"])
    assert event["errorCode"] == "AccessDenied"  # denials are logged whatever the setting


def test_bucket_owner_sees_backend_secret_nowhere(gateway: Server) -> None:
    from tests.s3.conftest import BACKEND_SECRET

    log = (gateway.data_dir.parent / f"{gateway.data_dir.name}-server.log").read_text()
    assert BACKEND_SECRET not in log
    audit = "".join(p.read_text() for p in (gateway.data_dir / "audit").glob("*.jsonl"))
    assert BACKEND_SECRET not in audit
    process = subprocess.run(["ps", "-o", "args=", "-p", str(gateway.process.pid)],
                             capture_output=True, text=True)
    assert BACKEND_SECRET not in process.stdout
