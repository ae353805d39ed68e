"""AssumeRoleWithWebIdentity end to end: node oidc-provider over TLS from a test CA (the server
trusts it through OPENSTS_CA_BUNDLE), the issuer registered with CreateOpenIDConnectProvider,
boto3's ``assume_role_with_web_identity`` and boto3's own AWS_WEB_IDENTITY_TOKEN_FILE provider
(STS API reference, AssumeRoleWithWebIdentity; IAM User Guide, id_roles_providers_oidc,
id_session-tags, reference_policies_iam-condition-keys)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import ACCOUNT_ID, Server, free_port, unique
from tests.sts.helpers import allow, creds, doc, error_of

from .conftest import Peers
from .helpers import federated_trust, forge_token, make_role, unsigned_sts


@pytest.fixture(scope="session")
def main_provider(fiam: Any, peers: Peers) -> str:
    return str(fiam.create_open_id_connect_provider(
        Url=peers.main.issuer, ClientIDList=["web-app", "tenants"],
    )["OpenIDConnectProviderArn"])


def prefix(peers: Peers) -> str:
    return peers.main.issuer.removeprefix("https://")


def web_role(fiam: Any, provider: str, condition: dict[str, Any] | None = None,
             actions: tuple[str, ...] = (), policy: str | None = None) -> str:
    return make_role(fiam, federated_trust(provider, ["sts:AssumeRoleWithWebIdentity", *actions],
                                           condition), policy)


def test_assume_role_with_web_identity_through_boto3(
    fed: Server, fiam: Any, peers: Peers, main_provider: str
) -> None:
    assert main_provider == (
        f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{prefix(peers)}")  # host:port kept
    role = web_role(fiam, main_provider, {"StringEquals": {
        f"{prefix(peers)}:aud": "web-app", f"{prefix(peers)}:sub": "web-app"}},
        policy=doc(allow("iam:ListUsers")))
    token = peers.main.token("web-app")
    response = unsigned_sts(fed).assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="ci-run-1", WebIdentityToken=token)
    assert response["SubjectFromWebIdentityToken"] == "web-app"
    assert response["Provider"] == main_provider
    assert response["Audience"] == "web-app"
    assert response["Credentials"]["AccessKeyId"].startswith("ASIA")
    role_name = role.rsplit("/", 1)[1]
    assert response["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/ci-run-1")
    identity = fed.client("sts", **creds(response)).get_caller_identity()
    assert identity["Arn"] == response["AssumedRoleUser"]["Arn"]
    fed.client("iam", **creds(response)).list_users()

    event = next(e for e in reversed(fed.audit_events())
                 if e.get("eventName") == "AssumeRoleWithWebIdentity"
                 and e.get("errorCode") is None
                 and e["responseElements"]["assumedRoleUser"]["arn"] == identity["Arn"])
    user = event["userIdentity"]
    assert user["type"] == "WebIdentityUser"
    assert user["principalId"] == f"{main_provider}:web-app:web-app"
    assert user["identityProvider"] == main_provider
    assert user["userName"] == "web-app"
    assert "secretAccessKey" not in json.dumps(event)
    assert response["Credentials"]["SecretAccessKey"] not in json.dumps(fed.audit_events())
    assert token not in json.dumps(fed.audit_events())


@pytest.mark.parametrize(("key", "value"), [("aud", "tenants"), ("sub", "someone-else")])
def test_aud_and_sub_conditions_refuse_other_tokens(
    fed: Server, fiam: Any, peers: Peers, main_provider: str, key: str, value: str
) -> None:
    role = web_role(fiam, main_provider, {"StringEquals": {f"{prefix(peers)}:{key}": value}})
    with pytest.raises(ClientError) as denied:
        unsigned_sts(fed).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="s1", WebIdentityToken=peers.main.token("web-app"))
    assert error_of(denied.value) == ("AccessDenied", 403,
                                      "Not authorized to perform sts:AssumeRoleWithWebIdentity")


def test_boto3_web_identity_token_file_provider(
    fed: Server, fiam: Any, peers: Peers, main_provider: str, tmp_path: Path
) -> None:
    """boto3's own credential chain: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, with
    AWS_ENDPOINT_URL_STS pointing at OpenSTS, in a clean process (no other credentials)."""
    role = web_role(fiam, main_provider, {"StringEquals": {f"{prefix(peers)}:aud": "web-app"}},
                    policy=doc(allow("iam:ListUsers")))
    token_file = tmp_path / "token"
    token_file.write_text(peers.main.token("web-app"))
    script = (
        "import boto3, json\n"
        "s = boto3.session.Session(region_name='us-east-1')\n"
        f"iam = s.client('iam', endpoint_url={fed.endpoint!r})\n"
        "iam.list_users()\n"
        "c = s.get_credentials().get_frozen_credentials()\n"
        "print(json.dumps({'method': s.get_credentials().method,\n"
        "                  'key': c.access_key,\n"
        "                  'who': s.client('sts').get_caller_identity()['Arn']}))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
        "AWS_ROLE_ARN": role,
        "AWS_ROLE_SESSION_NAME": "from-token-file",
        "AWS_ENDPOINT_URL_STS": fed.endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["method"] == "assume-role-with-web-identity"
    assert out["key"].startswith("ASIA")
    assert out["who"].endswith(f":assumed-role/{role.rsplit('/', 1)[1]}/from-token-file")


def test_tags_claim_becomes_session_tags(
    fed: Server, fiam: Any, peers: Peers, main_provider: str
) -> None:
    policy = doc(allow("iam:GetUser", "arn:aws:iam::*:user/${aws:PrincipalTag/Project}/*"))
    role = web_role(fiam, main_provider, actions=("sts:TagSession", "sts:SetSourceIdentity"),
                    policy=policy)
    response = unsigned_sts(fed).assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="tagged", WebIdentityToken=peers.main.token("tagged-app"))
    assert response["SourceIdentity"] == "ci-bot"
    assert response["PackedPolicySize"] > 0
    name = unique("auto")
    fiam.create_user(UserName=name, Path="/Automation/")
    assert fed.client("iam", **creds(response)).get_user(UserName=name)["User"]["Path"] == (
        "/Automation/")
    # Without sts:TagSession in the trust policy the tagged token is refused.
    bare = web_role(fiam, main_provider, actions=("sts:SetSourceIdentity",))
    with pytest.raises(ClientError) as denied:
        unsigned_sts(fed).assume_role_with_web_identity(
            RoleArn=bare, RoleSessionName="t1", WebIdentityToken=peers.main.token("tagged-app"))
    assert error_of(denied.value) == ("AccessDenied", 403,
                                      "Not authorized to perform sts:TagSession")


def test_wrong_audience_is_invalid_identity_token(
    fed: Server, fiam: Any, peers: Peers, main_provider: str
) -> None:
    role = web_role(fiam, main_provider)
    with pytest.raises(ClientError) as bad:
        unsigned_sts(fed).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="s1", WebIdentityToken=peers.main.token("other-app"))
    assert error_of(bad.value) == ("InvalidIdentityToken", 400, "Incorrect token audience")


def test_unknown_issuer(fed: Server, fiam: Any, peers: Peers, main_provider: str) -> None:
    role = web_role(fiam, main_provider)
    token = forge_token(peers.main.rsa_key, {"iss": "https://unknown.opensts.test",
                                             "aud": "web-app", "sub": "x"}, kid="rsa-1")
    with pytest.raises(ClientError) as bad:
        unsigned_sts(fed).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="s1", WebIdentityToken=token)
    assert error_of(bad.value) == (
        "InvalidIdentityToken", 400,
        "No OpenIDConnect provider found in your account for https://unknown.opensts.test")


def test_expired_token(fed: Server, fiam: Any, peers: Peers, main_provider: str) -> None:
    role = web_role(fiam, main_provider)
    now = int(time.time())
    token = forge_token(peers.main.rsa_key, {"iss": peers.main.issuer, "aud": "web-app",
                                             "sub": "web-app", "iat": now - 7200,
                                             "exp": now - 3600}, kid="rsa-1")
    with pytest.raises(ClientError) as expired:
        unsigned_sts(fed).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="s1", WebIdentityToken=token)
    code, status, message = error_of(expired.value)
    assert (code, status) == ("ExpiredTokenException", 400)
    assert message.startswith("Token expired: current date/time ")


def test_token_signed_by_a_stranger(fed: Server, fiam: Any, peers: Peers,
                                    main_provider: str) -> None:
    role = web_role(fiam, main_provider)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = forge_token(stranger, {"iss": peers.main.issuer, "aud": "web-app",
                                   "sub": "web-app"}, kid="rsa-1")
    with pytest.raises(ClientError) as bad:
        unsigned_sts(fed).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="s1", WebIdentityToken=token)
    assert error_of(bad.value)[:2] == ("InvalidIdentityToken", 400)


def test_idp_down_is_idp_communication_error(fed: Server, fiam: Any, peers: Peers) -> None:
    closed = f"https://127.0.0.1:{free_port()}"  # nothing listens there
    provider = fiam.create_open_id_connect_provider(Url=closed, ClientIDList=["app"])[
        "OpenIDConnectProviderArn"]
    role = web_role(fiam, provider)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = forge_token(key, {"iss": closed, "aud": "app", "sub": "x"}, kid="k1")
    with pytest.raises(ClientError) as down:
        unsigned_sts(fed).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="s1", WebIdentityToken=token)
    assert error_of(down.value)[:2] == ("IDPCommunicationError", 400)
