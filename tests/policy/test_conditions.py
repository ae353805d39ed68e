"""Condition operators, one table per family.

Source: IAM User Guide, "IAM JSON policy elements: Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
and "Single-valued vs. multivalued context keys"
(reference_policies_condition-single-vs-multi-valued-context-keys.html).
"""

from __future__ import annotations

import pytest

from opensts.errors import MalformedPolicyDocument
from opensts.policy import PolicyKind

from .helpers import allow, cond, decide, pol

K = "aws:Referer"  # any single-valued key


@pytest.mark.parametrize(
    ("op", "values", "ctx", "expected"),
    [
        # String: case-sensitive unless IgnoreCase; wildcards only in *Like.
        ("StringEquals", "abc", "abc", True),
        ("StringEquals", "abc", "ABC", False),
        ("StringEquals", "a*", "abc", False),
        ("StringEquals", ["x", "abc"], "abc", True),  # values are ORed
        ("StringNotEquals", "abc", "abd", True),
        ("StringNotEquals", ["x", "abc"], "abc", False),  # negated with values = NOR
        ("StringEqualsIgnoreCase", "AbC", "aBc", True),
        ("StringNotEqualsIgnoreCase", "AbC", "aBc", False),
        ("StringLike", "a*c", "abbbc", True),
        ("StringLike", "a?c", "abc", True),
        ("StringLike", "a?c", "abbc", False),
        ("StringLike", "a.c", "abc", False),  # '.' is literal, never a regex metacharacter
        ("StringLike", "a(b", "a(b", True),
        ("StringLike", "A*", "abc", False),
        ("StringNotLike", "a*", "xyz", True),
        ("StringNotLike", "a*", "abc", False),
        # Numeric
        ("NumericEquals", "10", "10.0", True),
        ("NumericNotEquals", "10", "11", True),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "10.5", True),
        ("NumericGreaterThanEquals", "10", "9.99", False),
        ("NumericEquals", "10", "ten", False),
        ("NumericNotEquals", "10", "ten", False),  # unreadable value never matches
        # Date: ISO 8601 or epoch seconds.
        ("DateLessThan", "2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", True),
        ("DateLessThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
        ("DateLessThanEquals", "2024-01-01T00:00:00Z", "1704067200", True),
        ("DateGreaterThan", "1704067200", "2024-01-01T00:00:01Z", True),
        ("DateEquals", "2024-01-01", "2024-01-01T00:00:00+00:00", True),
        ("DateNotEquals", "2024-01-01", "2024-01-02", True),
        ("DateGreaterThanEquals", "2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00Z", True),
        ("DateEquals", "2024-01-01", "not-a-date", False),
        # Bool
        ("Bool", "true", "true", True),
        ("Bool", "true", "TRUE", True),
        ("Bool", "true", "false", False),
        ("Bool", True, "true", True),  # JSON boolean in the policy
        # Binary: compared byte for byte after base-64 decoding.
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", "QmluYXJ5VmFsdWU=", True),
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", "QmluYXJ5VmFsdWF=", False),
        # IP: CIDR, a bare address is /32; IPv4 and IPv6.
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
        ("IpAddress", "203.0.113.0/24", "203.0.114.7", False),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),
        ("IpAddress", "2001:db8::/32", "2001:db8:1::5", True),
        ("IpAddress", "2001:db8::/32", "203.0.113.7", False),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        ("NotIpAddress", ["203.0.113.0/24", "198.51.100.0/24"], "198.51.100.1", False),
        ("IpAddress", "203.0.113.0/24", "garbage", False),
        # ARN: per-segment wildcards, case-sensitive; ArnEquals behaves like ArnLike.
        ("ArnLike", "arn:aws:iam::*:role/ops/*", "arn:aws:iam::111122223333:role/ops/x", True),
        ("ArnLike", "arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:user/x", False),
        ("ArnEquals", "arn:aws:iam::*:role/x", "arn:aws:iam::111122223333:role/x", True),
        ("ArnLike", "arn:aws:iam::*:ROLE/x", "arn:aws:iam::111122223333:role/x", False),
        ("ArnLike", "arn:aws:s3:::b*", "arn:aws:s3:::bucket", True),
        ("ArnLike", "arn:aws:*:us-east-1:*", "arn:aws:sqs:us-east-1:1:q", True),
        # '*' in an early segment stays in that segment.
        ("ArnLike", "arn:aws:s*:us-east-1:1:q", "arn:aws:sqs:x:us-east-1:1:q", False),
        ("ArnNotLike", "arn:aws:iam::*:role/x", "arn:aws:iam::1:role/y", True),
        ("ArnNotEquals", "arn:aws:iam::*:role/x", "arn:aws:iam::1:role/x", False),
        ("ArnLike", "arn:aws:iam::*:role/x", "not-an-arn", False),
    ],
)
def test_operator(op, values, ctx, expected):
    assert cond(op, K, values, {K: ctx}) is expected


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        # "If the key that you specify in a policy condition is not present in the request
        # context, the values do not match" — but negated operators then match.
        ("StringEquals", False),
        ("StringNotEquals", True),
        ("StringLike", False),
        ("StringNotLike", True),
        ("StringNotEqualsIgnoreCase", True),
        ("NumericLessThan", False),
        ("NumericNotEquals", True),
        ("DateNotEquals", True),
        ("Bool", False),
        ("IpAddress", False),
        ("NotIpAddress", True),
        ("ArnLike", False),
        ("ArnNotLike", True),
        ("StringEqualsIfExists", True),
        ("NumericLessThanIfExists", True),
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringEquals", False),
    ],
)
def test_missing_key(op, expected):
    assert cond(op, K, "1", {}) is expected


