"""AssumeRole end to end through boto3 (STS API reference, AssumeRole; IAM User Guide)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, unique
from tests.sts.helpers import allow, creds, deny, doc, error_of, trust


def make_role(iam: Any, trust_doc: str, policy: str | None = None, **kwargs: Any) -> str:
    name = unique("role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc, **kwargs)["Role"][
        "Arn"
    ]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy)
    return arn


def test_trust_policy_naming_the_user_is_enough_in_the_same_account(
    server: Server, iam: Any, new_user: Any
) -> None:
    # AssumeRole: "When a resource-based policy grants access to a principal in the same
    # account, no additional identity-based policy is required."
    name, key, secret = new_user()
    user_arn = f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
    role_arn = make_role(iam, trust({"AWS": user_arn}))
    sts = server.client("sts", key, secret)
    response = sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")
    role_name = role_arn.split("/")[-1]
    assert response["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/s1"
    )
    assert response["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert response["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert len(response["Credentials"]["SecretAccessKey"]) == 40
    assert "PackedPolicySize" not in response
    session = server.client("sts", **creds(response))
    identity = session.get_caller_identity()
    assert identity["Arn"] == response["AssumedRoleUser"]["Arn"]
    assert identity["UserId"] == response["AssumedRoleUser"]["AssumedRoleId"]
    assert identity["Account"] == ACCOUNT_ID


def test_trusting_the_account_also_needs_an_identity_allow(
    server: Server, iam: Any, new_user: Any
) -> None:
    role_arn = make_role(iam, trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}))
    _, key, secret = new_user()
    with pytest.raises(ClientError) as denied:
        server.client("sts", key, secret).assume_role(RoleArn=role_arn, RoleSessionName="s1")
    code, status, message = error_of(denied.value)
    assert (code, status) == ("AccessDenied", 403)
    assert "is not authorized to perform: sts:AssumeRole on resource: " + role_arn in message
    _, key, secret = new_user(doc(allow("sts:AssumeRole", role_arn)))
    assert server.client("sts", key, secret).assume_role(RoleArn=role_arn, RoleSessionName="ok")


def test_root_may_not_assume_roles(sts: Any, iam: Any) -> None:
    role_arn = make_role(iam, trust({"AWS": ACCOUNT_ID}))
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="root")
    assert error_of(denied.value) == (
        "AccessDenied",
        403,
        "Roles may not be assumed by root accounts.",
    )


def test_missing_role_is_access_denied_not_a_leak(server: Server, new_user: Any) -> None:
    _, key, secret = new_user(doc(allow("sts:AssumeRole")))
    with pytest.raises(ClientError) as denied:
        server.client("sts", key, secret).assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/does-not-exist", RoleSessionName="x1"
        )
    assert error_of(denied.value)[:2] == ("AccessDenied", 403)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"RoleSessionName": "has space"}, "Member must satisfy regular expression pattern"),
        ({"RoleSessionName": "x" * 65}, "Member must have length less than or equal to 64"),
        ({"RoleArn": "nothing-valid-in-here-at-all"}, "nothing-valid-in-here-at-all is invalid"),
        ({"DurationSeconds": 43201}, "Member must have value less than or equal to 43200"),
    ],
)
def test_validation_errors(sts: Any, kwargs: dict[str, Any], fragment: str) -> None:
    params = {"RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/any", "RoleSessionName": "ok", **kwargs}
    with pytest.raises(ClientError) as bad:
        sts.assume_role(**params)
    code, status, message = error_of(bad.value)
    assert (code, status) == ("ValidationError", 400)
    assert fragment in message


def test_duration_over_max_session_duration(server: Server, iam: Any, new_user: Any) -> None:
    name, key, secret = new_user()
    role_arn = make_role(iam, trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}))
    sts = server.client("sts", key, secret)
    with pytest.raises(ClientError) as bad:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="long", DurationSeconds=7200)
    assert error_of(bad.value) == (
        "ValidationError",
        400,
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )


def test_session_policy_limits_the_role_and_is_observable(
    server: Server, iam: Any, new_user: Any
) -> None:
    # Session permissions = role identity policies ∩ session policies.
    name, key, secret = new_user()
    role_arn = make_role(
        iam,
        trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}),
        doc(allow(["iam:ListUsers", "iam:ListRoles"])),
    )
    sts = server.client("sts", key, secret)
    full = server.client("iam", **creds(sts.assume_role(RoleArn=role_arn, RoleSessionName="aa")))
    full.list_users()
    full.list_roles()
    limited_response = sts.assume_role(
        RoleArn=role_arn, RoleSessionName="bb", Policy=doc(allow("iam:ListUsers"))
    )
    assert 0 < limited_response["PackedPolicySize"] <= 100
    limited = server.client("iam", **creds(limited_response))
    limited.list_users()
    with pytest.raises(ClientError) as denied:
        limited.list_roles()
    code, status, message = error_of(denied.value)
    assert (code, status) == ("AccessDenied", 403)
    assert "iam:ListRoles" in message
    # A session policy cannot grant more than the role has.
    wider = server.client(
        "iam",
        **creds(sts.assume_role(RoleArn=role_arn, RoleSessionName="cc", Policy=doc(allow("*")))),
    )
    with pytest.raises(ClientError):
        wider.list_groups()


def test_managed_session_policy_arns(server: Server, iam: Any, new_user: Any) -> None:
    name, key, secret = new_user()
    role_arn = make_role(
        iam,
        trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}),
        doc(allow(["iam:ListUsers", "iam:ListRoles"])),
    )
    managed = iam.create_policy(
        PolicyName=unique("sess"), PolicyDocument=doc(allow("iam:ListRoles"))
    )["Policy"]["Arn"]
    sts = server.client("sts", key, secret)
    session = server.client(
        "iam",
        **creds(
            sts.assume_role(RoleArn=role_arn, RoleSessionName="mm", PolicyArns=[{"arn": managed}])
        ),
    )
    session.list_roles()
    with pytest.raises(ClientError):
        session.list_users()
    with pytest.raises(ClientError) as bad:
        sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName="mm",
            PolicyArns=[{"arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/nope-{i}"} for i in range(11)],
        )
    assert error_of(bad.value)[:2] == ("ValidationError", 400)


def test_malformed_session_policy(server: Server, iam: Any, new_user: Any) -> None:
    name, key, secret = new_user()
    role_arn = make_role(iam, trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}))
    with pytest.raises(ClientError) as bad:
        server.client("sts", key, secret).assume_role(
            RoleArn=role_arn, RoleSessionName="mm", Policy='{"Version":"2012-10-17","Statement":'
        )
    assert error_of(bad.value)[:2] == ("MalformedPolicyDocument", 400)


def test_packed_policy_too_large(server: Server, iam: Any, new_user: Any) -> None:
    name, key, secret = new_user()
    role_arn = make_role(
        iam,
        trust(
            {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}, ["sts:AssumeRole", "sts:TagSession"]
        ),
    )
    import secrets

    tags = [{"Key": f"k{i}", "Value": secrets.token_hex(100)} for i in range(50)]
    with pytest.raises(ClientError) as bad:
        server.client("sts", key, secret).assume_role(
            RoleArn=role_arn, RoleSessionName="big", Tags=tags
        )
    code, status, message = error_of(bad.value)
    assert (code, status) == ("PackedPolicyTooLarge", 400)
    assert message.startswith("Packed size of session tags consumes ")


def test_external_id(server: Server, iam: Any, new_user: Any) -> None:
    name, key, secret = new_user()
    role_arn = make_role(
        iam,
        trust(
            {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"},
            Condition={"StringEquals": {"sts:ExternalId": "Example987"}},
        ),
    )
    sts = server.client("sts", key, secret)
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=role_arn, RoleSessionName="ee")
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=role_arn, RoleSessionName="ee", ExternalId="wrong-id")
    assert sts.assume_role(RoleArn=role_arn, RoleSessionName="ee", ExternalId="Example987")


def test_role_chaining_caps_at_one_hour(server: Server, iam: Any, new_user: Any) -> None:
    name, key, secret = new_user()
    first = make_role(
        iam, trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}), MaxSessionDuration=43200
    )
    second = make_role(iam, trust({"AWS": first}), MaxSessionDuration=43200)
    iam.put_role_policy(
        RoleName=first.split("/")[-1],
        PolicyName="chain",
        PolicyDocument=doc(allow("sts:AssumeRole")),
    )
    sts = server.client("sts", key, secret)
    session = server.client(
        "sts", **creds(sts.assume_role(RoleArn=first, RoleSessionName="one", DurationSeconds=7200))
    )
    with pytest.raises(ClientError) as capped:
        session.assume_role(RoleArn=second, RoleSessionName="two", DurationSeconds=7200)
    assert error_of(capped.value) == (
        "ValidationError",
        400,
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining.",
    )
    chained = session.assume_role(RoleArn=second, RoleSessionName="two")
    assert chained["AssumedRoleUser"]["Arn"].endswith("/two")


def test_session_tags_need_tag_session_and_flow_to_principal_tags(
    server: Server, iam: Any, new_user: Any
) -> None:
    name, key, secret = new_user()
    user_arn = f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
    no_tags = make_role(iam, trust({"AWS": user_arn}))
    sts = server.client("sts", key, secret)
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=no_tags, RoleSessionName="tt", Tags=[{"Key": "team", "Value": "a"}])
    assert "sts:TagSession" in error_of(denied.value)[2]
    abac = make_role(
        iam,
        trust({"AWS": user_arn}, ["sts:AssumeRole", "sts:TagSession"]),
        doc(
            allow(
                "iam:ListUsers",
                Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}},
            )
        ),
    )
    blue = server.client(
        "iam",
        **creds(
            sts.assume_role(
                RoleArn=abac, RoleSessionName="bb", Tags=[{"Key": "Team", "Value": "blue"}]
            )
        ),
    )
    blue.list_users()
    red = server.client(
        "iam",
        **creds(
            sts.assume_role(
                RoleArn=abac, RoleSessionName="rr", Tags=[{"Key": "team", "Value": "red"}]
            )
        ),
    )
    with pytest.raises(ClientError):
        red.list_users()
    with pytest.raises(ClientError) as dup:
        sts.assume_role(
            RoleArn=abac,
            RoleSessionName="dd",
            Tags=[{"Key": "team", "Value": "a"}, {"Key": "TEAM", "Value": "b"}],
        )
    assert error_of(dup.value) == (
        "InvalidParameterValue",
        400,
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    )
    with pytest.raises(ClientError) as bad_transitive:
        sts.assume_role(
            RoleArn=abac,
            RoleSessionName="dd",
            Tags=[{"Key": "team", "Value": "a"}],
            TransitiveTagKeys=["other"],
        )
    assert error_of(bad_transitive.value)[0] == "InvalidParameterValue"


def test_transitive_tags_are_inherited_and_cannot_be_overridden(
    server: Server, iam: Any, new_user: Any
) -> None:
    name, key, secret = new_user()
    user_arn = f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
    first = make_role(
        iam,
        trust({"AWS": user_arn}, ["sts:AssumeRole", "sts:TagSession"]),
        doc(allow("sts:AssumeRole"), allow("sts:TagSession")),
    )
    second = make_role(
        iam,
        trust({"AWS": first}, ["sts:AssumeRole", "sts:TagSession"]),
        doc(allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/project": "x"}})),
    )
    sts = server.client("sts", key, secret)
    one = sts.assume_role(
        RoleArn=first,
        RoleSessionName="one",
        Tags=[{"Key": "project", "Value": "x"}],
        TransitiveTagKeys=["project"],
    )
    chained_sts = server.client("sts", **creds(one))
    two = chained_sts.assume_role(RoleArn=second, RoleSessionName="two")
    server.client("iam", **creds(two)).list_users()
    with pytest.raises(ClientError) as conflict:
        chained_sts.assume_role(
            RoleArn=second, RoleSessionName="three", Tags=[{"Key": "Project", "Value": "y"}]
        )
    assert error_of(conflict.value)[0] == "InvalidParameterValue"


def test_source_identity_needs_permission_and_is_fixed_for_the_chain(
    server: Server, iam: Any, new_user: Any
) -> None:
    name, key, secret = new_user()
    user_arn = f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
    plain = make_role(iam, trust({"AWS": user_arn}))
    sts = server.client("sts", key, secret)
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=plain, RoleSessionName="ss", SourceIdentity="alice")
    assert "sts:SetSourceIdentity" in error_of(denied.value)[2]
    first = make_role(
        iam,
        trust({"AWS": user_arn}, ["sts:AssumeRole", "sts:SetSourceIdentity"]),
        doc(allow(["sts:AssumeRole", "sts:SetSourceIdentity"])),
    )
    second = make_role(iam, trust({"AWS": first}, ["sts:AssumeRole", "sts:SetSourceIdentity"]))
    one = sts.assume_role(RoleArn=first, RoleSessionName="ss", SourceIdentity="alice")
    assert one["SourceIdentity"] == "alice"
    chained = server.client("sts", **creds(one))
    two = chained.assume_role(RoleArn=second, RoleSessionName="tt")
    assert two["SourceIdentity"] == "alice"
    with pytest.raises(ClientError):
        chained.assume_role(RoleArn=second, RoleSessionName="tt", SourceIdentity="mallory")
    events = [e for e in server.audit_events() if e["eventName"] == "AssumeRole"]
    assert any(
        e.get("responseElements", {}) and e["responseElements"].get("sourceIdentity") == "alice"
        for e in events
    )


def test_revoke_older_sessions(server: Server, iam: Any, new_user: Any) -> None:
    # AWSRevokeOlderSessions: Deny * when aws:TokenIssueTime is older than the revocation.
    name, key, secret = new_user()
    role_arn = make_role(
        iam, trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}), doc(allow("iam:ListUsers"))
    )
    session = server.client(
        "iam",
        **creds(
            server.client("sts", key, secret).assume_role(RoleArn=role_arn, RoleSessionName="oo")
        ),
    )
    session.list_users()
    import datetime as dt

    cutoff = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    iam.put_role_policy(
        RoleName=role_arn.split("/")[-1],
        PolicyName="AWSRevokeOlderSessions",
        PolicyDocument=doc(deny("*", Condition={"DateLessThan": {"aws:TokenIssueTime": cutoff}})),
    )
    with pytest.raises(ClientError) as revoked:
        session.list_users()
    assert "explicit deny" in error_of(revoked.value)[2]


def test_tampered_or_foreign_session_token_is_rejected(
    server: Server, iam: Any, new_user: Any
) -> None:
    name, key, secret = new_user()
    role_arn = make_role(iam, trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}))
    issued = creds(
        server.client("sts", key, secret).assume_role(RoleArn=role_arn, RoleSessionName="xx")
    )
    token = issued["token"]
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    with pytest.raises(ClientError) as bad:
        server.client("sts", issued["key"], issued["secret"], flipped).get_caller_identity()
    assert error_of(bad.value)[:2] == ("InvalidClientTokenId", 403)
    other = creds(
        server.client("sts", key, secret).assume_role(RoleArn=role_arn, RoleSessionName="yy")
    )
    with pytest.raises(ClientError) as swapped:
        server.client("sts", issued["key"], issued["secret"], other["token"]).get_caller_identity()
    assert error_of(swapped.value)[:2] == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as wrong_secret:
        server.client("sts", issued["key"], "x" * 40, token).get_caller_identity()
    assert error_of(wrong_secret.value)[:2] == ("SignatureDoesNotMatch", 403)


def test_audit_event_shape_and_no_secrets(server: Server, iam: Any, new_user: Any) -> None:
    name, key, secret = new_user()
    role_arn = make_role(iam, trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}))
    response = server.client("sts", key, secret).assume_role(
        RoleArn=role_arn, RoleSessionName="audited"
    )
    events = server.audit_events()
    raw = json.dumps(events)
    assert response["Credentials"]["SecretAccessKey"] not in raw
    assert secret not in raw
    event = next(
        e
        for e in reversed(events)
        if e["eventName"] == "AssumeRole" and e["requestParameters"]["roleSessionName"] == "audited"
    )
    assert event["eventSource"] == "sts.amazonaws.com"
    assert event["userIdentity"]["type"] == "IAMUser"
    assert event["userIdentity"]["userName"] == name
    assert event["readOnly"] is True
    assert event["responseElements"]["credentials"]["accessKeyId"].startswith("ASIA")
    assert event["resources"][0]["ARN"] == role_arn
    # The session's own calls carry sessionContext.
    session = server.client("sts", **creds(response))
    session.get_caller_identity()
    later = next(
        e for e in reversed(server.audit_events()) if e["eventName"] == "GetCallerIdentity"
    )
    assert later["userIdentity"]["type"] == "AssumedRole"
    assert later["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role_arn


def test_sessions_of_a_deleted_role_are_denied_not_errors(
    server: Server, iam: Any, new_user: Any
) -> None:
    name, key, secret = new_user()
    role_arn = make_role(
        iam, trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"}), doc(allow("iam:ListUsers"))
    )
    session = server.client(
        "iam",
        **creds(
            server.client("sts", key, secret).assume_role(RoleArn=role_arn, RoleSessionName="gone")
        ),
    )
    session.list_users()
    role_name = role_arn.split("/")[-1]
    iam.delete_role_policy(RoleName=role_name, PolicyName="p")
    iam.delete_role(RoleName=role_name)
    with pytest.raises(ClientError) as denied:
        session.list_users()
    assert error_of(denied.value)[:2] == ("AccessDenied", 403)
