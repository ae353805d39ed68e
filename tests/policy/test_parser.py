"""Grammar and kind-specific rules. Sources: reference_policies_grammar.html, the element
pages (Version, Statement, Sid, Effect, Principal, NotPrincipal, Action, Resource,
Condition) and "IAM and AWS STS quotas" for sizes."""

from __future__ import annotations

import json

import pytest

from opensts.errors import MalformedPolicyDocument
from opensts.policy import PolicyKind, parse_policy, policy_size

from .helpers import ALICE, allow, deny, doc

K = PolicyKind


def bad(text: str, kind: PolicyKind = K.IDENTITY, match: str | None = None) -> None:
    with pytest.raises(MalformedPolicyDocument, match=match) as err:
        parse_policy(text, kind)
    assert err.value.code == "MalformedPolicyDocument" and err.value.status == 400


def test_valid_forms():
    p = parse_policy(
        json.dumps({"Version": "2012-10-17", "Id": "x", "Statement": allow()}), K.IDENTITY
    )
    assert len(p.statements) == 1 and p.version == "2012-10-17"
    # Version may be omitted: it then defaults to 2008-10-17 (no variables).
    p = parse_policy(json.dumps({"Statement": [allow(), allow()]}), K.IDENTITY)
    assert p.version == "2008-10-17" and len(p.statements) == 2


def test_cached_by_text_and_kind():
    text = doc(allow())
    assert parse_policy(text, K.IDENTITY) is parse_policy(text, K.IDENTITY)
    assert parse_policy(text, K.IDENTITY) is not parse_policy(text, K.BOUNDARY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "Syntax errors in policy."),
        ("[]", "Syntax errors in policy."),
        ('{"Statement": [], "Statement": []}', "Syntax errors in policy."),  # duplicate key
        (
            '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Effect": "Deny", '
            '"Action": "*", "Resource": "*"}}',
            "Syntax errors in policy.",
        ),
        ('{"Version": "2013-01-01", "Statement": []}', "The policy failed legacy parsing"),
        ('{"Version": "2012-10-17"}', "Missing required field Statement"),
        ('{"Version": "2012-10-17", "Statement": []}', "Syntax errors in policy."),
        ('{"Version": "2012-10-17", "Statement": [], "Foo": 1}', "Unknown field Foo"),
        (doc({"Action": "*", "Resource": "*"}), "Missing required field Effect"),
        (doc({"Effect": "allow", "Action": "*", "Resource": "*"}), "Invalid effect: allow"),
        (doc({"Effect": "Allow", "Resource": "*"}), "Policy statement must contain actions."),
        (
            doc({"Effect": "Allow", "Action": [], "Resource": "*"}),
            "Policy statement must contain actions.",
        ),
        (doc({"Effect": "Allow", "Action": "*"}), "Policy statement must contain resources."),
        (doc(allow("s3")), "Actions/Conditions must be prefaced by a vendor"),
        (doc(allow("s3:a:b")), "Actions/Condition can contain only one colon."),
        (doc(allow(resource="bucket")), 'Resource bucket must be in ARN format or "\\*".'),
        (doc(allow(1)), "Syntax errors in policy."),
        (doc(allow(Foo=1)), "Unknown field Foo"),
        (doc(allow(Principal="*")), "Policy document should not specify a principal."),
        (doc(allow(Sid="has space")), "Statement IDs \\(SID\\) must be alpha-numeric"),
        (doc(allow(Sid="A"), allow(Sid="A")), "Statement IDs \\(SID\\) in a single policy must"),
        (
            doc(allow(Condition={"StringEquals": {":nokey": "x"}})),
            "Actions/Conditions must be prefaced by a vendor",
        ),
        (doc(allow(Condition={"StringEquals": {"aws:x": {"a": 1}}})), "Syntax errors in policy."),
        (doc(allow(Condition=[])), "Syntax errors in policy."),
        ('{"Version": "2012-10-17", "Statement": [1]}', "Syntax errors in policy."),
        (
            '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "x": NaN}}',
            "Syntax errors in policy.",
        ),
    ],
)
def test_identity_errors(text, message):
    bad(text, K.IDENTITY, message)


@pytest.mark.parametrize("kind", [K.IDENTITY, K.BOUNDARY, K.SESSION, K.SCP])
def test_no_principal_kinds(kind):
    bad(doc(allow(Principal={"AWS": ALICE.arn})), kind, "should not specify a principal")
    bad(doc(allow(NotPrincipal={"AWS": ALICE.arn})), kind, "should not specify a principal")


def test_resource_policy_rules():
    bad(doc(allow()), K.RESOURCE, "Missing required field Principal")
    bad(
        doc(allow(NotPrincipal={"AWS": ALICE.arn})),
        K.RESOURCE,
        'NotPrincipal is only supported with "Effect": "Deny"',
    )
    bad(doc(allow(Principal="*", NotPrincipal="*")), K.RESOURCE, "Syntax errors")
    parse_policy(
        doc({"Effect": "Deny", "Action": "*", "Resource": "*", "NotPrincipal": {"AWS": ALICE.arn}}),
        K.RESOURCE,
    )
    # Sids in resource policies may contain spaces (the alphanumeric rule is IAM's).
    parse_policy(doc(allow(Principal="*", Sid="Public read")), K.RESOURCE)


