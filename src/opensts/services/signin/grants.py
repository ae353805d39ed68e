"""What an authorization code and a refresh token stand for, and the credentials behind it.

A *grant* is the principal the user chose on the sign-in pages: the IAM user itself or a
role the user may assume, with the time the user authenticated (the session limit counts
from there) and whether MFA was used. Authorization codes are sealed with the key ring
(stateless, one use enforced with the store's used-token table); refresh tokens are sealed
too and name a :class:`SigninSession` row whose generation counter makes them single-use.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from opensts.credentials.errors import InvalidToken
from opensts.credentials.tokens import KeyRing
from opensts.services.signin import clients

CODE_SECONDS = 300  # RFC 6749 §4.1.2: "a maximum authorization code lifetime of 10 minutes"


@dataclass(frozen=True)
class Grant:
    account_id: str
    user_name: str
    client_id: str
    auth_time: int  # epoch seconds of the password check
    mfa_time: int | None = None
    role_name: str | None = None
    # The credentials stamp of the password check (``stamps``); "" never matches.
    stamp: str = ""
    # The unique id of ``role_name`` when it was chosen: a new role of that name is another.
    role_id: str | None = None


@dataclass(frozen=True)
class Code:
    grant: Grant
    jti: str
    session_id: str  # the session this code creates (revoked if the code is replayed)
    redirect_uri: str
    challenge: str
    expires: int


@dataclass(frozen=True)
class RefreshToken:
    session_id: str
    generation: int


def _grant_claims(grant: Grant) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "a": grant.account_id,
        "u": grant.user_name,
        "c": clients.CLIENTS.index(grant.client_id),
        "t": grant.auth_time,
        "p": grant.stamp,
    }
    if grant.mfa_time is not None:
        claims["m"] = grant.mfa_time
    if grant.role_name is not None:
        claims["r"] = grant.role_name
        claims["ri"] = grant.role_id
    return claims


def _grant(claims: dict[str, Any]) -> Grant:
    return Grant(
        account_id=claims["a"],
        user_name=claims["u"],
        client_id=clients.CLIENTS[claims["c"]],
        auth_time=claims["t"],
        mfa_time=claims.get("m"),
        role_name=claims.get("r"),
        stamp=str(claims.get("p", "")),
        role_id=claims.get("ri"),
    )


def seal_code(
    keyring: KeyRing, grant: Grant, *, redirect_uri: str, challenge: str, now: int
) -> tuple[str, Code]:
    code = Code(grant, secrets.token_urlsafe(12), secrets.token_hex(16), redirect_uri,
                challenge, now + CODE_SECONDS)
    sealed = keyring.seal({
        "k": "signin-code", "j": code.jti, "s": code.session_id, "ru": redirect_uri,
        "cc": challenge, "exp": code.expires, **_grant_claims(grant),
    })
    return sealed, code


def open_code(keyring: KeyRing, text: str) -> Code:
    """The sealed code's contents (expiry is the caller's to check); InvalidToken else."""
    claims = keyring.unseal(text)
    if claims.get("k") != "signin-code":
        raise InvalidToken()
    try:
        return Code(_grant(claims), claims["j"], claims["s"], claims["ru"], claims["cc"],
                    int(claims["exp"]))
    except (KeyError, IndexError, TypeError, ValueError):
        raise InvalidToken() from None


def seal_refresh_token(keyring: KeyRing, token: RefreshToken) -> str:
    return keyring.seal({"k": "signin-refresh", "s": token.session_id, "g": token.generation})


def open_refresh_token(keyring: KeyRing, text: str) -> RefreshToken:
    claims = keyring.unseal(text)
    if claims.get("k") != "signin-refresh":
        raise InvalidToken()
    session_id, generation = claims.get("s"), claims.get("g")
    if not isinstance(session_id, str) or not isinstance(generation, int):
        raise InvalidToken()
    return RefreshToken(session_id, generation)


def session_ends(auth_time: int, *, setting_max: int, principal_max: int | None) -> int:
    """The session limit: the server's sign-in maximum (12 h by default), lowered to the
    role's MaxSessionDuration for role sessions ("up to 12 hours", AWS CLI User Guide,
    cli-configure-sign-in)."""
    limit = setting_max if principal_max is None else min(setting_max, principal_max)
    return auth_time + limit


def credential_lifetime(now: int, ends: int, *, setting: int) -> int:
    """Credentials last ``setting`` seconds (15 min) but never past the session's end."""
    return max(0, min(setting, ends - now))
