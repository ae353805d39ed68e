"""The IAM directory: entity records and the storage interface every backend implements."""

from opensts.directory.errors import AlreadyExists, Conflict, NotFound, QuotaExceeded, StoreError
from opensts.directory.store import Store

__all__ = ["AlreadyExists", "Conflict", "NotFound", "QuotaExceeded", "Store", "StoreError"]
