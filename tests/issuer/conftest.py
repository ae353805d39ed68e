"""Two real servers: ``issuer`` (TLS, the OIDC issuer whose tokens are verified) and
``relying`` (a second OpenSTS that trusts the first as an IAM OIDC provider, reaching it
over https with OPENSTS_CA_BUNDLE, as its web-identity verifier requires)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Server, start_server, stop_server
from tests.federation.pki import ca_and_server


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("issuer-tls")
    ca, leaf = ca_and_server("127.0.0.1")
    (directory / "ca.pem").write_text(ca.cert_pem)
    (directory / "cert.pem").write_text(leaf.cert_pem)
    (directory / "key.pem").write_text(leaf.key_pem)
    return directory


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("issuer") / "data",
        extra_env={"OPENSTS_KEY_REFRESH_SECONDS": "1"},
        args=("--tls-cert", str(tls_dir / "cert.pem"), "--tls-key", str(tls_dir / "key.pem")),
        ca_bundle=tls_dir / "ca.pem",
    )
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def relying(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("relying") / "data",
                           extra_env={"OPENSTS_CA_BUNDLE": str(tls_dir / "ca.pem")})
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def tls(tls_dir: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
