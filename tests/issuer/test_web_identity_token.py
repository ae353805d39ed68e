"""Outbound identity federation end to end: IAM Enable/Disable/GetOutbound...Info and STS
GetWebIdentityToken through boto3 (botocore models them), the token verified by PyJWT's
PyJWKClient via discovery and by a second OpenSTS (AssumeRoleWithWebIdentity)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import botocore.exceptions
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import ACCOUNT_ID, Server

NS = "https://sts.amazonaws.com/"


def _error(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _get(url: str, tls: ssl.SSLContext) -> Any:
    with urllib.request.urlopen(url, timeout=5, context=tls) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        return json.loads(response.read())


@pytest.fixture(scope="module")
def enabled(issuer: Server) -> str:
    iam = issuer.client("iam")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.get_outbound_web_identity_federation_info()
    assert _error(exc) == ("FeatureDisabled", 404)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        issuer.client("sts").get_web_identity_token(Audience=["x"], SigningAlgorithm="RS256")
    assert _error(exc) == ("OutboundWebIdentityFederationDisabledException", 403)
    url = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    assert url == f"{issuer.endpoint}/oidc/{ACCOUNT_ID}"
    return str(url)


def _user(server: Server, statement: dict[str, Any] | None = None) -> tuple[str, Any]:
    iam = server.client("iam")
    name = f"wit-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "data"}])["User"]["Arn"]
    policy = statement or {"Effect": "Allow", "Resource": "*",
                           "Action": ["sts:GetWebIdentityToken", "sts:TagGetWebIdentityToken"]}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [policy]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, server.client("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])


def test_enable_disable_and_info_as_aws(issuer: Server, enabled: str) -> None:
    iam = issuer.client("iam")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        iam.enable_outbound_web_identity_federation()
    assert _error(exc) == ("FeatureEnabled", 409)
    info = iam.get_outbound_web_identity_federation_info()
    assert info["IssuerIdentifier"] == enabled and info["JwtVendingEnabled"] is True
    iam.disable_outbound_web_identity_federation()
    try:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            iam.disable_outbound_web_identity_federation()
        assert _error(exc) == ("FeatureDisabled", 404)
        assert iam.get_outbound_web_identity_federation_info()["JwtVendingEnabled"] is False
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            issuer.client("sts").get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256")
        assert _error(exc) == ("OutboundWebIdentityFederationDisabledException", 403)
    finally:
        assert iam.enable_outbound_web_identity_federation()["IssuerIdentifier"] == enabled


def test_discovery_and_jwks_for_the_issuer(issuer: Server, enabled: str,
                                           tls: ssl.SSLContext) -> None:
    config = _get(f"{enabled}/.well-known/openid-configuration", tls)
    assert config["issuer"] == enabled
    assert config["jwks_uri"] == f"{enabled}/.well-known/jwks.json"
    assert set(config["id_token_signing_alg_values_supported"]) == {"RS256", "ES384"}
    keys = _get(config["jwks_uri"], tls)["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES384"}
    assert all("d" not in k and "p" not in k for k in keys)  # public halves only
    assert {(k["kty"], k.get("crv")) for k in keys} == {("RSA", None), ("EC", "P-384")}


@pytest.mark.parametrize("algorithm", ["RS256", "ES384"])
def test_token_verifies_with_pyjwkclient_via_discovery(
        issuer: Server, enabled: str, tls: ssl.SSLContext, algorithm: str) -> None:
    arn, sts = _user(issuer)
    before = int(time.time())
    result = sts.get_web_identity_token(
        Audience=["https://api.example.com"], SigningAlgorithm=algorithm, DurationSeconds=120,
        Tags=[{"Key": "job", "Value": "j-1"}])
    token = result["WebIdentityToken"]
    config = _get(f"{enabled}/.well-known/openid-configuration", tls)
    client = jwt.PyJWKClient(config["jwks_uri"], ssl_context=tls, cache_jwk_set=False)
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=[algorithm],
                        audience="https://api.example.com", issuer=enabled,
                        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert claims["sub"] == arn and claims["aud"] == "https://api.example.com"
    assert claims["exp"] - claims["iat"] == 120 and claims["iat"] >= before - 1
    assert int(result["Expiration"].timestamp()) == claims["exp"]
    assert claims[NS]["aws_account"] == ACCOUNT_ID
    assert claims[NS]["source_region"] == "us-east-1"
    assert claims[NS]["principal_id"] == arn
    assert claims[NS]["principal_tags"] == {"team": "data"}
    assert claims[NS]["request_tags"] == {"job": "j-1"}
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key.key, algorithms=[algorithm], audience="https://other.example")


def test_several_audiences_and_default_duration(issuer: Server, enabled: str) -> None:
    _, sts = _user(issuer)
    token = sts.get_web_identity_token(Audience=["a", "b"], SigningAlgorithm="RS256")[
        "WebIdentityToken"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == ["a", "b"] and claims["exp"] - claims["iat"] == 300


def test_parameters_validated_as_aws(issuer: Server, enabled: str) -> None:
    sts = _unvalidated(issuer)  # botocore itself would refuse some before sending
    cases: list[dict[str, Any]] = [
        {"Audience": [f"a{i}" for i in range(11)], "SigningAlgorithm": "RS256"},
        {"Audience": ["a"], "SigningAlgorithm": "HS256"},
        {"Audience": ["a"], "SigningAlgorithm": "RS256", "DurationSeconds": 59},
        {"Audience": ["a"], "SigningAlgorithm": "RS256", "DurationSeconds": 3601},
        {"Audience": ["x" * 1001], "SigningAlgorithm": "ES384"},
    ]
    for case in cases:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            sts.get_web_identity_token(**case)
        assert _error(exc) == ("ValidationError", 400), case


def _unvalidated(server: Server) -> Any:
    import boto3
    from botocore.config import Config

    from tests.conftest import ROOT_KEY, ROOT_SECRET

    return boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
                        verify=str(server.ca_bundle) if server.ca_bundle else None,
                        config=Config(parameter_validation=False))


def test_condition_keys(issuer: Server, enabled: str) -> None:
    _, sts = _user(issuer, {
        "Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*",
        "Condition": {
            "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": ["https://ok.example"]},
            "NumericLessThanEquals": {"sts:DurationSeconds": "300"},
            "StringEquals": {"sts:SigningAlgorithm": "ES384"},
        }})
    assert sts.get_web_identity_token(Audience=["https://ok.example"],
                                      SigningAlgorithm="ES384")["WebIdentityToken"]
    denied: list[dict[str, Any]] = [
        {"Audience": ["https://ok.example", "https://evil.example"], "SigningAlgorithm": "ES384"},
        {"Audience": ["https://ok.example"], "SigningAlgorithm": "RS256"},
        {"Audience": ["https://ok.example"], "SigningAlgorithm": "ES384", "DurationSeconds": 301},
    ]
    for case in denied:
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            sts.get_web_identity_token(**case)
        assert _error(exc) == ("AccessDenied", 403), case
    with pytest.raises(botocore.exceptions.ClientError) as exc:  # Tags: sts:TagGetWebIdentityToken
        sts.get_web_identity_token(Audience=["https://ok.example"], SigningAlgorithm="ES384",
                                   Tags=[{"Key": "k", "Value": "v"}])
    assert _error(exc) == ("AccessDenied", 403)
    assert "sts:TagGetWebIdentityToken" in exc.value.response["Error"]["Message"]


def test_session_cannot_outlive_itself(issuer: Server, enabled: str) -> None:
    iam = issuer.client("iam")
    name = f"wit-role-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": ACCOUNT_ID}}]}))["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                "Action": "sts:GetWebIdentityToken",
                                                "Resource": "*"}]}))
    _, user = _user(issuer, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    creds = user.assume_role(RoleArn=role["Arn"], RoleSessionName="wit-session",
                                             DurationSeconds=900)["Credentials"]
    session = issuer.client("sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                            token=creds["SessionToken"])
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        session.get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256",
                                       DurationSeconds=3600)
    assert _error(exc) == ("SessionDurationEscalationException", 403)
    token = session.get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256",
                                           DurationSeconds=600)["WebIdentityToken"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == role["Arn"]  # a role session's subject is the role
    assert claims[NS]["principal_id"] == role["Arn"]


@pytest.fixture(scope="module")
def trust(issuer: Server, enabled: str, relying: Server) -> tuple[str, Any, str, str]:
    """A user of the issuer, and a role of the relying OpenSTS trusting that user's tokens:
    (user ARN, the user's STS client, role ARN, provider ARN)."""
    arn, sts = _user(issuer)
    provider = relying.client("iam").create_open_id_connect_provider(
        Url=enabled, ClientIDList=["relying-sts"])["OpenIDConnectProviderArn"]
    prefix = enabled.removeprefix("https://")
    role = relying.client("iam").create_role(
        RoleName=f"from-issuer-{uuid.uuid4().hex[:6]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": provider},
            "Condition": {"StringEquals": {f"{prefix}:aud": "relying-sts",
                                           f"{prefix}:sub": arn}}}]}))["Role"]
    return arn, sts, role["Arn"], provider


