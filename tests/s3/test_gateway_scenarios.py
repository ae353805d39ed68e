"""The issue's scenarios end to end: real accounts, roles, sessions and SCPs made through
OpenSTS's own APIs, S3 calls through boto3, objects checked in SeaweedFS.

(a) Developers in a dev account assume ``UpdateApp`` in prod and write to the
    ``productionapp`` bucket (IAM tutorial "Delegate access across AWS accounts using IAM
    roles"); the bucket is another account's, so its bucket policy and the role's policy are
    both needed; Testers are refused.
(b) A session policy narrows a role to one prefix.
(c) SaaS tenant isolation: ``${aws:PrincipalTag/TenantID}`` in an object prefix, the tag
    from an OIDC token's session tags.
(d) An SCP denies ``s3:DeleteObject`` in a member account.
(e) Sessions revoked by ``AWSRevokeOlderSessions``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, start_server, stop_server
from tests.s3.conftest import Seaweed, gateway_env, s3_client
from tests.s3.e2e import (
    admin_of,
    allow,
    code,
    creds,
    deny,
    doc,
    new_account,
    organization,
    session_client,
    unique_bucket,
    user,
)


def s3_of(server: Server, session: dict[str, str]) -> Any:
    return s3_client(server, session["key"], session["secret"], session["token"])


def test_a_developers_assume_update_app_and_write_productionapp(
    gateway: Server, s3: Any, seaweed: Seaweed
) -> None:
    dev, prod = new_account(gateway, "dev"), new_account(gateway, "prod")
    dev_iam = session_client(gateway, "iam", admin_of(gateway, dev))
    prod_iam = session_client(gateway, "iam", admin_of(gateway, prod))
    bucket = unique_bucket("productionapp")
    s3.create_bucket(Bucket=bucket)  # owned by the management account
    role_arn = prod_iam.create_role(
        RoleName="UpdateApp",
        AssumeRolePolicyDocument=doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                      "Principal": {"AWS": f"arn:aws:iam::{dev}:root"}}),
    )["Role"]["Arn"]
    prod_iam.put_role_policy(RoleName="UpdateApp", PolicyName="write-app", PolicyDocument=doc(
        allow("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
        allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], f"arn:aws:s3:::{bucket}/*")))
    dev_iam.create_group(GroupName="Developers")
    dev_iam.put_group_policy(GroupName="Developers", PolicyName="assume",
                             PolicyDocument=doc(allow("sts:AssumeRole", role_arn)))
    dev_iam.create_group(GroupName="Testers")
    dev_iam.put_group_policy(GroupName="Testers", PolicyName="read-only",
                             PolicyDocument=doc(allow("iam:Get*")))
    _, dkey, dsecret = user(gateway, iam=dev_iam, groups=("Developers",))
    _, tkey, tsecret = user(gateway, iam=dev_iam, groups=("Testers",))

    session = creds(gateway.client("sts", dkey, dsecret).assume_role(
        RoleArn=role_arn, RoleSessionName="dev-deploy"))
    app = s3_of(gateway, session)
    # The bucket is the management account's: without its bucket policy the role's own
    # policy is not enough (cross-account needs both sides).
    with pytest.raises(ClientError) as refused:
        app.put_object(Bucket=bucket, Key="release/app.zip", Body=b"v1")
    assert code(refused.value) == "AccessDenied"
    assert not seaweed.has_object(bucket, "release/app.zip")
    s3.put_bucket_policy(Bucket=bucket, Policy=doc(allow(
        ["s3:PutObject", "s3:GetObject"], f"arn:aws:s3:::{bucket}/*",
        Principal={"AWS": role_arn})))
    app.put_object(Bucket=bucket, Key="release/app.zip", Body=b"v1")
    assert app.get_object(Bucket=bucket, Key="release/app.zip")["Body"].read() == b"v1"
    assert seaweed.has_object(bucket, "release/app.zip")
    # The bucket policy does not grant DeleteObject: the role's allow alone is not enough.
    with pytest.raises(ClientError) as refused:
        app.delete_object(Bucket=bucket, Key="release/app.zip")
    assert code(refused.value) == "AccessDenied"
    assert seaweed.has_object(bucket, "release/app.zip")
    # Testers cannot assume the role at all.
    with pytest.raises(ClientError) as refused:
        gateway.client("sts", tkey, tsecret).assume_role(RoleArn=role_arn,
                                                        RoleSessionName="tester")
    assert code(refused.value) == "AccessDenied"
    # The cross-account call is logged for the caller and for the bucket owner.
    events = [e for e in gateway.audit_events() if e["eventName"] == "PutObject"
              and e.get("errorCode") is None
              and e["requestParameters"].get("bucketName") == bucket]
    assert {e["recipientAccountId"] for e in events} >= {prod, ACCOUNT_ID}
    data = next(e for e in events if e["recipientAccountId"] == prod)
    assert data["eventCategory"] == "Data" and data["managementEvent"] is False
    assert data["resources"][0] == {"type": "AWS::S3::Object",
                                    "ARN": f"arn:aws:s3:::{bucket}/release/app.zip"}
    assert data["additionalEventData"]["bytesTransferredIn"] >= 2
    assert data["additionalEventData"]["AuthenticationMethod"] == "AuthHeader"
    assert data["userIdentity"]["type"] == "AssumedRole"


def test_b_session_policy_narrows_a_role_to_one_prefix(gateway: Server, s3: Any,
                                                      seaweed: Seaweed) -> None:
    bucket = unique_bucket("shared")
    s3.create_bucket(Bucket=bucket)
    iam = gateway.client("iam")
    name = f"Worker-{bucket[-6:]}"
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=doc(
        allow("s3:*", [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"])))
    _, key, secret = user(gateway, doc(allow("sts:AssumeRole", role_arn)))
    narrowed = creds(gateway.client("sts", key, secret).assume_role(
        RoleArn=role_arn, RoleSessionName="team-a",
        Policy=doc(allow(["s3:PutObject", "s3:GetObject"], f"arn:aws:s3:::{bucket}/team-a/*"),
                   allow("s3:ListBucket", f"arn:aws:s3:::{bucket}",
                         Condition={"StringLike": {"s3:prefix": "team-a/*"}}))))
    client = s3_of(gateway, narrowed)
    client.put_object(Bucket=bucket, Key="team-a/report", Body=b"a")
    client.list_objects_v2(Bucket=bucket, Prefix="team-a/")
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=bucket, Key="team-b/report", Body=b"b")
    assert code(refused.value) == "AccessDenied"
    with pytest.raises(ClientError) as refused:
        client.list_objects_v2(Bucket=bucket, Prefix="team-b/")
    assert code(refused.value) == "AccessDenied"
    assert seaweed.keys(bucket) == ["team-a/report"]


def test_d_scp_denies_delete_object_in_a_member_account(gateway: Server, seaweed: Seaweed
                                                        ) -> None:
    root = organization(gateway)
    member = new_account(gateway, "scp")
    admin = admin_of(gateway, member)
    orgs = gateway.client("organizations")
    policy = orgs.create_policy(
        Name=f"no-delete-{member}", Description="no object deletes",
        Type="SERVICE_CONTROL_POLICY",
        Content=doc(allow("*"), deny("s3:DeleteObject")))["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=policy, TargetId=member)
    assert root["Id"].startswith("r-")
    client = s3_of(gateway, admin)
    bucket = unique_bucket("scp")
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="keep", Body=b"x")
    with pytest.raises(ClientError) as refused:
        client.delete_object(Bucket=bucket, Key="keep")
    assert code(refused.value) == "AccessDenied"
    assert "service control policy" in str(refused.value)
    assert seaweed.has_object(bucket, "keep")
    # DeleteObjects is decided per key: the refusal comes back inside the result.
    result = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "keep"}]})
    assert result["Errors"][0]["Code"] == "AccessDenied" and "Deleted" not in result
    assert seaweed.has_object(bucket, "keep")


def test_e_revoked_sessions_are_denied(gateway: Server, s3: Any, seaweed: Seaweed) -> None:
    bucket = unique_bucket("revoke")
    s3.create_bucket(Bucket=bucket)
    iam = gateway.client("iam")
    name = f"Revocable-{bucket[-6:]}"
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="rw", PolicyDocument=doc(
        allow(["s3:PutObject", "s3:GetObject"], f"arn:aws:s3:::{bucket}/*")))
    _, key, secret = user(gateway, doc(allow("sts:AssumeRole", role_arn)))
    sts = gateway.client("sts", key, secret)
    old = s3_of(gateway, creds(sts.assume_role(RoleArn=role_arn, RoleSessionName="old")))
    old.put_object(Bucket=bucket, Key="before", Body=b"x")
    time.sleep(1.1)
    # What the IAM console's "Revoke active sessions" writes (IAM User Guide,
    # id_roles_use_revoke-sessions).
    cutoff = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    iam.put_role_policy(RoleName=name, PolicyName="AWSRevokeOlderSessions", PolicyDocument=doc(
        deny("*", Condition={"DateLessThan": {"aws:TokenIssueTime": cutoff}})))
    time.sleep(1.1)
    with pytest.raises(ClientError) as refused:
        old.put_object(Bucket=bucket, Key="after", Body=b"x")
    assert code(refused.value) == "AccessDenied"
    assert not seaweed.has_object(bucket, "after")
    fresh = s3_of(gateway, creds(sts.assume_role(RoleArn=role_arn, RoleSessionName="new")))
    fresh.put_object(Bucket=bucket, Key="after", Body=b"x")
    assert seaweed.has_object(bucket, "after")


# -- (c) tenant isolation from OIDC session tags --------------------------------------------

@pytest.fixture(scope="module")
def oidc_gateway(tmp_path_factory: pytest.TempPathFactory,
                 seaweed: Seaweed) -> Iterator[tuple[Server, Any]]:
    from tests.federation.oidc_peer import peer_available, start_peer
    from tests.federation_e2e.conftest import MAIN_CLIENTS

    unavailable = peer_available()
    if unavailable is not None:
        pytest.skip(unavailable)
    peer = start_peer(tmp_path_factory.mktemp("oidc-s3"), MAIN_CLIENTS)
    server = start_server(
        tmp_path_factory.mktemp("oidc-gateway") / "data",
        extra_env=gateway_env(seaweed, OPENSTS_CA_BUNDLE=str(peer.ca_file)),
        args=("--s3-backend", seaweed.endpoint))
    yield server, peer
    stop_server(server)
    peer.stop()


def test_c_tenant_isolation_with_principal_tag_in_object_prefix(
    oidc_gateway: tuple[Server, Any], seaweed: Seaweed
) -> None:
    from tests.federation_e2e.helpers import federated_trust, make_role, unsigned_sts

    server, peer = oidc_gateway
    iam = server.client("iam")
    provider = iam.create_open_id_connect_provider(
        Url=peer.issuer, ClientIDList=["web-app", "tenants"])["OpenIDConnectProviderArn"]
    issuer = peer.issuer.removeprefix("https://")
    bucket = unique_bucket("saas")
    s3_client(server).create_bucket(Bucket=bucket)
    role = make_role(
        iam,
        federated_trust(provider, ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
                        {"StringEquals": {f"{issuer}:aud": "tenants"}}),
        doc(allow(["s3:PutObject", "s3:GetObject"],
                  f"arn:aws:s3:::{bucket}/tenants/${{aws:PrincipalTag/TenantID}}/*"),
            allow("s3:ListBucket", f"arn:aws:s3:::{bucket}", Condition={
                "StringLike": {"s3:prefix": "tenants/${aws:PrincipalTag/TenantID}/*"}})))
    clients = {
        tenant: s3_of(server, creds(unsigned_sts(server).assume_role_with_web_identity(
            RoleArn=role, RoleSessionName=tenant, WebIdentityToken=peer.token(tenant))))
        for tenant in ("tenant-a", "tenant-b")
    }
    for tenant, other in (("tenant-a", "tenant-b"), ("tenant-b", "tenant-a")):
        client = clients[tenant]
        client.put_object(Bucket=bucket, Key=f"tenants/{tenant}/data.json",
                          Body=json.dumps({"tenant": tenant}).encode())
        client.list_objects_v2(Bucket=bucket, Prefix=f"tenants/{tenant}/")
        with pytest.raises(ClientError) as refused:
            client.get_object(Bucket=bucket, Key=f"tenants/{other}/data.json")
        assert code(refused.value) == "AccessDenied"
        with pytest.raises(ClientError) as refused:
            client.put_object(Bucket=bucket, Key=f"tenants/{other}/evil", Body=b"x")
        assert code(refused.value) == "AccessDenied"
        with pytest.raises(ClientError) as refused:
            client.list_objects_v2(Bucket=bucket, Prefix=f"tenants/{other}/")
        assert code(refused.value) == "AccessDenied"
    assert sorted(seaweed.keys(bucket)) == ["tenants/tenant-a/data.json",
                                            "tenants/tenant-b/data.json"]
