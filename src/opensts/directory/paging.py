"""Paging markers shared by every listing (store queries and in-memory pages alike)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from opensts.directory.records import Page

T = TypeVar("T")


def encode_marker(sort_key: str) -> str:
    """Markers are opaque to clients (IAM: "use the value of Marker from the response")."""
    return base64.urlsafe_b64encode(sort_key.encode()).decode()


def decode_marker(marker: str | None) -> str | None:
    """Decodes a marker; an undecodable one is treated as "from the start" never: it raises."""
    if marker is None:
        return None
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("invalid marker") from exc


def make_page(rows: Sequence[T], max_items: int, sort_key: Callable[[T], str]) -> Page[T]:
    """``rows`` were fetched with ``limit max_items + 1`` to learn whether more follow."""
    items = list(rows[:max_items])
    if len(rows) > max_items:
        return Page(items, encode_marker(sort_key(items[-1])))
    return Page(items)
