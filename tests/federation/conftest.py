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