def _exchange(relying: Server, role_arn: str, token: str) -> Any:
    return relying.client("sts").assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="cross", WebIdentityToken=token)


def test_second_opensts_trusts_the_first(relying: Server,
                                         trust: tuple[str, Any, str, str]) -> None:
    arn, sts, role_arn, provider = trust
    for algorithm in ("RS256", "ES384"):
        token = sts.get_web_identity_token(Audience=["relying-sts"],
                                           SigningAlgorithm=algorithm)["WebIdentityToken"]
        got = _exchange(relying, role_arn, token)
        assert got["SubjectFromWebIdentityToken"] == arn
        assert got["Provider"] == provider and got["Audience"] == "relying-sts"
        assert got["AssumedRoleUser"]["Arn"].endswith("/cross")
    other = sts.get_web_identity_token(Audience=["someone-else"],
                                       SigningAlgorithm="RS256")["WebIdentityToken"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        _exchange(relying, role_arn, other)
    assert _error(exc)[0] == "InvalidIdentityToken"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_relying_opensts_refuses_forged_tokens(issuer: Server, enabled: str, relying: Server,
                                               tls: ssl.SSLContext,
                                               trust: tuple[str, Any, str, str]) -> None:
    _, sts, role_arn, _ = trust
    real = sts.get_web_identity_token(Audience=["relying-sts"],
                                      SigningAlgorithm="RS256")["WebIdentityToken"]
    header = jwt.get_unverified_header(real)
    claims = jwt.decode(real, options={"verify_signature": False})
    jwk = next(k for k in _get(f"{enabled}/.well-known/jwks.json", tls)["keys"]
               if k["kid"] == header["kid"])
    public_pem = jwt.PyJWK(jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def forge(head: dict[str, Any], body: dict[str, Any], sign: Any = None) -> str:
        signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(body).encode())}"
        return signing_input + "." + (_b64(sign(signing_input.encode())) if sign else "")

    attacker = ec.generate_private_key(ec.SECP384R1())
    forged = {
        "alg none": forge({"alg": "none", "kid": header["kid"]}, claims),
        "HS256 keyed with the public key": forge(
            {"alg": "HS256", "typ": "JWT", "kid": header["kid"]}, claims,
            lambda data: hmac.new(public_pem, data, hashlib.sha256).digest()),
        "attacker key, unknown kid": jwt.encode(claims, attacker, algorithm="ES384",
                                                headers={"kid": "attacker"}),
        "attacker key, issuer's kid": jwt.encode(claims, attacker, algorithm="ES384",
                                                 headers={"kid": header["kid"]}),
        "tampered sub": ".".join([real.split(".")[0],
                                  _b64(json.dumps({**claims, "sub": "x"}).encode()),
                                  real.split(".")[2]]),
    }
    for name, token in forged.items():
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            _exchange(relying, role_arn, token)
        assert _error(exc)[0] == "InvalidIdentityToken", name


