"""S3 buckets in the store: ownership, policy, tags and Block Public Access, on every backend."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from opensts.directory.errors import AlreadyExists, BucketAlreadyExists, NotFound
from opensts.directory.records import Account, Bucket, PublicAccessBlock, Tag
from opensts.store.cache import CachingStore

from .records import ACCT, NOW

OTHER = "444455556666"
POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
          '"arn:aws:iam::444455556666:root"},"Action":"s3:GetObject",'
          '"Resource":"arn:aws:s3:::photos/*"}]}')


def bucket(name: str = "photos", account: str = ACCT, region: str = "us-east-1",
           **kw: object) -> Bucket:
    return Bucket(name, account, region, NOW, **kw)  # type: ignore[arg-type]


@pytest.fixture
def accounts(store):  # type: ignore[no-untyped-def]
    store.create_account(Account(ACCT, "main", "a@example.com", NOW))
    store.create_account(Account(OTHER, "other", "b@example.com", NOW))
    return store


def test_a_new_bucket_blocks_public_access_and_round_trips(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.create_bucket(bucket())
    got = store.get_bucket("photos")
    assert got == bucket()
    assert got.public_access_block == PublicAccessBlock(True, True, True, True)
    assert got.public_access_block_configured
    assert got.created == NOW and got.created.tzinfo is not None
    assert got.policy is None and got.tags == ()
    assert got.arn == "arn:aws:s3:::photos"
    assert store.find_bucket("nope") is None
    with pytest.raises(NotFound):
        store.get_bucket("nope")


def test_a_taken_name_names_its_owner(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.create_bucket(bucket(tags=(Tag("a", "1"),)))
    for account in (ACCT, OTHER):
        with pytest.raises(BucketAlreadyExists) as caught:
            store.create_bucket(bucket(account=account, region="eu-west-1"))
        assert caught.value.owner == ACCT
        assert isinstance(caught.value, AlreadyExists)
    assert store.get_bucket("photos") == bucket(tags=(Tag("a", "1"),))  # untouched


def test_unknown_account_leaves_nothing(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    before = store.generation()
    with pytest.raises(NotFound) as caught:
        store.create_bucket(bucket(account="999999999999"))
    assert caught.value.kind == "account"
    assert store.find_bucket("photos") is None
    assert store.generation() == before


def test_list_by_account_in_name_order(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    for name, account in (("zeta", ACCT), ("alpha", ACCT), ("mid", OTHER), ("beta.x", ACCT)):
        store.create_bucket(bucket(name, account))
    assert [b.name for b in store.list_buckets(ACCT)] == ["alpha", "beta.x", "zeta"]
    assert [b.name for b in store.list_buckets(OTHER)] == ["mid"]
    assert [b.name for b in store.list_buckets()] == ["alpha", "beta.x", "mid", "zeta"]
    assert store.list_buckets("000000000000") == []


def test_delete(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.create_bucket(bucket())
    store.delete_bucket("photos")
    assert store.find_bucket("photos") is None
    with pytest.raises(NotFound):
        store.delete_bucket("photos")
    store.create_bucket(bucket(account=OTHER))  # the name is free again
    assert store.get_bucket("photos").account_id == OTHER


def test_policy_put_replace_delete(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.create_bucket(bucket())
    assert store.put_bucket_policy("photos", POLICY).policy == POLICY
    assert store.get_bucket("photos").policy == POLICY
    other = POLICY.replace("GetObject", "PutObject")
    store.put_bucket_policy("photos", other)
    assert store.get_bucket("photos").policy == other
    assert store.put_bucket_policy("photos", None).policy is None
    assert store.get_bucket("photos").policy is None
    with pytest.raises(NotFound):
        store.put_bucket_policy("nope", POLICY)


def test_an_over_long_policy_writes_nothing(accounts) -> None:  # type: ignore[no-untyped-def]
    # S3's 20 KB rule is the service layer's (it does not count whitespace); the store
    # bounds the raw text at 256 KiB and keeps it exactly as given.
    store = accounts
    store.create_bucket(bucket(policy=POLICY))
    before = store.generation()
    with pytest.raises(ValueError):
        store.put_bucket_policy("photos", " " * (256 * 1024 + 1))
    assert store.get_bucket("photos").policy == POLICY
    assert store.generation() == before
    big = POLICY + " \n\t" * ((256 * 1024 - len(POLICY)) // 3)
    assert store.put_bucket_policy("photos", big).policy == big
    with pytest.raises(ValueError):
        store.create_bucket(bucket("other", policy="x" * (256 * 1024 + 1)))
    assert store.find_bucket("other") is None


def test_tags_replace_and_delete(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.create_bucket(bucket())
    tags = (Tag("team", "data"), Tag("Cost Center", ""), Tag("ünï", "ç ø=+-.:/@"))
    assert store.put_bucket_tags("photos", tags).tags == tags
    assert store.get_bucket("photos").tags == tags
    store.put_bucket_tags("photos", (Tag("only", "one"),))
    assert store.get_bucket("photos").tags == (Tag("only", "one"),)
    store.put_bucket_tags("photos", ())
    assert store.get_bucket("photos").tags == ()
    with pytest.raises(NotFound):
        store.put_bucket_tags("nope", tags)


def test_bad_tag_sets_write_nothing(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.create_bucket(bucket(tags=(Tag("k", "v"),)))
    for bad in ([Tag(f"k{i}", "v") for i in range(51)], [Tag("a", "1"), Tag("a", "2")]):
        with pytest.raises(ValueError):
            store.put_bucket_tags("photos", tuple(bad))
    assert store.get_bucket("photos").tags == (Tag("k", "v"),)
    fifty = tuple(Tag(f"k{i}", "v") for i in range(50))
    assert store.put_bucket_tags("photos", fifty).tags == fifty


def test_public_access_block_put_and_delete(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.create_bucket(bucket())
    mixed = PublicAccessBlock(block_public_acls=True, ignore_public_acls=False,
                              block_public_policy=False, restrict_public_buckets=True)
    got = store.put_public_access_block("photos", mixed)
    assert got.public_access_block == mixed and got.public_access_block_configured
    assert store.get_bucket("photos").public_access_block == mixed
    off = PublicAccessBlock.all_off()
    got = store.put_public_access_block("photos", off)  # all off, but configured
    assert got.public_access_block == off and got.public_access_block_configured
    deleted = store.put_public_access_block("photos", None)
    assert deleted.public_access_block == off
    assert not deleted.public_access_block_configured
    assert store.get_bucket("photos") == deleted
    with pytest.raises(NotFound):
        store.put_public_access_block("nope", mixed)


def test_a_bucket_without_block_public_access_is_created_as_such(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    adopted = bucket(public_access_block=PublicAccessBlock.all_off(),
                     public_access_block_configured=False)
    store.create_bucket(adopted)
    assert store.get_bucket("photos") == adopted
    with pytest.raises(ValueError):  # not configured means every setting is off
        bucket(public_access_block_configured=False)


def test_every_write_moves_the_generation(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    writes = [
        lambda: store.create_bucket(bucket()),
        lambda: store.put_bucket_policy("photos", POLICY),
        lambda: store.put_bucket_tags("photos", (Tag("a", "b"),)),
        lambda: store.put_public_access_block("photos", None),
        lambda: store.delete_bucket("photos"),
    ]
    for write in writes:
        before = store.generation()
        write()
        assert store.generation() > before


def test_reads_do_not_move_the_generation(accounts) -> None:  # type: ignore[no-untyped-def]
    store = accounts
    store.create_bucket(bucket())
    before = store.generation()
    store.get_bucket("photos")
    store.find_bucket("photos")
    store.list_buckets(ACCT)
    assert store.generation() == before


def test_survives_reopening(store_factory) -> None:  # type: ignore[no-untyped-def]
    first = store_factory()
    first.create_account(Account(ACCT, "main", "", NOW))
    pab = PublicAccessBlock(False, True, False, True)
    first.create_bucket(bucket(policy=POLICY, tags=(Tag("x", "y"),), public_access_block=pab))
    again = store_factory()
    assert again.get_bucket("photos") == bucket(policy=POLICY, tags=(Tag("x", "y"),),
                                                public_access_block=pab)


def test_concurrent_creates_have_one_winner(store_factory) -> None:  # type: ignore[no-untyped-def]
    setup = store_factory()
    setup.create_account(Account(ACCT, "main", "", NOW))
    setup.create_account(Account(OTHER, "other", "", NOW))
    stores = [store_factory() for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    results: list[object] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            stores[i].create_bucket(bucket(account=(ACCT, OTHER)[i % 2]))
            results.append("created")
        except BucketAlreadyExists as exc:
            results.append(exc.owner)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winner = setup.get_bucket("photos").account_id
    assert results.count("created") == 1
    assert sorted(r for r in results if r != "created") == [winner] * 5


def test_cached_find_bucket_follows_every_write(store_factory) -> None:  # type: ignore[no-untyped-def]
    cached = CachingStore(store_factory())
    other = store_factory()  # another server process on the same database
    cached.create_account(Account(ACCT, "main", "", NOW))
    assert cached.find_bucket("photos") is None
    other.create_bucket(bucket())
    assert cached.find_bucket("photos") == bucket()
    assert cached.find_bucket("photos") == bucket()
    hits = cached.hits
    assert hits >= 1
    cached.put_bucket_policy("photos", POLICY)  # own write: visible at once
    assert cached.find_bucket("photos") == bucket(policy=POLICY)
    other.put_public_access_block("photos", PublicAccessBlock.all_off())
    assert cached.find_bucket("photos").public_access_block == PublicAccessBlock.all_off()
    other.delete_bucket("photos")
    assert cached.find_bucket("photos") is None
    replaced = dataclasses.replace(bucket(), account_id=ACCT, region="eu-west-1")
    cached.create_bucket(replaced)
    assert cached.find_bucket("photos") == replaced
