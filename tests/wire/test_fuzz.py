"""Bad input never yields a 500 or a stack trace (hypothesis over signed query requests).

Each example signs a random parameter set for a random registered STS or IAM action with
the account root's key and checks that the answer is a success or an AWS error envelope
with a 4xx status.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from opensts.services.registry import load_operations
from tests.conftest import Server, start_server, stop_server

VERSIONS = {"sts": "2011-06-15", "iam": "2010-05-08"}
ACTIONS = sorted((service, name) for service, name in load_operations() if service in VERSIONS)
NAMES = [
    "UserName",
    "RoleName",
    "RoleArn",
    "RoleSessionName",
    "Policy",
    "PolicyArn",
    "PolicyDocument",
    "AssumeRolePolicyDocument",
    "DurationSeconds",
    "Path",
    "PathPrefix",
    "MaxItems",
    "Marker",
    "Tags.member.1.Key",
    "Tags.member.1.Value",
    "TagKeys.member.1",
    "PolicyArns.member.1.arn",
    "TransitiveTagKeys.member.1",
    "SerialNumber",
    "TokenCode",
    "ExternalId",
    "SourceIdentity",
    "Name",
    "GroupName",
    "AccessKeyId",
    "Status",
    "VersionId",
    "SetAsDefault",
    "Url",
    "ClientIDList.member.1",
    "SAMLMetadataDocument",
    "WebIdentityToken",
    "SAMLAssertion",
    "PrincipalArn",
    "EncodedMessage",
    "MaxSessionDuration",
    "PermissionsBoundary",
    "ActionNames.member.1",
    "PolicyInputList.member.1",
    "ResourceArns.member.1",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=300),
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    st.sampled_from(
        [
            "",
            "*",
            "{}",
            "[]",
            '{"Statement":[]}',
            "arn:aws:iam::123456789012:role/x",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "true",
            "null",
            "%00",
            '{"Version":"2012-10-17","Statement":{"Effect":"Allow"}}',
            "a" * 5000,
        ]
    ),
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(Path(tmp_path_factory.mktemp("fuzz")) / "data")
    yield server
    stop_server(server)


def send(server: Server, service: str, params: dict[str, str]) -> tuple[int, bytes]:
    body = urlencode(params).encode()
    request = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(server.root_key, server.root_secret), service, "us-east-1").add_auth(
        request
    )
    http = urllib.request.Request(
        server.endpoint + "/", data=body, headers=dict(request.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    action=st.sampled_from(ACTIONS),
    params=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=6),
)
def test_random_requests_get_aws_answers(
    fuzz_server: Server, action: tuple[str, str], params: dict[str, str]
) -> None:
    service, name = action
    status, body = send(
        fuzz_server, service, {"Action": name, "Version": VERSIONS[service], **params}
    )
    assert status < 500, body
    assert b"Traceback" not in body
    root = etree.fromstring(body)
    if status >= 400:
        assert root.tag.endswith("ErrorResponse")
        code = root.findtext("{*}Error/{*}Code")
        message = root.findtext("{*}Error/{*}Message")
        assert code and code != "InternalFailure"
        assert message is not None
