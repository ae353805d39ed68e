"""A dedicated OpenSTS server for federation end-to-end tests, with real IdPs around it.

* ``idp`` / ``attacker_idp``: pysaml2 IdPs (tests/federation/saml_idp.py) signing with xmlsec1.
* ``peers``: two node oidc-provider instances over TLS from test CAs — one at
  ``https://127.0.0.1:PORT`` and one under an Entra-ID-shaped tenant path
  ``https://127.0.0.1:PORT/<tenant-guid>/``.
* ``fed``: ``opensts serve`` started with ``OPENSTS_CA_BUNDLE`` holding both peers' CAs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, start_server, stop_server, unique
from tests.federation.oidc_peer import OidcPeer, peer_available, start_peer
from tests.federation.saml_idp import SamlIdp

TAGS_CLAIM = "https://aws.amazon.com/tags"


def tenant_tags(tenant: str) -> dict[str, Any]:
    return {TAGS_CLAIM: {"principal_tags": {"TenantID": [tenant]}}}


MAIN_CLIENTS: list[dict[str, Any]] = [
    {"client_id": "web-app", "audience": "web-app"},
    {"client_id": "tagged-app", "audience": "web-app", "extraClaims": {
        TAGS_CLAIM: {"principal_tags": {"Project": ["Automation"]},
                     "transitive_tag_keys": ["Project"]},
        "https://aws.amazon.com/source_identity": "ci-bot"}},
    {"client_id": "tenant-a", "audience": "tenants", "extraClaims": tenant_tags("tenant-a")},
    {"client_id": "tenant-b", "audience": "tenants", "extraClaims": tenant_tags("tenant-b")},
    {"client_id": "other-app", "audience": "not-registered"},
]
TENANT_CLIENTS: list[dict[str, Any]] = [
    {"client_id": "entra-app", "audience": "api://opensts-entra"},
    {"client_id": "entra-other", "audience": "api://opensts-entra"},
]


@dataclass
class Peers:
    main: OidcPeer
    tenant: OidcPeer
    tenant_id: str
    ca_bundle: Path


@pytest.fixture(scope="session")
def _peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers | None]:
    if peer_available() is not None:
        yield None
        return
    main = start_peer(tmp_path_factory.mktemp("oidc-main"), MAIN_CLIENTS)
    tenant_id = str(uuid.uuid4())
    tenant = start_peer(tmp_path_factory.mktemp("oidc-tenant"), TENANT_CLIENTS, tenant=tenant_id)
    bundle = tmp_path_factory.mktemp("ca") / "bundle.pem"
    bundle.write_text(main.ca_file.read_text() + tenant.ca_file.read_text())
    yield Peers(main, tenant, tenant_id, bundle)
    main.stop()
    tenant.stop()


@pytest.fixture(scope="session")
def peers(_peers: Peers | None) -> Peers:
    if _peers is None:
        pytest.skip(peer_available() or "oidc-provider peer unavailable")
    return _peers


@pytest.fixture(scope="session")
def fed(tmp_path_factory: pytest.TempPathFactory, _peers: Peers | None) -> Iterator[Server]:
    env = {"OPENSTS_CA_BUNDLE": str(_peers.ca_bundle)} if _peers else {}
    running = start_server(tmp_path_factory.mktemp("fed") / "data", env)
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def fiam(fed: Server) -> Any:
    return fed.client("iam")


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> SamlIdp:
    return SamlIdp(tmp_path_factory.mktemp("idp"), entity_id="https://idp.opensts.test/saml")


@pytest.fixture(scope="session")
def attacker_idp(tmp_path_factory: pytest.TempPathFactory) -> SamlIdp:
    """Same entity ID as ``idp``, its own key: what a forger would have."""
    return SamlIdp(tmp_path_factory.mktemp("attacker"), entity_id="https://idp.opensts.test/saml")


@pytest.fixture
def new_fed_user(fiam: Any) -> Callable[..., tuple[str, str, str]]:
    """A user on ``fed`` with an access key and optional inline policy."""

    def make(policy: str | None = None, **kwargs: Any) -> tuple[str, str, str]:
        name = unique("user")
        fiam.create_user(UserName=name, **kwargs)
        if policy is not None:
            fiam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy)
        key = fiam.create_access_key(UserName=name)["AccessKey"]
        return name, key["AccessKeyId"], key["SecretAccessKey"]

    return make
