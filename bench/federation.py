"""Throughput of the federation verifiers, then end to end over HTTP. Prints numbers;
asserts nothing.

The end-to-end section starts ``opensts serve`` (pinned to CPU 0, wrk to CPU 1 when there
are two CPUs) with OPENSTS_CA_BUNDLE trusting a node oidc-provider peer, registers a SAML and
an OIDC provider through boto3, warms the metadata and JWKS caches with one request each, and
replays pre-built requests with wrk (bench/_load.py): AssumeRole (SigV4-signed),
AssumeRoleWithWebIdentity (the peer's RS256 JWTs, cycled) and AssumeRoleWithSAML (one distinct
signed Response per request, since assertion IDs are single-use). Reports req/s and p50/p99
with ratios against AssumeRole from the same run.

Run: .venv/bin/python bench/federation.py [--seconds 5] [--connections 8] [--no-e2e]
(needs xmlsec1 for the pysaml2 IdP; node + tests/peers/oidc-provider and wrk for end to end)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from federation.saml_idp import ACCOUNT, PROVIDER_ARN, PROVIDER_NAME, SamlIdp, b64

from opensts.federation.oidc import (
    JwksCache,
    OidcProvider,
    verify_web_identity_token,
)
from opensts.federation.saml import parse_metadata, verify_saml_response


def rate(label: str, n: int, fn) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {n / elapsed:8.0f} /s  {elapsed / n * 1e3:7.3f} ms each")


def bench_saml() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        idp = SamlIdp(Path(tmp))
        md = parse_metadata(idp.metadata_xml())
        cases = {
            "SAML signed response+assertion": idp.response(),
            "SAML signed assertion only": idp.response(sign_response=False),
        }
        for label, xml in cases.items():
            payload = b64(xml)

            def run(payload: str = payload) -> None:
                verify_saml_response(
                    payload,
                    provider_arn=PROVIDER_ARN,
                    provider_name=PROVIDER_NAME,
                    account_id=ACCOUNT,
                    metadata=md,
                    now=dt.datetime.now(dt.UTC),
                )

            rate(label, 300, run)
        metadata_xml = idp.metadata_xml()
        rate("SAML parse_metadata", 300, lambda: parse_metadata(metadata_xml))


def bench_oidc() -> None:
    issuer = "https://idp.bench.test"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys = [json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key())) | {"kid": "r"}]
    keys.append(json.loads(ECAlgorithm.to_jwk(ec_key.public_key())) | {"kid": "e"})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={"jwks_uri": f"{issuer}/keys"})
        return httpx.Response(200, json={"keys": keys})

    cache = JwksCache(transport=httpx.MockTransport(handler))
    provider = OidcProvider(issuer, "arn:aws:iam::123456789012:oidc-provider/x", ("sts",))
    now = int(time.time())
    claims = {"iss": issuer, "sub": "s", "aud": "sts", "iat": now, "exp": now + 3600}
    for label, token in (
        ("OIDC RS256 (JWKS cached)", jwt.encode(claims, rsa_key, "RS256", {"kid": "r"})),
        ("OIDC ES256 (JWKS cached)", jwt.encode(claims, ec_key, "ES256", {"kid": "e"})),
    ):

        def run(token: str = token) -> None:
            verify_web_identity_token(
                token,
                providers=lambda iss: provider,
                jwks=cache,
                now=dt.datetime.now(dt.UTC),
            )

        rate(label, 2000, run)


# -- end to end over HTTP ------------------------------------------------------------------

STS_VERSION = "2011-06-15"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
SAML_ATTR = "https://aws.amazon.com/SAML/Attributes/"


def unsigned_query_request(endpoint: str, params: dict[str, str]) -> bytes:
    """A raw HTTP/1.1 query-protocol POST without SigV4 (the federated calls are unsigned)."""
    body = urlencode(params)
    head = (f"POST / HTTP/1.1\r\nHost: {urlsplit(endpoint).netloc}\r\n"
            f"Content-Type: {FORM}\r\nContent-Length: {len(body.encode())}\r\n\r\n")
    return (head + body).encode()


def distinct_saml_responses(idp: Any, identity: dict[str, list[str]], count: int) -> list[str]:
    """``count`` Responses with fresh Response/Assertion IDs, each enveloped-signed (XML-DSig,
    RSA-SHA256, exc-c14n) over the whole Response with the IdP's key. pysaml2 builds the
    template once (~100 ms per response); signxml with the loaded key signs in < 1 ms."""
    from lxml import etree
    from signxml import XMLSigner, methods

    saml = "urn:oasis:names:tc:SAML:2.0:assertion"
    ds = "http://www.w3.org/2000/09/xmldsig#"
    signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256",
                       digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    template = idp.response(identity, sign_response=False, sign_assertion=False)
    out = []
    for _ in range(count):
        root = etree.fromstring(template.encode())
        root.set("ID", f"_{uuid.uuid4().hex}")
        root.find(f"{{{saml}}}Assertion").set("ID", f"_{uuid.uuid4().hex}")
        issuer = root.find(f"{{{saml}}}Issuer")
        root.insert(root.index(issuer) + 1, etree.Element(f"{{{ds}}}Signature", Id="placeholder"))
        signed = signer.sign(root, key=idp.signing.key, cert=idp.signing.cert_pem,
                             reference_uri=root.get("ID"))
        out.append(b64(etree.tostring(signed)))
    return out


def bench_e2e(seconds: float, connections: int) -> None:
    import boto3
    from _load import LoadError, run_wrk, write_wrk_script
    from _servers import ACCOUNT_ID, ROOT_KEY, ROOT_SECRET, start_opensts
    from assume_role import check, median_round, presign, set_up
    from botocore.config import Config
    from federation.oidc_peer import peer_available, start_peer

    reason = peer_available()
    if reason is not None:
        print(f"end to end skipped: {reason}")
        return
    two_cpus = (os.cpu_count() or 1) >= 2
    server_cpu, wrk_cpu = (0, 1) if two_cpus else (None, None)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        peer = start_peer(work, [{"client_id": "bench-app", "audience": "bench-app"}])
        os.environ["OPENSTS_CA_BUNDLE"] = str(peer.ca_file)
        server = start_opensts(work, server_cpu)
        try:
            endpoint = server.endpoint
            iam = boto3.session.Session().client(
                "iam", endpoint_url=endpoint, region_name="us-east-1",
                aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
                config=Config(retries={"max_attempts": 1}))
            caller = set_up(endpoint, ROOT_KEY, ROOT_SECRET)
            idp = SamlIdp(work / "idp")
            saml_provider = iam.create_saml_provider(
                Name="BenchIdP", SAMLMetadataDocument=idp.metadata_xml())["SAMLProviderArn"]
            oidc_provider = iam.create_open_id_connect_provider(
                Url=peer.issuer, ClientIDList=["bench-app"])["OpenIDConnectProviderArn"]

            def role(name: str, provider: str, action: str) -> str:
                trust = {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": provider}, "Action": action}]}
                return str(iam.create_role(RoleName=name,
                                           AssumeRolePolicyDocument=json.dumps(trust))[
                    "Role"]["Arn"])

            saml_role = role("bench-saml", saml_provider, "sts:AssumeRoleWithSAML")
            web_role = role("bench-web", oidc_provider, "sts:AssumeRoleWithWebIdentity")
            budget_saml = max(200, int(seconds * 400))
            t0 = time.perf_counter()
            identity = {f"{SAML_ATTR}Role": [f"{saml_role},{saml_provider}"],
                        f"{SAML_ATTR}RoleSessionName": ["bench"]}
            saml = [unsigned_query_request(endpoint, {
                "Action": "AssumeRoleWithSAML", "Version": STS_VERSION, "RoleArn": saml_role,
                "PrincipalArn": saml_provider, "SAMLAssertion": payload})
                # Headroom past the budget: in-flight requests must not wrap into replays.
                for payload in distinct_saml_responses(idp, identity,
                                                       budget_saml + 2 + 8 * connections)]
            tokens = [peer.token("bench-app") for _ in range(16)]
            web = [unsigned_query_request(endpoint, {
                "Action": "AssumeRoleWithWebIdentity", "Version": STS_VERSION,
                "RoleArn": web_role, "RoleSessionName": f"bench-{i}",
                "WebIdentityToken": tokens[i % len(tokens)]}) for i in range(64)]
            print(f"\nprepared {len(saml)} SAML responses and {len(tokens)} JWTs in "
                  f"{time.perf_counter() - t0:.1f} s")
            batches: dict[str, tuple[list[bytes], int]] = {
                "AssumeRole": (presign(endpoint, caller, 200)["AssumeRole"], 10**9),
                "AssumeRoleWithWebIdentity": (web, 10**9),
                # Warm-up uses the first two; each of the rest is sent once.
                "AssumeRoleWithSAML": (saml[2:], budget_saml),
            }
            markers = {name: b"<SessionToken>" for name in batches}
            for name, (batch, _) in batches.items():  # warm caches, fail fast
                warm = saml[:2] if name == "AssumeRoleWithSAML" else [batch[0], batch[-1]]
                check(server, {name: warm}, True) if name == "AssumeRole" else _warm(
                    server, warm, markers[name], name)
            print(f"{'operation':<27} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
                  f"{'requests':>9} {'non-2xx':>8}")
            rps: dict[str, float] = {}
            for name, (batch, budget) in batches.items():
                script = work / f"{name}.lua"
                write_wrk_script(script, batch, budget)
                rounds = [run_wrk(f"{endpoint}/", script, seconds=seconds,
                                  connections=connections, cpu=wrk_cpu)
                          for _ in range(1 if name == "AssumeRoleWithSAML" else 3)]
                r = median_round(rounds)
                rps[name] = r.rps
                print(f"{name:<27} {r.rps:>8.1f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
                      f"{r.requests:>9} {r.non_2xx:>8}", flush=True)
            base = rps["AssumeRole"]
            for name in ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"):
                print(f"{name} / AssumeRole = {rps[name] / base:6.1%}")
            print(f"(account {ACCOUNT_ID}, {connections} connections, "
                  f"{'server CPU 0 / wrk CPU 1' if two_cpus else 'unpinned'})")
        except LoadError as exc:
            print(f"end to end skipped: {exc}")
        finally:
            server.stop()
            peer.stop()


def _warm(server: Any, batch: list[bytes], marker: bytes, name: str) -> None:
    from assume_role import send_raw

    for raw in batch:
        status, body = send_raw(server.port, raw)
        if status != 200 or marker not in body:
            raise RuntimeError(f"{name}: HTTP {status}: {body[:600]!r}\n{server.log_tail()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--no-e2e", action="store_true")
    args = parser.parse_args()
    bench_saml()
    bench_oidc()
    if not args.no_e2e:
        bench_e2e(args.seconds, args.connections)
