"""A dedicated OpenSTS server for the cognito-identity tests, with a real OIDC IdP.

* ``peer``: a node oidc-provider over TLS (tests/federation/oidc_peer.py) whose clients
  issue the app users' tokens; a second one, ``other_peer``, for another pool's provider.
* ``cog``: ``opensts serve`` trusting both peers' CAs, with a public URL (the issuer of
  the Cognito OpenID tokens is ``{public_url}/cognito-identity``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from tests.conftest import ACCOUNT_ID, Server, start_server, stop_server, unique
from tests.federation.oidc_peer import OidcPeer, peer_available, start_peer

TOKEN_ROLE_A = f"arn:aws:iam::{ACCOUNT_ID}:role/cog-token-a"
TOKEN_ROLE_B = f"arn:aws:iam::{ACCOUNT_ID}:role/cog-token-b"
CLIENTS: list[dict[str, Any]] = [
    {"client_id": "web-app", "audience": "web-app"},
    {"client_id": "admin-app", "audience": "web-app",
     "extraClaims": {"department": "admins", "groups": ["ops", "eng"]}},
    {"client_id": "sales-app", "audience": "web-app",
     "extraClaims": {"department": "sales-emea"}},
    {"client_id": "other-aud", "audience": "not-registered"},
    # Token-based role mapping: roles the IdP says the user may take (created by the tests).
    {"client_id": "two-roles", "audience": "web-app", "extraClaims": {
        "cognito:roles": [TOKEN_ROLE_A, TOKEN_ROLE_B]}},
    {"client_id": "preferred", "audience": "web-app", "extraClaims": {
        "cognito:roles": [TOKEN_ROLE_A, TOKEN_ROLE_B], "cognito:preferred_role": TOKEN_ROLE_B}},
]
OTHER_CLIENTS: list[dict[str, Any]] = [{"client_id": "elsewhere", "audience": "web-app"}]


@dataclass
class Peers:
    main: OidcPeer
    other: OidcPeer
    bundle: Path


@pytest.fixture(scope="session")
def _cog_peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers | None]:
    if peer_available() is not None:
        yield None
        return
    main = start_peer(tmp_path_factory.mktemp("cog-oidc"), CLIENTS)
    other = start_peer(tmp_path_factory.mktemp("cog-oidc-other"), OTHER_CLIENTS)
    bundle = tmp_path_factory.mktemp("cog-ca") / "bundle.pem"
    bundle.write_text(main.ca_file.read_text() + other.ca_file.read_text())
    yield Peers(main, other, bundle)
    main.stop()
    other.stop()


@pytest.fixture(scope="session")
def peers(_cog_peers: Peers | None) -> Peers:
    if _cog_peers is None:
        pytest.skip(peer_available() or "oidc-provider peer unavailable")
    return _cog_peers


@pytest.fixture(scope="session")
def cog(tmp_path_factory: pytest.TempPathFactory, _cog_peers: Peers | None) -> Iterator[Server]:
    env = {"OPENSTS_PUBLIC_URL": "https://opensts.example.test"}
    if _cog_peers:
        env["OPENSTS_CA_BUNDLE"] = str(_cog_peers.bundle)
    running = start_server(tmp_path_factory.mktemp("cog") / "data", env)
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def ciam(cog: Server) -> Any:
    return cog.client("iam")


@pytest.fixture(scope="session")
def ci(cog: Server) -> Any:
    """cognito-identity as the account root (the management calls are signed)."""
    return cog.client("cognito-identity")


@pytest.fixture(scope="session")
def public_ci(cog: Server) -> Any:
    """cognito-identity with no credentials: GetId, GetCredentialsForIdentity,
    GetOpenIdToken and UnlinkIdentity are public APIs."""
    return boto3.session.Session().client(
        "cognito-identity", endpoint_url=cog.endpoint, region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))


@pytest.fixture(scope="session")
def main_provider(ciam: Any, peers: Peers) -> str:
    return str(ciam.create_open_id_connect_provider(
        Url=peers.main.issuer, ClientIDList=["web-app"])["OpenIDConnectProviderArn"])


@pytest.fixture(scope="session")
def other_provider(ciam: Any, peers: Peers) -> str:
    return str(ciam.create_open_id_connect_provider(
        Url=peers.other.issuer, ClientIDList=["web-app"])["OpenIDConnectProviderArn"])


def login_name(provider_arn: str) -> str:
    """The Logins key of an IAM OIDC provider: its URL without the scheme."""
    return provider_arn.split(":oidc-provider/", 1)[1]


def cognito_trust(pool_id: str, amr: str) -> str:
    """The role trust policy of the Cognito Developer Guide ("Role trust and permissions")."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
            },
        }],
    })


def make_role(iam: Any, trust: str, actions: list[str]) -> str:
    name = unique("cog-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return str(arn)


def error_of(excinfo: pytest.ExceptionInfo[Any]) -> tuple[str, str, int]:
    err = excinfo.value.response
    return (err["Error"]["Code"], err["Error"].get("Message", ""),
            err["ResponseMetadata"]["HTTPStatusCode"])
