"""Instance profiles through boto3 and the AWS CLI: lifecycle, the one-role quota, paging,
tags, authorization, and DeleteRole's DeleteConflict while the role is in a profile."""

from __future__ import annotations

from typing import Any

from .helpers import allow, error_of, trust, unique


def test_instance_profile_lifecycle(iam: Any, server: Any) -> None:
    name = unique("ip")
    role = unique("iprole")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(server.account_id))
    created = iam.create_instance_profile(InstanceProfileName=name, Path="/app/")[
        "InstanceProfile"]
    assert created["Arn"] == f"arn:aws:iam::{server.account_id}:instance-profile/app/{name}"
    assert created["InstanceProfileId"].startswith("AIPA") and created["Roles"] == []
    assert created["Path"] == "/app/"
    assert error_of(iam.create_instance_profile, InstanceProfileName=name.upper()) == (
        "EntityAlreadyExists", 409, f"Instance Profile {name.upper()} already exists.")
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    got = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    assert got["Roles"][0]["Arn"].endswith(f":role/{role}")
    # one role per instance profile, and AWS says so with its quota's name
    other = unique("iprole2")
    iam.create_role(RoleName=other, AssumeRolePolicyDocument=trust(server.account_id))
    assert error_of(iam.add_role_to_instance_profile, InstanceProfileName=name,
                    RoleName=other) == (
        "LimitExceeded", 409, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
    listed = iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in listed] == [name]
    assert iam.list_instance_profiles_for_role(RoleName=other)["InstanceProfiles"] == []
    # the role cannot go while in the profile, nor the profile while it holds the role
    assert error_of(iam.delete_role, RoleName=role) == (
        "DeleteConflict", 409,
        "Cannot delete entity, must remove roles from instance profile first.")
    assert error_of(iam.delete_instance_profile, InstanceProfileName=name) == (
        "DeleteConflict", 409,
        "Cannot delete entity, must remove roles from instance profile first.")
    assert error_of(iam.remove_role_from_instance_profile, InstanceProfileName=name,
                    RoleName=other)[:2] == ("NoSuchEntity", 404)
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=name)
    iam.delete_role(RoleName=role)
    iam.delete_role(RoleName=other)
    assert error_of(iam.get_instance_profile, InstanceProfileName=name) == (
        "NoSuchEntity", 404, f"Instance Profile {name} cannot be found.")
    assert error_of(iam.delete_instance_profile, InstanceProfileName=name)[0] == "NoSuchEntity"
    assert error_of(iam.list_instance_profiles_for_role, RoleName=role) == (
        "NoSuchEntity", 404, f"The role with name {role} cannot be found.")


def test_account_summary_counts_instance_profiles(iam: Any) -> None:
    before = iam.get_account_summary()["SummaryMap"]
    assert before["InstanceProfilesQuota"] == 1000
    name = unique("sum")
    iam.create_instance_profile(InstanceProfileName=name)
    after = iam.get_account_summary()["SummaryMap"]
    assert after["InstanceProfiles"] >= 1
    iam.delete_instance_profile(InstanceProfileName=name)


def test_instance_profile_errors_and_validation(iam: Any) -> None:
    assert error_of(iam.add_role_to_instance_profile, InstanceProfileName=unique("none"),
                    RoleName="x")[:2] == ("NoSuchEntity", 404)
    name = unique("ipv")
    iam.create_instance_profile(InstanceProfileName=name)
    assert error_of(iam.add_role_to_instance_profile, InstanceProfileName=name,
                    RoleName="nobody-here") == (
        "NoSuchEntity", 404, "The role with name nobody-here cannot be found.")
    code, status, message = error_of(iam.create_instance_profile, InstanceProfileName="a" * 129)
    assert (code, status) == ("ValidationError", 400)
    assert "at 'instanceProfileName' failed to satisfy constraint: Member must have length " \
           "less than or equal to 128" in message
    assert error_of(iam.create_instance_profile, InstanceProfileName="bad name")[0] == (
        "ValidationError")
    assert error_of(iam.create_instance_profile, InstanceProfileName=unique("p"),
                    Path="nopath")[0] == "ValidationError"
    iam.delete_instance_profile(InstanceProfileName=name)


