"""Marker/MaxItems paging of the IAM listings that return small per-entity lists (access
keys, MFA devices, policy versions, tags, entities for a policy), through boto3's
paginators and the AWS CLI, which pages automatically."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyotp

from tests.federation.saml_idp import SamlIdp

from .helpers import allow, doc, error_of, unique


def pages(iam: Any, operation: str, key: str, **kwargs: Any) -> list[list[Any]]:
    """Every page boto3's paginator fetches, one item per page."""
    paginator = iam.get_paginator(operation)
    return [page[key] for page in paginator.paginate(PaginationConfig={"PageSize": 1},
                                                     **kwargs)]


def test_access_keys_page(iam: Any, server: Any) -> None:
    name = unique("pgkeys")
    iam.create_user(UserName=name)
    first = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    second = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    one = iam.list_access_keys(UserName=name, MaxItems=1)
    assert one["IsTruncated"] is True and one["Marker"]
    assert [k["AccessKeyId"] for k in one["AccessKeyMetadata"]] == [first]
    rest = iam.list_access_keys(UserName=name, MaxItems=1, Marker=one["Marker"])
    assert [k["AccessKeyId"] for k in rest["AccessKeyMetadata"]] == [second]
    assert rest["IsTruncated"] is False and "Marker" not in rest
    assert [[k["AccessKeyId"] for k in p] for p in pages(
        iam, "list_access_keys", "AccessKeyMetadata", UserName=name)] == [[first], [second]]
    # the CLI follows the markers itself
    out = server.aws_json("iam", "list-access-keys", "--user-name", name, "--page-size", "1")
    assert [k["AccessKeyId"] for k in out["AccessKeyMetadata"]] == [first, second]
    assert error_of(iam.list_access_keys, UserName=name, Marker="abc") == (
        "ValidationError", 400, "Invalid Marker.")
    # a page resumes after its marker even when that key is gone
    iam.delete_access_key(UserName=name, AccessKeyId=first)
    after = iam.list_access_keys(UserName=name, Marker=one["Marker"])
    assert [k["AccessKeyId"] for k in after["AccessKeyMetadata"]] == [second]


def test_policy_versions_page_newest_first(iam: Any, server: Any) -> None:
    arn = iam.create_policy(PolicyName=unique("pgver"),
                            PolicyDocument=doc(allow("s3:GetObject")))["Policy"]["Arn"]
    for action in ("s3:PutObject", "s3:ListBucket", "s3:DeleteObject"):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow(action)))
    assert [[v["VersionId"] for v in p] for p in pages(
        iam, "list_policy_versions", "Versions", PolicyArn=arn)] == [
        ["v4"], ["v3"], ["v2"], ["v1"]]
    two = iam.list_policy_versions(PolicyArn=arn, MaxItems=2)
    assert [v["VersionId"] for v in two["Versions"]] == ["v4", "v3"] and two["IsTruncated"]
    iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    rest = iam.list_policy_versions(PolicyArn=arn, MaxItems=2, Marker=two["Marker"])
    assert [v["VersionId"] for v in rest["Versions"]] == ["v2", "v1"]
    assert rest["IsTruncated"] is False
    out = server.aws_json("iam", "list-policy-versions", "--policy-arn", arn,
                          "--page-size", "1")
    assert [v["VersionId"] for v in out["Versions"]] == ["v4", "v2", "v1"]


def _enable(iam: Any, user: str, device: str) -> str:
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName=device)["VirtualMFADevice"]
    totp = pyotp.TOTP(created["Base32StringSeed"].decode())
    step = int(time.time()) // 30
    iam.enable_mfa_device(UserName=user, SerialNumber=created["SerialNumber"],
                          AuthenticationCode1=totp.at((step - 2) * 30),
                          AuthenticationCode2=totp.at((step - 1) * 30))
    return str(created["SerialNumber"])


def test_mfa_devices_page(iam: Any, server: Any) -> None:
    name = unique("pgmfa")
    iam.create_user(UserName=name)
    serials = [_enable(iam, name, f"{name}-{i}") for i in range(3)]
    listed = [[d["SerialNumber"] for d in p]
              for p in pages(iam, "list_mfa_devices", "MFADevices", UserName=name)]
    assert listed == [[s] for s in serials]
    out = server.aws_json("iam", "list-mfa-devices", "--user-name", name, "--page-size", "2")
    assert [d["SerialNumber"] for d in out["MFADevices"]] == serials
    # the account-wide listing pages too (it did before; checked alongside)
    virtual = [d["SerialNumber"] for p in pages(
        iam, "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Assigned")
        for d in p]
    assert set(serials) <= set(virtual) and len(virtual) == len(set(virtual))


