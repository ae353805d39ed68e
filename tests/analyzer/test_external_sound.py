"""Soundness of the external-access engine against the real policy evaluator.

For random trust policies (principals, confining, narrowing, negated and unknown conditions,
Deny guards), every caller outside the zone that opensts.policy.evaluate lets assume the role
under some request context must be covered by a finding: an ``AWS: "*"`` finding or one
naming the caller's account. The engine may report more (it over-approximates), never less.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opensts.analyzer.external import ROLE, Resource, analyze
from opensts.analyzer.zone import Zone, account_zone, organization_zone
from opensts.policy import PolicyKind, parse_policy
from opensts.policy.evaluator import evaluate
from opensts.policy.model import PolicySet, Principal, PrincipalKind, Request

ME, PEER, THIRD = "111111111111", "222222222222", "333333333333"
ORG, OTHER_ORG = "o-abcdefghij", "o-zzzzzzzzzz"
ROLE_ARN = f"arn:aws:iam::{ME}:role/target"
ALLOW_ALL = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]}), PolicyKind.IDENTITY)

PRINCIPALS = ["*", {"AWS": "*"}, {"AWS": THIRD}, {"AWS": f"arn:aws:iam::{THIRD}:root"},
              {"AWS": f"arn:aws:iam::{THIRD}:role/caller"}, {"AWS": PEER}, {"AWS": ME},
              {"Service": "ec2.amazonaws.com"}]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:PrincipalOrgID": ORG}},
    {"StringEquals": {"aws:PrincipalOrgID": OTHER_ORG}},
    {"StringNotEquals": {"aws:PrincipalOrgID": ORG}},
    {"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}},
    {"StringEquals": {"aws:PrincipalAccount": [ME, PEER]}},
    {"StringEquals": {"aws:PrincipalAccount": THIRD}},
    {"StringLike": {"aws:PrincipalArn": f"arn:aws:iam::{THIRD}:role/*"}},
    {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ME}:*"}},
    {"StringEquals": {"sts:ExternalId": "secret"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/*"}},
    {"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/*"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringEquals": {"aws:PrincipalTag/team": "${aws:PrincipalTag/team}"}},
]
DENY_CONDITIONS = [
    {"StringNotEquals": {"aws:PrincipalOrgID": ORG}},
    {"StringNotEqualsIfExists": {"aws:PrincipalAccount": [ME, PEER]}},
    {"ForAnyValue:StringNotLike": {"aws:PrincipalOrgPaths": f"{ORG}/*"}},
    {"StringEquals": {"sts:ExternalId": "secret"}},
]


def _statement(principal: Any, conditions: list[dict[str, Any]], deny: bool) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": "Deny" if deny else "Allow", "Principal": principal,
                         "Action": "sts:AssumeRole"}
    merged: dict[str, dict[str, Any]] = {}
    for c in conditions:
        for op, keys in c.items():
            merged.setdefault(op, {}).update(keys)
    if merged:
        s["Condition"] = merged
    return s


allows = st.builds(lambda p, c: _statement(p, c, False), st.sampled_from(PRINCIPALS),
                   st.lists(st.sampled_from(CONDITIONS), max_size=2))
denies = st.builds(lambda c: _statement("*", [c], True), st.sampled_from(DENY_CONDITIONS))
policies = st.builds(lambda a, d: {"Version": "2012-10-17", "Statement": a + d},
                     st.lists(allows, min_size=1, max_size=3),
                     st.lists(denies, max_size=1))


def _callers(zone: Zone) -> list[tuple[str, dict[str, Any]]]:
    """(caller account, context) pairs for callers outside the zone: every combination of
    the keys the policies test, consistent with the caller's organization."""
    out = []
    for account in (PEER, THIRD):
        if zone.trusts_account(account):
            continue
        member = account in zone.org_accounts
        orgs = [ORG] if member else [None, OTHER_ORG]
        for org, external_id, ip, secure in itertools.product(
                orgs, [None, "secret"], ["203.0.113.9", "198.51.100.1"], ["true", "false"]):
            ctx: dict[str, Any] = {"aws:PrincipalAccount": account, "aws:SourceIp": ip,
                                   "aws:SecureTransport": secure}
            if org is not None:
                ctx["aws:PrincipalOrgID"] = org
                ctx["aws:PrincipalOrgPaths"] = [f"{org}/r-ab12/"]
            if external_id is not None:
                ctx["sts:ExternalId"] = external_id
            out.append((account, ctx))
    return out


