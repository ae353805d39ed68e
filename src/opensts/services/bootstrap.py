"""First start and every start: the management account, its root key, token-signing keys.

On first start the management account and its root access key come from
``OPENSTS_ACCOUNT_ID`` / ``OPENSTS_ROOT_ACCESS_KEY_ID`` / ``OPENSTS_ROOT_SECRET_ACCESS_KEY``;
whatever is unset is generated and printed once (the secret is never shown again).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from opensts.config import Settings
from opensts.credentials.at_rest import SecretBox
from opensts.credentials.ids import new_access_key_id, new_secret_access_key
from opensts.credentials.tokens import KeyRing
from opensts.directory.errors import AlreadyExists
from opensts.directory.records import AccessKey, Account, SigningKey
from opensts.directory.store import Store


@dataclass(frozen=True)
class FirstStart:
    account_id: str
    access_key_id: str
    secret_access_key: str | None  # only when generated here, to be shown once


def ensure_management_account(
    store: Store, box: SecretBox, settings: Settings, now: datetime
) -> tuple[str, FirstStart | None]:
    existing = management_account(store, now)
    if existing is not None:
        return existing, None
    account_id = settings.account_id or f"{secrets.randbelow(9 * 10**11) + 10**11:012d}"
    key_id = settings.root_access_key_id or new_access_key_id("AKIA", account_id)
    secret = settings.root_secret_access_key or new_secret_access_key()
    # One transaction: an account stored without its key (a crash in between) would be
    # taken as set up on the next start and its root could never sign in.
    try:
        store.create_management_account(
            Account(account_id, name="management", created=now),
            AccessKey(
                access_key_id=key_id,
                account_id=account_id,
                user_name=None,
                user_id=None,
                sealed_secret=box.seal(secret.encode(),
                                       context=b"access-key:" + key_id.encode()),
                status="Active",
                created=now,
            ),
        )
    except AlreadyExists:
        # Another node sharing the database made its first start meanwhile: use its.
        existing = management_account(store, now)
        if existing is None:
            raise
        return existing, None
    shown = None if settings.root_secret_access_key else secret
    return account_id, FirstStart(account_id, key_id, shown)


def management_account(store: Store, now: datetime) -> str | None:
    """The management account: the first one made (None before the first start)."""
    accounts = store.list_accounts()
    if not accounts:
        return None
    return min(accounts, key=lambda a: a.created or now).account_id


def add_signing_key(store: Store, box: SecretBox, now: datetime) -> str:
    """Generate a token-signing key and make it primary; older keys still verify."""
    key_id, material = KeyRing.generate_key()
    sealed = box.seal(material, context=b"signing-key:" + key_id.encode())
    store.add_signing_key(SigningKey(key_id, sealed, now, primary=True))
    return key_id


def keyring_changed(store: Store, current: KeyRing) -> bool:
    keys = store.list_signing_keys()
    primary = next((k.key_id for k in keys if k.primary), None)
    return primary != current.primary or {k.key_id for k in keys} != set(current.key_ids)


def load_keyring(store: Store, box: SecretBox, now: datetime | None = None) -> KeyRing:
    keys = store.list_signing_keys()
    if not keys:
        add_signing_key(store, box, now or utcnow())
        keys = store.list_signing_keys()
    opened = [
        (k.key_id, box.open(k.sealed_key, context=b"signing-key:" + k.key_id.encode()))
        for k in keys
    ]
    primary = next(k.key_id for k in keys if k.primary)
    return KeyRing(opened, primary=primary)


def utcnow() -> datetime:
    return datetime.now(UTC)


Clock = Callable[[], datetime]
