"""Storage-level failures, independent of any AWS wording.

Stores raise these; the IAM service maps them onto AWS errors (NoSuchEntity 404,
EntityAlreadyExists 409, DeleteConflict 409, LimitExceeded 409) with AWS's messages.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of directory store failures."""


class NotFound(StoreError):
    """The entity (or one it refers to) does not exist."""

    def __init__(self, kind: str, key: str):
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class AlreadyExists(StoreError):
    """An entity with the same key (names are case-insensitive, as in IAM) exists."""

    def __init__(self, kind: str, key: str):
        super().__init__(f"{kind} {key!r} already exists")
        self.kind = kind
        self.key = key


class Conflict(StoreError):
    """The mutation conflicts with the entity's state; ``reason`` says why.

    Reasons used: ``attached_policies``, ``inline_policies``, ``access_keys``,
    ``login_profile``, ``mfa_devices``, ``group_members``, ``group_memberships``,
    ``policy_attached``, ``policy_versions``, ``default_version``, ``mfa_in_use``,
    ``mfa_assigned``, ``org_children``, ``not_empty``, ``policy_type_enabled``.
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class QuotaExceeded(StoreError):
    """A per-entity quota enforced atomically by the store (e.g. 2 access keys per user)."""

    def __init__(self, quota: str, limit: int):
        super().__init__(f"quota {quota} ({limit}) exceeded")
        self.quota = quota
        self.limit = limit


class BucketAlreadyExists(AlreadyExists):
    """The bucket name is taken; ``owner`` is the owning account, so S3 can answer
    BucketAlreadyOwnedByYou to the owner and BucketAlreadyExists to everyone else."""

    def __init__(self, name: str, owner: str):
        super().__init__("bucket", name)
        self.owner = owner


class ApiAlreadyExists(AlreadyExists):
    """The API id is taken by another account's API (``owner``): ids are global, as the
    ``{api-id}.execute-api`` host names of API Gateway are."""

    def __init__(self, api_id: str, owner: str):
        super().__init__("api", api_id)
        self.owner = owner
