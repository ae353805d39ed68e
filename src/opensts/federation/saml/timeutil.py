"""xs:dateTime values as used in SAML (saml-core-2.0-os §1.3.3: UTC, no time zone offset)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def parse_datetime(value: str, fail: Callable[[str], Exception], what: str) -> datetime:
    """Parse an xs:dateTime; values without a zone are UTC as SAML requires."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"{what} is not a valid dateTime") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
