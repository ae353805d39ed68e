"""Errors of the credentials core.

Both are deliberately opaque: which check failed (encoding, version, key id, tag, payload)
is never told, so a caller probing tokens or blobs learns nothing (the same stance as
``cryptography.fernet.InvalidToken``).
"""

from __future__ import annotations

from opensts.errors import InternalFailure, SenderError


class InvalidToken(SenderError):
    """A session token that is not one this server sealed, or was altered.

    Rendered, if it ever reaches the wire unhandled, as AWS's answer for a bad token:
    ``InvalidClientTokenId`` 403 "The security token included in the request is invalid."
    """

    code = "InvalidClientTokenId"
    status = 403

    def __init__(self) -> None:
        super().__init__("The security token included in the request is invalid.")


class SecretBoxError(InternalFailure):
    """A sealed-at-rest blob did not open: wrong master key, wrong context, or corruption.

    This is a server-side fault (the blob came from our own storage), hence a 500.
    """

    def __init__(self) -> None:
        super().__init__("We encountered an internal error. Please try again.")
