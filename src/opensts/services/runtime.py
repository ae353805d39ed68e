"""The long-lived server state that operations share: store, keys, caches, audit log."""

from __future__ import annotations

import time
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
    # Token-signing keys are re-read from the store this often, so a rotation made on one
    # node (``opensts keys rotate``) reaches every node without a restart.
    key_refresh_seconds: float = 60.0
    _keys_checked: float = field(default=0.0, repr=False)
    # When this node last recorded each access key's use (GetAccessKeyLastUsed).
    key_last_recorded: dict[str, float] = field(default_factory=dict, repr=False)

    def keys_due(self) -> bool:
        """Whether the next :meth:`refresh_keys` reads the store (it never runs inline)."""
        return time.monotonic() - self._keys_checked >= self.key_refresh_seconds

    def refresh_keys(self) -> None:
        now = time.monotonic()
        if now - self._keys_checked < self.key_refresh_seconds:
            return
        from opensts.services.inline import NeedsIO, inline_active

        if inline_active():
            raise NeedsIO("refresh_keys")  # before the mark below: the re-run must refresh
        self._keys_checked = now
        from opensts.services.bootstrap import keyring_changed, load_keyring

        if keyring_changed(self.store, self.keyring):
            self.keyring = load_keyring(self.store, self.secret_box)
            self.authorizer.keyring = self.keyring
