"""The escalation cases of Rhino Security Labs' list of IAM privilege-escalation methods
(https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/), each with a
fixed twin, built with boto3 on a real server; shared by the paths and Principal Mapper tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from tests.conftest import BIN, Server, unique

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any
          ) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def trust(principal: dict[str, Any] | str, **extra: Any) -> str:
    return doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole",
                **extra})


@dataclass
class Case:
    name: str  # the method, as Rhino names it
    attacker: str  # ARN
    move: str  # the first move expected on the path
    fixed: str  # ARN of the fixed twin (no path)
    fix: str  # how it is fixed


class Builder:
    def __init__(self, server: Server):
        self.server = server
        self.iam = server.client("iam")
        self.acct = server.account_id

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:iam::{self.acct}:{kind}/{name}"

    def user(self, prefix: str, *statements: dict[str, Any], boundary: str | None = None,
             name: str | None = None) -> str:
        name = name or unique(prefix)
        kwargs = {"PermissionsBoundary": boundary} if boundary else {}
        self.iam.create_user(UserName=name, **kwargs)
        if statements:
            self.iam.put_user_policy(UserName=name, PolicyName="p",
                                     PolicyDocument=doc(*statements))
        return self.arn("user", name)

    def admin_user(self, prefix: str) -> str:
        name = unique(prefix)
        self.iam.create_user(UserName=name)
        self.iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
        return self.arn("user", name)

    def role(self, prefix: str, trust_doc: str, *, admin: bool = True,
             boundary: str | None = None) -> str:
        name = unique(prefix)
        kwargs = {"PermissionsBoundary": boundary} if boundary else {}
        self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc, **kwargs)
        if admin:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN)
        return self.arn("role", name)

    def policy(self, prefix: str, *statements: dict[str, Any]) -> str:
        return str(self.iam.create_policy(PolicyName=unique(prefix),
                                          PolicyDocument=doc(*statements))["Policy"]["Arn"])

    def group(self, prefix: str, members: list[str], admin: bool = False) -> str:
        name = unique(prefix)
        self.iam.create_group(GroupName=name)
        for member in members:
            self.iam.add_user_to_group(GroupName=name, UserName=member.rsplit("/", 1)[1])
        if admin:
            self.iam.attach_group_policy(GroupName=name, PolicyArn=ADMIN)
        return self.arn("group", name)


def name_of(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def build_cases(server: Server) -> list[Case]:
    b = Builder(server)
    iam = b.iam
    cases: list[Case] = []
    only_s3 = b.policy("boundary-s3", allow("s3:GetObject"))

    # 1. iam:CreatePolicyVersion on a policy attached to oneself.
    def create_version(prefix: str, extra: list[dict[str, Any]]) -> str:
        name = unique(prefix)
        arn = f"arn:aws:iam::{b.acct}:policy/{name}-p"
        iam.create_policy(PolicyName=f"{name}-p", PolicyDocument=doc(
            {"Sid": "Escalate", **allow("iam:CreatePolicyVersion", arn)}))
        user = b.user(prefix, *extra, name=name) if extra else b.user(prefix, name=name)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        return user
    cases.append(Case("CreatePolicyVersion", create_version("cpv", []),
                      "create-policy-version",
                      create_version("cpv-fixed", [deny("iam:CreatePolicyVersion")]),
                      "explicit deny"))

    # 2. iam:SetDefaultPolicyVersion to an older version that allows everything.
    def set_default(prefix: str, boundary: str | None) -> str:
        name = unique(prefix)
        arn = f"arn:aws:iam::{b.acct}:policy/{name}-p"
        iam.create_policy(PolicyName=f"{name}-p", PolicyDocument=doc(
            {"Sid": "Escalate", **allow("iam:SetDefaultPolicyVersion", arn)}))
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("*")),
                                  SetAsDefault=False)
        user = b.user(prefix, name=name, boundary=boundary)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        return user
    sdp_boundary = b.policy("boundary-sdp", allow("iam:SetDefaultPolicyVersion"))
    cases.append(Case("SetDefaultPolicyVersion", set_default("sdp", None),
                      "set-default-policy-version", set_default("sdp-fixed", sdp_boundary),
                      "permissions boundary"))

    # 3-5. Credentials of another (administrator) user.
    victim = b.admin_user("victim")
    cases.append(Case("CreateAccessKey", b.user("cak", {"Sid": "Escalate", **allow(
        "iam:CreateAccessKey", victim)}), "create-access-key", b.user(
        "cak-fixed", {"Sid": "Escalate", **allow("iam:CreateAccessKey", victim)},
        boundary=only_s3), "permissions boundary"))
    cases.append(Case("CreateLoginProfile", b.user("clp", {"Sid": "Escalate", **allow(
        "iam:CreateLoginProfile", victim)}), "create-login-profile", b.user(
        "clp-fixed", allow("iam:CreateLoginProfile", victim),
        deny("iam:CreateLoginProfile", victim)), "explicit deny"))
    with_password = b.admin_user("victim-pw")
    iam.create_login_profile(UserName=name_of(with_password), Password="Victim-Passw0rd!")
    cases.append(Case("UpdateLoginProfile", b.user("ulp", {"Sid": "Escalate", **allow(
        "iam:UpdateLoginProfile", with_password)}), "update-login-profile", b.user(
        "ulp-fixed", allow("iam:UpdateLoginProfile", with_password),
        deny("iam:UpdateLoginProfile")), "explicit deny"))

    # 6-8. Attach AdministratorAccess to oneself, one's group, a role one can assume.
    def self_attach(prefix: str, boundary: str | None) -> str:
        name = unique(prefix)
        return b.user(prefix, {"Sid": "Escalate", **allow(
            "iam:AttachUserPolicy", b.arn("user", name),
            Condition={"ArnEquals": {"iam:PolicyARN": ADMIN}})}, name=name, boundary=boundary)
    cases.append(Case("AttachUserPolicy", self_attach("aup", None), "attach-user-policy",
                      self_attach("aup-fixed", only_s3), "permissions boundary"))

    def group_attach(prefix: str, fixed: bool) -> str:
        user = b.user(prefix)
        group = b.group(prefix, [user])
        statements = [{"Sid": "Escalate", **allow("iam:AttachGroupPolicy", group)}]
        if fixed:
            statements.append(deny("iam:AttachGroupPolicy"))
        iam.put_user_policy(UserName=name_of(user), PolicyName="p",
                            PolicyDocument=doc(*statements))
        return user
    cases.append(Case("AttachGroupPolicy", group_attach("agp", False), "attach-group-policy",
                      group_attach("agp-fixed", True), "explicit deny"))

    def role_attach(prefix: str, boundary: str | None) -> str:
        user = b.user(prefix)
        role = b.role(prefix, trust({"AWS": user}), admin=False, boundary=boundary)
        iam.put_user_policy(UserName=name_of(user), PolicyName="p", PolicyDocument=doc(
            {"Sid": "Escalate", **allow("iam:AttachRolePolicy", role)}))
        return user
    cases.append(Case("AttachRolePolicy", role_attach("arp", None), "attach-role-policy",
                      role_attach("arp-fixed", only_s3), "the role's permissions boundary"))

    # 9-11. Write an inline policy to oneself, one's group, a role one can assume.
    def self_put(prefix: str, fixed: bool) -> str:
        name = unique(prefix)
        statements = [{"Sid": "Escalate", **allow("iam:PutUserPolicy", b.arn("user", name))}]
        if fixed:
            statements.append(deny("iam:Put*"))
        return b.user(prefix, *statements, name=name)
    cases.append(Case("PutUserPolicy", self_put("pup", False), "put-user-policy",
                      self_put("pup-fixed", True), "explicit deny"))

    def group_put(prefix: str, boundary: str | None) -> str:
        user = b.user(prefix, boundary=boundary)
        group = b.group(prefix, [user])
        iam.put_user_policy(UserName=name_of(user), PolicyName="p", PolicyDocument=doc(
            {"Sid": "Escalate", **allow("iam:PutGroupPolicy", group)}))
        return user
    cases.append(Case("PutGroupPolicy", group_put("pgp", None), "put-group-policy",
                      group_put("pgp-fixed", only_s3), "permissions boundary"))

    def role_put(prefix: str, fixed: bool) -> str:
        user = b.user(prefix)
        other = b.user(prefix + "-other")
        role = b.role(prefix, trust({"AWS": other if fixed else user}), admin=False)
        iam.put_user_policy(UserName=name_of(user), PolicyName="p", PolicyDocument=doc(
            {"Sid": "Escalate", **allow("iam:PutRolePolicy", role)}))
        return user
    cases.append(Case("PutRolePolicy", role_put("prp", False), "put-role-policy",
                      role_put("prp-fixed", True), "trust policy not naming the principal"))

    # 12. Join a group that has AdministratorAccess.
    admins = b.group("admins", [], admin=True)
    cases.append(Case("AddUserToGroup", b.user("autg", {"Sid": "Escalate", **allow(
        "iam:AddUserToGroup", admins)}), "add-user-to-group", b.user(
        "autg-fixed", allow("iam:AddUserToGroup", admins), deny("iam:AddUserToGroup")),
        "explicit deny"))

    # 13. Rewrite an administrator role's trust policy, then assume it. A user named by
    # its ARN in a trust policy needs no identity permission, but its boundary must allow
    # sts:AssumeRole.
    locked = b.role("locked", trust({"Service": "ec2.amazonaws.com"}))
    only_update = b.policy("boundary-uarp", allow("iam:UpdateAssumeRolePolicy"))
    cases.append(Case("UpdateAssumeRolePolicy", b.user("uarp", {"Sid": "Escalate", **allow(
        "iam:UpdateAssumeRolePolicy", locked)}), "update-assume-role-policy", b.user(
        "uarp-fixed", allow("iam:UpdateAssumeRolePolicy", locked), boundary=only_update),
        "permissions boundary without sts:AssumeRole"))

    # 14. sts:AssumeRole: a trust naming the user, vs one naming only the account (which
    # delegates to identity policies the fixed user lacks).
    direct = b.user("ar")
    b_role = b.role("assumable", trust({"AWS": direct}))
    del b_role
    account_trust = b.role("account-trusted", trust({"AWS": f"arn:aws:iam::{b.acct}:root"}))
    del account_trust
    cases.append(Case("AssumeRole", direct, "assume-role", b.user(
        "ar-fixed", allow("iam:ListRoles")), "trust policy not naming the principal"))

    # 15-17. iam:PassRole to a service that runs code with the role.
    lambda_role = b.role("lambda-admin", trust({"Service": "lambda.amazonaws.com"}))
    cases.append(Case("PassRole+lambda:CreateFunction+InvokeFunction", b.user(
        "lam", {"Sid": "Escalate", **allow("iam:PassRole", lambda_role)},
        allow(["lambda:CreateFunction", "lambda:InvokeFunction"])), "pass-role-lambda",
        b.user("lam-fixed", allow("iam:PassRole", lambda_role, Condition={
            "StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}),
            allow(["lambda:CreateFunction", "lambda:InvokeFunction"])),
        "iam:PassedToService condition"))
    ec2_role = b.role("ec2-admin", trust({"Service": "ec2.amazonaws.com"}))
    profile = unique("profile")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=name_of(ec2_role))
    cases.append(Case("PassRole+ec2:RunInstances", b.user(
        "ec2", {"Sid": "Escalate", **allow("iam:PassRole", ec2_role)},
        allow("ec2:RunInstances")), "pass-role-ec2", b.user(
        "ec2-fixed", allow("iam:PassRole", ec2_role), allow("ec2:RunInstances"),
        deny("ec2:RunInstances")), "explicit deny"))
    cfn_role = b.role("cfn-admin", trust({"Service": "cloudformation.amazonaws.com"}))
    glue_role = b.role("glue-admin", trust({"Service": "glue.amazonaws.com"}))
    cases.append(Case("PassRole+cloudformation:CreateStack", b.user(
        "cfn", {"Sid": "Escalate", **allow("iam:PassRole", cfn_role)},
        allow("cloudformation:CreateStack")), "pass-role-cloudformation", b.user(
        "cfn-fixed", allow("iam:PassRole", glue_role), allow("cloudformation:CreateStack")),
        "the role's trust policy does not admit the service"))

    # A role of one's own (Principal Mapper's admin check): CreateRole with a trust policy
    # naming oneself, PutRolePolicy on it, AssumeRole; the fixed user's boundary lacks
    # sts:AssumeRole, which a user named in a trust policy still needs.
    new_roles = b.arn("role", "*")
    create_only = b.policy("boundary-create", allow(["iam:CreateRole", "iam:PutRolePolicy"]))
    cases.append(Case("CreateRole+PutRolePolicy", b.user("cr", {"Sid": "Escalate", **allow(
        ["iam:CreateRole", "iam:PutRolePolicy"], new_roles)}), "create-role", b.user(
        "cr-fixed", allow(["iam:CreateRole", "iam:PutRolePolicy"], new_roles),
        boundary=create_only), "permissions boundary without sts:AssumeRole"))

    # 18. ABAC: tag oneself so that the trust policy's aws:PrincipalTag condition holds.
    team = unique("ops")
    abac = b.role("abac-admin", trust({"AWS": f"arn:aws:iam::{b.acct}:root"}, Condition={
        "StringEquals": {"aws:PrincipalTag/team": team}}))

    def tagger(prefix: str, tag_value: str) -> str:
        name = unique(prefix)
        return b.user(prefix, {"Sid": "Escalate", **allow("sts:AssumeRole", abac)},
                      {"Sid": "Tag", **allow("iam:TagUser", b.arn("user", name), Condition={
                          "StringEquals": {"aws:RequestTag/team": tag_value}})}, name=name)
    cases.append(Case("TagUser+AssumeRole (ABAC)", tagger("abac", team),
                      "tag-then-assume-role", tagger("abac-fixed", "dev"),
                      "TagUser limited to another tag value"))
    return cases


def analyze(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    return subprocess.run([str(BIN / "opensts"), "analyze", *args, "--data-dir",
                           str(server.data_dir)], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def analyze_json(server: Server, *args: str) -> Any:
    done = analyze(server, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


__all__ = ["ADMIN", "Case", "analyze", "analyze_json", "build_cases", "sys"]
