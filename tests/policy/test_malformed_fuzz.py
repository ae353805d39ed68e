"""Hundreds of broken documents: parse_policy must raise MalformedPolicyDocument (code,
status 400, a message) and never any other exception. Valid-looking mutations that happen to
be acceptable must parse into a usable policy."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opensts.errors import MalformedPolicyDocument
from opensts.policy import PolicyKind, parse_policy

from .helpers import ALICE, decide

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Bogus",
]
GOOD = {
    "Sid": "S1",
    "Effect": "Allow",
    "Principal": {"AWS": ALICE.arn},
    "Action": "s3:Get*",
    "Resource": "arn:aws:s3:::b/*",
    "Condition": {"StringLike": {"aws:Referer": ["a*", "${aws:username}"]}},
}


@st.composite
def mutated(draw):
    stmt = dict(GOOD)
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(FIELDS))
        if draw(st.booleans()) and field in stmt:
            del stmt[field]
        else:
            stmt[field] = draw(json_value)
    doc = {
        "Version": draw(st.sampled_from(["2012-10-17", "2008-10-17", "2099-01-01", 7])),
        "Statement": draw(st.sampled_from([stmt, [stmt], [stmt, 3], {}])),
    }
    text = json.dumps(doc)
    if draw(st.integers(0, 5)) == 0:  # byte-level damage
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=3)) + text[cut + 1 :]
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.sampled_from(list(PolicyKind)))
def test_bad_documents_raise_only_malformed(text, kind):
    try:
        policy = parse_policy(text, kind)
    except MalformedPolicyDocument as exc:
        assert exc.code == "MalformedPolicyDocument" and exc.status == 400 and exc.message
        return
    # Accepted: it must evaluate without error.
    if kind == PolicyKind.IDENTITY:
        assert decide(identity=[policy]).decision in ("allowed", "explicitDeny", "implicitDeny")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text(text):
    with contextlib.suppress(MalformedPolicyDocument):
        parse_policy(text, PolicyKind.IDENTITY)


def test_deeply_nested_json():
    text = '{"Statement": ' + "[" * 5000 + "]" * 5000 + "}"
    try:
        parse_policy(text, PolicyKind.IDENTITY)
    except MalformedPolicyDocument:
        return
    raise AssertionError("accepted a nested list as a statement")
