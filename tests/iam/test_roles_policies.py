"""Roles, managed policies and versions, attachments and inline policies, end to end."""

from __future__ import annotations

import json
from typing import Any

from .helpers import allow, doc, error_of, trust, unique

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_role_lifecycle(iam: Any, server: Any) -> None:
    name = unique("role")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(server.account_id),
                           Path="/svc/", Description="d", MaxSessionDuration=7200,
                           Tags=[{"Key": "k", "Value": "v"}])["Role"]
    # CreateRole answers without MaxSessionDuration (AWS-recorded); GetRole has it.
    assert role["RoleId"].startswith("AROA") and "MaxSessionDuration" not in role
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 7200
    # boto3 URL-decodes and parses the document the server sends URL-encoded
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    got = iam.get_role(RoleName=name)["Role"]
    assert got["Description"] == "d" and got["Tags"] == [{"Key": "k", "Value": "v"}]
    iam.update_role(RoleName=name, Description="new", MaxSessionDuration=43200)
    got = iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("new", 43200)
    new_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=new_trust)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"] == {"Service": "ec2.amazonaws.com"}
    iam.tag_role(RoleName=name, Tags=[{"Key": "x", "Value": "1"}])
    iam.untag_role(RoleName=name, TagKeys=["k"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "x", "Value": "1"}]
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=READ_ONLY)
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"][
        "PermissionsBoundaryArn"] == READ_ONLY
    iam.delete_role_permissions_boundary(RoleName=name)
    assert name in [r["RoleName"] for r in iam.list_roles(PathPrefix="/svc/")["Roles"]]
    assert error_of(iam.create_role, RoleName=name.upper(),
                    AssumeRolePolicyDocument=trust(server.account_id)) == (
        "EntityAlreadyExists", 409, f"Role with name {name.upper()} already exists.")
    iam.delete_role(RoleName=name)
    assert error_of(iam.get_role, RoleName=name) == (
        "NoSuchEntity", 404, f"The role with name {name} cannot be found.")


def test_role_validation(iam: Any, server: Any) -> None:
    good = trust(server.account_id)
    code, _, message = error_of(iam.create_role, RoleName=unique("r"),
                                AssumeRolePolicyDocument=good, MaxSessionDuration=50000)
    assert code == "ValidationError" and "less than or equal to 43200" in message
    assert error_of(iam.create_role, RoleName=unique("r"),
                    AssumeRolePolicyDocument="{not json")[:2] == ("MalformedPolicyDocument", 400)
    big = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": ["x" * 100] * 25}}}]})
    assert error_of(iam.create_role, RoleName=unique("r"), AssumeRolePolicyDocument=big) == (
        "LimitExceeded", 409, "Cannot exceed quota for ACLSizePerRole: 2048")


