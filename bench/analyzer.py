"""IAM Access Analyzer: full external-access analysis of an organization and the
incremental update after one policy change; prints wall time and CPU time.

    .venv/bin/python bench/analyzer.py [--accounts 20] [--roles 500] [--sqlite-dir DIR]

An organization of ``--accounts`` accounts with ``--roles`` roles each, in a SQLite store,
with trust policies in the proportions one sees in practice: mostly service roles, then
roles for the account itself and for other member accounts, third parties with and without
sts:ExternalId, SAML and GitHub OIDC federation, and a few ``Principal: "*"`` roles guarded
by aws:PrincipalOrgID. The analysis is the server's own (services.accessanalyzer.analysis):
read the resources, analyze those whose digest changed, reconcile and save the findings.
Targets (issue 16): full ≤ 30 s, incremental ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from opensts.analyzer import external
from opensts.analyzer.model import Analyzer
from opensts.analyzer.zone import organization_zone
from opensts.directory.records import Account, Role
from opensts.services.accessanalyzer.analysis import analyze_changes
from opensts.store import open_store

NOW = datetime(2026, 12, 4, tzinfo=UTC)
ORG = "o-benchorg01"
THIRD_PARTIES = ["464622532012", "803453148286", "999988887777"]


def trust(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def realistic(rng: random.Random, account: str, accounts: list[str], i: int) -> str:
    roll = rng.random()
    if roll < 0.60:
        service = rng.choice(["lambda.amazonaws.com", "ec2.amazonaws.com",
                              "ecs-tasks.amazonaws.com", "glue.amazonaws.com"])
        return trust({"Effect": "Allow", "Principal": {"Service": service},
                      "Action": "sts:AssumeRole"})
    if roll < 0.75:
        return trust({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                      "Action": ["sts:AssumeRole", "sts:TagSession"],
                      "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
    if roll < 0.85:
        peer = rng.choice(accounts)
        return trust({"Effect": "Allow",
                      "Principal": {"AWS": f"arn:aws:iam::{peer}:role/deployer"},
                      "Action": "sts:AssumeRole"})
    if roll < 0.90:
        return trust({"Effect": "Allow", "Principal": {"AWS": rng.choice(THIRD_PARTIES)},
                      "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"sts:ExternalId": f"ext-{i}"}}})
    if roll < 0.93:
        return trust({"Effect": "Allow",
                      "Principal": {"AWS": f"arn:aws:iam::{rng.choice(THIRD_PARTIES)}:root"},
                      "Action": "sts:AssumeRole"})
    if roll < 0.96:
        return trust({"Effect": "Allow",
                      "Principal": {"Federated": f"arn:aws:iam::{account}:saml-provider/corp"},
                      "Action": "sts:AssumeRoleWithSAML",
                      "Condition": {"StringEquals": {
                          "SAML:aud": "https://signin.aws.amazon.com/saml"}}})
    if roll < 0.98:
        oidc = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
        return trust({"Effect": "Allow", "Principal": {"Federated": oidc},
                      "Action": "sts:AssumeRoleWithWebIdentity",
                      "Condition": {"StringLike": {
                          "token.actions.githubusercontent.com:sub": f"repo:corp/app{i}:*"}}})
    return trust({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole",
                  "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}})


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--roles", type=int, default=500)
    parser.add_argument("--sqlite-dir", default=None)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(dir=args.sqlite_dir)
    store = open_store(f"sqlite:///{tmp.name}/bench.db", aws_managed=False)
    rng = random.Random(16)
    accounts = [f"{100000000000 + i:012d}" for i in range(args.accounts)]
    start = time.perf_counter()
    for n, account in enumerate(accounts):
        store.create_account(Account(account, f"acct{n}", created=NOW))
        for i in range(args.roles):
            name = f"role{i}"
            store.create_role(Role(account, f"AROA{n:04d}{i:013d}", name, "/",
                                   f"arn:aws:iam::{account}:role/{name}", NOW,
                                   realistic(rng, account, accounts, i)))
    setup = time.perf_counter() - start
    zone = organization_zone(ORG, accounts)
    arn = f"arn:aws:access-analyzer:us-east-1:{accounts[0]}:analyzer/bench"
    analyzer = Analyzer(arn, accounts[0], "us-east-1", "bench", "ORGANIZATION", NOW)
    store.create_analyzer(analyzer)
    total = args.accounts * args.roles
    print(f"{args.accounts} accounts x {args.roles} roles = {total} trust policies "
          f"(setup {setup:.1f} s)")

    generation = store.generation()
    analyzed, wall, cpu = timed(lambda: analyze_changes(store, analyzer, zone, generation, NOW))
    findings = store.list_analyzer_findings(arn)
    print(f"{'full analysis (cold: parse, analyze, save)':48s} {wall * 1000:9.1f} ms wall "
          f"{cpu * 1000:9.1f} ms CPU  ({analyzed} resources, {len(findings)} findings)")

    resources = store.analyzable_resources(accounts, "us-east-1")
    _, wall, cpu = timed(lambda: [external.analyze(r, zone) for r in resources])
    print(f"{'engine alone, policies already parsed':48s} {wall * 1000:9.1f} ms wall "
          f"{cpu * 1000:9.1f} ms CPU")

    saved = replace(store.get_analyzer(arn))
    account, role = accounts[3], "role7"
    store.update_role(account, role, lambda r: replace(r, assume_role_policy=trust({
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::464622532012:root"},
        "Action": "sts:AssumeRole"})))
    generation = store.generation()
    analyzed, wall, cpu = timed(lambda: analyze_changes(store, saved, zone, generation, NOW))
    print(f"{'incremental after one trust-policy change':48s} {wall * 1000:9.1f} ms wall "
          f"{cpu * 1000:9.1f} ms CPU  ({analyzed} resource re-analyzed)")
    current = store.get_analyzer(arn)
    analyzed, wall, cpu = timed(lambda: analyze_changes(store, current, zone, generation, NOW))
    print(f"{'nothing changed (policies compared, nothing saved)':48s} {wall * 1000:9.1f} ms wall "
          f"{cpu * 1000:9.1f} ms CPU  ({analyzed} re-analyzed)")
    from opensts.services.accessanalyzer import analysis

    analysis._SEEN.clear()  # a fresh process: digests from the store instead of the memo
    current = store.get_analyzer(arn)
    analyzed, wall, cpu = timed(lambda: analyze_changes(store, current, zone, generation, NOW))
    print(f"{'nothing changed, fresh process (digests read)':48s} {wall * 1000:9.1f} ms wall "
          f"{cpu * 1000:9.1f} ms CPU  ({analyzed} re-analyzed)")
    store.close()


if __name__ == "__main__":
    main()
