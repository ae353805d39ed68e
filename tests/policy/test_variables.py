"""Policy variables. Source: "IAM policy elements: Variables and tags"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html)."""

from __future__ import annotations

from .helpers import ALICE, allow, cond, decide, pol

HOME = "arn:aws:s3:::home/${aws:username}/*"


def test_variable_in_resource():
    p = pol(allow(resource=HOME))
    ctx = {"aws:username": "alice"}
    assert decide(identity=[p], resource="arn:aws:s3:::home/alice/a", context=ctx).allowed
    assert not decide(identity=[p], resource="arn:aws:s3:::home/bob/a", context=ctx).allowed


def test_missing_variable_matches_nothing():
    # "If the key ... is not present, the policy element ... will not match any resource."
    p = pol(allow(resource=HOME))
    assert not decide(identity=[p], resource="arn:aws:s3:::home//a").allowed
    d = decide(identity=[p], resource="arn:aws:s3:::home/alice/a")
    assert "${aws:username}" in d.to_dict()["policies"][0]["statements"][0]["resource"]["variables"]


def test_missing_variable_in_not_resource_makes_statement_inapplicable():
    p = pol(allow(), {"Effect": "Deny", "Action": "*", "NotResource": HOME})
    home = "arn:aws:s3:::home/alice/k"
    # the Deny does not apply without aws:username: its outcome hinges on the missing value
    assert decide(identity=[p], resource=home).allowed
    assert decide(identity=[p], resource=home, context={"aws:username": "bob"}).decision == (
        "explicitDeny"
    )
    # ...but a pattern that cannot match whatever the value is leaves NotResource decidable
    q = pol(
        allow(), {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:sqs:*:*:${aws:username}"}
    )
    assert decide(identity=[q]).decision == "explicitDeny"


def test_default_value():
    p = pol(allow(resource="arn:aws:s3:::home/${aws:username, 'shared'}/*"))
    assert decide(identity=[p], resource="arn:aws:s3:::home/shared/a").allowed
    assert decide(
        identity=[p], resource="arn:aws:s3:::home/al/a", context={"aws:username": "al"}
    ).allowed


def test_substituted_value_is_literal_not_wildcard():
    # A username of "*" must not turn the pattern into a wildcard.
    p = pol(allow(resource=HOME))
    assert not decide(
        identity=[p], resource="arn:aws:s3:::home/bob/a", context={"aws:username": "*"}
    ).allowed
    assert decide(
        identity=[p], resource="arn:aws:s3:::home/*/a", context={"aws:username": "*"}
    ).allowed


def test_regex_metacharacters_in_values_are_literal():
    p = pol(allow(resource=HOME))
    assert not decide(
        identity=[p], resource="arn:aws:s3:::home/axb/k", context={"aws:username": "a.b"}
    ).allowed
    assert decide(
        identity=[p], resource="arn:aws:s3:::home/a(b/k", context={"aws:username": "a(b"}
    ).allowed


def test_special_characters():
    # ${*}, ${?}, ${$} stand for literal characters "in any string where you can use
    # regular policy variables" — including StringEquals (iam-simulate differs here).
    assert cond("StringEquals", "aws:Referer", "a${*}b", {"aws:Referer": "a*b"})
    assert not cond("StringLike", "aws:Referer", "a${*}b", {"aws:Referer": "axb"})
    assert cond("StringLike", "aws:Referer", "a${?}b", {"aws:Referer": "a?b"})
    assert cond("StringEquals", "aws:Referer", "${$}5", {"aws:Referer": "$5"})


def test_variables_only_in_2012_version():
    # With Version 2008-10-17 "${aws:username}" is literal text.
    assert not cond(
        "StringEquals",
        "aws:Referer",
        "${aws:username}",
        {"aws:Referer": "alice", "aws:username": "alice"},
        version="2008-10-17",
    )
    assert cond(
        "StringEquals",
        "aws:Referer",
        "${aws:username}",
        {"aws:Referer": "${aws:username}"},
        version="2008-10-17",
    )


def test_tag_variables_and_missing_in_negated_operator():
    ctx = {"aws:PrincipalTag/team": "red", "aws:ResourceTag/team": "red"}
    assert cond("StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}", ctx)
    # A variable AWS cannot resolve "might cause the entire statement to be invalid": the
    # value matches nothing, and a negated operator is false rather than vacuously true.
    assert not cond("StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/dept}", ctx)
    assert not cond("StringNotEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/dept}", ctx)
    both = ["${aws:PrincipalTag/dept}", "red"]
    assert cond("StringEquals", "aws:ResourceTag/team", both, ctx)  # another value still matches
    assert not cond(
        "StringNotEquals", "aws:ResourceTag/team", ["${aws:PrincipalTag/dept}", "x"], ctx
    )


def test_variable_names_case_insensitive():
    assert cond(
        "StringEquals",
        "aws:Referer",
        "${AWS:UserName}",
        {"aws:Referer": "alice", "aws:username": "alice"},
    )


def test_multivalued_key_is_not_a_variable():
    assert not cond(
        "StringEquals",
        "aws:Referer",
        "${aws:TagKeys}",
        {"aws:Referer": "a", "aws:TagKeys": ["a", "b"]},
    )


def test_arn_operator_with_variable():
    ctx = {"aws:PrincipalArn": ALICE.arn, "aws:username": "alice"}
    assert cond("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:user/${aws:username}", ctx)
    assert not cond("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:user/${aws:userid}", ctx)
