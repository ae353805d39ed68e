"""Evaluation rules.

Sources (IAM User Guide):
* DENYALLOW = reference_policies_evaluation-logic_policy-eval-denyallow.html
* BASICS = reference_policies_evaluation-logic_policy-eval-basics.html
* CROSS = reference_policies_evaluation-logic-cross-account.html
* SESSION = access_policies.html#policies_session
* BOUNDARY = access_policies_boundaries.html
* TRUST = id_roles_update-role-trust-policy.html
* ORGS = AWS Organizations, orgs_manage_policies_scps_evaluation / _rcps_evaluation
"""

from __future__ import annotations

from opensts.policy import PolicyKind, parse_policy

from .helpers import (
    ACCT,
    ALICE,
    ANON,
    EC2,
    FED,
    FOREIGN,
    OIDC,
    OTHER,
    ROLE_ARN,
    ROOT,
    SESSION,
    allow,
    decide,
    deny,
    doc,
    pol,
    rpol,
)

ALL = pol(allow())
S3_ONLY = pol(allow("s3:*"))
EC2_ONLY = pol(allow("ec2:*"))


def by(arn):
    return rpol(allow(Principal={"AWS": arn}))


class TestBasics:
    def test_default_is_implicit_deny(self):  # DENYALLOW: "By default, all requests are denied"
        d = decide()
        assert d.decision == "implicitDeny" and not d.allowed and d.matched_statements == []

    def test_identity_allow(self):
        d = decide(identity=[S3_ONLY])
        assert d.decision == "allowed"
        assert [(m.source_id, m.policy_type, m.effect) for m in d.matched_statements] == [
            ("id0", "identity", "Allow")
        ]

    def test_explicit_deny_wins_everywhere(self):  # DENYALLOW step 1
        no = pol(deny("s3:GetObject"))
        assert decide(identity=[ALL, no]).decision == "explicitDeny"
        assert decide(identity=[ALL], boundary=no).decision == "explicitDeny"
        assert decide(principal=SESSION, identity=[ALL], session=[ALL, no]).decision == (
            "explicitDeny"
        )
        assert decide(identity=[ALL], resource_policy=rpol(deny(Principal="*"))).decision == (
            "explicitDeny"
        )
        scp_no = parse_policy(doc(deny("s3:*")), PolicyKind.SCP)
        assert decide(identity=[ALL], scps=[[scp_no]]).decision == "explicitDeny"

    def test_explicit_deny_lists_the_deny(self):
        d = decide(identity=[ALL, pol(deny("s3:*", Sid="NoS3"))])
        assert [(m.sid, m.effect) for m in d.matched_statements] == [("NoS3", "Deny")]


class TestOrganizations:
    SCP_ALL = parse_policy(doc(allow()), PolicyKind.SCP)
    SCP_EC2 = parse_policy(doc(allow("ec2:*")), PolicyKind.SCP)
    RCP_ALL = parse_policy(doc(allow(Principal="*")), PolicyKind.RCP)

    def test_scp_every_level_must_allow(self):  # ORGS: an Allow at every level
        assert decide(identity=[ALL], scps=[[self.SCP_ALL], [self.SCP_ALL]]).allowed
        d = decide(identity=[ALL], scps=[[self.SCP_ALL], [self.SCP_EC2]])
        assert d.decision == "implicitDeny"
        assert decide(identity=[ALL], scps=[[self.SCP_ALL], [self.SCP_EC2, self.SCP_ALL]]).allowed

    def test_scp_grants_nothing(self):
        assert not decide(scps=[[self.SCP_ALL]]).allowed

    def test_scps_do_not_apply_to_service_principals(self):
        rp = rpol(allow(Principal={"Service": "ec2.amazonaws.com"}))
        assert decide(principal=EC2, resource_policy=rp, scps=[[self.SCP_EC2]]).allowed

    def test_scp_applies_to_root(self):
        assert decide(principal=ROOT).allowed
        assert not decide(principal=ROOT, scps=[[self.SCP_EC2]]).allowed

    def test_rcp_levels(self):
        rcp_deny = parse_policy(doc(deny("s3:*", Principal="*")), PolicyKind.RCP)
        assert decide(identity=[ALL], rcps=[[self.RCP_ALL]]).allowed
        assert decide(identity=[ALL], rcps=[[self.RCP_ALL, rcp_deny]]).decision == ("explicitDeny")
        assert decide(identity=[ALL], rcps=[[self.RCP_ALL], []]).decision == "implicitDeny"


