"""Credentials stamps: which password a sign-in was made with.

AWS ends a user's sign-in sessions when the user's credentials change; botocore's
LoginProvider then reads ``USER_CREDENTIALS_CHANGED`` and asks the user to sign in again
(aws-clients.md §2). A *stamp* is an HMAC-SHA256, under a key derived from the master key,
of the user's id and the login profile's argon2 hash. argon2 salts every hash (RFC 9106
§3.1), so any password written (UpdateLoginProfile with a Password, ChangePassword, the
sign-in pages' forced change, a deleted and re-created login profile or user) gives a new
stamp, while an UpdateLoginProfile that only flips PasswordResetRequired does not.

Why a stamp rather than revoking session rows: the browser cookie, authorization codes and
refresh sessions all carry the stamp of their password check and are compared with the
current one where they are used, so no writer of login profiles (IAM, the sign-in pages, an
import) has to know about sign-in sessions, and a code issued before a change but redeemed
after it is refused too, with no race between the two. Keyed, so a stamp travelling in a
sealed token or cookie says nothing about the hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

STAMP_BYTES = 24  # 192 bits: collisions are not a concern, and 32 characters fit anywhere


def stamp(key: bytes, user_id: str, password_hash: str) -> str:
    mac = hmac.new(key, f"{user_id}\n{password_hash}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:STAMP_BYTES]).decode("ascii")


def matches(recorded: str | None, current: str) -> bool:
    """Constant-time; a missing stamp (a session from before stamps) never matches."""
    return bool(recorded) and hmac.compare_digest(str(recorded), current)
