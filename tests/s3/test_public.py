"""Is a bucket policy public: the S3 User Guide's "The meaning of 'public'" rules and examples."""

from __future__ import annotations

import json

import pytest

from opensts.s3.public import is_public

BUCKET = "arn:aws:s3:::photos/*"


def policy(*statements: dict) -> str:  # type: ignore[type-arg]
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: object = "*", condition: dict | None = None,  # type: ignore[type-arg]
          action: str = "s3:GetObject", effect: str = "Allow") -> dict:  # type: ignore[type-arg]
    st = {"Effect": effect, "Principal": principal, "Action": action, "Resource": BUCKET}
    if condition is not None:
        st["Condition"] = condition
    return st


# The guide's own examples (public, then made non-public with a fixed aws:SourceVpc).
def test_the_guides_public_examples() -> None:
    assert is_public(policy({"Principal": {"Federated": "graph.facebook.com"},
                             "Resource": "*", "Action": "s3:PutObject", "Effect": "Allow"}))
    assert is_public(policy({"Principal": "*", "Resource": "*", "Action": "s3:PutObject",
                             "Effect": "Allow"}))
    assert is_public(policy({"Principal": "*", "Resource": "*", "Action": "s3:PutObject",
                             "Effect": "Allow",
                             "Condition": {"StringLike": {"aws:SourceVpc": "vpc-*"}}}))
    assert not is_public(policy({"Principal": "*", "Resource": "*", "Action": "s3:PutObject",
                                 "Effect": "Allow",
                                 "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-91237329"}}}))


def test_fixed_principals_are_not_public() -> None:
    assert not is_public(policy(allow({"AWS": "arn:aws:iam::444455556666:root"})))
    assert not is_public(policy(allow({"AWS": ["444455556666",
                                               "arn:aws:iam::444455556666:role/r"]})))
    assert not is_public(policy(allow({"Service": "cloudtrail.amazonaws.com"})))
    assert not is_public(policy(allow({"CanonicalUser": "ab" * 32})))
    assert is_public(policy(allow({"AWS": "*"})))
    assert is_public(policy(allow({"AWS": ["444455556666", "*"]})))


def test_one_public_statement_makes_the_policy_public() -> None:
    # The guide's three-statement example: CloudTrail, Account-2, and "*".
    trail = allow({"Service": "cloudtrail.amazonaws.com"}, action="s3:PutObject")
    account = allow({"AWS": "arn:aws:iam::444455556666:root"})
    assert not is_public(policy(trail, account))
    assert is_public(policy(trail, account, allow("*")))


def test_deny_statements_grant_nothing() -> None:
    assert not is_public(policy(allow("*", effect="Deny")))
    assert not is_public(policy(
        {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::444455556666:root"},
         "Action": "s3:*", "Resource": BUCKET},
    ))