class TestSameAccountResourcePolicy:
    """BASICS: "If either the identity-based policy or the resource-based policy within the
    same account allows the request and the other doesn't, the request is still allowed."
    DENYALLOW/SESSION/BOUNDARY: which implicit denies still limit a resource-policy grant."""

    def test_user_arn_not_limited_by_identity_or_boundary(self):
        assert decide(resource_policy=by(ALICE.arn)).allowed
        assert decide(resource_policy=by(ALICE.arn), boundary=EC2_ONLY).allowed

    def test_account_principal_delegates_to_identity(self):
        assert not decide(resource_policy=by(ACCT)).allowed
        assert decide(resource_policy=by(ACCT), identity=[S3_ONLY]).allowed

    def test_role_arn_limited_by_boundary_and_session(self):
        assert decide(principal=SESSION, resource_policy=by(ROLE_ARN)).allowed
        assert not decide(
            principal=SESSION, resource_policy=by(ROLE_ARN), boundary=EC2_ONLY
        ).allowed
        assert not decide(
            principal=SESSION, resource_policy=by(ROLE_ARN), session=[EC2_ONLY]
        ).allowed
        assert decide(principal=SESSION, resource_policy=by(ROLE_ARN), session=[S3_ONLY]).allowed

    def test_session_arn_not_limited_by_session_policy(self):
        # "not limited by an implicit deny in an identity-based policy, a permissions
        # boundary, or session policy" (iam-simulate disagrees; see known divergences).
        rp = by(SESSION.arn)
        assert decide(
            principal=SESSION, resource_policy=rp, session=[EC2_ONLY], boundary=EC2_ONLY
        ).allowed

    def test_federated_user(self):
        # No session policy: the federated session has no identity-based permissions.
        assert not decide(principal=FED, identity=[ALL]).allowed
        assert decide(principal=FED, identity=[ALL], session=[S3_ONLY]).allowed
        # A resource policy naming the federated-user ARN works without session policies.
        assert decide(principal=FED, resource_policy=by(FED.arn)).allowed
        # Naming the IAM user who federated is limited by the session policy.
        assert not decide(principal=FED, resource_policy=by(ALICE.arn)).allowed
        assert decide(principal=FED, resource_policy=by(ALICE.arn), session=[S3_ONLY]).allowed

    def test_wildcard_principal(self):
        public = rpol(allow(Principal="*"))
        assert decide(resource_policy=public).allowed
        assert decide(principal=ANON, resource_policy=public).allowed
        assert not decide(principal=ANON, identity=[ALL]).allowed


class TestSessionPolicies:
    def test_intersection(self):  # SESSION: identity ∩ session
        assert decide(principal=SESSION, identity=[ALL], session=[S3_ONLY]).allowed
        assert not decide(principal=SESSION, identity=[S3_ONLY], session=[EC2_ONLY]).allowed
        assert not decide(principal=SESSION, identity=[EC2_ONLY], session=[ALL]).allowed

    def test_no_session_policy_means_unrestricted(self):
        assert decide(principal=SESSION, identity=[ALL]).allowed

    def test_inline_and_managed_combine_as_one_set(self):
        assert decide(principal=SESSION, identity=[ALL], session=[EC2_ONLY, S3_ONLY]).allowed
        d = decide(principal=SESSION, identity=[ALL], session=[S3_ONLY, pol(deny("s3:*"))])
        assert d.decision == "explicitDeny"


class TestBoundary:
    def test_intersection(self):  # BOUNDARY: identity ∩ boundary
        d = decide(identity=[ALL], boundary=S3_ONLY)
        assert d.allowed and d.boundary_decision == "allowed"
        d = decide(identity=[ALL], boundary=EC2_ONLY)
        assert d.decision == "implicitDeny" and d.boundary_decision == "implicitDeny"
        assert "boundary" in d.reason

    def test_boundary_grants_nothing(self):
        assert not decide(boundary=ALL).allowed

    def test_not_principal_deny_always_denies_bounded_principals(self):
        # reference_policies_elements_notprincipal: "will always deny any IAM principal that
        # has a permissions boundary policy attached, regardless of the values specified".
        rp = rpol(deny(NotPrincipal={"AWS": [ALICE.arn, ACCT]}), allow(Principal="*"))
        assert decide(resource_policy=rp, identity=[ALL]).allowed
        assert decide(resource_policy=rp, identity=[ALL], boundary=ALL).decision == ("explicitDeny")


