"""The Terraform AWS provider's call sequences, reproduced with boto3 in the provider's order.

Read from the provider's source (internal/service/iam: role.go, user.go, group.go,
policy.go, instance_profile.go, openid_connect_provider.go; docs/terraform-checklist.md lists
every call). Each test is one resource's create (then the read that Create ends with),
a refresh, an update where the provider has a distinctive one, destroy, and the refresh
after destroy that must see NoSuchEntity (the provider then drops the resource)."""

from __future__ import annotations

import json
from typing import Any

from .helpers import allow, doc, error_of, unique

TAGS = [{"Key": "managed-by", "Value": "terraform"}]
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _ec2_trust() -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})


def _gone(call: Any, **kwargs: Any) -> None:
    code, status, _ = error_of(call, **kwargs)
    assert (code, status) == ("NoSuchEntity", 404)


def _read_role(iam: Any, name: str) -> dict[str, Any]:
    """resourceRoleRead: GetRole, then ListRolePolicies + GetRolePolicy per inline policy,
    then ListAttachedRolePolicies."""
    role = iam.get_role(RoleName=name)["Role"]
    inline = {}
    for policy_name in iam.get_paginator("list_role_policies").paginate(
            RoleName=name).build_full_result()["PolicyNames"]:
        inline[policy_name] = iam.get_role_policy(RoleName=name, PolicyName=policy_name)
    attached = iam.get_paginator("list_attached_role_policies").paginate(
        RoleName=name).build_full_result()["AttachedPolicies"]
    return {"role": role, "inline": inline, "attached": [a["PolicyArn"] for a in attached]}


def test_aws_iam_role(iam: Any) -> None:
    name = unique("tf-role")
    boundary = "arn:aws:iam::aws:policy/PowerUserAccess"
    # Create: CreateRole (max_session_duration defaults to 3600 and is sent), then
    # PutRolePolicy per inline_policy and AttachRolePolicy per managed_policy_arns.
    created = iam.create_role(AssumeRolePolicyDocument=_ec2_trust(), Path="/", RoleName=name,
                              Description="made by terraform", MaxSessionDuration=3600,
                              PermissionsBoundary=boundary, Tags=TAGS)["Role"]
    assert created["RoleName"] == name
    iam.put_role_policy(RoleName=name, PolicyName="inline",
                        PolicyDocument=doc(allow("s3:GetObject")))
    iam.attach_role_policy(RoleName=name, PolicyArn=READ_ONLY)
    state = _read_role(iam, name)
    role = state["role"]
    assert role["Arn"].endswith(f":role/{name}") and role["RoleId"].startswith("AROA")
    assert role["MaxSessionDuration"] == 3600 and role["Description"] == "made by terraform"
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert role["Tags"] == TAGS
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"}
    assert list(state["inline"]) == ["inline"] and state["attached"] == [READ_ONLY]
    # Update: UpdateAssumeRolePolicy, UpdateRoleDescription, UpdateRole (MaxSessionDuration),
    # DeleteRolePermissionsBoundary, TagRole.
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=_ec2_trust())
    iam.update_role_description(RoleName=name, Description="changed")
    iam.update_role(RoleName=name, MaxSessionDuration=7200)
    iam.delete_role_permissions_boundary(RoleName=name)
    iam.tag_role(RoleName=name, Tags=[{"Key": "env", "Value": "test"}])
    role = _read_role(iam, name)["role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("changed", 7200)
    assert "PermissionsBoundary" not in role
    # Delete (DeleteRole helper): ListInstanceProfilesForRole + RemoveRoleFromInstanceProfile,
    # ListAttachedRolePolicies + DetachRolePolicy, ListRolePolicies + DeleteRolePolicy,
    # then DeleteRole.
    for profile in iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]:
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
    for arn in _read_role(iam, name)["attached"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=arn)
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    iam.delete_role(RoleName=name)
    _gone(iam.get_role, RoleName=name)


