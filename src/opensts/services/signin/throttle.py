"""Back-off for failed sign-in attempts, per user and per source IP.

OWASP Authentication Cheat Sheet ("Protect against automated attacks"): throttle by
account and by source, with increasing delays rather than permanent lockout (which lets an
attacker lock users out). A few failures are free; after that each failure doubles the
wait, up to a ceiling. The counters live in the store so every node sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Policy:
    free_failures: int
    base_seconds: int
    max_seconds: int
    # Failures older than this are forgotten.
    window_seconds: int


USER = Policy(free_failures=5, base_seconds=2, max_seconds=900, window_seconds=3600)
# Many users can share an address (NAT), so the IP allows more before slowing down.
SOURCE_IP = Policy(free_failures=30, base_seconds=2, max_seconds=900, window_seconds=3600)


def delay(policy: Policy, failures: int) -> int:
    """Seconds to wait after ``failures`` consecutive failures."""
    extra = failures - policy.free_failures
    if extra < 0:
        return 0
    return min(policy.max_seconds, policy.base_seconds * (2 ** min(extra, 20)))


def retry_after(
    policy: Policy, failures: int, last_failure: datetime | None, now: datetime
) -> int:
    """Seconds until another attempt is allowed (0: allowed now)."""
    if last_failure is None or failures <= 0:
        return 0
    if now - last_failure > timedelta(seconds=policy.window_seconds):
        return 0
    wait = delay(policy, failures)
    remaining = (last_failure + timedelta(seconds=wait) - now).total_seconds()
    return max(0, int(remaining + 0.999))


def user_key(account_id: str, user_name: str) -> str:
    return f"user:{account_id}:{user_name.lower()}"


def ip_key(address: str) -> str:
    return f"ip:{address}"