def test_if_exists_applies_operator_when_present():
    assert cond("StringEqualsIfExists", K, "a", {K: "a"})
    assert not cond("StringEqualsIfExists", K, "a", {K: "b"})


def test_null_operator():
    # Null: true = key absent; false = key present.
    assert cond("Null", K, "true", {})
    assert not cond("Null", K, "true", {K: "x"})
    assert cond("Null", K, "false", {K: "x"})
    assert not cond("Null", K, "false", {})
    assert cond("Null", "aws:TagKeys", "false", {"aws:TagKeys": []})  # an empty set is present


def test_keys_are_case_insensitive():
    # "Condition key names are not case-sensitive" (reference_policies_elements_condition).
    assert cond("StringEquals", "AWS:REFERER", "x", {"aws:referer": "x"})


class TestSetOperators:
    """reference_policies_condition-single-vs-multi-valued-context-keys."""

    KEY = "aws:TagKeys"

    def test_for_all_values(self):
        assert cond("ForAllValues:StringEquals", self.KEY, ["a", "b"], {self.KEY: ["a"]})
        assert cond("ForAllValues:StringEquals", self.KEY, ["a", "b"], {self.KEY: ["a", "b"]})
        assert not cond("ForAllValues:StringEquals", self.KEY, ["a"], {self.KEY: ["a", "c"]})
        # "also true if the key is missing or resolves to an empty set"
        assert cond("ForAllValues:StringEquals", self.KEY, ["a"], {self.KEY: []})
        assert cond("ForAllValues:StringEquals", self.KEY, ["a"], {})

    def test_for_any_value(self):
        assert cond("ForAnyValue:StringEquals", self.KEY, ["a"], {self.KEY: ["c", "a"]})
        assert not cond("ForAnyValue:StringEquals", self.KEY, ["a"], {self.KEY: ["c"]})
        assert not cond("ForAnyValue:StringEquals", self.KEY, ["a"], {self.KEY: []})
        assert not cond("ForAnyValue:StringEquals", self.KEY, ["a"], {})

    def test_negated_set_operators(self):
        # Every request value must be different from all policy values.
        assert cond("ForAllValues:StringNotEquals", self.KEY, ["x"], {self.KEY: ["a", "b"]})
        assert not cond("ForAllValues:StringNotEquals", self.KEY, ["a"], {self.KEY: ["a", "b"]})
        assert cond("ForAnyValue:StringNotLike", self.KEY, ["a*"], {self.KEY: ["ab", "zz"]})

    def test_for_any_value_if_exists(self):
        assert cond("ForAnyValue:StringEqualsIfExists", self.KEY, ["a"], {})
        assert not cond("ForAnyValue:StringEqualsIfExists", self.KEY, ["a"], {self.KEY: ["b"]})

    def test_single_valued_operator_on_multivalued_value_is_false(self):
        # Multivalued keys "require a condition set operator"; without one nothing matches.
        assert not cond("StringEquals", self.KEY, "a", {self.KEY: ["a", "b"]})
        assert not cond("StringNotEquals", self.KEY, "z", {self.KEY: ["a", "b"]})
        assert cond("StringEquals", self.KEY, "a", {self.KEY: ["a"]})  # one value is single


def test_combination_rules():
    # Operators AND, keys under an operator AND, values OR.
    p = pol(
        allow(
            Condition={
                "StringEquals": {"aws:Referer": ["a", "b"], "aws:UserAgent": "ua"},
                "Bool": {"aws:SecureTransport": "true"},
            }
        )
    )
    ok = {"aws:Referer": "b", "aws:UserAgent": "ua", "aws:SecureTransport": "true"}
    assert decide(identity=[p], context=ok).allowed
    assert not decide(identity=[p], context={**ok, "aws:UserAgent": "x"}).allowed
    assert not decide(identity=[p], context={**ok, "aws:SecureTransport": "false"}).allowed


@pytest.mark.parametrize(
    "op",
    ["StringEqualz", "NullIfExists", "ForSomeValues:StringEquals", "Numeric", "IfExists"],
)
def test_unknown_operator_is_malformed(op):
    # IAM's answer for an unknown operator (AWS-recorded); other kinds keep the detail.
    with pytest.raises(MalformedPolicyDocument, match=r"^Syntax errors in policy\.$"):
        pol(allow(Condition={op: {K: "x"}}))
    with pytest.raises(MalformedPolicyDocument, match="Invalid Condition type"):
        pol(allow(Condition={op: {K: "x"}}, Principal="*"), kind=PolicyKind.RESOURCE)


def test_operator_names_are_case_insensitive():
    assert cond("stringequals", K, "x", {K: "x"})
    assert cond("forallvalues:stringequalsifexists", K, "x", {K: "x"})
