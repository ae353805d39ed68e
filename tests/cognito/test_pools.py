"""Identity pools through boto3 (and the AWS CLI): create, describe, update, list, delete,
roles and role mappings, with AWS's field names and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, unique

from .conftest import error_of


def test_create_describe_update_delete(ci: Any, ciam: Any) -> None:
    provider = ciam.create_open_id_connect_provider(
        Url=f"https://{unique('idp')}.example.com", ClientIDList=["app"])[
        "OpenIDConnectProviderArn"]
    created = ci.create_identity_pool(
        IdentityPoolName="My pool", AllowUnauthenticatedIdentities=True,
        AllowClassicFlow=True, DeveloperProviderName="login.mycompany.myapp",
        OpenIdConnectProviderARNs=[provider],
        SupportedLoginProviders={"accounts.google.com": "123.apps.googleusercontent.com"},
        IdentityPoolTags={"team": "mobile"})
    pool = created["IdentityPoolId"]
    assert pool.startswith("us-east-1:")
    assert created["IdentityPoolName"] == "My pool"
    assert created["AllowUnauthenticatedIdentities"] is True
    assert created["AllowClassicFlow"] is True
    assert created["OpenIdConnectProviderARNs"] == [provider]
    assert created["IdentityPoolTags"] == {"team": "mobile"}
    described = ci.describe_identity_pool(IdentityPoolId=pool)
    assert {k: v for k, v in described.items() if k != "ResponseMetadata"} == {
        k: v for k, v in created.items() if k != "ResponseMetadata"}

    updated = ci.update_identity_pool(IdentityPoolId=pool, IdentityPoolName="Renamed",
                                      AllowUnauthenticatedIdentities=False,
                                      DeveloperProviderName="login.mycompany.myapp")
    assert updated["IdentityPoolName"] == "Renamed"
    assert updated["AllowUnauthenticatedIdentities"] is False
    assert updated["OpenIdConnectProviderARNs"] == []
    assert updated["IdentityPoolTags"] == {"team": "mobile"}  # tags kept when not given
    with pytest.raises(ClientError) as changed:
        ci.update_identity_pool(IdentityPoolId=pool, IdentityPoolName="Renamed",
                                AllowUnauthenticatedIdentities=False,
                                DeveloperProviderName="login.other")
    assert error_of(changed)[0] == "InvalidParameterException"

    pools = ci.list_identity_pools(MaxResults=60)["IdentityPools"]
    assert {"IdentityPoolId": pool, "IdentityPoolName": "Renamed"} in pools
    ci.delete_identity_pool(IdentityPoolId=pool)
    with pytest.raises(ClientError) as gone:
        ci.describe_identity_pool(IdentityPoolId=pool)
    assert error_of(gone) == ("ResourceNotFoundException",
                              f"IdentityPool '{pool}' not found.", 400)


def test_list_pages(ci: Any) -> None:
    made = [ci.create_identity_pool(IdentityPoolName=f"page {i}",
                                    AllowUnauthenticatedIdentities=False)["IdentityPoolId"]
            for i in range(3)]
    seen: list[str] = []
    token = None
    while True:
        page = ci.list_identity_pools(MaxResults=2, **({"NextToken": token} if token else {}))
        assert len(page["IdentityPools"]) <= 2
        seen.extend(p["IdentityPoolId"] for p in page["IdentityPools"])
        token = page.get("NextToken")
        if not token:
            break
    assert set(made) <= set(seen) and len(seen) == len(set(seen))


def test_validation(ci: Any) -> None:
    with pytest.raises(ClientError) as bad:
        ci.create_identity_pool(IdentityPoolName="bad/name",
                                AllowUnauthenticatedIdentities=False)
    code, message, status = error_of(bad)
    assert (code, status) == ("ValidationException", 400)
    assert "identityPoolName" in message and "regular expression pattern" in message
    with pytest.raises(ClientError) as unknown_provider:
        ci.create_identity_pool(
            IdentityPoolName="p", AllowUnauthenticatedIdentities=False,
            OpenIdConnectProviderARNs=[f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/nope.test"])
    assert error_of(unknown_provider)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as bad_id:
        ci.describe_identity_pool(IdentityPoolId="not-a-pool-id")
    assert error_of(bad_id)[0] == "ValidationException"
    pool = ci.create_identity_pool(IdentityPoolName="roles",
                                   AllowUnauthenticatedIdentities=False)["IdentityPoolId"]
    with pytest.raises(ClientError) as no_ambiguous:
        ci.set_identity_pool_roles(
            IdentityPoolId=pool, Roles={},
            RoleMappings={"idp.example.com": {"Type": "Token"}})
    assert error_of(no_ambiguous)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as no_rules:
        ci.set_identity_pool_roles(
            IdentityPoolId=pool, Roles={},
            RoleMappings={"idp.example.com": {"Type": "Rules",
                                              "AmbiguousRoleResolution": "Deny"}})
    assert error_of(no_rules)[0] == "InvalidParameterException"


def test_pool_of_another_region_is_not_found(cog: Server, ci: Any) -> None:
    pool = ci.create_identity_pool(IdentityPoolName="east",
                                   AllowUnauthenticatedIdentities=False)["IdentityPoolId"]
    west = cog.client("cognito-identity", region="us-west-2")
    with pytest.raises(ClientError) as missing:
        west.describe_identity_pool(IdentityPoolId=pool)
    assert error_of(missing)[0] == "ResourceNotFoundException"
    assert west.create_identity_pool(IdentityPoolName="west",
                                     AllowUnauthenticatedIdentities=False)[
        "IdentityPoolId"].startswith("us-west-2:")


def test_aws_cli(cog: Server) -> None:
    made = cog.aws_json("cognito-identity", "create-identity-pool", "--identity-pool-name",
                        "cli_pool", "--allow-unauthenticated-identities")
    pool = made["IdentityPoolId"]
    roles = cog.aws_json("cognito-identity", "get-identity-pool-roles",
                         "--identity-pool-id", pool)
    assert roles == {"IdentityPoolId": pool, "Roles": {}}
    identity = cog.aws_json("cognito-identity", "get-id", "--identity-pool-id", pool,
                            "--account-id", ACCOUNT_ID)["IdentityId"]
    described = cog.aws_json("cognito-identity", "describe-identity", "--identity-id",
                             identity)
    assert described["IdentityId"] == identity and "Logins" not in described
    assert json.dumps(described)  # CreationDate / LastModifiedDate parse as timestamps


def test_tags(ci: Any) -> None:
    pool = ci.create_identity_pool(IdentityPoolName="tagged",
                                   AllowUnauthenticatedIdentities=False,
                                   IdentityPoolTags={"a": "1"})["IdentityPoolId"]
    arn = f"arn:aws:cognito-identity:us-east-1:{ACCOUNT_ID}:identitypool/{pool}"
    ci.tag_resource(ResourceArn=arn, Tags={"b": "2", "a": "one"})
    assert ci.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"a": "one", "b": "2"}
    ci.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ci.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"b": "2"}
    assert ci.describe_identity_pool(IdentityPoolId=pool)["IdentityPoolTags"] == {"b": "2"}
    with pytest.raises(ClientError) as other_account:
        ci.list_tags_for_resource(ResourceArn=arn.replace(ACCOUNT_ID, "999999999999"))
    assert error_of(other_account)[0] == "ResourceNotFoundException"
