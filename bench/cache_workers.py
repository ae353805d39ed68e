"""What an IAM write costs the other ``--workers`` processes' caches: a simulation.

N ``CachingStore`` instances (the N workers of one data dir) open one SQLite directory with
``--accounts`` accounts of one user each, and warm their caches with every account's
hot-path reads (access key, user, identity policies). Then one of them makes ``--writes``
IAM writes (inline policy puts, one account each), and after each write every worker
serves the hot reads of every account again. Printed: store reads (cache misses) per write
summed over all workers, with the shared change journal (invalidate the written account)
and without it (any write a worker did not make itself clears its whole cache, as before
issue 10).

    PYTHONPATH=src .venv/bin/python bench/cache_workers.py [--workers 16] [--accounts 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from opensts.directory.records import AccessKey, Account, InlinePolicy, User
from opensts.store import open_store
from opensts.store.cache import CachingStore

NOW = datetime.now(UTC)
DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'


def account_id(i: int) -> str:
    return f"{100000000000 + i:012d}"


def populate(url: str, accounts: int) -> None:
    store = open_store(url, aws_managed=False)
    for i in range(accounts):
        acct = account_id(i)
        store.create_account(Account(acct, f"a{i}", f"a{i}@example.com"))
        store.create_user(User(acct, f"AIDA{i:017d}", "u", "/", f"arn:aws:iam::{acct}:user/u",
                               NOW))
        store.create_access_key(AccessKey(f"AKIA{i:016d}", acct, "u", f"AIDA{i:017d}",
                                          b"sealed", "Active", NOW))
    store.close()


def serve_all(worker: CachingStore, accounts: int) -> None:
    for i in range(accounts):
        acct = account_id(i)
        worker.find_access_key(f"AKIA{i:016d}")
        worker.get_user(acct, "u")
        worker.identity_policies_for_user(acct, "u")


def run(url: str, workers: int, accounts: int, writes: int, journal: Path | None) -> tuple[
        float, float]:
    caches = [CachingStore(open_store(url, aws_managed=False), journal=journal)
              for _ in range(workers)]
    for worker in caches:
        serve_all(worker, accounts)
    before = sum(w.misses for w in caches)
    started = time.process_time()
    for n in range(writes):
        acct = account_id(n % accounts)
        caches[0].put_inline_policy(InlinePolicy(acct, "user", "u", f"p{n}", DOC))
        for worker in caches:
            serve_all(worker, accounts)
    cpu = time.process_time() - started
    misses = sum(w.misses for w in caches) - before
    for worker in caches:
        worker.close()
    return misses / writes, cpu / writes * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--writes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/directory.db"
        populate(url, args.accounts)
        print(f"{args.workers} workers, {args.accounts} accounts, {args.writes} IAM writes; "
              f"after each write every worker serves every account's hot reads")
        print(f"{'invalidation':<32} {'store reads per write':>22} {'CPU ms per write':>17}")
        for label, journal in (("whole cache (no journal)", None),
                               ("written account (journal)", Path(tmp) / "journal")):
            misses, cpu = run(url, args.workers, args.accounts, args.writes, journal)
            print(f"{label:<32} {misses:>22.1f} {cpu:>17.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
