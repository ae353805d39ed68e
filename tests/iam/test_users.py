"""Users and groups end to end through boto3 and the AWS CLI."""

from __future__ import annotations

from typing import Any

from .helpers import allow, doc, error_of, unique


def test_create_get_update_delete_user(iam: Any, server: Any) -> None:
    name = unique("alice")
    created = iam.create_user(UserName=name, Path="/eng/", Tags=[{"Key": "team", "Value": "a"}])
    user = created["User"]
    assert user["UserName"] == name and user["Path"] == "/eng/"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21
    assert user["Arn"] == f"arn:aws:iam::{server.account_id}:user/eng/{name}"
    got = iam.get_user(UserName=name.upper())["User"]
    assert got["UserName"] == name and got["Tags"] == [{"Key": "team", "Value": "a"}]
    assert error_of(iam.create_user, UserName=name.upper()) == (
        "EntityAlreadyExists", 409, f"User with name {name.upper()} already exists.")
    new = unique("carol")
    iam.update_user(UserName=name, NewUserName=new, NewPath="/ops/")
    assert iam.get_user(UserName=new)["User"]["Arn"].endswith(f":user/ops/{new}")
    assert error_of(iam.get_user, UserName=name) == (
        "NoSuchEntity", 404, f"The user with name {name} cannot be found.")
    iam.delete_user(UserName=new)
    assert error_of(iam.delete_user, UserName=new)[0] == "NoSuchEntity"


def test_get_user_without_name_is_the_caller(iam: Any, server: Any, new_user: Any) -> None:
    root = iam.get_user()["User"]
    assert root["Arn"] == f"arn:aws:iam::{server.account_id}:root"
    assert root["UserId"] == server.account_id
    name, key, secret = new_user(allow("iam:GetUser"))
    me = server.client("iam", key, secret).get_user()["User"]
    assert me["UserName"] == name


def test_validation_errors(iam: Any) -> None:
    code, status, message = error_of(iam.create_user, UserName="bad name!")
    assert (code, status) == ("ValidationError", 400)
    assert message == ("1 validation error detected: Value 'bad name!' at 'userName' failed to "
                       r"satisfy constraint: Member must satisfy regular expression pattern: "
                       r"[\w+=,.@-]+")
    code, _, message = error_of(iam.create_user, UserName="x" * 65)
    assert code == "ValidationError" and "length less than or equal to 64" in message
    assert error_of(iam.create_user, UserName="ok", Path="no-slash")[0] == "ValidationError"
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert error_of(iam.create_user, UserName=unique("u"), Tags=tags)[0] == "ValidationError"
    dup = [{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]
    assert error_of(iam.create_user, UserName=unique("u"), Tags=dup)[:2] == ("InvalidInput", 400)


def test_list_users_pagination_and_path_prefix(iam: Any) -> None:
    path = f"/{unique('page')}/"
    names = sorted(unique(f"p{i}") for i in range(5))
    for n in names:
        iam.create_user(UserName=n, Path=path)
    first = iam.list_users(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] and len(first["Users"]) == 2
    seen = [u["UserName"] for u in first["Users"]]
    marker = first["Marker"]
    while marker:
        page = iam.list_users(PathPrefix=path, MaxItems=2, Marker=marker)
        seen += [u["UserName"] for u in page["Users"]]
        marker = page.get("Marker")
    assert seen == names
    paginated = [u["UserName"] for p in iam.get_paginator("list_users").paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 3}) for u in p["Users"]]
    assert paginated == names


def test_delete_user_conflicts(iam: Any) -> None:
    name = unique("conflict")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(allow("s3:*")))
    assert error_of(iam.delete_user, UserName=name) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete access keys first.")
    iam.delete_access_key(UserName=name, AccessKeyId=key)
    assert error_of(iam.delete_user, UserName=name) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
    iam.delete_user_policy(UserName=name, PolicyName="p")
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert error_of(iam.delete_user, UserName=name)[2] == (
        "Cannot delete entity, must detach all policies first.")
    iam.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.delete_user(UserName=name)


