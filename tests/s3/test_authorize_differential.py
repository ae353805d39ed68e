"""Differential test: ``authorize_s3`` (real store, real Authorizer) against
@cloud-copilot/iam-simulate on random S3 requests.

Random same-account users and role sessions, a user of another account and anonymous
callers ask for object and bucket actions on one bucket, under random identity policies,
session policies, bucket policies (principals ``*``, accounts, users, the role, the
session), SCPs on the caller's account and RCPs on the bucket owner's (both accounts are
members of one organization, so the stored policy levels apply). OpenSTS decides through
``authorize_s3``; the request context it built (principal keys, ``s3:ResourceAccount``, the
gateway's keys) and the policy levels the store holds are handed to the peer as-is, so the
two engines differ only in their evaluation rules. All peer decisions come from ONE batched
node call. Block Public Access is off (the peer has no such setting; test_authorize.py
covers it).

The peer is AGPL-3.0 and runs only as a separate node process (tests/peers/iam-simulate).

KNOWN DIVERGENCE (documented in tests/peers/iam-simulate/test_iam_simulate_differential.py):
SESSION_ARN_BYPASS - a bucket policy naming the session ARN (or ``*``) grants "not limited by
... session policy"; the peer still applies the session policy. Such a mismatch counts as
known only if the engines agree once the session policy is dropped.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from opensts.directory.records import InlinePolicy
from opensts.services.context import Caller
from opensts.store import SqlStore, open_store
from tests.policy.engines import IamSimulateEngine

from .authz_world import DEV, OFF, PROD, RCP, SCP, World, need

pytestmark = pytest.mark.skipif(not IamSimulateEngine.available(),
                                reason="node or the iam-simulate peer is not installed")

B = "data"
CASES = 400
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
           "s3:GetBucketPolicy"]
KEYS = ["public/a.txt", "home/alice/x", "secret/y"]
ACTION_PATTERNS = ["s3:*", "s3:Get*", "s3:GetObject", "s3:PutObject", "s3:List*", "*",
                   "s3:Delete*", "s3:GetBucket*"]
RESOURCE_PATTERNS = ["*", f"arn:aws:s3:::{B}", f"arn:aws:s3:::{B}/*",
                     f"arn:aws:s3:::{B}/public/*", f"arn:aws:s3:::{B}/home/${{aws:username}}/*",
                     "arn:aws:s3:::other/*", "arn:aws:s3:::d*"]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"s3:ResourceAccount": PROD}},
    {"StringEquals": {"s3:ResourceAccount": DEV}},
    {"StringLike": {"s3:prefix": "home/*"}},
    {"Bool": {"aws:SecureTransport": "false"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"StringEquals": {"aws:PrincipalAccount": PROD}},
    {"StringNotEqualsIfExists": {"aws:PrincipalAccount": DEV}},
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = tmp_path_factory.mktemp("s3diff") / "directory.db"
    store: SqlStore = open_store(f"sqlite:///{path}", aws_managed=False)
    made = World(store)
    made.organization()  # DEV and PROD are members: SCPs and RCPs apply
    yield made
    store.close()


def _org_policy(rng: random.Random, rcp: bool) -> dict[str, Any]:
    statements = []
    for _ in range(rng.randint(1, 2)):
        s = _statement(rng, ["*"] if rcp else None)
        if rcp:
            s["Effect"] = "Deny"  # RCPFullAWSAccess is the allow; RCPs add denies
        statements.append(s)
    return {"Version": "2012-10-17", "Statement": statements}


def _set_org_policy(world: World, kind: str, account: str, document: dict[str, Any] | None
                    ) -> None:
    """Replace the extra (non-managed) policy of ``kind`` on ``account``."""
    store = world.store
    for old in store.list_org_policies_for_target(account, kind):
        if not old.aws_managed:
            store.detach_org_policy(old.policy_id, account)
            store.delete_org_policy(old.policy_id)
    if document is not None:
        world.attach_org_policy(kind, account, json.dumps(document))


def _statement(rng: random.Random, principals: list[str] | None) -> dict[str, Any]:
    s: dict[str, Any] = {
        "Effect": "Deny" if rng.random() < 0.25 else "Allow",
        "Action": rng.sample(ACTION_PATTERNS, rng.randint(1, 2)),
        "Resource": rng.sample(RESOURCE_PATTERNS, rng.randint(1, 2)),
    }
    if principals is not None:
        p = rng.choice(principals)
        s["Principal"] = "*" if p == "*" else {"AWS": p}
    if rng.random() < 0.3:
        s["Condition"] = rng.choice(CONDITIONS)
    return s


def _policy(rng: random.Random, principals: list[str] | None = None) -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [_statement(rng, principals) for _ in range(rng.randint(1, 3))]}


def _cases(world: World) -> list[dict[str, Any]]:
    rng = random.Random(20261204)
    role = world.role(PROD, "Deployer")
    callers = {
        "user": world.user(PROD, "alice"),
        "session": world.session(role, "s1"),
        "foreign": world.user(DEV, "carol"),
        "anonymous": None,
    }
    principals = ["*", PROD, f"arn:aws:iam::{PROD}:root", callers["user"].arn,  # type: ignore[union-attr]
                  role.arn, callers["session"].arn, DEV,  # type: ignore[union-attr]
                  callers["foreign"].arn]  # type: ignore[union-attr]
    out = []
    for i in range(CASES):
        who = rng.choice(sorted(callers))
        action = rng.choice(ACTIONS)
        key = None if action in ("s3:ListBucket", "s3:GetBucketPolicy") else rng.choice(KEYS)
        c: dict[str, Any] = {
            "i": i, "who": who, "action": action, "key": key,
            "identity": [_policy(rng) for _ in range(rng.randint(0, 2))],
            "bucket_policy": _policy(rng, principals) if rng.random() < 0.7 else None,
            "session": _policy(rng) if who == "session" and rng.random() < 0.4 else None,
            "context": {"s3:prefix": rng.choice(["home/alice/", "public/"])}
            if action == "s3:ListBucket" and rng.random() < 0.7 else {},
            "scp": {acct: _org_policy(rng, rcp=False) for acct in (DEV, PROD)
                    if rng.random() < 0.2},
            "rcp": _org_policy(rng, rcp=True) if rng.random() < 0.25 else None,
        }
        out.append(c)
    return out


def _ours(world: World, c: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Decide through authorize_s3; return the decision and the peer's case."""
    store = world.store
    role = store.get_role(PROD, "Deployer")
    owner = {"user": ("user", PROD, "alice"), "session": ("role", PROD, "Deployer"),
             "foreign": ("user", DEV, "carol")}.get(c["who"])
    caller = None
    if owner is not None:
        kind, account, name = owner
        for old in store.list_inline_policies(kind, account, name, max_items=100).items:
            store.delete_inline_policy(kind, account, name, old)
        for j, document in enumerate(c["identity"]):
            store.put_inline_policy(InlinePolicy(account, kind, name, f"p{j}",  # type: ignore[arg-type]
                                                 json.dumps(document)))
        if c["who"] == "session":
            policy = json.dumps(c["session"]) if c["session"] else None
            caller = world.session(role, "s1", policy=policy)
        else:
            user = store.get_user(account, name)
            caller = Caller("IAMUser", account, user.arn, user.user_id, "AKIADIFF", user_name=name)
    for acct in (DEV, PROD):
        _set_org_policy(world, SCP, acct, c["scp"].get(acct))
    _set_org_policy(world, RCP, PROD, c["rcp"])
    text = json.dumps(c["bucket_policy"]) if c["bucket_policy"] else None
    bucket = world.bucket(B, PROD, text, public_access_block=OFF)
    what = need(c["action"], B, c["key"])
    decision = world.decide(caller, what, bucket, context=dict(c["context"]))
    request = decision._request
    assert request is not None
    peer = {
        "principal": "anonymous" if caller is None else caller.arn,
        "action": what.action,
        "resource": what.resource,
        "resource_account": PROD,
        "context": {k: list(v) if isinstance(v, tuple) else v
                    for k, v in request.context.items()},
        "identity": c["identity"],
        "resource_policy": c["bucket_policy"],
        "boundary": None,
        "session_policy": c["session"],
        # The levels as the store holds them (root, then account), for the peer to decide.
        "scps": _levels(world, caller.account_id, SCP) if caller is not None else [],
        "rcps": _levels(world, PROD, RCP),
    }
    return decision.decision, peer