def test_aws_iam_user_force_destroy(iam: Any) -> None:
    name, group = unique("tf-user"), unique("tf-user-group")
    # Create: CreateUser (tags on create), then GetUser.
    iam.create_user(Path="/", Tags=TAGS, UserName=name)
    user = iam.get_user(UserName=name)["User"]
    assert user["UserId"].startswith("AIDA") and user["Tags"] == TAGS
    assert "PermissionsBoundary" not in user
    # Things a user collects outside Terraform, which force_destroy removes.
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    iam.create_access_key(UserName=name)
    iam.create_login_profile(UserName=name, Password="Terraform-Destroy-1!")
    # Update: UpdateUser (rename/path), PutUserPermissionsBoundary.
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=READ_ONLY)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"][
        "PermissionsBoundaryArn"] == READ_ONLY
    iam.delete_user_permissions_boundary(UserName=name)
    # Delete: ListGroupsForUser + RemoveUserFromGroup; with force_destroy ListAccessKeys +
    # DeleteAccessKey, ListSSHPublicKeys + DeleteSSHPublicKey, ListVirtualMFADevices
    # (AssignmentStatus=Assigned) + DeactivateMFADevice + DeleteVirtualMFADevice,
    # ListMFADevices + DeactivateMFADevice, DeleteLoginProfile (NoSuchEntity is fine),
    # ListSigningCertificates + DeleteSigningCertificate, ListServiceSpecificCredentials +
    # DeleteServiceSpecificCredential; then DeleteUser.
    for g in iam.get_paginator("list_groups_for_user").paginate(
            UserName=name).build_full_result()["Groups"]:
        iam.remove_user_from_group(GroupName=g["GroupName"], UserName=name)
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for key in iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"]:
        iam.delete_ssh_public_key(UserName=name, SSHPublicKeyId=key["SSHPublicKeyId"])
    for device in iam.get_paginator("list_virtual_mfa_devices").paginate(
            AssignmentStatus="Assigned").build_full_result()["VirtualMFADevices"]:
        if device.get("User", {}).get("UserName") == name:
            iam.deactivate_mfa_device(UserName=name, SerialNumber=device["SerialNumber"])
            iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])
    for device in iam.list_mfa_devices(UserName=name)["MFADevices"]:
        iam.deactivate_mfa_device(UserName=name, SerialNumber=device["SerialNumber"])
    iam.delete_login_profile(UserName=name)
    _gone(iam.delete_login_profile, UserName=name)  # a second time: NoSuchEntity, accepted
    for cert in iam.list_signing_certificates(UserName=name)["Certificates"]:
        iam.delete_signing_certificate(UserName=name, CertificateId=cert["CertificateId"])
    for cred in iam.list_service_specific_credentials(UserName=name)[
            "ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(
            UserName=name, ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])
    iam.delete_user(UserName=name)
    _gone(iam.get_user, UserName=name)
    iam.delete_group(GroupName=group)


def test_aws_iam_group(iam: Any) -> None:
    name = unique("tf-group")
    # Create: CreateGroup, then GetGroup (retried while NoSuchEntity on a new resource).
    iam.create_group(Path="/", GroupName=name)
    group = iam.get_group(GroupName=name)["Group"]
    assert group["GroupId"].startswith("AGPA") and group["Path"] == "/"
    # Update: UpdateGroup (name and path together), then GetGroup under the new name.
    renamed = unique("tf-group")
    iam.update_group(GroupName=name, NewGroupName=renamed, NewPath="/teams/")
    assert iam.get_group(GroupName=renamed)["Group"]["Path"] == "/teams/"
    # Delete: DeleteGroup.
    iam.delete_group(GroupName=renamed)
    _gone(iam.get_group, GroupName=renamed)


