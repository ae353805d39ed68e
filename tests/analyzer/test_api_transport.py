"""The rest-json transport on the shared endpoint, through boto3 and the AWS CLI."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.analyzer import routes_model
from tests.conftest import REPO, Server


def test_route_table_is_botocores_model() -> None:
    shipped = (REPO / "src/opensts/analyzer/operations.json").read_text()
    assert shipped == routes_model.render(), "regenerate: python -m tests.analyzer.routes_model"


def test_every_modelled_path_matches_its_operation() -> None:
    from opensts.wire.restjson import access_analyzer_table

    table = access_analyzer_table()
    for name, op in table.document["operations"].items():
        path = op["uri"].split("?")[0].replace("{", "x").replace("}", "").replace("+", "")
        matched = table.match(op["method"], path)
        assert matched is not None and matched[0].name == name, (name, path)


def test_list_analyzers_boto3_and_audit(server: Server) -> None:
    client = server.client("accessanalyzer")
    answer = client.list_analyzers()
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert isinstance(answer["analyzers"], list)
    rid = answer["ResponseMetadata"]["RequestId"]
    events = [e for e in server.audit_events() if e.get("requestID") == rid]
    assert len(events) == 1
    assert events[0]["eventSource"] == "access-analyzer.amazonaws.com"
    assert events[0]["eventName"] == "ListAnalyzers"
    assert events[0]["readOnly"] is True


def test_list_analyzers_cli(server: Server) -> None:
    answer = server.aws_json("accessanalyzer", "list-analyzers")
    assert "analyzers" in answer


def test_bad_signature_is_rejected(server: Server) -> None:
    client = server.client("accessanalyzer", key=server.root_key, secret="wrong" * 8)
    with pytest.raises(ClientError) as caught:
        client.list_analyzers()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_enum_violation_is_validation_exception(aa_raw: Any) -> None:
    with pytest.raises(ClientError) as caught:
        aa_raw.list_analyzers(type="NOPE", maxResults=0)
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["reason"] == "fieldValidationFailed"
    assert sorted(f["name"] for f in error["fieldList"]) == ["type"]
    assert "type" in error["Error"]["Message"]


def test_unsigned_request_is_refused_in_rest_json(server: Server) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.endpoint}/analyzer", timeout=10)
    assert refused.value.code == 403
    assert refused.value.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_unknown_path_signed_for_access_analyzer(server: Server) -> None:
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=f"{server.endpoint}/no-such-route")
    SigV4Auth(Credentials(server.root_key, server.root_secret), "access-analyzer",
              "us-east-1").add_auth(request)
    prepared = request.prepare()
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(urllib.request.Request(
            prepared.url, headers=dict(prepared.headers)), timeout=10)
    assert missing.value.code == 404
    assert missing.value.headers["x-amzn-errortype"] == "UnknownOperationException"
