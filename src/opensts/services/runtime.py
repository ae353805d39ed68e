"""The long-lived server state that operations share: store, keys, caches, audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opensts.audit.log import AuditLog
    from opensts.config import Settings
    from opensts.credentials.at_rest import SecretBox
    from opensts.credentials.tokens import KeyRing
    from opensts.directory.store import Store
    from opensts.services.authz import Authorizer
    from opensts.sigv4 import SigningKeyCache


@dataclass
class Runtime:
    settings: Settings
    store: Store
    secret_box: SecretBox
    keyring: KeyRing
    audit: AuditLog
    authorizer: Authorizer
    signing_keys: SigningKeyCache
    management_account: str
    # Optional collaborators added by later layers (federation key caches, sign-in state).
    extras: dict[str, Any] = field(default_factory=dict)
