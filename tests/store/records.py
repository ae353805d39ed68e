"""Small builders of directory records for the conformance suite."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from opensts.directory.records import (
    AccessKey,
    Group,
    ManagedPolicy,
    Role,
    Tag,
    User,
    VirtualMfaDevice,
)

ACCT = "111122223333"
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
_seq = itertools.count(1)
DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
TRUST = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
         '{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}')


def uid(prefix: str) -> str:
    return f"{prefix}{next(_seq):017d}"


def user(name: str, path: str = "/", account: str = ACCT, **kw: object) -> User:
    return User(account, uid("AIDA"), name, path, f"arn:aws:iam::{account}:user{path}{name}",
                NOW, **kw)  # type: ignore[arg-type]


def group(name: str, path: str = "/", account: str = ACCT) -> Group:
    return Group(account, uid("AGPA"), name, path, f"arn:aws:iam::{account}:group{path}{name}",
                 NOW)


def role(name: str, path: str = "/", account: str = ACCT, **kw: object) -> Role:
    return Role(account, uid("AROA"), name, path, f"arn:aws:iam::{account}:role{path}{name}",
                NOW, TRUST, **kw)  # type: ignore[arg-type]


def policy(name: str, path: str = "/", account: str = ACCT, doc: str = DOC) -> ManagedPolicy:
    return ManagedPolicy(account, uid("ANPA"), name, path,
                         f"arn:aws:iam::{account}:policy{path}{name}", NOW, NOW, "v1", doc,
                         tags=(Tag("team", "a"),))


def access_key(user_name: str | None, user_id: str | None, account: str = ACCT) -> AccessKey:
    return AccessKey(f"AKIA{next(_seq):016d}", account, user_name, user_id, b"sealed\x00secret",
                     "Active", NOW)


def mfa(name: str, account: str = ACCT) -> VirtualMfaDevice:
    return VirtualMfaDevice(f"arn:aws:iam::{account}:mfa/{name}", account, name, "/",
                            b"sealed-seed", NOW)
