"""ValidatePolicy's checks, one issue code at a time (pure: opensts.analyzer.validate)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensts.analyzer.issues import CODES
from opensts.analyzer.validate import validate

V = "2012-10-17"


def _doc(*statements, version=V):
    doc = {"Statement": list(statements)}
    if version:
        doc = {"Version": version, **doc}
    return json.dumps(doc, indent=2)


def _allow(**extra):
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **extra}


CASES = [
    # (policy text, policyType, resource type, expected issue code)
    ("{", "IDENTITY_POLICY", None, "JSON_SYNTAX_ERROR"),
    ("[]", "IDENTITY_POLICY", None, "DATA_TYPE_MISMATCH"),
    (_doc(_allow(), version=None), "IDENTITY_POLICY", None, "MISSING_VERSION"),
    (_doc(_allow(), version="2020-01-01"), "IDENTITY_POLICY", None, "INVALID_VERSION"),
    (json.dumps({"Version": V}), "IDENTITY_POLICY", None, "MISSING_STATEMENT"),
    (_doc({"Action": "s3:GetObject", "Resource": "*"}), "IDENTITY_POLICY", None,
     "MISSING_EFFECT"),
    (_doc(_allow(Effect="Permit")), "IDENTITY_POLICY", None, "INVALID_EFFECT"),
    (_doc(_allow(Effect=1)), "IDENTITY_POLICY", None, "DATA_TYPE_MISMATCH"),
    (_doc({"Effect": "Allow", "Resource": "*"}), "IDENTITY_POLICY", None, "MISSING_ACTION"),
    (_doc({"Effect": "Allow", "Action": "s3:GetObject"}), "IDENTITY_POLICY", None,
     "MISSING_RESOURCE"),
    (_doc(_allow(Principal="*")), "IDENTITY_POLICY", None, "UNSUPPORTED_PRINCIPAL"),
    (_doc(_allow(Principal="*")), "SERVICE_CONTROL_POLICY", None,
     "SCP_SYNTAX_ERROR_PRINCIPAL"),
    (_doc(_allow()), "RESOURCE_POLICY", None, "MISSING_PRINCIPAL"),
    (_doc(_allow(NotAction="s3:PutObject")), "IDENTITY_POLICY", None,
     "UNSUPPORTED_ELEMENT_COMBINATION"),
    (_doc(_allow(Sid="a"), _allow(Sid="a")), "IDENTITY_POLICY", None, "UNIQUE_SIDS_REQUIRED"),
    (_doc(_allow(Sid="a", Principal="*"), _allow(Sid="a", Principal="*")), "RESOURCE_POLICY",
     None, "UNIQUE_SIDS_RECOMMENDED"),
    (_doc(_allow(Sid="no spaces")), "IDENTITY_POLICY", None, "UNSUPPORTED_SID"),
    (_doc(_allow(Sid="")), "IDENTITY_POLICY", None, "EMPTY_SID_VALUE"),
    (_doc(_allow(Foo="bar")), "IDENTITY_POLICY", None, "INVALID_POLICY_ELEMENT"),
    (_doc(_allow(Action="s3:GetObjekt")), "IDENTITY_POLICY", None, "INVALID_ACTION"),
    (_doc(_allow(Action="nosuchservice:Get")), "IDENTITY_POLICY", None,
     "INVALID_SERVICE_IN_ACTION"),
    (_doc(_allow(Action=[])), "IDENTITY_POLICY", None, "EMPTY_ARRAY_ACTION"),
    (_doc(_allow(Resource=[])), "IDENTITY_POLICY", None, "EMPTY_ARRAY_RESOURCE"),
    (_doc(_allow(Action=["s3:GetObject", "s3:Get*"])), "IDENTITY_POLICY", None,
     "REDUNDANT_ACTION"),
    (_doc(_allow(Resource=["arn:aws:s3:::b/*", "arn:aws:s3:::b/k"])), "IDENTITY_POLICY", None,
     "REDUNDANT_RESOURCE"),
    (_doc(_allow(Action="s*:GetObject")), "IDENTITY_POLICY", None, "WILDCARD_IN_SERVICE_NAME"),
    (_doc(_allow(Resource="s3:::bucket")), "IDENTITY_POLICY", None, "INVALID_ARN_PREFIX"),
    (_doc(_allow(Resource="arn:aws:s3")), "IDENTITY_POLICY", None, "MISSING_ARN_FIELD"),
    (_doc(_allow(Resource="arn:aws-mars:s3:::b")), "IDENTITY_POLICY", None, "INVALID_PARTITION"),
    (_doc(_allow(Action="iam:GetRole", Resource="arn:aws:iam:us-east-1:123456789012:role/r")),
     "IDENTITY_POLICY", None, "ARN_REGION_NOT_ALLOWED"),
    (_doc(_allow(Resource="arn:aws:s3::123456789012:b")), "IDENTITY_POLICY", None,
     "ARN_ACCOUNT_NOT_ALLOWED"),
    (_doc(_allow(Action="ec2:StartInstances", Resource="arn:aws:ec2:us-east-1:12345:instance/i")),
     "IDENTITY_POLICY", None, "INVALID_ARN_ACCOUNT"),
    (_doc(_allow(Resource="arn:aws:S3:::b")), "IDENTITY_POLICY", None,
     "INVALID_ARN_SERVICE_CASE"),
    (_doc(_allow(Resource="arn:aws:s3:::${aws:username}"), version="2008-10-17"),
     "IDENTITY_POLICY", None, "VARIABLE_UNSUPPORTED_IN_VERSION"),
    (_doc(_allow(Condition={"StringEqualz": {"aws:SourceIp": "x"}})), "IDENTITY_POLICY", None,
     "INVALID_CONDITION_OPERATOR"),
    (_doc(_allow(Condition={"NullIfExists": {"aws:SourceIp": "true"}})), "IDENTITY_POLICY",
     None, "NULL_WITH_IF_EXISTS"),
    (_doc(_allow(Condition={"ForAnyValue:Null": {"aws:TagKeys": "true"}})), "IDENTITY_POLICY",
     None, "NULL_WITH_QUALIFIER"),
    (_doc(_allow(Condition={})), "IDENTITY_POLICY", None, "EMPTY_OBJECT_CONDITION"),
    (_doc(_allow(Condition={"StringEquals": {"aws:username": []}})), "IDENTITY_POLICY", None,
     "EMPTY_ARRAY_CONDITION"),
    (_doc(_allow(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": []}})),
     "IDENTITY_POLICY", None, "EMPTY_ARRAY_CONDITION_FORALLVALUES"),
    (_doc(_allow(Condition={"StringEquals": {"aws:username": "a", "AWS:UserName": "b"}})),
     "IDENTITY_POLICY", None, "DUPLICATE_KEYS_WITH_DIFFERENT_CASE"),
    (_doc(_allow(Condition={"StringEquals": {"username": "a"}})), "IDENTITY_POLICY", None,
     "INVALID_CONDITION_KEY_FORMAT"),
    (_doc(_allow(Condition={"StringEquals": {"aws:usernamez": "a"}})), "IDENTITY_POLICY", None,
     "INVALID_GLOBAL_CONDITION_KEY"),
    (_doc(_allow(Condition={"StringEquals": {"s3:nosuchkey": "a"}})), "IDENTITY_POLICY", None,
     "INVALID_SERVICE_CONDITION_KEY"),
    (_doc(_allow(Condition={"StringEquals": {"aws:username": "a*"}})), "IDENTITY_POLICY", None,
     "WILDCARD_WITHOUT_LIKE_OPERATOR"),
    (_doc(_allow(Condition={"NumericLessThan": {"s3:max-keys": "ten"}})), "IDENTITY_POLICY",
     None, "TYPE_MISMATCH_NUMBER"),
    (_doc(_allow(Condition={"Bool": {"aws:SecureTransport": "yes"}})), "IDENTITY_POLICY", None,
     "TYPE_MISMATCH_BOOLEAN"),
    (_doc(_allow(Condition={"IpAddress": {"aws:SourceIp": "1.2.3"}})), "IDENTITY_POLICY", None,
     "TYPE_MISMATCH_IP_RANGE"),
    (_doc(_allow(Condition={"ForAllValues:StringEquals": {"aws:username": "a"}})),
     "IDENTITY_POLICY", None, "FORALLVALUES_WITH_SINGLE_VALUED_KEY"),
    (_doc(_allow(Action="iam:PassRole")), "IDENTITY_POLICY", None,
     "PASS_ROLE_WITH_STAR_IN_RESOURCE"),
    (_doc(_allow(Action="iam:*")), "IDENTITY_POLICY", None,
     "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE"),
    (_doc({"Effect": "Allow", "Action": "iam:PassRole",
           "NotResource": "arn:aws:iam::123456789012:role/a"}),
     "IDENTITY_POLICY", None, "PASS_ROLE_WITH_NOT_RESOURCE"),
    (_doc({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}), "IDENTITY_POLICY", None,
     "PASS_ROLE_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION"),
    (_doc({"Effect": "Allow", "NotAction": "s3:*", "NotResource": "arn:aws:s3:::b"}),
     "IDENTITY_POLICY", None, "PASS_ROLE_WITH_NOT_ACTION_AND_NOT_RESOURCE"),
    (_doc({"Effect": "Allow", "Action": "iam:Pass*", "NotResource": "arn:aws:s3:::b"}),
     "IDENTITY_POLICY", None, "PASS_ROLE_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE"),
    (_doc({"Effect": "Allow", "NotPrincipal": {"AWS": "123456789012"}, "Action": "s3:*",
           "Resource": "*"}), "RESOURCE_POLICY", None, "ALLOW_WITH_NOT_PRINCIPAL"),
    (_doc(_allow(Principal={})), "RESOURCE_POLICY", None, "EMPTY_OBJECT_PRINCIPAL"),
    (_doc(_allow(Principal={"AWS": []})), "RESOURCE_POLICY", None, "EMPTY_ARRAY_PRINCIPAL"),
    (_doc(_allow(Principal={"Users": "x"})), "RESOURCE_POLICY", None, "INVALID_PRINCIPAL_KEY"),
    (_doc(_allow(Principal="everyone")), "RESOURCE_POLICY", None, "INVALID_PRINCIPAL_FORMAT"),
    (_doc(_allow(Principal={"AWS": "arn:aws:iam::*:root"})), "RESOURCE_POLICY", None,
     "UNSUPPORTED_WILDCARD_IN_PRINCIPAL"),
    (_doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*",
           "Principal": {"AWS": "123456789012"}}), "RESOURCE_POLICY",
     "AWS::IAM::AssumeRolePolicyDocument", "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE"),
    (_doc({"Effect": "Deny", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": "1"}}),
     "RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument",
     "ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL"),
    (_doc({"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
           "Principal": {"Federated": "accounts.google.com"}}), "RESOURCE_POLICY",
     "AWS::IAM::AssumeRolePolicyDocument", "MISSING_CONDITION_KEY_FOR_OIDC_PRINCIPAL"),
    (_doc({"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
           "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/"
                                      "token.actions.githubusercontent.com"}}),
     "RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument",
     "MISSING_GITHUB_REPO_CONDITION_KEY"),
    (_doc({"Effect": "Allow", "Action": "s3:GetObject", "Principal": {"AWS": "123456789012"}}),
     "RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument", "UNSUPPORTED_ACTION_IN_POLICY"),
    (_doc({"Effect": "Allow", "Action": "sqs:SendMessage", "Principal": "*",
           "Resource": "arn:aws:s3:::b"}), "RESOURCE_POLICY", "AWS::S3::Bucket",
     "UNSUPPORTED_ACTION_IN_POLICY"),
    (_doc({"Effect": "Allow", "Action": "s3:GetObject", "Principal": "*"}), "RESOURCE_POLICY",
     "AWS::S3::Bucket", "MISSING_RESOURCE"),
    (_doc({"Effect": "Allow", "Action": "s3:GetObject", "Principal": "*",
           "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}), "RESOURCE_POLICY",
     "AWS::S3::Bucket", "UNSUPPORTED_RESOURCE_ARN_IN_POLICY"),
    (_doc(_allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "yesterday"}})),
     "IDENTITY_POLICY", None, "TYPE_MISMATCH_DATE"),
    (_doc(_allow(Principal="*", Condition={"DateGreaterThan": {"aws:CurrentTime": "soon"}})),
     "RESOURCE_POLICY", None, "TYPE_MISMATCH_DATE"),
    (_doc(_allow(Condition={"BinaryEquals": {"aws:username": "!!"}})), "IDENTITY_POLICY", None,
     "TYPE_MISMATCH_STRING"),
    (_doc(_allow(Condition={"StringEquals": {"nosuchsvc:key": "a"}})), "IDENTITY_POLICY", None,
     "INVALID_SERVICE"),
    (_doc(_allow(Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": []}})),
     "IDENTITY_POLICY", None, "EMPTY_ARRAY_CONDITION_FORANYVALUE"),
    (_doc(_allow(Condition={"StringEqualsIfExists": {"aws:username": []}})),
     "IDENTITY_POLICY", None, "EMPTY_ARRAY_CONDITION_IFEXISTS"),
    (_doc(_allow(Action="iam:GetRole", Resource="arn:aws:iam::123456789012:role//r")),
     "IDENTITY_POLICY", None, "INVALID_ARN_RESOURCE"),
    (_doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": [
        f"arn:aws:iam::123456789012:role/role-with-a-long-name-{i:03}" for i in range(60)]}}),
     "RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument",
     "POLICY_SIZE_EXCEEDS_ROLE_TRUST_POLICY_QUOTA"),
    (_doc(_allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), "IDENTITY_POLICY",
     None, "PRIVATE_IP_ADDRESS"),
    (_doc(_allow(Condition={"NotIpAddress": {"aws:SourceIp": ["192.168.0.0/16"]}})),
     "IDENTITY_POLICY", None, "PRIVATE_NOT_IP_ADDRESS"),
    (_doc(_allow(Condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]}})),
     "IDENTITY_POLICY", None, "PRIVATE_IP_ADDRESS_SUBSET"),
    (_doc(_allow(Condition={"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "198.51.0.0/16"]}})),
     "IDENTITY_POLICY", None, "PRIVATE_NOT_IP_ADDRESS_SUBSET"),
    (_doc(_allow(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.7/24"}})),
     "IDENTITY_POLICY", None, "IMPROVE_IP_RANGE"),
    (_doc(_allow(Sid="A"), _allow(Sid="B")), "IDENTITY_POLICY", None, "REDUNDANT_STATEMENT"),
    (_doc(*[_allow(Sid=f"S{i}", Resource=f"arn:aws:s3:::bucket-{i:04}/*") for i in range(120)]),
     "IDENTITY_POLICY", None, "POLICY_SIZE_EXCEEDS_IDENTITY_POLICY_QUOTA"),
]


@pytest.mark.parametrize(("text", "policy_type", "resource_type", "code"), CASES,
                         ids=[c[3] for c in CASES])
def test_issue_code(text, policy_type, resource_type, code):
    issues = validate(text, policy_type, resource_type)
    codes = [i.code for i in issues]
    assert code in codes, codes
    for issue in issues:
        wire = issue.wire()
        assert wire["findingType"] == CODES[issue.code]
        for loc in wire["locations"]:
            span = loc["span"]
            assert 0 <= span["start"]["offset"] <= span["end"]["offset"] <= len(text)


def test_every_code_is_exercised():
    assert {c[3] for c in CASES} == set(CODES)


def test_a_clean_policy_has_no_findings():
    assert validate(_doc({"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
                          "Resource": "arn:aws:s3:::bucket/*"}), "IDENTITY_POLICY") == []


def test_every_statement_is_reported_not_just_the_first():
    text = _doc(_allow(Effect="Permit"), _allow(Foo=1), _allow(Action="s3:Nope"))
    issues = validate(text, "IDENTITY_POLICY")
    assert {(i.code, i.locations[0].path[1]) for i in issues} >= {
        ("INVALID_EFFECT", ("index", 0)), ("INVALID_POLICY_ELEMENT", ("index", 1))}


def test_location_of_an_invalid_element_is_its_key():
    text = _doc(_allow(Foo=1))
    issue = next(i for i in validate(text, "IDENTITY_POLICY") if i.code == "INVALID_POLICY_ELEMENT")
    loc = issue.locations[0]
    assert loc.path == (("value", "Statement"), ("index", 0), ("key", "Foo"))
    assert text[loc.span.start.offset:loc.span.end.offset] == '"Foo"'


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(
        ["*", "Allow", "Deny", "s3:GetObject", "iam:PassRole", "arn:aws:s3:::b/*", "", "x",
         "StringEquals", "aws:SourceIp", "${aws:username}"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(
        ["Version", "Statement", "Effect", "Action", "NotAction", "Resource", "NotResource",
         "Principal", "NotPrincipal", "Condition", "Sid", "AWS", "Service", "StringEquals",
         "ForAllValues:StringLike", "aws:SourceIp", "Bogus"]), children, max_size=4),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from(["IDENTITY_POLICY", "RESOURCE_POLICY", "SERVICE_CONTROL_POLICY",
                                "RESOURCE_CONTROL_POLICY"]),
       st.sampled_from([None, "AWS::IAM::AssumeRolePolicyDocument", "AWS::S3::Bucket"]))
def test_validate_never_fails_on_any_json(value, policy_type, resource_type):
    text = json.dumps(value)
    for issue in validate(text, policy_type, resource_type):
        issue.wire()
        assert issue.code in CODES


def test_a_duplicate_key_is_located():
    text = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Effect": "Deny"}]}'
    [issue] = validate(text, "IDENTITY_POLICY")
    assert issue.code == "JSON_SYNTAX_ERROR"
    loc = issue.locations[0]
    assert loc.path == (("value", "Statement"), ("index", 0), ("key", "Effect"))
    assert loc.span.start.offset == text.rindex('"Effect"')


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    text = "[" * 5000 + "]" * 5000
    assert [i.code for i in validate(text, "IDENTITY_POLICY")] == ["JSON_SYNTAX_ERROR"]