def _allowed(policy: str, account: str, ctx: dict[str, Any]) -> bool:
    principal = Principal(PrincipalKind.ROLE, f"arn:aws:iam::{account}:role/caller", account,
                          unique_id="AROAEXAMPLEEXAMPLE01")
    ctx = {**ctx, "aws:PrincipalArn": principal.arn}
    request = Request(principal=principal, action="sts:AssumeRole", resource=ROLE_ARN,
                      resource_account=ME, context=ctx)
    policies = PolicySet(identity=[("id", ALLOW_ALL)],
                         resource=(ROLE_ARN, parse_policy(policy, PolicyKind.TRUST)),
                         resource_must_allow=True)
    return evaluate(request, policies).allowed


def _covered(findings: list[Any], account: str) -> bool:
    for f in findings:
        value = f.principal_map().get("AWS")
        if value == "*" or (value is not None and value.split(":")[4:5] in ([account], [])
                            and account in value):
            return "sts:AssumeRole" in f.actions
    return False


@settings(max_examples=300, deadline=None)
@given(policies, st.sampled_from(["account", "organization"]))
def test_every_external_caller_the_evaluator_admits_is_reported(doc: dict[str, Any],
                                                                 kind: str) -> None:
    zone = (account_zone(ME, ORG, [ME, PEER]) if kind == "account"
            else organization_zone(ORG, [ME, PEER]))
    text = json.dumps(doc)
    findings = analyze(Resource(ROLE, ROLE_ARN, ME, text), zone)
    for account, ctx in _callers(zone):
        if _allowed(text, account, ctx):
            assert _covered(findings, account), (text, account, ctx, findings)


BUCKET_ARN = "arn:aws:s3:::shared"
BUCKET_RESOURCES = ["arn:aws:s3:::shared/*", "arn:aws:s3:::shared/public/*", "*",
                    "arn:aws:s3:::other/*", "arn:aws:s3:::shar*"]
BUCKET_ACTIONS = ["s3:GetObject", "s3:Get*", "s3:*", "s3:PutObject", "*"]


def _bucket_statement(principal: Any, action: str, resource: str,
                      conditions: list[dict[str, Any]], deny: bool) -> dict[str, Any]:
    s = _statement(principal, conditions, deny)
    s["Action"] = action
    s["Resource"] = resource
    return s


bucket_allows = st.builds(lambda p, a, r, c: _bucket_statement(p, a, r, c, False),
                          st.sampled_from(PRINCIPALS), st.sampled_from(BUCKET_ACTIONS),
                          st.sampled_from(BUCKET_RESOURCES),
                          st.lists(st.sampled_from(CONDITIONS[:-1]), max_size=2))
bucket_denies = st.builds(lambda a, r, c: _bucket_statement("*", a, r, [c], True),
                          st.sampled_from(BUCKET_ACTIONS), st.sampled_from(BUCKET_RESOURCES),
                          st.sampled_from(DENY_CONDITIONS))
bucket_policies = st.builds(lambda a, d: {"Version": "2012-10-17", "Statement": a + d},
                            st.lists(bucket_allows, min_size=1, max_size=3),
                            st.lists(bucket_denies, max_size=1))


@settings(max_examples=300, deadline=None)
@given(bucket_policies, st.sampled_from(["account", "organization"]))
def test_every_external_reader_of_a_bucket_is_reported(doc: dict[str, Any], kind: str) -> None:
    from opensts.analyzer.external import BUCKET

    zone = (account_zone(ME, ORG, [ME, PEER]) if kind == "account"
            else organization_zone(ORG, [ME, PEER]))
    text = json.dumps(doc)
    findings = analyze(Resource(BUCKET, BUCKET_ARN, ME, text), zone)
    policy = parse_policy(text, PolicyKind.RESOURCE)
    for account, ctx in _callers(zone):
        principal = Principal(PrincipalKind.ROLE, f"arn:aws:iam::{account}:role/caller",
                              account, unique_id="AROAEXAMPLEEXAMPLE01")
        request = Request(principal=principal, action="s3:GetObject",
                          resource=f"{BUCKET_ARN}/public/key", resource_account=ME,
                          context={**ctx, "aws:PrincipalArn": principal.arn})
        if evaluate(request, PolicySet(identity=[("id", ALLOW_ALL)],
                                       resource=(BUCKET_ARN, policy))).allowed:
            assert any(
                "s3:GetObject" in f.actions and (
                    f.principal_map().get("AWS") == "*"
                    or account in (f.principal_map().get("AWS") or ""))
                for f in findings), (text, account, ctx, findings)
