"""S3 buckets in the SQL store: who owns each, and its policy, tags and Block Public Access.

The gateway serves these bucket sub-resources from here and never forwards them to the
storage backend (issue 9). Every mutation is one transaction and moves the generation, so
the cached ``find_bucket`` of every process sees it (store/cache.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from opensts.directory.errors import BucketAlreadyExists, NotFound
from opensts.directory.records import Bucket, PublicAccessBlock, Tags
from opensts.store import schema as s
from opensts.store._base import SqlBase, tags_from_json, tags_to_json

# S3 limits a bucket policy to 20 KB not counting whitespace between tokens, which the
# service layer checks (services/s3/bucket_policy.py) and answers with S3's error; the text
# is stored as given, so the store's own bound on it is that layer's bound on the raw text.
MAX_POLICY_BYTES = 256 * 1024
MAX_TAGS = 50  # "up to 50 tags" per bucket (S3 User Guide, CostAllocTagging)
_PAB_COLUMNS = ("block_public_acls", "ignore_public_acls", "block_public_policy",
                "restrict_public_buckets")


def _pab_values(pab: PublicAccessBlock | None) -> dict[str, bool | None]:
    if pab is None:
        return dict.fromkeys(_PAB_COLUMNS)
    return {c: bool(getattr(pab, c)) for c in _PAB_COLUMNS}


def bucket_from_row(r: Any) -> Bucket:
    flags = [getattr(r, c) for c in _PAB_COLUMNS]
    configured = all(f is not None for f in flags)
    pab = PublicAccessBlock(*(bool(f) for f in flags)) if configured else (
        PublicAccessBlock.all_off())
    return Bucket(
        name=r.name, account_id=r.account_id, region=r.region, created=r.created,
        policy=r.policy, tags=tags_from_json(r.tags), public_access_block=pab,
        public_access_block_configured=configured,
    )


def _check_policy(policy: str | None) -> None:
    if policy is not None and len(policy.encode()) > MAX_POLICY_BYTES:
        raise ValueError("bucket policy text over 256 KiB")


def _check_tags(tags: Tags) -> None:
    if len(tags) > MAX_TAGS or len({t.key for t in tags}) != len(tags):
        raise ValueError("at most 50 tags with distinct keys")


class S3Mixin(SqlBase):
    def create_bucket(self, bucket: Bucket) -> None:
        _check_policy(bucket.policy)
        _check_tags(bucket.tags)
        t = s.buckets
        values = {
            "name": bucket.name, "account_id": bucket.account_id, "region": bucket.region,
            "created": bucket.created, "policy": bucket.policy,
            "tags": tags_to_json(bucket.tags),
            **_pab_values(bucket.public_access_block
                          if bucket.public_access_block_configured else None),
        }
        with self._write() as conn:
            owner = conn.execute(sa.select(t.c.account_id).where(t.c.name == bucket.name)
                                 ).scalar()
            if owner is not None:
                raise BucketAlreadyExists(bucket.name, str(owner))
            # Accounts are never deleted, so a missing one is NotFound and not a race.
            if conn.execute(sa.select(s.accounts.c.account_id).where(
                    s.accounts.c.account_id == bucket.account_id)).first() is None:
                raise NotFound("account", bucket.account_id)
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(t).values(**values))
            except sa.exc.IntegrityError as exc:
                # Another writer created it between our check and insert (PostgreSQL, READ
                # COMMITTED): its row is committed, so the owner can be read now.
                owner = conn.execute(sa.select(t.c.account_id).where(t.c.name == bucket.name)
                                     ).scalar()
                raise BucketAlreadyExists(bucket.name, str(owner or "")) from exc

    def find_bucket(self, name: str) -> Bucket | None:
        with self._read(snapshot=False) as conn:
            row = conn.execute(sa.select(s.buckets).where(s.buckets.c.name == name)).first()
        return None if row is None else bucket_from_row(row)

    def get_bucket(self, name: str) -> Bucket:
        found = self.find_bucket(name)
        if found is None:
            raise NotFound("bucket", name)
        return found

    def list_buckets(self, account_id: str | None = None) -> list[Bucket]:
        t = s.buckets
        q = sa.select(t).order_by(t.c.name)
        if account_id is not None:
            q = q.where(t.c.account_id == account_id)
        with self._read() as conn:
            return [bucket_from_row(r) for r in conn.execute(q)]

    def delete_bucket(self, name: str) -> None:
        with self._write() as conn:
            done = conn.execute(sa.delete(s.buckets).where(s.buckets.c.name == name))
            if done.rowcount == 0:
                raise NotFound("bucket", name)

    def _update_bucket(self, name: str, values: dict[str, Any]) -> Bucket:
        t = s.buckets
        with self._write() as conn:
            done = conn.execute(sa.update(t).where(t.c.name == name).values(**values))
            if done.rowcount == 0:
                raise NotFound("bucket", name)
            return bucket_from_row(
                conn.execute(sa.select(t).where(t.c.name == name)).one())

    def put_bucket_policy(self, name: str, policy: str | None) -> Bucket:
        """Set (or, with None, delete) the bucket policy; returns the bucket as stored."""
        _check_policy(policy)
        return self._update_bucket(name, {"policy": policy})

    def put_bucket_tags(self, name: str, tags: Tags) -> Bucket:
        """Replace the bucket's tag set; ``()`` deletes it (DeleteBucketTagging)."""
        _check_tags(tags)
        return self._update_bucket(name, {"tags": tags_to_json(tags)})

    def put_public_access_block(self, name: str, pab: PublicAccessBlock | None) -> Bucket:
        """Set the four settings; None deletes the configuration (every setting off)."""
        return self._update_bucket(name, _pab_values(pab))
