"""Hot-path store reads (what every authorized request does): prints microseconds per call.

    .venv/bin/python bench/store_reads.py [sqlite|postgresql]
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from opensts.directory.records import AccessKey, Group, InlinePolicy, User
from opensts.store import open_store
from opensts.store.cache import CachingStore

ACCT = "111122223333"
NOW = datetime.now(UTC)
DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'


def timed(label: str, fn: Callable[[], object], n: int = 2000) -> None:
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    print(f"{label:40s} {(time.perf_counter() - start) / n * 1e6:8.1f} us/call")


def main() -> None:
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    tmp = tempfile.TemporaryDirectory()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        store = open_store(f"sqlite:///{tmp.name}/bench.db")
    else:
        store = open_store("postgresql+psycopg://postgres@127.0.0.1:5432/test", schema=schema)
    for i in range(200):
        store.create_user(User(ACCT, f"AIDA{i:017d}", f"user{i}", "/",
                               f"arn:aws:iam::{ACCT}:user/user{i}", NOW))
    store.create_group(Group(ACCT, "AGPA00000000000000001", "g", "/",
                             f"arn:aws:iam::{ACCT}:group/g", NOW))
    store.add_user_to_group(ACCT, "g", "user7")
    store.put_inline_policy(InlinePolicy(ACCT, "user", "user7", "p", DOC))
    store.put_inline_policy(InlinePolicy(ACCT, "group", "g", "p", DOC))
    store.attach_policy("user", ACCT, "user7", "arn:aws:iam::aws:policy/ReadOnlyAccess")
    store.create_access_key(AccessKey("AKIAAAAAAAAAAAAAAAA7", ACCT, "user7",
                                      "AIDA00000000000000007",
                                      b"sealed", "Active", NOW))
    print(f"backend: {backend}")
    timed("find_access_key", lambda: store.find_access_key("AKIAAAAAAAAAAAAAAAA7"))
    timed("get_user", lambda: store.get_user(ACCT, "user7"))
    timed("identity_policies_for_user (4 sources)",
          lambda: store.identity_policies_for_user(ACCT, "user7"))
    timed("get_managed_policy (AWS managed)",
          lambda: store.get_managed_policy("arn:aws:iam::aws:policy/ReadOnlyAccess"))
    timed("scp_levels_for_account (no org)", lambda: store.scp_levels_for_account(ACCT))
    timed("generation", store.generation)
    cached = CachingStore(store)
    timed("cached identity_policies_for_user", lambda: cached.identity_policies_for_user(
        ACCT, "user7"))
    timed("cached get_managed_policy", lambda: cached.get_managed_policy(
        "arn:aws:iam::aws:policy/ReadOnlyAccess"))
    timed("create_user (write tx)", lambda: store.create_user(User(
        ACCT, uuid.uuid4().hex[:21], uuid.uuid4().hex, "/", "arn:" + uuid.uuid4().hex, NOW)),
        n=300)
    if backend != "sqlite":
        store.drop_schema()
    store.close()


if __name__ == "__main__":
    main()