def test_aws_iam_policy(iam: Any) -> None:
    name = unique("tf-policy")
    # Create: CreatePolicy (Description is sent even when empty), then GetPolicy and
    # GetPolicyVersion of the default version.
    arn = iam.create_policy(Description="", Path="/", PolicyDocument=doc(allow("s3:*")),
                            PolicyName=name, Tags=TAGS)["Policy"]["Arn"]
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["Tags"] == TAGS and policy["AttachmentCount"] == 0
    version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
    assert version["PolicyVersion"]["Document"]["Statement"][0]["Action"] == ["s3:*"]
    # Update, six times: ListPolicyVersions (prune the oldest non-default at five),
    # CreatePolicyVersion with SetAsDefault=false, then SetDefaultPolicyVersion.
    for i in range(6):
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        if len(versions) >= 5:
            oldest = min((v for v in versions if not v["IsDefaultVersion"]),
                         key=lambda v: v["CreateDate"])
            iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
        new = iam.create_policy_version(PolicyArn=arn, SetAsDefault=False,
                                        PolicyDocument=doc(allow(f"s3:Get{i}")))
        iam.set_default_policy_version(PolicyArn=arn,
                                       VersionId=new["PolicyVersion"]["VersionId"])
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["DefaultVersionId"] == "v7"
    # Tags: ListPolicyTags, UntagPolicy.
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == TAGS
    iam.untag_policy(PolicyArn=arn, TagKeys=["managed-by"])
    # Delete: ListPolicyVersions, DeletePolicyVersion for every non-default one, DeletePolicy.
    for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not v["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
    iam.delete_policy(PolicyArn=arn)
    _gone(iam.get_policy, PolicyArn=arn)


def test_aws_iam_instance_profile(iam: Any) -> None:
    name, role = unique("tf-profile"), unique("tf-profile-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=_ec2_trust())
    # Create: CreateInstanceProfile (tags on create), the InstanceProfileExists waiter
    # (GetInstanceProfile), then Update: AddRoleToInstanceProfile.
    iam.create_instance_profile(InstanceProfileName=name, Path="/", Tags=TAGS)
    iam.get_waiter("instance_profile_exists").wait(
        InstanceProfileName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    # Read: GetInstanceProfile, then GetRole of its role.
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert profile["InstanceProfileId"].startswith("AIPA")
    assert [r["RoleName"] for r in profile["Roles"]] == [role]
    assert profile["Tags"] == TAGS
    iam.get_role(RoleName=profile["Roles"][0]["RoleName"])
    # Destroying the role first (a dependency): the role's delete lists the profile.
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(
        RoleName=role)["InstanceProfiles"]] == [name]
    # Delete: RemoveRoleFromInstanceProfile, DeleteInstanceProfile.
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=name)
    _gone(iam.get_instance_profile, InstanceProfileName=name)
    iam.delete_role(RoleName=role)


def test_aws_iam_openid_connect_provider(iam: Any) -> None:
    host = f"{unique('tf-oidc')}.example.com"
    # Create: CreateOpenIDConnectProvider (tags on create), then GetOpenIDConnectProvider.
    arn = iam.create_open_id_connect_provider(
        Url=f"https://{host}", ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
        Tags=TAGS)["OpenIDConnectProviderArn"]
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == host and got["ClientIDList"] == ["sts.amazonaws.com"]
    assert got["Tags"] == TAGS
    # Update: UpdateOpenIDConnectProviderThumbprint; client IDs: Add/RemoveClientID...
    iam.update_open_id_connect_provider_thumbprint(
        OpenIDConnectProviderArn=arn, ThumbprintList=["a" * 40])
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                  ClientID="second")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                       ClientID="second")
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ThumbprintList"] == ["a" * 40] and got["ClientIDList"] == ["sts.amazonaws.com"]
    # Delete: DeleteOpenIDConnectProvider (NoSuchEntity would be accepted; AWS answers
    # success), then the refresh sees NoSuchEntity.
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    _gone(iam.get_open_id_connect_provider, OpenIDConnectProviderArn=arn)
