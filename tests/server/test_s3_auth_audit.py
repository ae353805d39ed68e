"""Requests the S3 gateway refuses for their credentials are audited (key id and reason)
and counted, even when data events are not logged (``OPENSTS_S3_DATA_EVENTS=none``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT_KEY, ROOT_SECRET, Server, start_server, stop_server
from tests.s3.conftest import Seaweed, gateway_env, s3_client, seaweed  # noqa: F401
from tests.s3.e2e import code, unique_bucket
from tests.server.test_metrics import scrape, value

WRONG = "wrongSECRETwrongSECRETwrongSECRETwrong000"


@pytest.fixture(scope="module")
def silent(tmp_path_factory: pytest.TempPathFactory, seaweed: Seaweed) -> Iterator[Server]:  # noqa: F811
    server = start_server(tmp_path_factory.mktemp("silent") / "data",
                          extra_env=gateway_env(seaweed, OPENSTS_S3_DATA_EVENTS="none"),
                          args=("--s3-backend", seaweed.endpoint))
    yield server
    stop_server(server)


def _refused(server: Server, request_id: str) -> dict[str, Any]:
    (event,) = [e for e in server.audit_events() if e["requestID"] == request_id]
    return event


def test_s3_authentication_failures_are_audited_and_counted(silent: Server) -> None:
    s3 = s3_client(silent)
    bucket = unique_bucket("authn")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    before = scrape(silent)
    with pytest.raises(ClientError) as mismatch:
        s3_client(silent, secret=WRONG).get_object(Bucket=bucket, Key="k")
    assert code(mismatch.value) == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as unknown:
        s3_client(silent, key="AKIANOSUCHKEY0000001", secret=WRONG).get_object(
            Bucket=bucket, Key="k")
    assert code(unknown.value) == "InvalidAccessKeyId"
    after = scrape(silent)

    event = _refused(silent, mismatch.value.response["ResponseMetadata"]["RequestId"])
    assert event["errorCode"] == "SignatureDoesNotMatch"
    assert event["additionalEventData"]["authenticationFailure"] == {
        "accessKeyId": ROOT_KEY, "reason": "signature_mismatch"}
    event = _refused(silent, unknown.value.response["ResponseMetadata"]["RequestId"])
    assert event["errorCode"] == "InvalidAccessKeyId"
    assert event["additionalEventData"]["authenticationFailure"] == {
        "accessKeyId": "AKIANOSUCHKEY0000001", "reason": "unknown_access_key"}
    audit = "".join(p.read_text() for p in (silent.data_dir / "audit").glob("*.jsonl"))
    assert WRONG not in audit and ROOT_SECRET not in audit and "Signature=" not in audit

    for reason in ("signature_mismatch", "unknown_access_key"):
        labels = {"service": "s3", "reason": reason}
        assert value(after, "opensts_authentication_failures_total", **labels) - value(
            before, "opensts_authentication_failures_total", **labels) == 1
    # The PUT wrote no event (data events off), yet its latency is counted under s3 too.
    assert value(after, "opensts_request_duration_seconds_count", service="s3") >= 4