def test_global_endpoint_refuses_the_operation(issuer: Server, enabled: str) -> None:
    """AWS: "not available on the STS Global endpoint". The same signed call succeeds on
    the server's own (regional) host name."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from tests.conftest import ROOT_KEY, ROOT_SECRET

    body = ("Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=a"
            "&SigningAlgorithm=RS256")
    context = ssl.create_default_context(cafile=str(issuer.ca_bundle))

    def call(host: str) -> tuple[int, bytes]:
        request = AWSRequest("POST", f"{issuer.endpoint}/", data=body, headers={
            "Host": host, "Content-Type": "application/x-www-form-urlencoded"})
        SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "sts", "us-east-1").add_auth(request)
        prepared = urllib.request.Request(f"{issuer.endpoint}/", data=body.encode(),
                                          method="POST", headers=dict(request.headers.items()))
        try:
            with urllib.request.urlopen(prepared, timeout=5, context=context) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    status, text = call("sts.amazonaws.com")
    assert status == 400 and b"<Code>InvalidAction</Code>" in text
    status, text = call(issuer.endpoint.removeprefix("https://"))
    assert status == 200 and b"<WebIdentityToken>" in text


def test_calls_are_audited_without_the_token(issuer: Server, enabled: str) -> None:
    _, sts = _user(issuer)
    token = sts.get_web_identity_token(Audience=["audited"], SigningAlgorithm="ES384",
                                       DurationSeconds=90)["WebIdentityToken"]
    deadline = time.monotonic() + 5
    while True:
        events = [json.loads(line) for path in sorted((issuer.data_dir / "audit").rglob("*"))
                  if path.is_file() and not path.name.endswith(".gz")
                  for line in path.read_text(errors="replace").splitlines()
                  if line.startswith("{")]
        mine = [e for e in events if e.get("eventName") == "GetWebIdentityToken"
                and (e.get("requestParameters") or {}).get("audience") == ["audited"]]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(mine) == 1
    event = mine[0]
    assert event["eventSource"] == "sts.amazonaws.com"
    assert event["requestParameters"] == {"audience": ["audited"], "signingAlgorithm": "ES384",
                                          "durationSeconds": 90}
    assert "expiration" in event["responseElements"]
    assert token not in json.dumps(events) and token.split(".")[2] not in json.dumps(events)
    names = {e.get("eventName") for e in events}
    assert {"EnableOutboundWebIdentityFederation",
            "GetOutboundWebIdentityFederationInfo"} <= names


def test_issuer_documents_routing(issuer: Server, tls: ssl.SSLContext) -> None:
    """Every issuer path has its documents; sign-in's /v1 JWKS stays sign-in's (ES256);
    only GET/HEAD; paths that are no issuer path are not answered as one."""
    cognito = _get(f"{issuer.endpoint}/cognito-identity/.well-known/openid-configuration", tls)
    assert cognito["issuer"] == f"{issuer.endpoint}/cognito-identity"
    assert {k["alg"] for k in _get(f"{issuer.endpoint}/v1/.well-known/jwks.json",
                                   tls)["keys"]} == {"ES256"}
    post = urllib.request.Request(f"{issuer.endpoint}/oidc/{ACCOUNT_ID}/.well-known/jwks.json",
                                  data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(post, timeout=5, context=tls)
    assert exc.value.code == 405
    for path in ("/a/b/c/d/.well-known/jwks.json", "/.well-known/jwks.json",
                 "/%2e%2e/.well-known/jwks.json"):
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"{issuer.endpoint}{path}", timeout=5, context=tls)
        assert exc.value.code == 404, path


def test_organization_claims(issuer: Server, enabled: str) -> None:
    orgs = issuer.client("organizations")
    org = orgs.create_organization(FeatureSet="ALL")["Organization"]
    root = orgs.list_roots()["Roots"][0]["Id"]
    _, sts = _user(issuer)
    token = sts.get_web_identity_token(Audience=["org"], SigningAlgorithm="RS256")[
        "WebIdentityToken"]
    claims = jwt.decode(token, options={"verify_signature": False})[NS]
    assert claims["org_id"] == org["Id"]
    assert claims["ou_path"] == f"{org['Id']}/{root}/"


def test_zz_rotation_and_retirement_on_the_running_server(
        issuer: Server, enabled: str, tls: ssl.SSLContext) -> None:
    """Last in the module (it changes the issuer's ES384 key): ``opensts keys rotate`` on
    the data dir reaches the running server (OPENSTS_KEY_REFRESH_SECONDS=1); old tokens keep
    verifying through discovery until ``opensts keys retire``."""
    import subprocess

    from tests.conftest import BIN

    def keys(*args: str) -> str:
        done = subprocess.run([str(BIN / "opensts"), "keys", *args, "--data-dir",
                               str(issuer.data_dir)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    _, sts = _user(issuer)
    old = sts.get_web_identity_token(Audience=["rot"], SigningAlgorithm="ES384")[
        "WebIdentityToken"]
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_kid = keys("rotate", "--kind", "identity-token", "--algorithm", "ES384").split()[1]
    jwks_uri = f"{enabled}/.well-known/jwks.json"

    def published() -> set[str]:
        return {k["kid"] for k in _get(jwks_uri, tls)["keys"]}

    def verify(token: str) -> Any:
        client = jwt.PyJWKClient(jwks_uri, ssl_context=tls, cache_jwk_set=False)
        return jwt.decode(token, client.get_signing_key_from_jwt(token).key,
                          algorithms=["ES384"], audience="rot", issuer=enabled)

    deadline = time.monotonic() + 10
    while True:
        new = sts.get_web_identity_token(Audience=["rot"], SigningAlgorithm="ES384")[
            "WebIdentityToken"]
        if jwt.get_unverified_header(new)["kid"] == new_kid or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert {old_kid, new_kid} <= published()
    assert verify(old) and verify(new)
    keys("retire", old_kid)
    deadline = time.monotonic() + 10
    while old_kid in published() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert old_kid not in published()
    with pytest.raises(jwt.PyJWKClientError):
        verify(old)
    assert verify(new)