def _tags(*keys: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": f"v-{k}"} for k in keys]


def test_tag_lists_sorted_by_key_and_paged(iam: Any, server: Any, tmp_path: Path) -> None:
    """"The returned list of tags is sorted by tag key" (API_ListUserTags and siblings)."""
    user, role = unique("pgtags"), unique("pgtags")
    iam.create_user(UserName=user, Tags=_tags("zeta", "Alpha", "mid"))
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=doc({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
            "Action": "sts:AssumeRole"}]}), Tags=_tags("b", "c", "a"))
    policy = iam.create_policy(PolicyName=unique("pgtags"), PolicyDocument=doc(
        allow("s3:GetObject")), Tags=_tags("y", "x"))["Policy"]["Arn"]
    saml = iam.create_saml_provider(Name=unique("pgtags"), SAMLMetadataDocument=SamlIdp(
        tmp_path, entity_id="https://idp.pgtags.test/saml").metadata_xml(),
                                    Tags=_tags("q", "p"))["SAMLProviderArn"]
    oidc = iam.create_open_id_connect_provider(
        Url=f"https://{unique('idp')}.example.com", ClientIDList=["app"],
        ThumbprintList=["a" * 40], Tags=_tags("n", "m"))["OpenIDConnectProviderArn"]
    for operation, kwargs, keys in [
        ("list_user_tags", {"UserName": user}, ["Alpha", "mid", "zeta"]),
        ("list_role_tags", {"RoleName": role}, ["a", "b", "c"]),
        ("list_policy_tags", {"PolicyArn": policy}, ["x", "y"]),
        ("list_saml_provider_tags", {"SAMLProviderArn": saml}, ["p", "q"]),
        ("list_open_id_connect_provider_tags", {"OpenIDConnectProviderArn": oidc},
         ["m", "n"]),
    ]:
        assert pages(iam, operation, "Tags", **kwargs) == [_tags(k) for k in keys], operation
        whole = getattr(iam, operation)(**kwargs)
        assert whole["Tags"] == _tags(*keys) and whole["IsTruncated"] is False
    first = iam.list_user_tags(UserName=user, MaxItems=2)
    assert first["Tags"] == _tags("Alpha", "mid") and first["IsTruncated"] is True
    # a tag added behind the marker is not lost, one before it is not repeated
    iam.tag_user(UserName=user, Tags=_tags("0first", "nu"))
    rest = iam.list_user_tags(UserName=user, MaxItems=2, Marker=first["Marker"])
    assert rest["Tags"] == _tags("nu", "zeta") and rest["IsTruncated"] is False
    out = server.aws_json("iam", "list-role-tags", "--role-name", role, "--page-size", "1")
    assert out["Tags"] == _tags("a", "b", "c")




def test_tag_operations_share_checks(iam: Any) -> None:
    aws_managed = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert error_of(iam.tag_policy, PolicyArn=aws_managed, Tags=_tags("k")) == (
        "UnmodifiableEntity", 400,
        f"Policy {aws_managed} is an AWS managed policy and cannot be modified.")
    assert error_of(iam.untag_policy, PolicyArn=aws_managed, TagKeys=["k"])[0] == (
        "UnmodifiableEntity")
    assert iam.list_policy_tags(PolicyArn=aws_managed)["Tags"] == []
    user = unique("tagchk")
    iam.create_user(UserName=user)
    for call, kwargs in [(iam.tag_user, {"UserName": user, "Tags": []}),
                         (iam.untag_user, {"UserName": user, "TagKeys": []}),
                         (iam.tag_policy, {"PolicyArn": aws_managed, "Tags": []})]:
        assert error_of(call, **kwargs)[:2] == ("ValidationError", 400)


def test_entities_for_policy_page_and_usage_filter(iam: Any, server: Any) -> None:
    base = unique("pgent")
    arn = iam.create_policy(PolicyName=base, PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    trust = doc({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
        "Action": "sts:AssumeRole"}]})
    iam.create_group(GroupName=f"{base}-g")
    iam.attach_group_policy(GroupName=f"{base}-g", PolicyArn=arn)
    iam.create_user(UserName=f"{base}-u1")
    iam.attach_user_policy(UserName=f"{base}-u1", PolicyArn=arn)
    iam.create_user(UserName=f"{base}-u2", PermissionsBoundary=arn)
    iam.create_role(RoleName=f"{base}-r1", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName=f"{base}-r1", PolicyArn=arn)
    iam.put_role_permissions_boundary(RoleName=f"{base}-r1", PermissionsBoundary=arn)
    iam.create_role(RoleName=f"{base}-r2", AssumeRolePolicyDocument=trust,
                    PermissionsBoundary=arn)

    def names(**kwargs: Any) -> list[str]:
        out = []
        for page in iam.get_paginator("list_entities_for_policy").paginate(
                PolicyArn=arn, PaginationConfig={"PageSize": 1}, **kwargs):
            listed = ([g["GroupName"] for g in page["PolicyGroups"]]
                      + [u["UserName"] for u in page["PolicyUsers"]]
                      + [r["RoleName"] for r in page["PolicyRoles"]])
            assert len(listed) == 1
            out += listed
        return out

    all_names = [f"{base}-{n}" for n in ("g", "u1", "u2", "r1", "r2")]
    assert names() == all_names
    assert names(PolicyUsageFilter="PermissionsPolicy") == [
        f"{base}-{n}" for n in ("g", "u1", "r1")]
    assert names(PolicyUsageFilter="PermissionsBoundary") == [
        f"{base}-{n}" for n in ("u2", "r1", "r2")]
    assert names(EntityFilter="Role", PolicyUsageFilter="PermissionsBoundary") == [
        f"{base}-r1", f"{base}-r2"]
    first = iam.list_entities_for_policy(PolicyArn=arn, MaxItems=2)
    assert first["IsTruncated"] is True
    assert [g["GroupName"] for g in first["PolicyGroups"]] == [f"{base}-g"]
    assert [u["UserName"] for u in first["PolicyUsers"]] == [f"{base}-u1"]
    out = server.aws_json("iam", "list-entities-for-policy", "--policy-arn", arn,
                          "--page-size", "2")
    assert [r["RoleName"] for r in out["PolicyRoles"]] == [f"{base}-r1", f"{base}-r2"]
    assert [u["UserName"] for u in out["PolicyUsers"]] == [f"{base}-u1", f"{base}-u2"]
