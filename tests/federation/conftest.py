from __future__ import annotations

from pathlib import Path

import pytest

from .saml_idp import SamlIdp


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> SamlIdp:
    return SamlIdp(Path(tmp_path_factory.mktemp("idp")))


@pytest.fixture(scope="session")
def attacker_idp(tmp_path_factory: pytest.TempPathFactory) -> SamlIdp:
    """Same entity ID as ``idp`` but its own key: what a forger would have."""
    return SamlIdp(Path(tmp_path_factory.mktemp("attacker")))


@pytest.fixture(scope="session")
def oidc_peer(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A running oidc-provider with clients for the token tests."""
    from .oidc_peer import peer_available, start_peer

    reason = peer_available()
    if reason is not None:
        pytest.skip(reason)
    tags = {
        "https://aws.amazon.com/tags": {
            "principal_tags": {"Project": ["Automation"], "CostCenter": ["987654"]},
            "transitive_tag_keys": ["Project"],
        },
        "https://aws.amazon.com/source_identity": "Admin",
    }
    peer = start_peer(
        Path(tmp_path_factory.mktemp("oidc")),
        [
            {"client_id": "ci-runner", "audience": "sts.amazonaws.com", "extraClaims": tags},
            {"client_id": "ec-runner", "audience": "sts.amazonaws.com", "alg": "ES256"},
            {"client_id": "other-app", "audience": "some-other-audience"},
        ],
    )
    yield peer
    peer.stop()
