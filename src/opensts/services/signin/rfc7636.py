"""RFC 7636: Proof Key for Code Exchange (PKCE).

Only the S256 method is accepted (§4.2; ``plain`` is for clients that cannot hash, and
both AWS CLI and this server can). The AWS CLI names the method ``SHA-256`` rather than
``S256`` while computing exactly the S256 value (aws-clients.md §2b), so both names map to
S256. The verifier is 43-128 characters of ``[A-Za-z0-9-._~]`` (§4.1), the challenge the
unpadded base64url SHA-256 of it (§4.2), compared in constant time (§4.6).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

S256 = "S256"
METHOD_ALIASES = {"S256": S256, "SHA-256": S256}
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


def normalize_method(method: str | None) -> str | None:
    """The canonical method for ``code_challenge_method``; None when unsupported."""
    return METHOD_ALIASES.get(method or "")


def valid_challenge(challenge: str | None) -> bool:
    return challenge is not None and CHALLENGE.fullmatch(challenge) is not None


def valid_verifier(verifier: str | None) -> bool:
    return verifier is not None and VERIFIER.fullmatch(verifier) is not None


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(verifier: str, challenge: str) -> bool:
    """§4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge."""
    if not valid_verifier(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
