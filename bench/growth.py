"""Does a request cost more as the directory grows? AssumeRole and a decision, small vs big.

For each size, a real ``opensts serve`` creates the benchmark principals through boto3 (a
user with an access key and a role trusting it, as in assume_role.py, plus
``--attached`` customer-managed policies attached to the user, one of which allows
``iam:GetUser``); the server stops and the SQLite directory is then filled in bulk with
filler users, roles (half each of ``--principals``) and ``--policies`` managed policies with
one version each (every tenth filler user with one of them attached). The data dirs are
opened in this process and pre-signed requests go straight into ``OpenStsApp`` (as
inprocess.py does), one at a time, with the audit's ``fdatasync`` stubbed out so the disk's
latency does not drown the CPU: ``AssumeRole`` (with a session policy) and ``iam:GetUser``
(a signed call whose answer is an IAM decision over the user's policies). Sizes run
interleaved, ``--rounds`` times; the median CPU (``time.process_time``) per request is
printed, and the big/small ratio (goal: <= 1.10).

A second table times the store reads a cache miss makes, uncached, at each size (what a
request pays after an IAM write, or at start).

    PYTHONPATH=src .venv/bin/python bench/growth.py [--requests 500] [--principals 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import sqlalchemy as sa
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import signed_query_request
from _servers import ACCOUNT_ID, ROOT_KEY, ROOT_SECRET, start_opensts
from assume_role import ROLE_POLICY, Caller, doc, presign, set_up
from inprocess import call

from opensts.config import Settings
from opensts.directory.records import ManagedPolicy, Role, User
from opensts.store import schema as s
from opensts.store._policies import _policy_values
from opensts.store._principals import _role_values, _user_values
from opensts.web.app import OpenStsApp, build_runtime

NOW = datetime.now(UTC)
FILLER_DOC = doc({"Effect": "Allow", "Action": ["s3:GetObject", "sqs:SendMessage"],
                  "Resource": "arn:aws:s3:::filler/*"})


def set_up_principals(endpoint: str, attached: int) -> tuple[Caller, str]:
    caller = set_up(endpoint, ROOT_KEY, ROOT_SECRET)
    iam = boto3.session.Session().client(
        "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET, config=Config(retries={"max_attempts": 1}))
    for i in range(attached):
        statement = ({"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"} if i == 0
                     else {"Effect": "Allow", "Action": f"s3:Get{i}*",
                           "Resource": f"arn:aws:s3:::b{i}/*"})
        arn = iam.create_policy(PolicyName=f"bench-{i}", PolicyDocument=doc(statement))[
            "Policy"]["Arn"]
        iam.attach_user_policy(UserName="bench-user", PolicyArn=arn)
    iam.attach_role_policy(RoleName="bench-role", PolicyArn=arn)
    return caller, ROLE_POLICY


def fill(database: Path, principals: int, policies: int) -> None:
    engine = sa.create_engine(f"sqlite:///{database}")
    users, roles = principals // 2, principals - principals // 2
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                 "Action": "sts:AssumeRole"})
    with engine.begin() as conn:
        conn.execute(sa.insert(s.users), [_user_values(User(
            ACCOUNT_ID, f"AIDAFILL{i:013d}", f"filler-user-{i}", "/",
            f"arn:aws:iam::{ACCOUNT_ID}:user/filler-user-{i}", NOW)) for i in range(users)])
        conn.execute(sa.insert(s.roles), [_role_values(Role(
            ACCOUNT_ID, f"AROAFILL{i:013d}", f"filler-role-{i}", "/",
            f"arn:aws:iam::{ACCOUNT_ID}:role/filler-role-{i}", NOW, trust))
            for i in range(roles)])
        conn.execute(sa.insert(s.policies), [_policy_values(ManagedPolicy(
            ACCOUNT_ID, f"ANPAFILL{i:013d}", f"filler-policy-{i}", "/",
            f"arn:aws:iam::{ACCOUNT_ID}:policy/filler-policy-{i}", NOW, NOW, "v1", FILLER_DOC),
            2) for i in range(policies)])
        conn.execute(sa.insert(s.policy_versions), [
            {"policy_id": f"ANPAFILL{i:013d}", "version_id": "v1", "document": FILLER_DOC,
             "created": NOW} for i in range(policies)])
        if policies:
            conn.execute(sa.insert(s.attachments), [
                {"entity_kind": "user", "entity_id": f"AIDAFILL{i:013d}",
                 "policy_id": f"ANPAFILL{i % policies:013d}"} for i in range(0, users, 10)])
        conn.execute(sa.update(s.meta).where(s.meta.c.key == "generation")
                     .values(value=s.meta.c.value + 1))
    engine.dispose()


class Size:
    def __init__(self, label: str, workdir: Path, principals: int, policies: int,
                 args: argparse.Namespace):
        self.label = label
        started = time.monotonic()
        server = start_opensts(workdir, None)
        try:
            caller, _ = set_up_principals(server.endpoint, args.attached)
            self.requests = presign(server.endpoint, caller, args.requests)
            self.requests["iam:GetUser"] = [
                signed_query_request(server.endpoint, {"Action": "GetUser", "Version":
                                     "2010-05-08", "UserName": "bench-user"},
                                     caller.credentials, service="iam")
                for _ in range(args.requests)]
            del self.requests["GetCallerIdentity"]
        finally:
            server.stop()
        fill(workdir / "data" / "opensts.db", principals, policies)
        env = {**os.environ, "OPENSTS_ACCOUNT_ID": ACCOUNT_ID,
               "OPENSTS_ROOT_ACCESS_KEY_ID": ROOT_KEY,
               "OPENSTS_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET}
        self.runtime, _ = build_runtime(Settings.from_env(workdir / "data", env))
        self.app = OpenStsApp(self.runtime)
        with sa.create_engine(f"sqlite:///{workdir / 'data' / 'opensts.db'}").connect() as c:
            counts = {t: c.execute(sa.select(sa.func.count()).select_from(getattr(s, t)))
                      .scalar_one() for t in ("users", "roles", "policies")}
        print(f"  {label}: {counts} (set up in {time.monotonic() - started:.0f} s)",
              file=sys.stderr, flush=True)

    def uncached_reads(self) -> dict[str, float]:
        store = self.runtime.store.uncached
        reads = {
            "get_user": lambda: store.get_user(ACCOUNT_ID, "bench-user"),
            "get_role": lambda: store.get_role(ACCOUNT_ID, "bench-role"),
            "identity_policies_for_user": lambda: store.identity_policies_for_user(
                ACCOUNT_ID, "bench-user"),
            "identity_policies_for_role": lambda: store.identity_policies_for_role(
                ACCOUNT_ID, "bench-role"),
            "get_managed_policy": lambda: store.get_managed_policy(
                f"arn:aws:iam::{ACCOUNT_ID}:policy/bench-0"),
        }
        out = {}
        for name, read in reads.items():
            read()
            started = time.process_time()
            for _ in range(300):
                read()
            out[name] = (time.process_time() - started) / 300 * 1e6
        return out


async def sequential(app: OpenStsApp, requests: list[bytes]) -> float:
    started = time.process_time()
    for raw in requests:
        status = await call(app, raw)
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
    return (time.process_time() - started) / len(requests) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", default="1000,10", help="principals,policies (small)")
    parser.add_argument("--big", default="100000,10000", help="principals,policies (big)")
    parser.add_argument("--attached", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="opensts-growth-"))
    os.fdatasync = lambda fd: None  # CPU, not the disk's latency (see the docstring)
    try:
        sizes = []
        for label, spec in (("small", args.small), ("big", args.big)):
            principals, policies = (int(x) for x in spec.split(","))
            sizes.append(Size(f"{label} ({principals} principals, {policies} policies)",
                              work / label, principals, policies, args))
        loop = asyncio.new_event_loop()
        results: dict[tuple[str, str], list[float]] = {}
        for size in sizes:  # warm-up: caches, first file opens
            for requests in size.requests.values():
                loop.run_until_complete(sequential(size.app, requests[:100]))
        for _ in range(args.rounds):
            for size in sizes:
                for operation, requests in size.requests.items():
                    cpu = loop.run_until_complete(sequential(size.app, requests))
                    results.setdefault((size.label, operation), []).append(cpu)
        print(f"{args.requests} requests per run, one at a time, median of {args.rounds} "
              "interleaved rounds (fdatasync stubbed)")
        print(f"{'size':<42} {'operation':<12} {'CPU us/req':>11}   rounds")
        medians = {}
        for (label, operation), runs in results.items():
            medians[(label, operation)] = statistics.median(runs)
            print(f"{label:<42} {operation:<12} {medians[(label, operation)]:>11.0f}   "
                  + " ".join(f"{r:.0f}" for r in runs))
        small, big = sizes[0].label, sizes[1].label
        for operation in sizes[0].requests:
            ratio = medians[(big, operation)] / medians[(small, operation)]
            print(f"{operation:<12} big / small = {ratio:.3f}  (goal <= 1.10: "
                  f"{'met' if ratio <= 1.10 else 'MISSED'})")
        print("\nuncached store reads (a cache miss), CPU us per read:")
        reads = [size.uncached_reads() for size in sizes]
        for name in reads[0]:
            print(f"  {name:<28} small {reads[0][name]:7.0f}   big {reads[1][name]:7.0f}   "
                  f"ratio {reads[1][name] / reads[0][name]:.2f}")
        loop.close()
        for size in sizes:
            size.app.close()
        print(json.dumps({f"{k[0]}|{k[1]}": v for k, v in medians.items()}), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