def test_managed_policy_versions(iam: Any, server: Any) -> None:
    name = unique("pol")
    policy = iam.create_policy(PolicyName=name, Path="/team/",
                               PolicyDocument=doc(allow("s3:GetObject")),
                               Description="desc")["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{server.account_id}:policy/team/{name}"
    assert policy["PolicyId"].startswith("ANPA") and policy["DefaultVersionId"] == "v1"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Description"] == "desc"
    assert error_of(iam.create_policy, PolicyName=name.upper(),
                    PolicyDocument=doc(allow("s3:*"))) == (
        "EntityAlreadyExists", 409,
        f"A policy called {name.upper()} already exists. Duplicate names are not allowed.")
    for i in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow(f"s3:Get{i}")),
                                      SetAsDefault=(i == 3))["PolicyVersion"]
        assert v["VersionId"] == f"v{i}"
    assert error_of(iam.create_policy_version, PolicyArn=arn,
                    PolicyDocument=doc(allow("s3:*"))) == (
        "LimitExceeded", 409, "A managed policy can have up to 5 versions. Before you create "
        "a new version, you must delete an existing version.")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    v3 = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
    assert v3["IsDefaultVersion"] and v3["Document"]["Statement"][0]["Action"] == ["s3:Get3"]
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert error_of(iam.delete_policy_version, PolicyArn=arn, VersionId="v3") == (
        "DeleteConflict", 409, "Cannot delete the default version of a policy.")
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
    assert error_of(iam.delete_policy, PolicyArn=arn)[:2] == ("DeleteConflict", 409)
    for v in ("v1", "v2", "v3", "v4"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    assert error_of(iam.get_policy_version, PolicyArn=arn, VersionId="v1")[:2] == (
        "NoSuchEntity", 404)
    iam.delete_policy(PolicyArn=arn)
    assert error_of(iam.get_policy, PolicyArn=arn) == (
        "NoSuchEntity", 404, f"Policy {arn} was not found.")


def test_policy_document_checks(iam: Any) -> None:
    assert error_of(iam.create_policy, PolicyName=unique("p"),
                    PolicyDocument='{"Version":"2012-10-17"}')[:2] == (
        "MalformedPolicyDocument", 400)
    many = doc(allow(*[f"s3:GetObject{i:04d}" for i in range(400)]))
    assert error_of(iam.create_policy, PolicyName=unique("p"), PolicyDocument=many) == (
        "LimitExceeded", 409, "Cannot exceed quota for PolicySize: 6144")
    user = unique("inl")
    iam.create_user(UserName=user)
    code, status, message = error_of(
        iam.put_user_policy, UserName=user, PolicyName="big",
        PolicyDocument=doc(allow(*[f"s3:GetObject{i:04d}" for i in range(150)])))
    assert (code, status) == ("LimitExceeded", 409) and "2048" in message


def test_aws_managed_policies_listed_and_attachable(iam: Any) -> None:
    aws = [p["PolicyName"] for p in iam.get_paginator("list_policies").paginate(Scope="AWS")
           .build_full_result()["Policies"]]
    for name in ("AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "IAMFullAccess",
                 "IAMReadOnlyAccess", "AmazonS3ReadOnlyAccess", "AmazonS3FullAccess",
                 "AWSOrganizationsFullAccess"):
        assert name in aws
    admin = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")["Policy"]
    assert admin["IsAttachable"] and admin["PolicyId"].startswith("ANPA")
    local = iam.list_policies(Scope="Local")["Policies"]
    assert all(not p["Arn"].startswith("arn:aws:iam::aws:") for p in local)
    assert error_of(iam.delete_policy,
                    PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")[0] in (
        "UnmodifiableEntity", "AccessDenied")


def test_attachments_and_entities_for_policy(iam: Any, server: Any) -> None:
    user, group, role = unique("au"), unique("ag"), unique("ar")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(server.account_id))
    arn = iam.create_policy(PolicyName=unique("ap"),
                            PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=READ_ONLY)
    assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)[
        "AttachedPolicies"]] == [arn]
    assert {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)[
        "AttachedPolicies"]} == {arn, READ_ONLY}
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in ents["PolicyUsers"]] == [user]
    assert [g["GroupName"] for g in ents["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in ents["PolicyRoles"]] == [role]
    assert arn in [p["Arn"] for p in iam.list_policies(OnlyAttached=True, Scope="Local")[
        "Policies"]]
    missing = f"arn:aws:iam::{server.account_id}:policy/missing-{unique('x')}"
    assert error_of(iam.attach_user_policy, UserName=user, PolicyArn=missing) == (
        "NoSuchEntity", 404, f"Policy {missing} does not exist or is not attachable.")
    assert error_of(iam.detach_group_policy, GroupName=group, PolicyArn=READ_ONLY) == (
        "NoSuchEntity", 404, f"Policy {READ_ONLY} was not found.")
    assert error_of(iam.delete_policy, PolicyArn=arn) == (
        "DeleteConflict", 409, "Cannot delete a policy attached to entities.")
    assert error_of(iam.delete_role, RoleName=role) == (
        "DeleteConflict", 409, "Cannot delete entity, must detach all policies first.")
    # at most 10 managed policies per role
    extra = [iam.create_policy(PolicyName=unique("q"), PolicyDocument=doc(allow("s3:*")))[
        "Policy"]["Arn"] for _ in range(9)]
    for a in extra[:8]:
        iam.attach_role_policy(RoleName=role, PolicyArn=a)
    assert error_of(iam.attach_role_policy, RoleName=role, PolicyArn=extra[8]) == (
        "LimitExceeded", 409, "Cannot exceed quota for PoliciesPerRole: 10")


def test_inline_policies(iam: Any, server: Any) -> None:
    role = unique("inline-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(server.account_id))
    text = doc(allow("s3:GetObject", resource="arn:aws:s3:::b/*"))
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=text)
    got = iam.get_role_policy(RoleName=role, PolicyName="read")
    assert got["RoleName"] == role and got["PolicyDocument"] == json.loads(text)
    iam.put_role_policy(RoleName=role, PolicyName="more", PolicyDocument=text)
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["more", "read"]
    assert error_of(iam.get_role_policy, RoleName=role, PolicyName="zzz") == (
        "NoSuchEntity", 404, "The role policy with name zzz cannot be found.")
    assert error_of(iam.delete_role, RoleName=role) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
    iam.delete_role_policy(RoleName=role, PolicyName="read")
    iam.delete_role_policy(RoleName=role, PolicyName="more")
    iam.delete_role(RoleName=role)
    group = unique("inline-group")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=text)
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["g"]
    assert error_of(iam.put_group_policy, GroupName=group, PolicyName="bad",
                    PolicyDocument="[]")[:2] == ("MalformedPolicyDocument", 400)


def test_cli_policy_document_round_trip(server: Any) -> None:
    name = unique("clipol")
    arn = server.aws_json("iam", "create-policy", "--policy-name", name, "--policy-document",
                          doc(allow("s3:ListBucket")))["Policy"]["Arn"]
    version = server.aws_json("iam", "get-policy-version", "--policy-arn", arn,
                              "--version-id", "v1")["PolicyVersion"]
    assert version["Document"]["Statement"][0]["Action"] == ["s3:ListBucket"]
    server.aws("iam", "delete-policy", "--policy-arn", arn)


def test_policy_arn_condition_limits_attachments(iam: Any, server: Any, new_user: Any) -> None:
    target = unique("target")
    iam.create_user(UserName=target)
    _, key, secret = new_user({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*",
        "Condition": {"ArnEquals": {"iam:PolicyARN": READ_ONLY}}}]})
    admin = server.client("iam", key, secret)
    admin.attach_user_policy(UserName=target, PolicyArn=READ_ONLY)
    assert error_of(admin.attach_user_policy, UserName=target,
                    PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")[:2] == (
        "AccessDenied", 403)