def test_groups_and_membership(iam: Any) -> None:
    group, user = unique("devs"), unique("member")
    created = iam.create_group(GroupName=group, Path="/g/")["Group"]
    assert created["GroupId"].startswith("AGPA")
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert group in [g["GroupName"] for g in iam.list_groups(PathPrefix="/g/")["Groups"]]
    assert error_of(iam.delete_group, GroupName=group) == (
        "DeleteConflict", 409, "Cannot delete entity, must remove users from group first.")
    assert error_of(iam.add_user_to_group, GroupName=group, UserName="nobody-here")[:2] == (
        "NoSuchEntity", 404)
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group(GroupName=group)
    assert error_of(iam.get_group, GroupName=group) == (
        "NoSuchEntity", 404, f"The group with name {group} cannot be found.")
    assert error_of(iam.create_group, GroupName=unique("g"), Path="bad")[0] == "ValidationError"


def test_user_tags_and_boundary(iam: Any) -> None:
    name = unique("tagged")
    iam.create_user(UserName=name)
    iam.tag_user(UserName=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.tag_user(UserName=name, Tags=[{"Key": "A", "Value": "3"}])
    assert sorted((t["Key"], t["Value"]) for t in iam.list_user_tags(UserName=name)["Tags"]) == [
        ("A", "3"), ("b", "2")]
    iam.untag_user(UserName=name, TagKeys=["b"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "A", "Value": "3"}]
    boundary = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
    got = iam.get_user(UserName=name)["User"]["PermissionsBoundary"]
    assert got == {"PermissionsBoundaryType": "Policy",
                   "PermissionsBoundaryArn": boundary}
    missing = "arn:aws:iam::aws:policy/NoSuchPolicyHere"
    assert error_of(iam.put_user_permissions_boundary, UserName=name,
                    PermissionsBoundary=missing) == (
        "NoSuchEntity", 404, f"Scope ARN: {missing} does not exist or is not attachable.")
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]


def test_denied_without_permission(server: Any, new_user: Any) -> None:
    name, key, secret = new_user(allow("iam:GetUser"))
    limited = server.client("iam", key, secret)
    code, status, message = error_of(limited.create_user, UserName=unique("x"))
    assert (code, status) == ("AccessDenied", 403)
    assert "iam:CreateUser" in message and name in message
    assert error_of(limited.list_users)[0] == "AccessDenied"
    # the denial does not reveal whether the user exists
    assert error_of(limited.delete_user, UserName="does-not-exist")[0] == "AccessDenied"


def test_cli_user_lifecycle(server: Any) -> None:
    name = unique("cli")
    out = server.aws_json("iam", "create-user", "--user-name", name)
    assert out["User"]["UserName"] == name
    listed = server.aws_json("iam", "list-users")
    assert name in [u["UserName"] for u in listed["Users"]]
    missing = server.aws("iam", "get-user", "--user-name", unique("nope"), check=False)
    assert missing.returncode != 0 and "NoSuchEntity" in missing.stderr
    server.aws("iam", "delete-user", "--user-name", name)


def test_account_summary(iam: Any) -> None:
    before = iam.get_account_summary()["SummaryMap"]
    iam.create_user(UserName=unique("counted"))
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert after["AccessKeysPerUserQuota"] == 2 and after["PolicySizeQuota"] == 6144
    assert after["AccountAccessKeysPresent"] == 1


def test_rename_needs_permission_on_the_new_name(iam: Any, server: Any, new_user: Any) -> None:
    """API_UpdateGroup: "the principal must have a policy that allows them to update both
    groups"; API_UpdateUser: permissions "on both the source object and the target
    object"."""
    group, user = unique("old"), unique("old")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=user)
    acct = server.account_id
    _, key, secret = new_user({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["iam:UpdateGroup", "iam:UpdateUser"], "Resource": [
            f"arn:aws:iam::{acct}:group/{group}", f"arn:aws:iam::{acct}:user/{user}",
            f"arn:aws:iam::{acct}:group/ok/*", f"arn:aws:iam::{acct}:user/ok/*"]}]})
    client = server.client("iam", key, secret)
    for call, kwargs, kind in [
        (client.update_group, {"GroupName": group, "NewGroupName": unique("new")}, "group"),
        (client.update_user, {"UserName": user, "NewUserName": unique("new")}, "user"),
    ]:
        code, status, message = error_of(call, **kwargs)
        assert (code, status) == ("AccessDenied", 403)
        new = kwargs.get("NewGroupName") or kwargs["NewUserName"]
        assert f":{kind}/{new} " in message
        call(**{k: v for k, v in kwargs.items() if k.startswith(kind.title())},
             NewPath="/ok/")
    assert iam.get_group(GroupName=group)["Group"]["Path"] == "/ok/"
    assert iam.get_user(UserName=user)["User"]["Path"] == "/ok/"
