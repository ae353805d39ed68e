"""SQL storage for the IAM directory: SQLite (embedded default) and PostgreSQL."""

from opensts.store.sql import SqlStore, open_store

__all__ = ["SqlStore", "open_store"]
