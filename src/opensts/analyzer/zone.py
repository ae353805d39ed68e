"""The zone of trust of an external-access analyzer.

IAM User Guide, access-analyzer-findings: "Any principal in the organization or account that
you choose for the analyzer is considered trusted ... Any sharing that is within the zone of
trust is considered safe, so IAM Access Analyzer does not generate a finding."
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ACCOUNT_TYPES = frozenset({"ACCOUNT", "ACCOUNT_UNUSED_ACCESS", "ACCOUNT_INTERNAL_ACCESS"})
ORGANIZATION_TYPES = frozenset({"ORGANIZATION", "ORGANIZATION_UNUSED_ACCESS",
                                "ORGANIZATION_INTERNAL_ACCESS"})
EXTERNAL_TYPES = frozenset({"ACCOUNT", "ORGANIZATION"})


@dataclass(frozen=True)
class Zone:
    """``accounts`` are trusted. ``org_id`` is the organization of the analyzer's account
    (None outside one) and ``org_accounts`` its members, known for both zone kinds: they
    let an ACCOUNT analyzer see that a condition on its own organization still lets other
    member accounts in. ``org_trusted`` is True for an ORGANIZATION zone."""

    accounts: frozenset[str]
    org_id: str | None = None
    org_accounts: frozenset[str] = frozenset()
    org_trusted: bool = False

    def trusts_account(self, account: str) -> bool:
        return account in self.accounts

    def trusts_org(self, org_id: str) -> bool:
        return self.org_trusted and org_id == self.org_id

    def fingerprint(self) -> str:
        """Changes whenever the zone does (its findings must then be recomputed)."""
        return "|".join([",".join(sorted(self.accounts)), self.org_id or "",
                         "org" if self.org_trusted else "acct"])


def account_zone(account_id: str, org_id: str | None = None,
                 org_accounts: Iterable[str] = ()) -> Zone:
    return Zone(frozenset({account_id}), org_id, frozenset(org_accounts), False)


def organization_zone(org_id: str, org_accounts: Iterable[str]) -> Zone:
    members = frozenset(org_accounts)
    return Zone(members, org_id, members, True)
