"""Privilege-escalation analysis on a large directory: read the store into the snapshot,
build the graph (every move decided by the policy engine), find the paths to an
administrator. Prints wall and CPU time of each phase.

    PYTHONPATH=src .venv/bin/python bench/escalation.py [--accounts 20] [--roles 500]

The directory is written straight into a temporary SQLite store (not through the API, which
would take far longer than what is measured). Per account: ``--roles`` roles and 20 users,
with trust and identity policies in the proportions below (realistic: most roles are
service roles with data-access policies, few hold IAM power):

* trust: 55% a service (lambda, ec2, ecs-tasks), 30% the account's root, 10% a role of the
  next account (with sts:ExternalId), 5% a named user of the account;
* identity: every role an inline data policy (s3/dynamodb on its own resources); 2% also
  AdministratorAccess; 4% iam:PassRole on ``*`` with lambda:CreateFunction/InvokeFunction;
  1% iam:PutRolePolicy on one other role; 5% sts:AssumeRole on ``role/team-*`` everywhere;
* users: 2 of 20 may create access keys for any user of the account, the rest read S3.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime

from opensts.analyzer.escalation.graph import build, paths_to_admin
from opensts.cli.analyze_store import load
from opensts.directory.records import Account, InlinePolicy, Role, User
from opensts.store import open_store

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _doc(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(i: int, acct: str, next_acct: str) -> str:
    bucket = i % 20
    if bucket < 11:
        service = ("lambda", "ec2", "ecs-tasks")[i % 3]
        principal: dict[str, object] = {"Service": f"{service}.amazonaws.com"}
        return _doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    if bucket < 17:
        return _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
                     "Action": "sts:AssumeRole"})
    if bucket < 19:
        return _doc({"Effect": "Allow",
                     "Principal": {"AWS": f"arn:aws:iam::{next_acct}:role/team-{i}"},
                     "Action": "sts:AssumeRole",
                     "Condition": {"StringEquals": {"sts:ExternalId": f"ext-{i}"}}})
    return _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:user/u{i % 20}"},
                 "Action": "sts:AssumeRole"})


def _policies(i: int, acct: str) -> list[str]:
    docs = [_doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                  "Resource": f"arn:aws:s3:::data-{acct}-{i}/*"},
                 {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                  "Resource": f"arn:aws:dynamodb:us-east-1:{acct}:table/t{i}"})]
    if i % 25 == 3:
        docs.append(_doc({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
                         {"Effect": "Allow", "Action": ["lambda:CreateFunction",
                                                        "lambda:InvokeFunction"],
                          "Resource": "*"}))
    if i % 100 == 7:
        docs.append(_doc({"Effect": "Allow", "Action": "iam:PutRolePolicy",
                          "Resource": f"arn:aws:iam::{acct}:role/team-{(i + 1)}"}))
    if i % 20 == 9:
        docs.append(_doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                          "Resource": "arn:aws:iam::*:role/team-*"}))
    return docs


def populate(store: object, accounts: int, roles: int) -> None:
    s = store  # the SqlStore; typed loosely to keep the bench short
    ids = [f"{100000000000 + n:012d}" for n in range(accounts)]
    for n, acct in enumerate(ids):
        next_acct = ids[(n + 1) % len(ids)]
        s.create_account(Account(acct, f"bench-{n}"))  # type: ignore[attr-defined]
        for i in range(roles):
            name = f"team-{i}"
            s.create_role(Role(acct, f"AROA{acct}{i:08d}", name, "/",  # type: ignore[attr-defined]
                               f"arn:aws:iam::{acct}:role/{name}", NOW,
                               _trust(i, acct, next_acct)))
            for k, text in enumerate(_policies(i, acct)):
                s.put_inline_policy(InlinePolicy(acct, "role", name, f"p{k}", text))  # type: ignore[attr-defined]
            if i % 50 == 11:
                s.attach_policy("role", acct, name, ADMIN)  # type: ignore[attr-defined]
        for u in range(20):
            name = f"u{u}"
            s.create_user(User(acct, f"AIDA{acct}{u:08d}", name, "/",  # type: ignore[attr-defined]
                               f"arn:aws:iam::{acct}:user/{name}", NOW))
            action = ["iam:CreateAccessKey"] if u in (3, 4) else ["s3:ListBucket"]
            resource = f"arn:aws:iam::{acct}:user/*" if u in (3, 4) else "*"
            s.put_inline_policy(InlinePolicy(acct, "user", name, "p", _doc(  # type: ignore[attr-defined]
                {"Effect": "Allow", "Action": action, "Resource": resource})))


def phase(label: str, fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    print(f"{label:<34} {time.perf_counter() - wall:8.2f} s wall  "
          f"{time.process_time() - cpu:8.2f} s CPU")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--roles", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        phase(f"populate {args.accounts}x{args.roles} (setup)",
              lambda: populate(store, args.accounts, args.roles))
        directory, _ = phase("load: store -> snapshot", lambda: load(store, NOW))
        principals = len(directory.entities)
        graph = phase("graph: moves decided by the engine", lambda: build(directory))
        paths = phase("paths: shortest to an administrator", lambda: paths_to_admin(graph))
        moves = sum(len(m) for m in graph.out.values())
        admins = sum(1 for a in graph.admin.values() if a)
        print(f"principals {principals}, nodes {len(graph.nodes)} (variants "
              f"{len(graph.nodes) - principals}), moves {moves}, administrator nodes {admins}, "
              f"paths {len(paths)}, incomplete {len(graph.truncated)}")
        store.close()


if __name__ == "__main__":
    main()