def test_instance_profile_paging_and_path(iam: Any) -> None:
    prefix = f"/{unique('pg')}/"
    names = sorted(unique("pp") for _ in range(3))
    for n in names:
        iam.create_instance_profile(InstanceProfileName=n, Path=prefix)
    first = iam.list_instance_profiles(PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] and len(first["InstanceProfiles"]) == 2
    rest = iam.list_instance_profiles(PathPrefix=prefix, Marker=first["Marker"])
    assert not rest["IsTruncated"]
    got = [p["InstanceProfileName"] for p in first["InstanceProfiles"] + rest["InstanceProfiles"]]
    assert got == names
    paginated = [p["InstanceProfileName"]
                 for page in iam.get_paginator("list_instance_profiles").paginate(
                     PathPrefix=prefix, PaginationConfig={"PageSize": 1})
                 for p in page["InstanceProfiles"]]
    assert paginated == names
    assert error_of(iam.list_instance_profiles, Marker="abc") == (
        "ValidationError", 400, "Invalid Marker.")
    for n in names:
        iam.delete_instance_profile(InstanceProfileName=n)


def test_instance_profile_tags(iam: Any) -> None:
    name = unique("ipt")
    created = iam.create_instance_profile(InstanceProfileName=name,
                                          Tags=[{"Key": "team", "Value": "a"}])
    assert created["InstanceProfile"]["Tags"] == [{"Key": "team", "Value": "a"}]
    iam.tag_instance_profile(InstanceProfileName=name, Tags=[{"Key": "env", "Value": "dev"},
                                                             {"Key": "TEAM", "Value": "b"}])
    tags = iam.list_instance_profile_tags(InstanceProfileName=name)["Tags"]
    assert tags == [{"Key": "TEAM", "Value": "b"}, {"Key": "env", "Value": "dev"}]
    iam.untag_instance_profile(InstanceProfileName=name, TagKeys=["env"])
    assert iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Tags"] == [
        {"Key": "TEAM", "Value": "b"}]
    assert error_of(iam.tag_instance_profile, InstanceProfileName=unique("none"),
                    Tags=[{"Key": "k", "Value": "v"}])[0] == "NoSuchEntity"
    iam.delete_instance_profile(InstanceProfileName=name)


def test_instance_profile_authorization(iam: Any, server: Any, new_user: Any) -> None:
    name = unique("ipa")
    role = unique("ipar")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(server.account_id))
    acct = server.account_id
    user, key, secret = new_user(allow(
        "iam:CreateInstanceProfile", "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile",
        resource=f"arn:aws:iam::{acct}:instance-profile/ok/*"))
    client = server.client("iam", key, secret)
    assert error_of(client.create_instance_profile, InstanceProfileName=name)[:2] == (
        "AccessDenied", 403)
    client.create_instance_profile(InstanceProfileName=name, Path="/ok/")
    assert error_of(client.list_instance_profiles)[:2] == ("AccessDenied", 403)
    # a hidden profile is denied, not reported missing
    assert error_of(client.get_instance_profile, InstanceProfileName=unique("x"))[0] == (
        "AccessDenied")
    # adding a role passes it: iam:PassRole on the role is needed too
    code, _, message = error_of(client.add_role_to_instance_profile, InstanceProfileName=name,
                                RoleName=role)
    assert code == "AccessDenied" and "iam:PassRole" in message
    iam.put_user_policy(UserName=user, PolicyName="pass", PolicyDocument=__import__(
        "json").dumps(allow("iam:PassRole", resource=f"arn:aws:iam::{acct}:role/{role}")))
    client.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=name)
    iam.delete_role(RoleName=role)


def test_instance_profiles_through_the_cli(server: Any) -> None:
    name = unique("ipcli")
    out = server.aws_json("iam", "create-instance-profile", "--instance-profile-name", name)
    assert out["InstanceProfile"]["InstanceProfileName"] == name
    listed = server.aws_json("iam", "list-instance-profiles")["InstanceProfiles"]
    assert name in [p["InstanceProfileName"] for p in listed]
    server.aws("iam", "delete-instance-profile", "--instance-profile-name", name)
    failed = server.aws("iam", "get-instance-profile", "--instance-profile-name", name,
                        check=False)
    assert failed.returncode != 0 and "NoSuchEntity" in failed.stderr
    assert f"Instance Profile {name} cannot be found." in failed.stderr
