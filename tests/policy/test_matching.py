"""Action, Resource and Principal element matching.

Sources: reference_policies_elements_action.html ("The prefix and the action name are case
insensitive"), reference_policies_elements_resource.html (segment wildcards, case-sensitive
names), reference_policies_elements_principal.html, reference_policies_elements_notaction
and _notresource.
"""

from __future__ import annotations

import pytest

from opensts.policy import PolicyKind, parse_policy

from .helpers import (
    ACCT,
    ALICE,
    ANON,
    EC2,
    FED,
    OIDC,
    ROLE_ARN,
    SESSION,
    allow,
    decide,
    deny,
    doc,
    pol,
    rpol,
)


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("S3:getobject", "s3:GetObject", True),
        ("s3:Get*", "s3:GetObjectAcl", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:?etObject", "s3:GetObject", True),
        ("s3:*Object", "s3:PutObject", True),
        ("*", "kms:Decrypt", True),
        ("s3:*", "s3x:GetObject", False),
        ("s3:Get.bject", "s3:GetObject", False),
    ],
)
def test_action(pattern, action, expected):
    assert decide(identity=[pol(allow(pattern))], action=action).allowed is expected


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("arn:aws:s3:::docs/*", "arn:aws:s3:::docs/a/b.txt", True),
        ("arn:aws:s3:::docs/*", "arn:aws:s3:::DOCS/a", False),  # case-sensitive
        ("arn:aws:s3:::docs/?.txt", "arn:aws:s3:::docs/a.txt", True),
        ("arn:aws:s3:::docs/?.txt", "arn:aws:s3:::docs/ab.txt", False),
        ("arn:aws:s3:::docs/a+b", "arn:aws:s3:::docs/aab", False),  # '+' is literal
        ("arn:aws:s3:::docs/(x", "arn:aws:s3:::docs/(x", True),
        (
            "arn:aws:logs:*:*:log-group:app*",
            "arn:aws:logs:us-east-1:1:log-group:app:stream:s",
            True,
        ),  # the resource part may contain ':'
        ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:1:instance/i-1", True),
        ("arn:aws:ec2:us-*:*:instance/*", "arn:aws:ec2:eu-west-1:1:instance/i-1", False),
        ("arn:aws:s3:*", "arn:aws:s3:::docs/a:b", True),  # last-part '*' spans colons
        ("arn:aws:iam::*:user/*", "arn:aws:iam::111122223333:user/path/alice", True),
        ("*", "arn:aws:s3:::anything", True),
    ],
)
def test_resource(pattern, resource, expected):
    assert decide(identity=[pol(allow(resource=pattern))], resource=resource).allowed is expected


def test_not_action_and_not_resource():
    # NotAction with Allow grants everything else (still scoped by Resource).
    p = pol({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert decide(identity=[p], action="s3:GetObject").allowed
    assert not decide(identity=[p], action="iam:CreateUser").allowed
    # NotResource with Allow: every resource except those listed.
    p = pol({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::secret/*"})
    assert decide(identity=[p]).allowed
    assert not decide(identity=[p], resource="arn:aws:s3:::secret/x").allowed
    # Deny + NotResource grants nothing by itself.
    p = pol({"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::secret/*"})
    assert decide(identity=[p], resource="arn:aws:s3:::secret/x").decision == "implicitDeny"


class TestPrincipal:
    def _allowed(self, principal_el, who, **kw):
        rp = rpol(allow(Principal=principal_el))
        return decide(principal=who, resource_policy=rp, **kw).allowed

    def test_user_arn(self):
        assert self._allowed({"AWS": ALICE.arn}, ALICE)
        assert not self._allowed({"AWS": f"arn:aws:iam::{ACCT}:user/Alice"}, ALICE)

    def test_unique_id(self):
        assert self._allowed({"AWS": "AIDAALICEEXAMPLE00001"}, ALICE)

    def test_role_arn_matches_its_sessions(self):
        assert self._allowed({"AWS": ROLE_ARN}, SESSION)
        assert self._allowed({"AWS": SESSION.arn}, SESSION)

    def test_wildcard(self):
        assert self._allowed("*", ALICE)
        assert self._allowed({"AWS": "*"}, ANON)

    def test_service_and_federated(self):
        assert self._allowed({"Service": "ec2.amazonaws.com"}, EC2)
        assert not self._allowed({"Service": "lambda.amazonaws.com"}, EC2)
        assert self._allowed({"Federated": OIDC.arn}, OIDC)
        assert not self._allowed({"AWS": ALICE.arn}, EC2)

    def test_federated_user_matches_issuing_user(self):
        assert self._allowed({"AWS": FED.arn}, FED)

    @pytest.mark.parametrize(
        "bad",
        [
            {"AWS": "arn:aws:iam::111122223333:user/*"},
            {"AWS": "alice"},
            {"AWS": []},
            {"Service": "*"},
            {"Bogus": "x"},
            ["*"],
            {},
        ],
    )
    def test_invalid_principal(self, bad):
        from opensts.errors import MalformedPolicyDocument

        with pytest.raises(MalformedPolicyDocument, match="Invalid principal in policy"):
            rpol(allow(Principal=bad))


def test_not_principal_needs_account_too():
    # reference_policies_elements_notprincipal: list the account ARN as well, "otherwise the
    # policy might deny access to the entire account containing the principal".
    ident = pol(allow())
    only_user = rpol(deny(NotPrincipal={"AWS": ALICE.arn}), allow(Principal="*"))
    assert decide(identity=[ident], resource_policy=only_user).decision == "explicitDeny"
    both = rpol(deny(NotPrincipal={"AWS": [ALICE.arn, ACCT]}), allow(Principal="*"))
    assert decide(identity=[ident], resource_policy=both).allowed
    # for a role session, the role ARN and the account suffice
    role_and_acct = rpol(
        deny(NotPrincipal={"AWS": [ROLE_ARN, f"arn:aws:iam::{ACCT}:root"]}), allow(Principal="*")
    )
    assert decide(principal=SESSION, resource_policy=role_and_acct).allowed


def test_trust_policy_without_resource():
    trust = parse_policy(
        doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": ALICE.arn}}),
        PolicyKind.TRUST,
    )
    d = decide(action="sts:AssumeRole", resource=ROLE_ARN, resource_policy=trust, must_allow=True)
    assert d.allowed