def test_trust_policy_principals_must_exist(iam: Any, server: Any) -> None:
    def trusting(principal: str) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})

    ghost = f"arn:aws:iam::{server.account_id}:user/{unique('ghost')}"
    assert error_of(iam.create_role, RoleName=unique("r"),
                    AssumeRolePolicyDocument=trusting(ghost)) == (
        "MalformedPolicyDocument", 400, f'Invalid principal in policy: "AWS":"{ghost}"')
    real = unique("trusted")
    user_arn = iam.create_user(UserName=real, Path="/p/")["User"]["Arn"]
    role = unique("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trusting(user_arn))
    wrong_path = f"arn:aws:iam::{server.account_id}:user/{real}"
    assert error_of(iam.update_assume_role_policy, RoleName=role,
                    PolicyDocument=trusting(wrong_path))[0] == "MalformedPolicyDocument"
    # principals in accounts this server does not hold cannot be checked and are kept
    iam.update_assume_role_policy(RoleName=role,
                                  PolicyDocument=trusting("arn:aws:iam::999988887777:user/x"))


def test_pagination_of_roles_policies_and_attachments(iam: Any, server: Any) -> None:
    path = f"/{unique('pg')}/"
    roles = sorted(unique("pr") for _ in range(3))
    for r in roles:
        iam.create_role(RoleName=r, Path=path, AssumeRolePolicyDocument=trust(server.account_id))
    pages = list(iam.get_paginator("list_roles").paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 1}))
    assert len(pages) == 3 and [p["Roles"][0]["RoleName"] for p in pages] == roles
    policies = sorted(unique("pp") for _ in range(3))
    arns = [iam.create_policy(PolicyName=p, Path=path, PolicyDocument=doc(allow("s3:*")))[
        "Policy"]["Arn"] for p in policies]
    listed = [p["PolicyName"] for page in iam.get_paginator("list_policies").paginate(
        Scope="Local", PathPrefix=path, PaginationConfig={"PageSize": 2})
        for p in page["Policies"]]
    assert listed == policies
    for arn in arns:
        iam.attach_role_policy(RoleName=roles[0], PolicyArn=arn)
    attached = [a["PolicyName"] for page in iam.get_paginator(
        "list_attached_role_policies").paginate(RoleName=roles[0],
                                                PaginationConfig={"PageSize": 2})
        for a in page["AttachedPolicies"]]
    assert attached == policies
    assert error_of(iam.list_roles, Marker="not a marker!")[:2] == ("ValidationError", 400)