class TestCrossAccount:  # CROSS: both sides must allow
    def test_needs_both(self):
        target = dict(resource_account=OTHER, resource="arn:aws:s3:::their-bucket/k")
        assert not decide(identity=[ALL], **target).allowed
        assert not decide(resource_policy=by(ALICE.arn), **target).allowed
        assert decide(identity=[ALL], resource_policy=by(ALICE.arn), **target).allowed
        assert decide(identity=[ALL], resource_policy=by(ACCT), **target).allowed
        assert not decide(
            identity=[ALL], boundary=EC2_ONLY, resource_policy=by(ALICE.arn), **target
        ).allowed

    def test_foreign_caller(self):
        assert decide(
            principal=FOREIGN,
            resource_account=ACCT,
            identity=[ALL],
            resource_policy=by(FOREIGN.arn),
        ).allowed
        assert not decide(
            principal=FOREIGN, resource_account=ACCT, identity=[ALL], resource_policy=by(ALICE.arn)
        ).allowed

    def test_root_cross_account_needs_resource_policy(self):
        assert not decide(principal=ROOT, resource_account=OTHER).allowed
        assert decide(principal=ROOT, resource_account=OTHER, resource_policy=by(ACCT)).allowed


class TestTrustPolicies:
    """TRUST and STS API_AssumeRole: the trust policy must allow; naming the user is enough in
    the same account, naming the account also needs an identity policy."""

    def trust(self, principal):
        return parse_policy(
            doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}),
            PolicyKind.TRUST,
        )

    def assume(self, trust, **kw):
        return decide(
            action="sts:AssumeRole", resource=ROLE_ARN, resource_policy=trust, must_allow=True, **kw
        )

    def test_must_explicitly_allow(self):
        assert not self.assume(self.trust({"AWS": FOREIGN.arn}), identity=[ALL]).allowed

    def test_user_named(self):
        assert self.assume(self.trust({"AWS": ALICE.arn})).allowed

    def test_account_named_needs_identity(self):
        assert not self.assume(self.trust({"AWS": ACCT})).allowed
        assert self.assume(
            self.trust({"AWS": ACCT}), identity=[pol(allow("sts:AssumeRole"))]
        ).allowed

    def test_boundary_must_allow_assume_role(self):
        # "If a permissions boundary is set for the user, then it must allow sts:AssumeRole."
        t = self.trust({"AWS": ALICE.arn})
        assert not self.assume(t, boundary=S3_ONLY).allowed
        assert self.assume(t, boundary=pol(allow("sts:AssumeRole"))).allowed

    def test_web_identity(self):
        t = parse_policy(
            doc(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {"Federated": OIDC.arn},
                    "Condition": {
                        "StringEquals": {
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                        }
                    },
                }
            ),
            PolicyKind.TRUST,
        )
        ctx = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
        d = decide(
            principal=OIDC,
            action="sts:AssumeRoleWithWebIdentity",
            resource=ROLE_ARN,
            resource_policy=t,
            must_allow=True,
            context=ctx,
        )
        assert d.allowed
        d = decide(
            principal=OIDC,
            action="sts:AssumeRoleWithWebIdentity",
            resource=ROLE_ARN,
            resource_policy=t,
            must_allow=True,
        )
        assert not d.allowed
        assert d.missing_context_values == ["token.actions.githubusercontent.com:aud"]


def test_root_allowed_in_own_account_unless_denied():
    assert decide(principal=ROOT).allowed
    assert decide(principal=ROOT, resource_policy=rpol(deny(Principal="*"))).decision == (
        "explicitDeny"
    )


def test_root_session_scoped_by_deny_only_task_policy():
    # AssumeRoot (STS API reference): the member root's session carries a root-task policy
    # (AWS's are Deny statements with NotAction) among its identity policies; the root's
    # own allow stays, the task's denies bind it.
    task = pol({"Effect": "Deny", "NotAction": ["s3:GetBucketPolicy"], "Resource": "*"})
    assert decide(principal=ROOT, action="s3:GetBucketPolicy", resource="arn:aws:s3:::b",
                  identity=[ALL, task]).allowed
    denied = decide(principal=ROOT, action="s3:GetObject", identity=[ALL, task])
    assert denied.decision == "explicitDeny"
    assert [m.source_id for m in denied.matched_statements] == ["id1"]


def test_explain_and_to_dict():
    p = pol(
        allow("s3:*", "arn:aws:s3:::other/*", Sid="Other"),
        deny("s3:*", Condition={"Bool": {"aws:SecureTransport": "false"}}),
    )
    d = decide(identity=[p], context={"aws:SecureTransport": "true"})
    text = d.explain()
    assert "implicitDeny" in text
    assert "Resource does not cover the resource" in text
    assert "condition Bool aws:SecureTransport failed: request value 'true'" in text
    data = d.to_dict()
    import json

    json.dumps(data)
    assert data["decision"] == "implicitDeny"
    st = data["policies"][0]["statements"]
    assert st[0]["sid"] == "Other" and st[0]["resource"]["matched"] is False
    assert st[1]["conditions"][0]["requestValue"] == "true"
