"""Credential formats (pure): access key ids and unique ids, sealed session tokens, secrets at rest.

* ``ids``: AKIA/ASIA key ids that encode the account like AWS's, secret keys, unique ids.
* ``tokens``: ``KeyRing`` seals/unseals self-contained session tokens (AES-256-GCM).
* ``at_rest``: ``SecretBox`` for secrets in storage, ``Secret`` to keep values out of logs.
"""

from opensts.credentials.at_rest import Secret, SecretBox
from opensts.credentials.errors import InvalidToken, SecretBoxError
from opensts.credentials.ids import (
    account_from_access_key_id,
    new_access_key_id,
    new_secret_access_key,
    new_unique_id,
)
from opensts.credentials.tokens import KeyRing, SessionClaims

__all__ = [
    "InvalidToken",
    "KeyRing",
    "Secret",
    "SecretBox",
    "SecretBoxError",
    "SessionClaims",
    "account_from_access_key_id",
    "new_access_key_id",
    "new_secret_access_key",
    "new_unique_id",
]
