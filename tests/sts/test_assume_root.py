"""STS AssumeRoot through boto3 against a real server with an organization: the
prerequisites AWS documents (management account or IAM's delegated administrator, centralized
root access with root sessions enabled, a regional endpoint, sts:AssumeRoot allowed by the
caller's own policies, with sts:TaskPolicyArn), the parameter rules (a root-task policy,
DurationSeconds 0-900), the session (the member account's root, scoped by the task policy,
answered by GetCallerIdentity as the root) and the CloudTrail events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server
from tests.iam.helpers import error_of, unique
from tests.sts.test_explain_denials import explain

TASK = "arn:aws:iam::aws:policy/root-task/"
AUDIT = TASK + "IAMAuditRootUserCredentials"
DELETE = TASK + "IAMDeleteRootUserCredentials"
PASSWORD = TASK + "IAMCreateRootUserPassword"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_ASSUME_ROOT = {"Effect": "Allow", "Action": "sts:AssumeRoot",
                     "Resource": "arn:aws:iam::*:root"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An organization (all features, IAM trusted access) with one member account, and a
    management-account user allowed sts:AssumeRoot. Root sessions are NOT yet enabled."""
    server = start_server(tmp_path_factory.mktemp("assume-root") / "data")
    try:
        orgs = server.client("organizations")
        orgs.create_organization(FeatureSet="ALL")
        orgs.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
        name = unique("member")
        member = orgs.create_account(Email=f"{name}@example.com", AccountName=name)[
            "CreateAccountStatus"]["AccountId"]
        iam = server.client("iam")
        iam.create_user(UserName="operator")
        iam.put_user_policy(UserName="operator", PolicyName="p",
                            PolicyDocument=policy(ALLOW_ASSUME_ROOT))
        key = iam.create_access_key(UserName="operator")["AccessKey"]
        yield {"server": server, "member": member,
               "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    finally:
        stop_server(server)


def operator_sts(world: dict[str, Any], region: str = "us-west-2") -> Any:
    return world["server"].client("sts", world["key"], world["secret"], region=region)


def enable_root_sessions(server: Server) -> None:
    iam = server.client("iam")
    iam.enable_organizations_root_credentials_management()
    iam.enable_organizations_root_sessions()


def root_session(world: dict[str, Any], task: str, **extra: Any) -> dict[str, Any]:
    answer = operator_sts(world).assume_root(TargetPrincipal=world["member"],
                                            TaskPolicyArn={"arn": task}, **extra)
    return dict(answer["Credentials"])


def client_of(server: Server, service: str, credentials: dict[str, Any]) -> Any:
    return server.client(service, credentials["AccessKeyId"], credentials["SecretAccessKey"],
                         credentials["SessionToken"], region="us-west-2")


def test_refused_until_root_sessions_are_enabled(world: dict[str, Any]) -> None:
    code, status, message = error_of(operator_sts(world).assume_root,
                                     TargetPrincipal=world["member"],
                                     TaskPolicyArn={"arn": AUDIT})
    assert (code, status) == ("AccessDenied", 403)
    assert "sts:AssumeRoot" in message and f"arn:aws:iam::{world['member']}:root" in message
    enable_root_sessions(world["server"])
    assert root_session(world, AUDIT)["AccessKeyId"].startswith("ASIA")


@pytest.fixture
def enabled(world: dict[str, Any]) -> dict[str, Any]:
    iam = world["server"].client("iam")
    if "RootSessions" not in iam.list_organizations_features()["EnabledFeatures"]:
        enable_root_sessions(world["server"])
    return world


def test_session_is_the_member_root(enabled: dict[str, Any]) -> None:
    server, member = enabled["server"], enabled["member"]
    before = datetime.now(UTC)
    answer = operator_sts(enabled).assume_root(TargetPrincipal=member,
                                              TaskPolicyArn={"arn": AUDIT})
    assert set(answer) - {"ResponseMetadata"} == {"Credentials"}
    credentials = answer["Credentials"]
    lifetime = (credentials["Expiration"] - before).total_seconds()
    assert 899 <= lifetime <= 910  # default 900 (plus the request's own time)
    identity = client_of(server, "sts", credentials).get_caller_identity()
    assert (identity["Account"], identity["UserId"], identity["Arn"]) == (
        member, member, f"arn:aws:iam::{member}:root")
    short = root_session(enabled, AUDIT, DurationSeconds=60)
    assert (short["Expiration"] - datetime.now(UTC)).total_seconds() <= 61
    # The root ARN works as TargetPrincipal too.
    by_arn = operator_sts(enabled).assume_root(TargetPrincipal=f"arn:aws:iam::{member}:root",
                                              TaskPolicyArn={"arn": AUDIT})["Credentials"]
    assert client_of(server, "sts", by_arn).get_caller_identity()["Account"] == member


def test_parameters_as_the_model_says(enabled: dict[str, Any]) -> None:
    sts, member = operator_sts(enabled), enabled["member"]
    code, status, message = error_of(sts.assume_root, TargetPrincipal=member,
                                     TaskPolicyArn={"arn": AUDIT}, DurationSeconds=901)
    assert (code, status) == ("ValidationError", 400)
    assert "Member must have value less than or equal to 900" in message
    code, status, _ = error_of(sts.assume_root, TargetPrincipal=member,
                               TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    assert (code, status) == ("ValidationError", 400)
    code, status, _ = error_of(sts.assume_root, TargetPrincipal="not-an-account",
                               TaskPolicyArn={"arn": AUDIT})
    assert (code, status) == ("ValidationError", 400)
    # What botocore would refuse client-side, sent anyway: the server checks it too.
    server = enabled["server"]
    unchecked = boto3.session.Session().client(
        "sts", endpoint_url=server.endpoint, region_name="us-west-2",
        aws_access_key_id=enabled["key"], aws_secret_access_key=enabled["secret"],
        config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    code, status, message = error_of(unchecked.assume_root, TargetPrincipal=member)
    assert (code, status) == ("ValidationError", 400) and "taskPolicyArn" in message
    code, status, message = error_of(unchecked.assume_root, TargetPrincipal=member,
                                     TaskPolicyArn={"arn": AUDIT}, DurationSeconds=-1)
    assert (code, status) == ("ValidationError", 400)
    assert "greater than or equal to 0" in message


def test_global_endpoint_does_not_know_assume_root(enabled: dict[str, Any]) -> None:
    code, status, message = error_of(operator_sts(enabled, region="aws-global").assume_root,
                                     TargetPrincipal=enabled["member"],
                                     TaskPolicyArn={"arn": AUDIT})
    assert (code, status, message) == ("InvalidAction", 400, "Unknown Operation")
    # Sent to the host sts.amazonaws.com (signed for us-east-1, as SDKs sign for the
    # global endpoint), the same.
    global_host = operator_sts(enabled, region="us-east-1")

    def to_global_host(request: Any, **_: Any) -> None:
        request.headers["Host"] = "sts.amazonaws.com"

    global_host.meta.events.register("before-sign.sts.AssumeRoot", to_global_host)
    assert error_of(global_host.assume_root, TargetPrincipal=enabled["member"],
                    TaskPolicyArn={"arn": AUDIT})[:3] == ("InvalidAction", 400,
                                                          "Unknown Operation")
    # The same request on a regional endpoint (us-east-1 included) works.
    assert operator_sts(enabled, region="us-east-1").assume_root(
        TargetPrincipal=enabled["member"], TaskPolicyArn={"arn": AUDIT})["Credentials"]


def test_who_may_call(enabled: dict[str, Any]) -> None:
    server, member = enabled["server"], enabled["member"]
    iam = server.client("iam")
    # The root user's own credentials cannot.
    code, status, _ = error_of(server.client("sts", region="us-west-2").assume_root,
                               TargetPrincipal=member, TaskPolicyArn={"arn": AUDIT})
    assert (code, status) == ("AccessDenied", 403)
    # A user whose policies do not allow sts:AssumeRoot cannot.
    name = unique("plain")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    plain = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"], region="us-west-2")
    code, status, message = error_of(plain.assume_root, TargetPrincipal=member,
                                     TaskPolicyArn={"arn": AUDIT})
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(f"User: arn:aws:iam::{server.account_id}:user/{name} is not "
                              f"authorized to perform: sts:AssumeRoot on resource: "
                              f"arn:aws:iam::{member}:root")
    # sts:TaskPolicyArn narrows which tasks a principal may start.
    iam.put_user_policy(UserName=name, PolicyName="audit-only", PolicyDocument=policy(
        {**ALLOW_ASSUME_ROOT, "Condition": {"StringEquals": {"sts:TaskPolicyArn": AUDIT}}}))
    assert plain.assume_root(TargetPrincipal=member, TaskPolicyArn={"arn": AUDIT})
    assert error_of(plain.assume_root, TargetPrincipal=member,
                    TaskPolicyArn={"arn": DELETE})[:2] == ("AccessDenied", 403)
    # Neither the management account itself nor an account outside the organization is a
    # target.
    for target in (server.account_id, "999988887777"):
        assert error_of(operator_sts(enabled).assume_root, TargetPrincipal=target,
                        TaskPolicyArn={"arn": AUDIT})[:2] == ("AccessDenied", 403)


def test_delegated_administrator_for_iam(enabled: dict[str, Any]) -> None:
    server = enabled["server"]
    orgs = server.client("organizations")
    name = unique("delegate")
    delegate = orgs.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"]["AccountId"]
    role = f"arn:aws:iam::{delegate}:role/OrganizationAccountAccessRole"
    iam = server.client("iam")
    user = unique("assumer")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    admin = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
        RoleArn=role, RoleSessionName="delegate")["Credentials"]
    delegate_sts = client_of(server, "sts", admin)
    # A member account that is not IAM's delegated administrator cannot, even with
    # AdministratorAccess (the role's policy).
    assert error_of(delegate_sts.assume_root, TargetPrincipal=enabled["member"],
                    TaskPolicyArn={"arn": AUDIT})[:2] == ("AccessDenied", 403)
    orgs.register_delegated_administrator(AccountId=delegate,
                                          ServicePrincipal="iam.amazonaws.com")
    try:
        session = delegate_sts.assume_root(TargetPrincipal=enabled["member"],
                                           TaskPolicyArn={"arn": AUDIT})["Credentials"]
        assert client_of(server, "sts", session).get_caller_identity()["Arn"] == (
            f"arn:aws:iam::{enabled['member']}:root")
    finally:
        orgs.deregister_delegated_administrator(AccountId=delegate,
                                                ServicePrincipal="iam.amazonaws.com")


def test_task_policies_scope_the_session(enabled: dict[str, Any]) -> None:
    server, member = enabled["server"], enabled["member"]
    audit = client_of(server, "iam", root_session(enabled, AUDIT))
    assert audit.list_access_keys()["AccessKeyMetadata"] == []
    assert audit.list_mfa_devices()["MFADevices"] == []
    assert audit.get_user()["User"]["Arn"] == f"arn:aws:iam::{member}:root"
    assert "SummaryMap" in audit.get_account_summary()
    assert audit.list_signing_certificates()["Certificates"] == []
    # Auditing allows reading the root's credentials, not deleting them or anything else.
    assert error_of(audit.delete_access_key, AccessKeyId="AKIAIOSFODNN7EXAMPLE")[:2] == (
        "AccessDenied", 403)
    assert error_of(audit.create_user, UserName="intruder")[:2] == ("AccessDenied", 403)
    assert error_of(audit.list_users)[:2] == ("AccessDenied", 403)
    # Only the root user is a resource of the task: another user's keys are refused.
    assert error_of(audit.list_access_keys, UserName="someone")[:2] == ("AccessDenied", 403)

    delete = client_of(server, "iam", root_session(enabled, DELETE))
    # Past authorization: the key does not exist (not AccessDenied).
    assert error_of(delete.delete_access_key, AccessKeyId="AKIAIOSFODNN7EXAMPLE")[0] == (
        "NoSuchEntity")
    assert error_of(delete.create_access_key)[:2] == ("AccessDenied", 403)
    serial = f"arn:aws:iam::{member}:mfa/root-account-mfa-device"
    assert error_of(delete.deactivate_mfa_device, SerialNumber=serial)[0] == "NoSuchEntity"
    assert error_of(audit.deactivate_mfa_device, SerialNumber=serial)[:2] == (
        "AccessDenied", 403)
    assert error_of(delete.get_account_summary)[:2] == ("AccessDenied", 403)

    password = client_of(server, "iam", root_session(enabled, PASSWORD))
    assert error_of(password.list_access_keys)[:2] == ("AccessDenied", 403)
    # A root session cannot start other sessions.
    sts = client_of(server, "sts", root_session(enabled, AUDIT))
    assert error_of(sts.assume_role, RoleArn=f"arn:aws:iam::{member}:role/"
                    "OrganizationAccountAccessRole", RoleSessionName="xx")[:2] == (
        "AccessDenied", 403)
    assert error_of(sts.get_session_token)[:2] == ("AccessDenied", 403)
    assert error_of(sts.assume_root, TargetPrincipal=member,
                    TaskPolicyArn={"arn": AUDIT})[:2] == ("AccessDenied", 403)


def test_root_password_tasks(enabled: dict[str, Any]) -> None:
    """IAMCreateRootUserPassword creates the root's login profile (no password: the root
    sets one through recovery), IAMDeleteRootUserCredentials deletes it, and auditing reads
    it; UserName omitted means the session's root."""
    server = enabled["server"]
    create = client_of(server, "iam", root_session(enabled, PASSWORD))
    assert error_of(create.get_login_profile)[:2] == ("NoSuchEntity", 404)
    assert error_of(create.create_login_profile, Password="Secret-Pa55word!")[:2] == (
        "ValidationError", 400)
    made = create.create_login_profile(PasswordResetRequired=True)["LoginProfile"]
    assert made["PasswordResetRequired"] is True
    assert error_of(create.create_login_profile)[:2] == ("EntityAlreadyExists", 409)
    assert error_of(create.delete_login_profile)[:2] == ("AccessDenied", 403)
    # Only the root: an IAM user of the member account is not a resource of the task.
    assert error_of(create.get_login_profile, UserName="someone")[:2] == ("AccessDenied", 403)
    audit = client_of(server, "iam", root_session(enabled, AUDIT))
    assert audit.get_login_profile()["LoginProfile"]["CreateDate"] == made["CreateDate"]
    delete = client_of(server, "iam", root_session(enabled, DELETE))
    delete.delete_login_profile()
    assert error_of(delete.get_login_profile)[:2] == ("NoSuchEntity", 404)
    assert error_of(delete.delete_login_profile)[:2] == ("NoSuchEntity", 404)
    # Long-term root credentials must still name a user.
    assert error_of(server.client("iam").get_login_profile)[:2] == ("ValidationError", 400)


def test_cloudtrail_events(enabled: dict[str, Any]) -> None:
    server, member = enabled["server"], enabled["member"]
    answer = operator_sts(enabled).assume_root(TargetPrincipal=member,
                                              TaskPolicyArn={"arn": AUDIT},
                                              DurationSeconds=300)
    credentials = answer["Credentials"]
    request_id = answer["ResponseMetadata"]["RequestId"]
    listed = client_of(server, "iam", credentials).list_access_keys()
    events = server.audit_events()
    issued = [e for e in events if e["requestID"] == request_id]
    assert len(issued) == 2  # the caller's event and the member account's copy
    mine = next(e for e in issued if e["recipientAccountId"] == server.account_id)
    theirs = next(e for e in issued if e["recipientAccountId"] == member)
    assert mine["eventName"] == "AssumeRoot" and mine["eventSource"] == "sts.amazonaws.com"
    assert mine["readOnly"] is False
    assert mine["awsRegion"] == "us-west-2"
    assert mine["userIdentity"]["arn"] == f"arn:aws:iam::{server.account_id}:user/operator"
    assert mine["requestParameters"] == {"targetPrincipal": member,
                                         "taskPolicyArn": {"arn": AUDIT},
                                         "durationSeconds": 300}
    assert mine["responseElements"]["credentials"]["accessKeyId"] == (
        credentials["AccessKeyId"])
    assert credentials["SecretAccessKey"] not in json.dumps(issued)
    assert theirs["sharedEventID"] == mine["sharedEventID"]
    # What the session does is recorded in the member account as its root, with
    # sessionContext.assumedRoot.
    used = next(e for e in events
                if e["requestID"] == listed["ResponseMetadata"]["RequestId"])
    identity = used["userIdentity"]
    assert (identity["type"], identity["arn"], identity["accountId"], identity["principalId"],
            identity["accessKeyId"]) == ("Root", f"arn:aws:iam::{member}:root", member, member,
                                         credentials["AccessKeyId"])
    assert identity["sessionContext"]["assumedRoot"] == "true"
    assert used["recipientAccountId"] == member


def test_disabling_root_sessions_stops_new_ones(enabled: dict[str, Any]) -> None:
    iam = enabled["server"].client("iam")
    iam.disable_organizations_root_sessions()
    try:
        assert error_of(operator_sts(enabled).assume_root, TargetPrincipal=enabled["member"],
                        TaskPolicyArn={"arn": AUDIT})[:2] == ("AccessDenied", 403)
    finally:
        iam.enable_organizations_root_sessions()


def test_aws_cli_assume_root(enabled: dict[str, Any]) -> None:
    """AWS CLI v1's ``sts assume-root``, then the session through the CLI."""
    server, member = enabled["server"], enabled["member"]
    answer = server.aws_json("sts", "assume-root", "--region", "eu-west-1",
                             "--target-principal", member,
                             "--task-policy-arn", f"arn={AUDIT}", "--duration-seconds", "120",
                             key=enabled["key"], secret=enabled["secret"])
    credentials = answer["Credentials"]
    identity = server.aws_json("sts", "get-caller-identity", key=credentials["AccessKeyId"],
                               secret=credentials["SecretAccessKey"],
                               token=credentials["SessionToken"])
    assert identity["Arn"] == f"arn:aws:iam::{member}:root"
    refused = server.aws("iam", "list-users", key=credentials["AccessKeyId"],
                         secret=credentials["SecretAccessKey"],
                         token=credentials["SessionToken"], check=False)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr


def test_scps_bind_root_sessions_with_aws_assumed_root(enabled: dict[str, Any]) -> None:
    """The member account's SCPs govern its root's sessions, and aws:AssumedRoot is true in
    them (the key AWS's sample SCPs use to tell privileged root sessions apart)."""
    server = enabled["server"]
    orgs = server.client("organizations")
    root_id = orgs.list_roots()["Roots"][0]["Id"]
    if not any(t["Type"] == "SERVICE_CONTROL_POLICY" and t["Status"] == "ENABLED"
               for t in orgs.list_roots()["Roots"][0]["PolicyTypes"]):
        orgs.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    name = unique("scp")
    member = orgs.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"]["AccountId"]
    scp = orgs.create_policy(
        Name=name, Description="no key listing in root sessions",
        Type="SERVICE_CONTROL_POLICY", Content=policy(
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:ListAccessKeys", "Resource": "*",
             "Condition": {"Bool": {"aws:AssumedRoot": "true"}}}))["Policy"]["PolicySummary"]
    orgs.attach_policy(PolicyId=scp["Id"], TargetId=member)
    orgs.detach_policy(PolicyId="p-FullAWSAccess", TargetId=member)
    try:
        session = operator_sts(enabled).assume_root(
            TargetPrincipal=member, TaskPolicyArn={"arn": AUDIT})["Credentials"]
        iam = client_of(server, "iam", session)
        code, status, message = error_of(iam.list_access_keys)
        assert (code, status) == ("AccessDenied", 403)
        assert "service control policy" in message
        assert iam.list_mfa_devices()["MFADevices"] == []
    finally:
        orgs.attach_policy(PolicyId="p-FullAWSAccess", TargetId=member)
        orgs.detach_policy(PolicyId=scp["Id"], TargetId=member)


def test_source_identity_of_the_calling_session(enabled: dict[str, Any]) -> None:
    """A role session with a source identity passes it on: AssumeRoot answers it
    (SourceIdentity) and the root session's events carry it."""
    server = enabled["server"]
    iam = server.client("iam")
    name = unique("root-operator")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
         "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]}))
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy(ALLOW_ASSUME_ROOT))
    role = server.client("sts", enabled["key"], enabled["secret"])
    iam.put_user_policy(UserName="operator", PolicyName="assume", PolicyDocument=policy(
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
         "Resource": f"arn:aws:iam::{server.account_id}:role/{name}"}))
    session = role.assume_role(RoleArn=f"arn:aws:iam::{server.account_id}:role/{name}",
                               RoleSessionName="ops", SourceIdentity="alice")["Credentials"]
    answer = client_of(server, "sts", session).assume_root(
        TargetPrincipal=enabled["member"], TaskPolicyArn={"arn": AUDIT})
    assert answer["SourceIdentity"] == "alice"
    listed = client_of(server, "iam", answer["Credentials"]).list_access_keys()
    used = next(e for e in server.audit_events()
                if e["requestID"] == listed["ResponseMetadata"]["RequestId"])
    assert used["userIdentity"]["sessionContext"]["sourceIdentity"] == "alice"
    # Without one, none is answered.
    assert "SourceIdentity" not in operator_sts(enabled).assume_root(
        TargetPrincipal=enabled["member"], TaskPolicyArn={"arn": AUDIT})


def test_refusals_are_explained_to_the_operator(enabled: dict[str, Any]) -> None:
    """A refusal no policy decided (a target outside the organization) is recorded with the
    reason the caller is not told, for ``opensts audit explain``."""
    sts = operator_sts(enabled)
    with pytest.raises(ClientError) as caught:
        sts.assume_root(TargetPrincipal="999988887777", TaskPolicyArn={"arn": AUDIT})
    request_id = caught.value.response["ResponseMetadata"]["RequestId"]
    assert "organization" not in caught.value.response["Error"]["Message"]
    status, text = explain(enabled["server"], request_id)
    assert status == 1, text  # 1: the request was denied
    assert "not an active member account" in text and "Refused by: a rule of STS" in text