def _levels(world: World, account: str, kind: str) -> list[list[Any]]:
    return [[json.loads(text) for _, text in level]
            for level in world.store.policy_levels_for_account(account, kind)]


def _session_bypass(c: dict[str, Any], session_arn: str) -> bool:
    policy = c["bucket_policy"]
    return bool(c["who"] == "session" and c["session"] and policy and any(
        s["Effect"] == "Allow" and (s["Principal"] == "*" or
                                    s["Principal"].get("AWS") == session_arn)
        for s in policy["Statement"]))


def test_authorize_s3_agrees_with_iam_simulate(world: World) -> None:
    cases = _cases(world)
    ours, peer_cases = zip(*(_ours(world, c) for c in cases), strict=True)
    peer = IamSimulateEngine().run({"mode": "decide", "cases": list(peer_cases)})
    assert len(peer) == len(cases)
    errors = [(c["i"], p) for c, p in zip(cases, peer, strict=True) if p.startswith("error")]
    assert not errors, errors[:3]
    session_arn = f"arn:aws:sts::{PROD}:assumed-role/Deployer/s1"
    mismatched = [i for i, (a, b) in enumerate(zip(ours, peer, strict=True)) if a != b]
    known = [i for i in mismatched if _session_bypass(cases[i], session_arn)]
    unknown = [i for i in mismatched if i not in known]
    if known:  # the peer must agree once the session policy is gone
        retry = []
        for i in known:
            c = copy.deepcopy(cases[i])
            c["session"] = None
            retry.append(_ours(world, c))
        again = IamSimulateEngine().run({"mode": "decide", "cases": [p for _, p in retry]})
        unknown += [i for i, (o, _), p in zip(known, retry, again, strict=True) if o != p]
    detail = [(cases[i], ours[i], peer[i]) for i in unknown[:3]]
    assert not unknown, json.dumps(detail, indent=1, default=str)
    decided = {d for d in ours}
    assert decided >= {"allowed", "implicitDeny", "explicitDeny"}  # the cases mean something
