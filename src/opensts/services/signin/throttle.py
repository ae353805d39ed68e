"""Back-off for failed sign-in attempts: per (user, client address) and per address.

OWASP Authentication Cheat Sheet ("Protect against automated attacks"): throttle by
account and by source, with increasing delays rather than permanent lockout (which lets an
attacker lock users out). A few failures are free; after that each failure doubles the
wait, up to a ceiling. The counters live in the store so every node sees them.

Keys, and why:

* ``(user, address)`` with :data:`USER` (5 free, then 2 s doubling to 900 s): the user's
  back-off. Keyed by the client address too, so that someone guessing alice's password
  from one address slows down only alice-from-that-address; alice signing in from
  elsewhere, and everyone else, are unaffected. (Keyed by user alone, 31 guesses from
  anywhere locked alice out everywhere.)
* ``address`` with :data:`SOURCE_IP` (30 free, same doubling): all guesses from one
  address, whichever users they try, so spreading guesses over many user names does not
  escape the back-off. Not applied to loopback addresses: there the address names the
  machine, not a client (a server on loopback only, or behind a proxy not named in
  ``--trusted-proxies``, would otherwise be locked for everyone by one guesser).
* IPv6 addresses count by their /64 prefix, which one subscriber usually gets whole.

Checks run concurrently (the hash is off the event loop), so :class:`InFlight` counts the
attempts still being checked as failures: twelve parallel guesses do not all pass the
"fewer than five failures" test before the first is recorded. The check on another node
or worker process can still race, as before.

The address is the one ``web/proxy.py`` resolved: the connection's peer, or the client
named by a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
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
# Many users can share an address (NAT), so the address allows more before slowing down.
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
    """The user from any address: the MFA step and IAM ChangePassword, whose guessers
    already hold the password or the user's credentials."""
    return f"user:{account_id}:{user_name.lower()}"


def user_address_key(account_id: str, user_name: str, address: str) -> str:
    return f"user-ip:{account_id}:{user_name.lower()}:{_address(address)}"


def ip_key(address: str) -> str:
    return f"ip:{_address(address)}"


def limits_address(address: str) -> bool:
    """Whether the per-address limit applies (not to loopback: see the module docstring)."""
    parsed = _parse(address)
    return parsed is None or not parsed.is_loopback


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def _address(address: str) -> str:
    parsed = _parse(address)
    if parsed is None:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class InFlight:
    """Attempts being checked right now, per key (one process; touched on the event loop)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def count(self, key: str) -> int:
        return self._counts[key]

    @contextmanager
    def checking(self, *keys: str) -> Iterator[None]:
        for key in keys:
            self._counts[key] += 1
        try:
            yield
        finally:
            for key in keys:
                self._counts[key] -= 1
                if not self._counts[key]:
                    del self._counts[key]
