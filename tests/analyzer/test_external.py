"""The external-access engine (opensts.analyzer.external), pure: one case per documented rule."""

from __future__ import annotations

import json
from typing import Any

from opensts.analyzer.external import BUCKET, ROLE, UNPARSEABLE, Access, Resource, analyze
from opensts.analyzer.zone import account_zone, organization_zone

ME = "111111111111"
PEER = "222222222222"  # another member of our organization
THIRD = "333333333333"  # a third party
ORG = "o-abcdefghij"
ACCOUNT = account_zone(ME, ORG, [ME, PEER])
ORGANIZATION = organization_zone(ORG, [ME, PEER])


def trust(*statements: dict[str, Any]) -> Resource:
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    return Resource(ROLE, f"arn:aws:iam::{ME}:role/r", ME, json.dumps(doc))


def bucket(*statements: dict[str, Any], restrict_public: bool = False) -> Resource:
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    return Resource(BUCKET, "arn:aws:s3:::b", ME, json.dumps(doc), restrict_public)


def assume(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        s["Condition"] = condition
    return s


def test_third_party_without_external_id_is_reported() -> None:
    [found] = analyze(trust(assume({"AWS": f"arn:aws:iam::{THIRD}:root"})), ACCOUNT)
    assert found.principal_map() == {"AWS": f"arn:aws:iam::{THIRD}:root"}
    assert found.actions == ("sts:AssumeRole",)
    assert found.condition == () and found.is_public is False


def test_external_id_is_shown_as_the_condition() -> None:
    [found] = analyze(trust(assume({"AWS": THIRD},
                                   {"StringEquals": {"sts:ExternalId": "xyz"}})), ACCOUNT)
    assert found.condition_map() == {"sts:ExternalId": "xyz"}
    assert not found.is_public


def test_own_account_and_services_are_inside() -> None:
    res = trust(assume({"AWS": f"arn:aws:iam::{ME}:root"}),
                assume({"Service": "ec2.amazonaws.com"}))
    assert analyze(res, ACCOUNT) == []


def test_org_member_inside_the_organization_only() -> None:
    res = trust(assume({"AWS": PEER}))
    assert analyze(res, ORGANIZATION) == []
    assert [f.principal_map() for f in analyze(res, ACCOUNT)] == [{"AWS": PEER}]


def test_star_limited_by_principal_org_id() -> None:
    res = trust(assume("*", {"StringEquals": {"aws:PrincipalOrgID": ORG}}))
    assert analyze(res, ORGANIZATION) == []
    [found] = analyze(res, ACCOUNT)
    assert found.principal_map() == {"AWS": "*"}
    assert found.condition_map() == {"aws:PrincipalOrgID": ORG}
    assert found.is_public is False


def test_star_without_condition_is_public() -> None:
    [found] = analyze(trust(assume({"AWS": "*"})), ORGANIZATION)
    assert found.is_public and found.principal_map() == {"AWS": "*"}


def test_negated_or_if_exists_conditions_never_hide() -> None:
    for condition in ({"StringNotEquals": {"aws:PrincipalOrgID": "o-other"}},
                      {"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}},
                      {"StringEquals": {"aws:PrincipalOrgID": "${aws:PrincipalTag/org}"}},
                      {"Bool": {"aws:SecureTransport": "true"}}):
        [found] = analyze(trust(assume("*", condition)), ORGANIZATION)
        assert found.is_public, condition


def test_principal_account_condition_confines() -> None:
    res = trust(assume("*", {"StringEquals": {"aws:PrincipalAccount": [ME, PEER]}}))
    assert analyze(res, ORGANIZATION) == []
    [found] = analyze(res, ACCOUNT)
    assert found.condition_map() == {"aws:PrincipalAccount": f"{ME},{PEER}"}


def test_org_paths_inside_organization() -> None:
    res = trust(assume("*", {"ForAnyValue:StringLike": {
        "aws:PrincipalOrgPaths": f"{ORG}/r-ab12/ou-ab12-11111111/*"}}))
    assert analyze(res, ORGANIZATION) == []
    assert len(analyze(res, ACCOUNT)) == 1
    wild = trust(assume("*", {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-*"}}))
    assert len(analyze(wild, ORGANIZATION)) == 1


def test_source_ip_narrows_unless_broad() -> None:
    [narrow] = analyze(trust(assume("*", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})),
                       ACCOUNT)
    assert not narrow.is_public and narrow.condition_map() == {"aws:SourceIp": "203.0.113.0/24"}
    [broad] = analyze(trust(assume("*", {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})), ACCOUNT)
    assert broad.is_public


def test_federated_provider_is_reported() -> None:
    saml = f"arn:aws:iam::{ME}:saml-provider/corp"
    res = trust({"Effect": "Allow", "Principal": {"Federated": saml},
                 "Action": "sts:AssumeRoleWithSAML",
                 "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}})
    [found] = analyze(res, ORGANIZATION)
    assert found.principal_map() == {"Federated": saml}
    assert found.actions == ("sts:AssumeRoleWithSAML",) and not found.is_public


def test_unconditional_deny_removes_and_guard_deny_confines() -> None:
    deny_all = {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}
    assert analyze(trust(assume({"AWS": THIRD}), deny_all), ACCOUNT) == []
    guard = {"Effect": "Deny", "Principal": "*", "Action": "*",
             "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG}}}
    assert analyze(trust(assume("*"), guard), ORGANIZATION) == []
    conditional = {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole",
                   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}
    assert len(analyze(trust(assume({"AWS": THIRD}), conditional), ACCOUNT)) == 1


def test_principal_account_contradiction_grants_nothing() -> None:
    res = trust(assume({"AWS": THIRD}, {"StringEquals": {"aws:PrincipalAccount": ME}}))
    assert analyze(res, ACCOUNT) == []


def test_bucket_read_by_another_account() -> None:
    res = bucket({"Effect": "Allow", "Principal": {"AWS": THIRD},
                  "Action": ["s3:GetObject", "s3:ListBucket"],
                  "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]})
    [found] = analyze(res, ORGANIZATION)
    assert found.actions == ("s3:GetObject", "s3:ListBucket")
    assert found.principal_map() == {"AWS": THIRD}


def test_bucket_statement_on_other_resources_grants_nothing_here() -> None:
    res = bucket({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                  "Resource": "arn:aws:s3:::bother/*"})
    assert analyze(res, ACCOUNT) == []


def test_public_bucket_under_restrict_public_buckets() -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::b/*"}
    [found] = analyze(bucket(statement), ACCOUNT)
    assert found.is_public
    assert analyze(bucket(statement, restrict_public=True), ACCOUNT) == []


def test_unparseable_policy_is_one_public_finding() -> None:
    res = Resource(ROLE, f"arn:aws:iam::{ME}:role/r", ME, "{not json")
    assert analyze(res, ACCOUNT) == [Access((("AWS", "*"),), ("*",), (), True, UNPARSEABLE)]


def test_same_principal_and_condition_merge_actions() -> None:
    res = trust(assume({"AWS": THIRD}),
                {"Effect": "Allow", "Principal": {"AWS": THIRD}, "Action": "sts:TagSession"})
    [found] = analyze(res, ACCOUNT)
    assert found.actions == ("sts:AssumeRole", "sts:TagSession")


def test_deny_guards_that_do_not_confine_are_ignored() -> None:
    # ForAnyValue:StringNotLike is false for a caller without org paths: the Deny lets
    # principals outside every organization through, so the Allow still grants them.
    paths = {"Effect": "Deny", "Principal": "*", "Action": "*", "Condition": {
        "ForAnyValue:StringNotLike": {"aws:PrincipalOrgPaths": f"{ORG}/*"}}}
    assert len(analyze(trust(assume("*"), paths), ORGANIZATION)) == 1
    not_resource = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "NotResource": "*"}
    statement = {"Effect": "Allow", "Principal": {"AWS": THIRD}, "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::b/*"}
    assert len(analyze(bucket(statement, not_resource), ACCOUNT)) == 1
    variable = {"Effect": "Deny", "Principal": "*", "Action": "*", "Condition": {
        "StringNotEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}}}
    assert len(analyze(trust(assume({"AWS": THIRD}), variable), ACCOUNT)) == 1


def test_only_aws_services_get_nothing() -> None:
    res = trust(assume("*", {"Bool": {"aws:PrincipalIsAWSService": "true"}}))
    assert analyze(res, ACCOUNT) == []


def test_wildcard_confining_values_do_not_narrow() -> None:
    [anyone] = analyze(trust(assume("*", {"StringLike": {"aws:PrincipalOrgID": "o-*"}})),
                       ACCOUNT)
    assert anyone.is_public and anyone.condition == ()
    [roles] = analyze(trust(assume("*", {"ArnLike": {
        "aws:PrincipalArn": f"arn:aws:iam::{THIRD}:role/*"}})), ACCOUNT)
    assert not roles.is_public
    assert roles.condition_map() == {"aws:PrincipalArn": f"arn:aws:iam::{THIRD}:role/*"}
