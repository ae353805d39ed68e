"""The custom policy checks: PASS answers checked against the real evaluator.

Soundness is the property that matters: when a check says PASS, no request may show it
wrong. Hypothesis draws small policies over a small vocabulary (so overlaps are common) and
requests over the same vocabulary, and the policy engine decides them.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from opensts.analyzer import checks
from opensts.policy import PolicyKind, PolicySet, Principal, PrincipalKind, Request, evaluate

ACCOUNT = "123456789012"
USER = Principal(PrincipalKind.USER, f"arn:aws:iam::{ACCOUNT}:user/u", ACCOUNT)
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "iam:PassRole",
           "iam:GetRole"]
ACTION_PATTERNS = [*ACTIONS, "s3:*", "s3:Get*", "s3:*Object", "iam:*", "*", "s3:?etObject"]
RESOURCES = ["arn:aws:s3:::a", "arn:aws:s3:::a/k", "arn:aws:s3:::b/k",
             f"arn:aws:iam::{ACCOUNT}:role/r"]
RESOURCE_PATTERNS = [*RESOURCES, "*", "arn:aws:s3:::a/*", "arn:aws:s3:::*", "arn:aws:s3:::?/k",
                     "arn:aws:s3:::a/${aws:username}"]
CONDITIONS = [None, {"Bool": {"aws:SecureTransport": "true"}},
              {"StringEquals": {"aws:username": "u"}}]
CONTEXTS = [{}, {"aws:SecureTransport": "true"}, {"aws:username": "u"},
            {"aws:username": "k", "aws:SecureTransport": "false"}]


def _one_or_many(values):
    return st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True).map(
        lambda xs: xs[0] if len(xs) == 1 else xs)


@st.composite
def statements(draw):
    s = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    s["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = draw(
        _one_or_many(ACTION_PATTERNS))
    s["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = draw(
        _one_or_many(RESOURCE_PATTERNS))
    condition = draw(st.sampled_from(CONDITIONS))
    if condition:
        s["Condition"] = condition
    return s


policies = st.lists(statements(), min_size=1, max_size=4).map(
    lambda sts: json.dumps({"Version": "2012-10-17", "Statement": sts}))


def _policy(text):
    return checks.parse(text, PolicyKind.IDENTITY)


def _allowed(text, action, resource, context):
    request = Request(USER, action, resource, context=context)
    return evaluate(request, PolicySet(identity=[("p", _policy(text))])).decision == "allowed"


def _requests():
    for action in ACTIONS:
        for resource in RESOURCES:
            for context in CONTEXTS:
                yield action, resource, context


@settings(max_examples=150, deadline=None)
@given(policies)
def test_a_policy_brings_no_new_access_over_itself(text):
    assert checks.check_no_new_access(_policy(text), _policy(text)).result == "PASS"


@settings(max_examples=150, deadline=None)
@given(policies, policies)
def test_no_new_access_pass_is_sound(new, existing):
    result = checks.check_no_new_access(_policy(new), _policy(existing))
    if result.result == "PASS":
        for action, resource, context in _requests():
            if _allowed(new, action, resource, context):
                assert _allowed(existing, action, resource, context), (action, resource, context)
    else:
        assert result.reasons


@settings(max_examples=100, deadline=None)
@given(policies, st.sampled_from(ACTIONS))
def test_an_allow_on_an_action_not_granted_is_new_access(text, action):
    existing = _policy(text)
    if any(_allowed(text, action, r, c) for r in RESOURCES for c in CONTEXTS):
        return
    doc = json.loads(text)
    doc["Statement"].append({"Effect": "Allow", "Action": action, "Resource": "*"})
    new = json.dumps(doc)
    if not any(_allowed(new, action, r, c) for r in RESOURCES for c in CONTEXTS):
        return  # a Deny of the existing policy, kept, still refuses it: no new access
    result = checks.check_no_new_access(_policy(new), existing)
    assert result.result == "FAIL"
    assert result.reasons[-1].statement_index == len(doc["Statement"]) - 1


@settings(max_examples=150, deadline=None)
@given(policies, st.lists(st.sampled_from(ACTIONS), max_size=2, unique=True),
       st.lists(st.sampled_from(RESOURCES), max_size=2, unique=True))
def test_access_not_granted_pass_is_sound(text, actions, resources):
    if not actions and not resources:
        return
    result = checks.check_access_not_granted(_policy(text), actions, resources)
    if result.result == "PASS":
        for action in actions or ACTIONS:
            for resource in resources or RESOURCES:
                for context in CONTEXTS:
                    assert not _allowed(text, action, resource, context)


def test_access_not_granted_trusts_an_unconditional_deny_only():
    allow_all = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}
    text = json.dumps({"Version": "2012-10-17", "Statement": [allow_all, deny]})
    assert checks.check_access_not_granted(_policy(text), ["iam:PassRole"], []).result == "PASS"
    deny["Condition"] = {"Bool": {"aws:SecureTransport": "false"}}
    text = json.dumps({"Version": "2012-10-17", "Statement": [allow_all, deny]})
    assert checks.check_access_not_granted(_policy(text), ["iam:PassRole"], []).result == "FAIL"


def test_dropping_a_deny_is_new_access():
    allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    old = _policy(json.dumps({"Version": "2012-10-17", "Statement": [allow, deny]}))
    new = _policy(json.dumps({"Version": "2012-10-17", "Statement": [allow]}))
    result = checks.check_no_new_access(new, old)
    assert result.result == "FAIL"
    assert "Deny statement with index 1" in result.reasons[0].description


def test_a_new_condition_only_narrows():
    old = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    new = {**old, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    pair = [_policy(json.dumps({"Version": "2012-10-17", "Statement": [s]})) for s in (new, old)]
    assert checks.check_no_new_access(*pair).result == "PASS"
    assert checks.check_no_new_access(pair[1], pair[0]).result == "FAIL"


def _resource_policy(statement):
    return checks.parse(json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
                        PolicyKind.RESOURCE)


def test_no_public_access():
    public = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}
    assert checks.check_no_public_access(_resource_policy(public),
                                         "AWS::SQS::Queue").result == "FAIL"
    account = {**public, "Principal": {"AWS": ACCOUNT}}
    assert checks.check_no_public_access(_resource_policy(account),
                                         "AWS::SQS::Queue").result == "PASS"
    unknown_key = {**public, "Condition": {"StringEquals": {"sqs:Whatever": "x"}}}
    assert checks.check_no_public_access(_resource_policy(unknown_key),
                                         "AWS::SQS::Queue").result == "FAIL"
    source = {**public, "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
    assert checks.check_no_public_access(_resource_policy(source),
                                         "AWS::SQS::Queue").result == "PASS"


# --- resource policies: principals too ----------------------------------------------------

V_USER = Principal(PrincipalKind.USER, f"arn:aws:iam::{ACCOUNT}:user/v", ACCOUNT)
EC2 = Principal(PrincipalKind.SERVICE, "ec2.amazonaws.com", None)
PRINCIPALS = ["*", {"AWS": ACCOUNT}, {"AWS": USER.arn}, {"AWS": [USER.arn, V_USER.arn]},
              {"Service": "ec2.amazonaws.com"}, {"AWS": "*"}]


@st.composite
def resource_statements(draw):
    s = draw(statements())
    s["Principal"] = draw(st.sampled_from(PRINCIPALS))
    return s


resource_policies = st.lists(resource_statements(), min_size=1, max_size=3).map(
    lambda sts: json.dumps({"Version": "2012-10-17", "Statement": sts}))


def _resource_allowed(text, who, action, resource, context):
    policy = checks.parse(text, PolicyKind.RESOURCE)
    request = Request(who, action, resource, resource_account=ACCOUNT, context=context)
    return evaluate(request, PolicySet(resource=("r", policy))).decision == "allowed"


@settings(max_examples=150, deadline=None)
@given(resource_policies, resource_policies)
def test_no_new_access_pass_is_sound_for_resource_policies(new, existing):
    parsed = [checks.parse(t, PolicyKind.RESOURCE) for t in (new, existing)]
    if checks.check_no_new_access(*parsed).result != "PASS":
        return
    for who in (USER, V_USER, EC2):
        for action, resource, context in _requests():
            if _resource_allowed(new, who, action, resource, context):
                assert _resource_allowed(existing, who, action, resource, context)


@settings(max_examples=150, deadline=None)
@given(resource_policies, st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2,
                                   unique=True))
def test_access_not_granted_pass_is_sound_for_resource_policies(text, actions):
    policy = checks.parse(text, PolicyKind.RESOURCE)
    if checks.check_access_not_granted(policy, actions, []).result != "PASS":
        return
    for who in (USER, V_USER, EC2):
        for action in actions:
            for resource in RESOURCES:
                for context in CONTEXTS:
                    assert not _resource_allowed(text, who, action, resource, context)
