"""Access key ids, secret access keys and IAM unique ids in AWS's formats.

* Prefixes (IAM User Guide, "IAM identifiers", unique-ID prefixes): AKIA long-term access
  key, ASIA temporary (STS) access key, AIDA user, AROA role, AGPA group, ANPA managed
  policy, ANVA policy version, AIPA instance profile, ...
* Access key id layout (public research, not documented by AWS: awsteele.com 2020-09-26
  "AWS access key format"; Tal Beery, "A short note on AWS KEY ID"; WithSecure Labs, "A
  bitwise analysis of AWS access key identifiers"): 4-letter prefix + 16 RFC 4648 base32
  characters = 80 bits. In new-generation keys the first payload bit is 1 and the next 40
  bits are the account id; ``sts:GetAccessKeyInfo`` reads the account from those bits, which
  ``account_from_access_key_id`` reproduces.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from typing import Literal

_ACCOUNT = re.compile(r"\d{12}")
_KEY_ID = re.compile(r"[A-Z]{4}[A-Z2-7]{16}")
_UNIQUE_PREFIX = re.compile(r"A[A-Z]{3}")
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_GENERATION_BIT = 1 << 47
_ACCOUNT_MASK = 0x7FFFFFFFFF80  # bits 46..7 of the first 48 payload bits


def new_access_key_id(prefix: Literal["AKIA", "ASIA"], account_id: str) -> str:
    """A fresh 20-character access key id that encodes ``account_id`` like AWS's keys.

    Payload (80 bits): generation bit 1, 40-bit account id, then 39 random bits.
    """
    if prefix not in ("AKIA", "ASIA"):
        raise ValueError(f"unsupported access key prefix: {prefix!r}")
    if not _ACCOUNT.fullmatch(account_id):
        raise ValueError(f"account id must be 12 digits: {account_id!r}")
    low7 = secrets.randbits(7)
    head = _GENERATION_BIT | (int(account_id) << 7) | low7
    payload = head.to_bytes(6, "big") + secrets.token_bytes(4)
    return prefix + base64.b32encode(payload).decode("ascii")


def account_from_access_key_id(key_id: str) -> str | None:
    """The 12-digit account encoded in a new-generation access key id, else None.

    None for anything that is not 4 letters + 16 base32 characters, for old-generation keys
    (generation bit 0: AWS resolves those by lookup, so must the caller), and for payloads
    whose 40-bit field exceeds 12 decimal digits.
    """
    if not _KEY_ID.fullmatch(key_id):
        return None
    try:
        payload = base64.b32decode(key_id[4:])
    except (binascii.Error, ValueError):
        return None
    head = int.from_bytes(payload[:6], "big")
    if not head & _GENERATION_BIT:
        return None
    account = (head & _ACCOUNT_MASK) >> 7
    if account > 999_999_999_999:
        return None
    return f"{account:012d}"


def new_secret_access_key() -> str:
    """40 characters from the base64 alphabet (240 random bits), the shape of AWS secrets."""
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")


def new_unique_id(prefix: str) -> str:
    """A 21-character unique id: the 4-letter type prefix + 17 random base32 characters.

    E.g. ``AIDACKCEVSQ6C2EXAMPLE`` (user), ``AROADBQP57FF2AEXAMPLE`` (role).
    """
    if not _UNIQUE_PREFIX.fullmatch(prefix):
        raise ValueError(f"unique id prefix must be 'A' + 3 capital letters: {prefix!r}")
    return prefix + "".join(secrets.choice(_BASE32) for _ in range(17))
