"""Throughput of the federation verifiers. Prints numbers; asserts nothing.

Run: .venv/bin/python bench/federation.py  (needs xmlsec1 for the pysaml2 IdP)
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

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


if __name__ == "__main__":
    bench_saml()
    bench_oidc()
