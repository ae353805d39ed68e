"""Differential test: OpenSTS's policy engine against @cloud-copilot/iam-simulate.

Hypothesis generates random requests and policy sets (identity, resource, boundary, one
session policy, SCP levels; conditions of every family, wildcards, variables, Allow/Deny
mixes). All cases are decided by the peer in ONE batched node call and compared.

The peer is AGPL-3.0: it runs only as a separate node process (run.mjs); none of its code or
test corpus is copied here. ``node_modules`` is installed by scripts/install-test-tools
(``npm ci`` from the pinned package-lock.json); the test skips when node is absent.

KNOWN DIVERGENCES, where the AWS docs say the peer is wrong. A mismatch counts as known only
if its case contains the divergence's trigger AND both engines agree once that trigger is
neutralized (checked in a second batched node call); anything else fails the test.

1. SESSION_ARN_BYPASS - a resource policy naming the assumed-role *session* ARN is "not
   limited by an implicit deny in an identity-based policy, a permissions boundary, or
   session policy" (reference_policies_evaluation-logic_policy-eval-denyallow; confirmed by
   AWS in awsdocs/iam-user-guide#272). The peer still applies the session policy. We treat
   "Principal": "*" as naming the session too (the peer does so for boundaries).
   Neutralized by dropping the session policy and boundary.
2. NOT_PRINCIPAL_ACCOUNT - NotPrincipal must list the caller's account as well, "otherwise
   the policy might deny access to the entire account" (reference_policies_elements_
   notprincipal). We exempt only when the account and the principal (or its role) are
   listed; the peer exempts on either alone. Neutralized by dropping NotPrincipal statements.
3. RESOURCE_VARIABLE_UNSPLIT - variables may appear anywhere in the resource part after the
   fifth colon (reference_policies_variables); the peer resolves them only after a '/' or
   ':' inside that part, so arn:aws:sqs:*:*:${aws:username}-queue never matches there.
   Neutralized by dropping such patterns.
4. NOT_RESOURCE_SHORT_ARN - a short pattern such as arn:aws:sqs:* in NotResource: the peer
   will not treat a non-matching short ARN as "outside the NotResource set", so the statement
   never applies; NotResource "matches every resource except those listed"
   (reference_policies_elements_notresource). Neutralized by padding the pattern to six
   segments with '*', which both engines read the same way.
5. ROOT_FULL_ACCESS - "all requests are implicitly denied with the exception of the AWS
   account root user, which has full access" (reference_policies_evaluation-logic_policy-
   eval-denyallow), and identity policies and boundaries cannot be attached to the root user. The peer
   evaluates the root user like an IAM user with identity policies. Neutralized by giving
   both engines a single allow-all identity policy.
6. LITERAL_STAR_IN_STRING_EQUALS - ${*} is a literal "*" "in any string where you can use
   regular policy variables", StringEquals included; the peer only substitutes it in *Like
   and Resource. (Not generated; covered by tests/policy/test_variables.py.)
7. BOUNDARY_ASSUME_ROLE - a user named in a trust policy still needs its boundary to allow
   sts:AssumeRole (id_roles_update-role-trust-policy); the peer allows. (Not generated;
   covered by tests/policy/test_evaluation.py and the corpus.)

Not generated on purpose (peer features outside this engine's scope): S3/KMS/IAM service
special cases, VPC endpoint policies, wildcard request resources.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from policy.engines import PEER_DIR, IamSimulateEngine, OpenSTSEngine  # noqa: E402

ACCT, OTHER = "111122223333", "444455556666"
ROLE = f"arn:aws:iam::{ACCT}:role/Deployer"
PRINCIPALS = {
    "user": {"kind": "user", "arn": f"arn:aws:iam::{ACCT}:user/alice", "account": ACCT},
    "session": {"kind": "assumed-role", "arn": f"arn:aws:sts::{ACCT}:assumed-role/Deployer/s1",
                "account": ACCT, "issuer_arn": ROLE},
    "foreign": {"kind": "user", "arn": f"arn:aws:iam::{OTHER}:user/carol", "account": OTHER},
    "anonymous": {"kind": "anonymous", "arn": "anonymous", "account": None},
    "root": {"kind": "root", "arn": f"arn:aws:iam::{ACCT}:root", "account": ACCT},
}
ACTIONS = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteQueue", "dynamodb:GetItem",
           "dynamodb:PutItem"]
RESOURCES = [
    (f"arn:aws:sqs:us-east-1:{ACCT}:orders", ACCT),
    (f"arn:aws:sqs:us-east-1:{ACCT}:alice-queue", ACCT),
    (f"arn:aws:sqs:eu-west-1:{OTHER}:orders", OTHER),
    (f"arn:aws:dynamodb:us-east-1:{ACCT}:table/users", ACCT),
    (f"arn:aws:dynamodb:us-east-1:{OTHER}:table/alice", OTHER),
]
ACTION_PATTERNS = ["*", "sqs:*", "sqs:SendMessage", "SQS:send*", "sqs:?eceiveMessage",
                   "dynamodb:*Item", "dynamodb:GetItem", "ec2:*", "sqs:Delete*"]
RESOURCE_PATTERNS = [
    "*",
    f"arn:aws:sqs:us-east-1:{ACCT}:orders",
    "arn:aws:sqs:*:*:orders",
    "arn:aws:sqs:us-*:*:*",
    "arn:aws:sqs:*:*:${aws:username}-queue",
    "arn:aws:dynamodb:*:*:table/*",
    "arn:aws:dynamodb:*:*:table/${aws:username}",
    "arn:aws:dynamodb:*:*:table/${aws:PrincipalTag/team, 'users'}",
    f"arn:aws:*:*:{OTHER}:*",
    "arn:aws:sqs:*",
    "arn:aws:sqs:us-east-1:?11122223333:orders",
]
# (operator, key, policy-value pool, context-value pool); multivalued keys get set operators.
SINGLE = [
    ("String", "aws:Referer", ["a", "b", "a*", "*b", "?", "${aws:username}", "alice"],
     ["a", "b", "ab", "alice", "x"]),
    ("String", "aws:PrincipalTag/team", ["red", "blue", "r*", "${aws:Referer}"],
     ["red", "blue", "Red"]),
    ("Numeric", "aws:MultiFactorAuthAge", ["0", "300", "3600", "1.5"], ["0", "100", "3600", "x"]),
    ("Date", "aws:CurrentTime", ["2024-01-01T00:00:00Z", "2025-06-01", "1700000000"],
     ["2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"]),
    ("Bool", "aws:SecureTransport", ["true", "false"], ["true", "false"]),
    ("Ip", "aws:SourceIp", ["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"],
     ["203.0.113.9", "198.51.100.7", "2001:db8::1", "192.0.2.1"]),
    ("Arn", "aws:PrincipalArn", [f"arn:aws:iam::{ACCT}:user/*", "arn:aws:iam::*:role/Deployer",
                                 "arn:aws:iam::*:user/${aws:username}"],
     [f"arn:aws:iam::{ACCT}:user/alice", ROLE]),
]
OPS = {
    "String": ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
               "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"],
    "Numeric": ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"],
    "Date": ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals",
             "DateGreaterThan", "DateGreaterThanEquals"],
    "Bool": ["Bool"],
    "Ip": ["IpAddress", "NotIpAddress"],
    "Arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
}
TAG_KEYS = ["a", "b", "c"]


def one_or_many(pool):
    return st.one_of(st.sampled_from(pool), st.lists(st.sampled_from(pool), min_size=1,
                                                     max_size=3, unique=True))


@st.composite
def condition(draw):
    block: dict[str, dict[str, Any]] = {}
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        if draw(st.integers(0, 4)) == 0:
            op = draw(st.sampled_from(["ForAllValues:StringEquals", "ForAnyValue:StringEquals",
                                       "ForAllValues:StringLike", "ForAnyValue:StringNotEquals"]))
            key, values = "aws:TagKeys", draw(one_or_many(TAG_KEYS + ["a*"]))
        elif draw(st.integers(0, 6)) == 0:
            op, key = "Null", draw(st.sampled_from(["aws:Referer", "aws:TagKeys"]))
            values = draw(st.sampled_from(["true", "false"]))
        else:
            family, key, pool, _ = draw(st.sampled_from(SINGLE))
            op = draw(st.sampled_from(OPS[family]))
            if draw(st.integers(0, 4)) == 0:
                op += "IfExists"
            values = draw(one_or_many(pool))
            if family != "String" and family != "Arn":
                values = [v for v in (values if isinstance(values, list) else [values])
                          if "${" not in v] or "0"
        block.setdefault(op, {})[key] = values
    return block


@st.composite
def statement(draw, principal_pool=None):
    s: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Allow", "Deny"]))}
    s["NotAction" if draw(st.integers(0, 6)) == 0 else "Action"] = draw(one_or_many(ACTION_PATTERNS))
    s["NotResource" if draw(st.integers(0, 6)) == 0 else "Resource"] = draw(
        one_or_many(RESOURCE_PATTERNS))
    if principal_pool is not None:
        if s["Effect"] == "Deny" and draw(st.integers(0, 4)) == 0:
            s["NotPrincipal"] = {"AWS": draw(one_or_many(principal_pool[1:]))}
        else:
            p = draw(st.sampled_from(principal_pool))
            s["Principal"] = "*" if p == "*" else {"AWS": p}
    c = draw(condition())
    if c:
        s["Condition"] = c
    return s


def policy(principal_pool=None):
    return st.lists(statement(principal_pool), min_size=1, max_size=3).map(
        lambda stmts: {"Version": "2012-10-17", "Statement": stmts})


PRINCIPAL_POOL = ["*", ACCT, f"arn:aws:iam::{ACCT}:root", f"arn:aws:iam::{ACCT}:user/alice",
                  ROLE, f"arn:aws:sts::{ACCT}:assumed-role/Deployer/s1", OTHER,
                  f"arn:aws:iam::{OTHER}:user/carol"]


@st.composite
def context(draw):
    ctx: dict[str, Any] = {}
    for _, key, _, pool in SINGLE:
        if draw(st.booleans()):
            ctx[key] = draw(st.sampled_from(pool))
    if draw(st.booleans()):
        ctx["aws:username"] = draw(st.sampled_from(["alice", "bob", "*"]))
    if draw(st.booleans()):
        ctx["aws:TagKeys"] = draw(st.lists(st.sampled_from(TAG_KEYS), max_size=3, unique=True))
    return ctx


@st.composite
def case(draw):
    who = draw(st.sampled_from(sorted(PRINCIPALS)))
    resource, owner = draw(st.sampled_from(RESOURCES))
    c: dict[str, Any] = {
        "principal": PRINCIPALS[who],
        "action": draw(st.sampled_from(ACTIONS)),
        "resource": resource,
        "resource_account": owner,
        "context": draw(context()),
        "identity": draw(st.lists(policy(), max_size=3)),
    }
    if draw(st.booleans()):
        c["resource_policy"] = draw(policy(PRINCIPAL_POOL))
    if draw(st.integers(0, 3)) == 0:
        c["boundary"] = draw(policy())
    if who == "session" and draw(st.integers(0, 2)) == 0:
        c["session"] = [draw(policy())]
    if draw(st.integers(0, 3)) == 0:
        c["scps"] = draw(st.lists(st.lists(policy(), min_size=1, max_size=2), min_size=1,
                                  max_size=2))
    return c


def _policies(c: dict[str, Any]) -> list[dict[str, Any]]:
    out = list(c.get("identity", []))
    for key in ("resource_policy", "boundary"):
        if c.get(key):
            out.append(c[key])
    out += c.get("session") or []
    out += [d for level in c.get("scps", []) for d in level]
    return out


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _unsplit_var(pattern: str) -> bool:
    if "${" not in pattern:
        return False
    part = pattern.split(":", 5)[5] if pattern.count(":") >= 5 else pattern
    head = part.split("${", 1)[0]
    return "/" not in head and ":" not in head


def _short(pattern: str) -> bool:
    return pattern != "*" and pattern.count(":") < 5


def _edit_statements(c: dict[str, Any], fn) -> dict[str, Any]:
    """A copy of the case with fn(statement) -> statement|None applied everywhere."""
    c = copy.deepcopy(c)
    for doc in _policies(c):
        doc["Statement"] = [s2 for s2 in (fn(s) for s in doc["Statement"]) if s2 is not None]
        if not doc["Statement"]:
            doc["Statement"] = [{"Effect": "Deny", "Action": "none:none", "Resource": "*",
                                 **({"Principal": "*"} if doc is c.get("resource_policy")
                                    else {})}]
    return c


def _drop_unsplit(s):
    for el in ("Resource", "NotResource"):
        if el in s:
            keep = [p for p in _as_list(s[el]) if not _unsplit_var(p)]
            if not keep:
                return None
            s[el] = keep
    return s


def _pad_short(s):
    if "NotResource" in s:
        s["NotResource"] = [p + ":*" * (5 - p.count(":")) if _short(p) else p
                            for p in _as_list(s["NotResource"])]
    return s


def _session_trigger(c):
    p = c["principal"]
    rp = c.get("resource_policy")
    return (p["kind"] == "assumed-role" and rp is not None and (c.get("session") or
            c.get("boundary")) and any(
        s["Effect"] == "Allow" and (s.get("Principal") == "*" or p["arn"] in
                                     json.dumps(s.get("Principal", {})))
        for s in rp["Statement"]))


def _drop_session(c):
    c = copy.deepcopy(c)
    c.pop("session", None)
    c.pop("boundary", None)
    return c


def _root_full_access(c):
    c = copy.deepcopy(c)
    c["identity"] = [{"Version": "2012-10-17",
                      "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}]
    c.pop("boundary", None)  # nor can a permissions boundary be attached to the root user
    return c


DIVERGENCES = {
    "ROOT_FULL_ACCESS": (lambda c: c["principal"]["kind"] == "root", _root_full_access),
    "SESSION_ARN_BYPASS": (_session_trigger, _drop_session),
    "NOT_PRINCIPAL_ACCOUNT": (
        lambda c: any("NotPrincipal" in s for s in (c.get("resource_policy") or
                                                     {"Statement": []})["Statement"]),
        lambda c: _edit_statements(c, lambda s: None if "NotPrincipal" in s else s)),
    "RESOURCE_VARIABLE_UNSPLIT": (
        lambda c: any(_unsplit_var(p) for d in _policies(c) for s in d["Statement"]
                      for el in ("Resource", "NotResource") for p in _as_list(s.get(el, []))),
        lambda c: _edit_statements(c, _drop_unsplit)),
    "NOT_RESOURCE_SHORT_ARN": (
        lambda c: any(_short(p) for d in _policies(c) for s in d["Statement"]
                      for p in _as_list(s.get("NotResource", []))),
        lambda c: _edit_statements(c, _pad_short)),
}


def explain_mismatches(mismatched: list[dict[str, Any]], peer) -> list[list[str] | None]:
    """For each mismatched case, the known divergences that account for it, or None."""
    ours = OpenSTSEngine()
    fixed, triggers = [], []
    for c in mismatched:
        names = [n for n, (trigger, _) in DIVERGENCES.items() if trigger(c)]
        for n in names:
            c = DIVERGENCES[n][1](c)
        fixed.append(c)
        triggers.append(names)
    theirs = peer.decide_many(fixed) if fixed else []
    return [names if names and ours.decide(f) == t else None
            for names, f, t in zip(triggers, fixed, theirs, strict=True)]


N_CASES = int(os.environ.get("IAM_SIMULATE_CASES", "600"))


@pytest.fixture(scope="module")
def peer() -> IamSimulateEngine:
    if not IamSimulateEngine.available():
        if (PEER_DIR / "package-lock.json").exists() and subprocess.run(
            ["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=PEER_DIR, check=False,
            capture_output=True,
        ).returncode == 0 and IamSimulateEngine.available():
            return IamSimulateEngine()
        pytest.skip("node or the iam-simulate peer is not installed (scripts/install-test-tools)")
    return IamSimulateEngine()


def test_differential(peer):
    cases: list[dict[str, Any]] = []

    @settings(max_examples=N_CASES, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case())
    def collect(c):
        cases.append(c)

    collect()
    ours = OpenSTSEngine().decide_many(cases)
    theirs = peer.decide_many(cases)
    assert not [o for o in ours if o.startswith("error")]
    assert not [t for t in theirs if t.startswith("error")], [t for t in theirs if t.startswith("error")][:3]
    differing = [(c, o, t) for c, o, t in zip(cases, ours, theirs, strict=True) if o != t]
    reasons = explain_mismatches([c for c, _, _ in differing], peer)
    mismatches, known = [], {}
    for (c, o, t), why in zip(differing, reasons, strict=True):
        if why:
            for name in why:
                known[name] = known.get(name, 0) + 1
        else:
            mismatches.append({"ours": o, "peer": t, "case": c})
    summary = {"cases": len(cases), "agree": sum(o == t for o, t in zip(ours, theirs)),
               "known": known, "decisions": {d: ours.count(d) for d in set(ours)}}
    print("differential:", json.dumps(summary))
    if mismatches:
        out = Path(__file__).resolve().parents[2] / "artifacts" / "iam-simulate-mismatches.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(mismatches, indent=1))
    assert not mismatches, f"{len(mismatches)} unexplained mismatches, first: " + json.dumps(mismatches[0])
    # the generator must exercise all three outcomes, or the comparison proves little
    assert all(ours.count(d) > len(cases) // 20 for d in ("allowed", "explicitDeny", "implicitDeny"))
