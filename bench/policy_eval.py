"""Benchmark: opensts.policy decisions vs @cloud-copilot/iam-simulate on the same mix.

Run: .venv/bin/python bench/policy_eval.py [iterations] [--no-peer] [--profile]

``--profile`` runs the opensts loop under cProfile and prints the top functions by own time
instead of timing; ``--no-peer`` skips iam-simulate (several minutes at its speed).

The mix is fixed: a user and a role session with 10 managed policies (small and large, with
conditions and wildcards), an inline policy with variables, a permissions boundary, two SCP
levels, and for some requests a resource policy and a session policy. It prints compile cost,
decisions/s, median and p99 µs per decision, then runs the same cases through iam-simulate in
node (runUnsafeSimulation; its core authorize() where a resource or session policy is present,
because runUnsafeSimulation crashes on resource policies) and prints the throughput ratio.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opensts.policy import (
    PolicyKind,
    PolicySet,
    Principal,
    PrincipalKind,
    Request,
    evaluate,
    parse_policy,
)
from opensts.policy.parser import Policy

REPO = Path(__file__).resolve().parents[1]
PEER = REPO / "tests" / "peers" / "iam-simulate"
A = "111122223333"
USER = Principal(PrincipalKind.USER, f"arn:aws:iam::{A}:user/alice", A)
ROLE = f"arn:aws:iam::{A}:role/app/Deployer"
SESSION = Principal(
    PrincipalKind.ASSUMED_ROLE, f"arn:aws:sts::{A}:assumed-role/Deployer/ci", A, issuer_arn=ROLE
)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def managed(i: int) -> dict[str, Any]:
    """Ten managed policies: a few tiny, a few large (40 statements)."""
    services = [
        "ec2",
        "rds",
        "lambda",
        "sqs",
        "sns",
        "dynamodb",
        "kms",
        "logs",
        "cloudwatch",
        "ecr",
    ]
    svc = services[i]
    stmts = [
        {
            "Sid": f"Read{svc}",
            "Effect": "Allow",
            "Action": [f"{svc}:Describe*", f"{svc}:List*", f"{svc}:Get*"],
            "Resource": "*",
        }
    ]
    n = 40 if i % 3 == 0 else 3
    for j in range(n):
        stmts.append(
            {
                "Effect": "Allow",
                "Action": [f"{svc}:Put{j}*", f"{svc}:Update{j}Thing"],
                "Resource": f"arn:aws:{svc}:us-east-1:{A}:thing/team-{j}/*",
                "Condition": {
                    "StringEquals": {"aws:PrincipalTag/team": f"team-{j}"},
                    "Bool": {"aws:SecureTransport": "true"},
                },
            }
        )
    if i == 4:
        stmts.append(
            {
                "Effect": "Deny",
                "Action": "sns:DeleteTopic",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}},
            }
        )
    return doc(*stmts)


INLINE = doc(
    {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": "arn:aws:s3:::home/${aws:username}/*",
    },
    {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::home",
        "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*"]}},
    },
    {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    },
    {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": f"arn:aws:sqs:*:{A}:orders-*",
        "Condition": {
            "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
            "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
        },
    },
)
BOUNDARY = doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})
SCP_ROOT = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
SCP_OU = doc(
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
    },
)
BUCKET = doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::shared/*",
    },
    {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::shared/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    },
)
SESSION_POLICY = doc(
    {"Effect": "Allow", "Action": ["s3:*", "sqs:*", "ec2:Describe*"], "Resource": "*"}
)

CTX = {
    "aws:username": "alice",
    "aws:SecureTransport": "true",
    "aws:SourceIp": "203.0.113.7",
    "aws:CurrentTime": "2026-11-25T12:00:00Z",
    "aws:RequestedRegion": "us-east-1",
    "aws:PrincipalTag/team": "team-3",
}
REQUESTS = [  # (principal, action, resource, context overrides, resource policy?, session?)
    (USER, "s3:GetObject", "arn:aws:s3:::home/alice/notes.txt", {}, False, False),
    (USER, "s3:GetObject", "arn:aws:s3:::home/bob/notes.txt", {}, False, False),
    (USER, "ec2:DescribeInstances", "*", {}, False, False),
    (USER, "ec2:Put3Thing", f"arn:aws:ec2:us-east-1:{A}:thing/team-3/x", {}, False, False),
    (USER, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{A}:orders-eu", {}, False, False),
    (USER, "iam:CreateUser", f"arn:aws:iam::{A}:user/mallory", {}, False, False),
    (
        USER,
        "s3:PutObject",
        "arn:aws:s3:::home/alice/x",
        {"aws:SecureTransport": "false"},
        False,
        False,
    ),
    (
        USER,
        "sns:DeleteTopic",
        f"arn:aws:sns:eu-west-1:{A}:t",
        {"aws:RequestedRegion": "eu-west-1"},
        False,
        False,
    ),
    (SESSION, "s3:GetObject", "arn:aws:s3:::shared/report.csv", {}, True, True),
    (SESSION, "kms:Decrypt", f"arn:aws:kms:us-east-1:{A}:key/1", {}, False, True),
]


def policy_set() -> tuple[PolicySet, PolicySet, PolicySet]:
    ident = [
        (f"managed-{i}", parse_policy(json.dumps(managed(i)), PolicyKind.IDENTITY))
        for i in range(10)
    ]
    ident.append(("inline", parse_policy(json.dumps(INLINE), PolicyKind.IDENTITY)))
    base = dict(
        identity=ident,
        boundary=("boundary", parse_policy(json.dumps(BOUNDARY), PolicyKind.BOUNDARY)),
        scps=[
            [("root", parse_policy(json.dumps(SCP_ROOT), PolicyKind.SCP))],
            [("ou", parse_policy(json.dumps(SCP_OU), PolicyKind.SCP))],
        ],
    )
    resource = ("bucket", parse_policy(json.dumps(BUCKET), PolicyKind.RESOURCE))
    session = [("session", parse_policy(json.dumps(SESSION_POLICY), PolicyKind.SESSION))]
    return (
        PolicySet(**base),
        PolicySet(**base, resource=resource, session=session),
        PolicySet(**base, session=session),
    )


def compile_cost() -> float:
    texts = [(json.dumps(managed(i)), PolicyKind.IDENTITY) for i in range(10)] + [
        (json.dumps(INLINE), PolicyKind.IDENTITY),
        (json.dumps(BOUNDARY), PolicyKind.BOUNDARY),
        (json.dumps(SCP_ROOT), PolicyKind.SCP),
        (json.dumps(SCP_OU), PolicyKind.SCP),
        (json.dumps(BUCKET), PolicyKind.RESOURCE),
        (json.dumps(SESSION_POLICY), PolicyKind.SESSION),
    ]
    runs = []
    for _ in range(20):
        t = time.perf_counter()
        for text, kind in texts:
            Policy(text, kind)  # uncached on purpose
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) * 1e6


def bench_opensts(n: int) -> tuple[dict[str, float], list[str]]:
    plain, with_resource, with_session = policy_set()
    reqs = []
    for p, action, resource, over, res, sess in REQUESTS:
        ps = with_resource if res else with_session if sess else plain
        reqs.append((Request(p, action, resource, None, {**CTX, **over}), ps))
    decisions = [evaluate(r, ps).decision for r, ps in reqs]
    for _ in range(2000):
        for r, ps in reqs:
            evaluate(r, ps)
    times = []
    clock = time.perf_counter_ns
    total0 = clock()
    for i in range(n):
        r, ps = reqs[i % len(reqs)]
        t = clock()
        evaluate(r, ps)
        times.append(clock() - t)
    total = (clock() - total0) / 1e9
    times.sort()
    return (
        {
            "decisions_per_s": n / total,
            "median_us": times[n // 2] / 1000,
            "p99_us": times[int(n * 0.99)] / 1000,
        },
        decisions,
    )


def profile_opensts(n: int) -> None:
    import cProfile
    import pstats

    plain, with_resource, with_session = policy_set()
    reqs = []
    for p, action, resource, over, res, sess in REQUESTS:
        ps = with_resource if res else with_session if sess else plain
        reqs.append((Request(p, action, resource, None, {**CTX, **over}), ps))
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        r, ps = reqs[i % len(reqs)]
        evaluate(r, ps)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(20)


def peer_cases() -> list[dict[str, Any]]:
    out = []
    ident = [managed(i) for i in range(10)] + [INLINE]
    for p, action, resource, over, res, sess in REQUESTS:
        out.append(
            {
                "principal": p.arn,
                "action": action,
                "resource": resource,
                "resource_account": A,
                "context": {**CTX, **over},
                "identity": ident,
                "boundary": [BOUNDARY],
                "scps": [[SCP_ROOT], [SCP_OU]],
                "rcps": [],
                "resource_policy": BUCKET if res else None,
                "session_policy": SESSION_POLICY if (sess or res) else None,
            }
        )
    return out


def bench_peer(n: int) -> dict[str, Any] | None:
    if shutil.which("node") is None or not (PEER / "node_modules").is_dir():
        return None
    out = subprocess.run(
        ["node", "run.mjs"],
        cwd=PEER,
        check=True,
        capture_output=True,
        input=json.dumps({"mode": "bench", "iterations": n, "cases": peer_cases()}).encode(),
        timeout=600,
    )
    return json.loads(out.stdout)


def main() -> None:
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 50_000
    if "--profile" in flags:
        profile_opensts(n)
        return
    print(f"compile (16 policies, uncached): {compile_cost():.0f} µs total")
    ours, decisions = bench_opensts(n)
    print(
        f"opensts.policy : {ours['decisions_per_s']:>10,.0f} decisions/s  "
        f"median {ours['median_us']:.2f} µs  p99 {ours['p99_us']:.2f} µs   (n={n})"
    )
    if "--no-peer" in flags:
        return
    peer = bench_peer(n)
    if peer is None:
        print("iam-simulate   : not installed (scripts/install-test-tools)")
        return
    print(
        f"iam-simulate   : {peer['decisions_per_s']:>10,.0f} decisions/s  "
        f"median {peer['median_us']:.2f} µs  p99 {peer['p99_us']:.2f} µs   (n={n})"
    )
    print(f"ratio          : {ours['decisions_per_s'] / peer['decisions_per_s']:.1f}x throughput")
    agree = sum(a == b for a, b in zip(decisions, peer["decisions"], strict=True))
    print(f"decisions      : {decisions}  (peer agrees on {agree}/{len(decisions)})")


if __name__ == "__main__":
    main()