@pytest.mark.parametrize("key,value", [
    ("aws:SourceArn", "arn:aws:cloudfront::111122223333:distribution/EDFDVBD6EXAMPLE"),
    ("aws:SourceVpc", "vpc-1a2b3c4d"),
    ("aws:SourceVpce", "vpce-1a2b3c4d"),
    ("aws:SourceOwner", "111122223333"),
    ("aws:SourceAccount", "111122223333"),
    ("s3:x-amz-server-side-encryption-aws-kms-key-id",
     "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("aws:userid", "AIDAJQABLZS4A3QDU576Q"),
    ("aws:userid", "AROAEXAMPLEID:*"),
    ("s3:DataAccessPointArn", "arn:aws:s3:us-west-2:123456789012:accesspoint/ap"),
    ("s3:DataAccessPointArn", "arn:aws:s3:us-west-2:123456789012:accesspoint/*"),
    ("s3:DataAccessPointAccount", "123456789012"),
    ("aws:PrincipalOrgID", "o-abcd1234"),
    ("aws:PrincipalAccount", "111122223333"),
    ("aws:PrincipalArn", "arn:aws:iam::111122223333:role/app"),
])
def test_fixed_values_of_the_listed_keys_make_a_wildcard_grant_non_public(
        key: str, value: str) -> None:
    assert not is_public(policy(allow("*", {"StringEquals": {key: value}})))
    assert not is_public(policy(allow("*", {"StringEquals": {key.upper(): [value]}})))


@pytest.mark.parametrize("key,value", [
    ("aws:SourceAccount", "1111*"),
    ("aws:SourceArn", "arn:aws:sns:*:111122223333:topic"),
    ("aws:SourceVpce", "vpce-?abc"),
    ("aws:PrincipalOrgID", "${aws:PrincipalTag/org}"),
    ("aws:userid", "*"),
    ("aws:userid", "AIDA*"),
    ("s3:DataAccessPointArn", "arn:aws:s3:us-west-2:*:accesspoint/*"),
    ("s3:DataAccessPointArn", "arn:aws:s3:*:123456789012:accesspoint/*"),
    ("aws:PrincipalTag/team", "data"),  # not a listed key
    ("s3:prefix", "home/"),
    ("aws:Referer", "https://example.com/"),
])
def test_wildcards_variables_and_unlisted_keys_stay_public(key: str, value: str) -> None:
    assert is_public(policy(allow("*", {"StringLike": {key: value}})))


def test_one_non_fixed_value_of_a_condition_is_enough_to_be_public() -> None:
    assert is_public(policy(allow("*", {"StringEquals": {
        "aws:SourceAccount": ["111122223333", "4444*"]}})))


def test_conditions_are_anded_so_one_binding_key_suffices() -> None:
    assert not is_public(policy(allow("*", {
        "StringLike": {"aws:Referer": "*"},
        "StringEquals": {"aws:SourceAccount": "111122223333"}})))


@pytest.mark.parametrize("operator", [
    "StringNotEquals", "StringEqualsIfExists", "ForAllValues:StringEquals",
    "StringNotLike", "ArnNotEquals", "ArnEqualsIfExists", "stringequalsifexists",
])
def test_operators_that_do_not_limit_the_key_are_public(operator: str) -> None:
    assert is_public(policy(allow("*", {operator: {"aws:SourceAccount": "111122223333"}})))


@pytest.mark.parametrize("operator", [
    "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike",
    "ForAnyValue:StringEquals", "stringequals", "foranyvalue:ARNLIKE",
])
def test_operators_that_limit_the_key(operator: str) -> None:
    assert not is_public(policy(allow("*", {operator: {
        "aws:SourceArn": "arn:aws:cloudfront::111122223333:distribution/E1"}})))


def test_null_and_bool_conditions_do_not_bind() -> None:
    assert is_public(policy(allow("*", {"Null": {"aws:SourceVpc": "false"}})))
    assert is_public(policy(allow("*", {"Bool": {"aws:SecureTransport": "true"}})))


@pytest.mark.parametrize("cidrs,public", [
    (["192.0.2.0/24"], False),
    (["203.0.113.7"], False),
    (["10.0.0.0/8"], False),
    (["8.0.0.0/8"], False),
    (["0.0.0.0/1"], True),
    (["0.0.0.0/0"], True),
    (["8.0.0.0/7"], True),
    (["192.0.2.0/24", "0.0.0.0/1"], True),
    (["2001:db8::/32"], False),
    (["2001:db8::/48"], False),
    (["2001::/16"], True),
    (["::/0"], True),
    (["not-an-ip"], True),
])
def test_source_ip_ranges(cidrs: list[str], public: bool) -> None:
    assert is_public(policy(allow("*", {"IpAddress": {"aws:SourceIp": cidrs}}))) is public


def test_source_ip_only_binds_through_ip_address() -> None:
    assert is_public(policy(allow("*", {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}})))
    assert is_public(policy(allow("*", {"IpAddressIfExists": {"aws:SourceIp": "192.0.2.0/24"}})))
    assert is_public(policy(allow("*", {"StringEquals": {"aws:SourceIp": "192.0.2.1"}})))


def test_actions_do_not_matter() -> None:
    for action in ("s3:GetBucketLocation", "s3:ListAllMyBuckets", "s3:*"):
        assert is_public(policy(allow("*", action=action)))
    assert is_public(policy({"Effect": "Allow", "Principal": "*", "NotAction": "s3:Delete*",
                             "Resource": BUCKET}))


def test_a_policy_that_does_not_parse_is_called_public() -> None:
    assert is_public("{not json")
    assert is_public(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": BUCKET}]}))  # no Principal
