"""SAML logins of an identity pool (SamlProviderARNs): a pysaml2 IdP's response verified
as AssumeRoleWithSAML verifies it, its Role attribute as the token's roles, a forger's
response refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, unique
from tests.federation.saml_idp import SamlIdp, b64
from tests.federation_e2e.helpers import saml_identity

from .conftest import cognito_trust, error_of


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> SamlIdp:
    return SamlIdp(Path(tmp_path_factory.mktemp("cog-idp")),
                   entity_id="https://idp.cognito.test/saml")


@pytest.fixture(scope="module")
def forger(tmp_path_factory: pytest.TempPathFactory) -> SamlIdp:
    return SamlIdp(Path(tmp_path_factory.mktemp("cog-forger")),
                   entity_id="https://idp.cognito.test/saml")


def test_saml_login(cog: Server, ci: Any, ciam: Any, public_ci: Any, idp: SamlIdp,
                    forger: SamlIdp) -> None:
    provider = ciam.create_saml_provider(Name=unique("cog-saml"),
                                         SAMLMetadataDocument=idp.metadata_xml())[
        "SAMLProviderArn"]
    pool = ci.create_identity_pool(IdentityPoolName=unique("saml").replace("-", "_"),
                                   AllowUnauthenticatedIdentities=False,
                                   SamlProviderARNs=[provider])["IdentityPoolId"]
    role_name = unique("cog-saml-role")
    role = ciam.create_role(RoleName=role_name,
                            AssumeRolePolicyDocument=cognito_trust(pool, "authenticated"))[
        "Role"]["Arn"]
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={},
                               RoleMappings={provider: {"Type": "Token",
                                                        "AmbiguousRoleResolution": "Deny"}})
    assertion = b64(idp.response(saml_identity(role, provider, "alice")))
    logins = {provider: assertion}
    identity = public_ci.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    result = public_ci.get_credentials_for_identity(IdentityId=identity, Logins=logins)
    c = result["Credentials"]
    arn = cog.client("sts", c["AccessKeyId"], c["SecretKey"],
                     c["SessionToken"]).get_caller_identity()["Arn"]
    assert arn.split("/")[1] == role_name
    # The same response a second time for the same operation is a replay.
    with pytest.raises(ClientError) as replay:
        public_ci.get_credentials_for_identity(IdentityId=identity, Logins=logins)
    assert error_of(replay)[0] == "NotAuthorizedException"
    # A response signed by another key under the same entity id.
    forged = b64(forger.response(saml_identity(role, provider, "alice")))
    with pytest.raises(ClientError) as refused:
        public_ci.get_id(IdentityPoolId=pool, Logins={provider: forged})
    code, message, _ = error_of(refused)
    assert code == "NotAuthorizedException" and message.startswith("Invalid login token.")