def test_trust_policy_rules():
    trust = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": ALICE.arn}}
    parse_policy(doc(trust), K.TRUST)
    bad(doc({**trust, "Resource": "*"}), K.TRUST, "Has prohibited field Resource")
    bad(
        doc({"Effect": "Deny", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": ALICE.arn}}),
        K.TRUST,
        "Has prohibited field NotPrincipal",
    )
    bad(
        doc({"Effect": "Allow", "Action": "sts:AssumeRole"}),
        K.TRUST,
        "Missing required field Principal",
    )


def test_rcp_rules():
    parse_policy(doc(deny("s3:*", Principal="*")), K.RCP)
    bad(doc(deny("s3:*", Principal={"AWS": ALICE.arn})), K.RCP, "Invalid principal in policy")
    bad(
        doc({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*", "Principal": "*"}),
        K.RCP,
        "Has prohibited field NotAction",
    )


def test_policy_size_ignores_whitespace():
    compact = doc(allow())
    pretty = json.dumps(json.loads(compact), indent=4)
    assert policy_size(compact) == policy_size(pretty) == len(compact.replace(" ", ""))


def test_non_string_input():
    bad(None, K.IDENTITY, "Syntax errors")  # type: ignore[arg-type]


# -- IAM's legacy parsing, as AWS answers (issue 13, AWS-recorded responses) -------------------

LEGACY = "^The policy failed legacy parsing$"


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws-moon:s3:::bucket",  # unknown partition
        "arn:aws:iam:us-east-1:123456789012:user/alice",  # a region in an IAM ARN
        "arn:aws:s3:eu-west-1::bucket",  # a region in an S3 ARN
        "arn:aws:iam::123456789012:user//alice",  # an empty path segment
        "arn:aws:iam::123456789012:user",  # no resource path
        "arn:aws:s3",  # too few segments
        "arn:aws:iam::123456789012",
    ],
)
def test_iam_refuses_resources_that_fail_legacy_parsing(resource):
    bad(doc(allow("s3:GetObject", resource)), K.IDENTITY, LEGACY)
    bad(doc(allow("s3:GetObject", resource)), K.BOUNDARY, LEGACY)


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:s3:::bucket/*", "arn:aws-cn:s3:::bucket",
        "arn:aws-us-gov:iam::123456789012:role/x",
        "arn:*:s3:::bucket", "arn:aws:iam::123456789012:root", "arn:aws:iam::*:role/a/b/*",
        "arn:aws:iam::123456789012:*", "arn:aws:s3:*", "arn:aws:organizations::*:",
        "arn:${aws:partition}:s3:::bucket", "arn:aws:s3:::b/${aws:username}/*",
        "arn:aws:logs:*:*:*", "arn:aws:ec2:us-east-1:123456789012:instance/*",
    ],
)
def test_iam_takes_resources_aws_takes(resource):
    parse_policy(doc(allow("s3:GetObject", resource)), K.IDENTITY)


def test_variables_need_version_2012_in_iam_policies():
    text = doc(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}"), version="2008-10-17")
    bad(text, K.IDENTITY, LEGACY)
    missing = json.dumps({"Statement": [allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}")]})
    bad(missing, K.IDENTITY, LEGACY)
    # Without variables, 2008-10-17 (or no Version) is still taken.
    parse_policy(doc(allow("s3:GetObject", "arn:aws:s3:::b/x"), version="2008-10-17"), K.IDENTITY)


def test_condition_keys_without_a_vendor_are_taken_by_iam():
    parse_policy(doc(allow(Condition={"StringEquals": {"username": "x"}})), K.IDENTITY)


def test_iam_checks_operator_and_value_before_the_key():
    bad(doc(allow(Condition={"DateLessThan": {":k": "not-a-date"}})), K.IDENTITY, LEGACY)
    bad(doc(allow(Condition={"DateLessThan": {"aws:CurrentTime": "2020-13-45"}})), K.IDENTITY,
        LEGACY)
    bad(doc(allow(Condition={"StringEqualz": {":k": "x"}})), K.IDENTITY,
        r"^Syntax errors in policy\.$")
    later = {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}
    parse_policy(doc(allow(Condition=later)), K.IDENTITY)


TRUST_ONLY = ("^Trust Policy statement actions can only be sts:AssumeRole, "
              "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity$")


def _trust(action):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": action}]})


@pytest.mark.parametrize("action", ["s3:GetObject", "sts:NoSuchThing", ["sts:AssumeRole", "iam:*"]])
def test_trust_policies_refuse_unknown_actions(action):
    bad(_trust(action), K.TRUST, TRUST_ONLY)


@pytest.mark.parametrize("action", ["sts:AssumeRole", ["sts:AssumeRole", "sts:TagSession"],
                                    "sts:AssumeRoleWith*", "sts:*", "*",
                                    "sts:SetSourceIdentity"])
def test_trust_policies_take_sts_actions(action):
    parse_policy(_trust(action), K.TRUST)


def test_a_trust_policy_json_error_reads_invalid_json():
    where = r" \(line 1, column 41: Expecting value\)$"
    bad('{"Version": "2012-10-17", "Statement": [', K.TRUST, "^This policy contains invalid Json"
        + where)
    bad('{"Version": "2012-10-17", "Statement": [', K.IDENTITY, r"^Syntax errors in policy\."
        + where)
