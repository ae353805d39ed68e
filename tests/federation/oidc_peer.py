"""Runs the npm ``oidc-provider`` peer (tests/peers/oidc-provider) on 127.0.0.1 with TLS."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from .pki import ca_and_server

PEER_DIR = Path(__file__).resolve().parents[1] / "peers" / "oidc-provider"
RESOURCE = "https://sts.opensts.test"


def peer_available() -> str | None:
    """Why the peer cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (scripts/install-test-tools)"
    if not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        return "tests/peers/oidc-provider has no node_modules (scripts/install-test-tools)"
    return None


@dataclass
class OidcPeer:
    issuer: str
    ca_file: Path
    process: subprocess.Popen[str]
    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey

    def token(self, client_id: str) -> str:
        """A JWT access token from the client_credentials grant."""
        with httpx.Client(
            verify=ssl.create_default_context(cafile=str(self.ca_file)), timeout=10
        ) as client:
            response = client.post(
                f"{self.issuer}/token",
                data={"grant_type": "client_credentials", "scope": "sts", "resource": RESOURCE},
                auth=(client_id, f"{client_id}-secret"),
            )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_peer(
    workdir: Path, clients: list[dict[str, Any]], *, tenant: str | None = None
) -> OidcPeer:
    """Start server.mjs; with ``tenant`` its issuer is ``https://127.0.0.1:PORT/<tenant>/``."""
    ca, server = ca_and_server("127.0.0.1")
    ca_file = workdir / "ca.pem"
    ca_file.write_text(ca.cert_pem)
    (workdir / "tls.key").write_text(server.key_pem)
    (workdir / "tls.crt").write_text(server.cert_pem)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key))
    rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
    ec_jwk = json.loads(ECAlgorithm.to_jwk(ec_key))
    ec_jwk.update(kid="ec-1", use="sig", alg="ES256")
    config = {
        "tlsKey": str(workdir / "tls.key"),
        "tlsCert": str(workdir / "tls.crt"),
        "resource": RESOURCE,
        "jwks": [rsa_jwk, ec_jwk],
        "clients": [{"client_secret": f"{c['client_id']}-secret", **c} for c in clients],
        **({"tenant": tenant} if tenant else {}),
    }
    config_file = workdir / "config.json"
    config_file.write_text(json.dumps(config))
    process = subprocess.Popen(
        ["node", str(PEER_DIR / "server.mjs"), str(config_file)],
        cwd=PEER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        raise RuntimeError("oidc-provider peer did not start")
    info = json.loads(line)
    return OidcPeer(info["issuer"], ca_file, process, rsa_key, ec_key)
