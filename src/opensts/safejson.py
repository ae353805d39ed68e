"""Decoding JSON that came from a request: bounded nesting, no lone surrogates.

Every JSON document a client sends (JSON 1.1 bodies, /v1/token and /v1/revoke bodies,
DPoP and web identity JWT segments, policy documents) is decoded here, so the two ways
well-formed-looking JSON breaks a server are refused once, as ``JsonInputError``:

* Nesting. ``json.loads`` recurses per level and raises RecursionError near 1,000 levels,
  and code that walks the result (audit, policy compilation) recurses too. Depth is
  checked by a scan of the brackets outside strings before anything is built.
* Lone surrogates. ``"\\udcff"`` decodes to a ``str`` that cannot be encoded as UTF-8; it
  fails later, in the database driver or the audit log. Such strings are refused.

Pure: no I/O. Callers turn ``JsonInputError`` into their protocol's 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

# Far above any real document (policies nest 4-5 levels, Organizations inputs 3-4).
MAX_DEPTH = 32
# A whole JSON string, escapes included (unrolled, so long strings scan fast).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Both bracket kinds as [], and every other character JSON allows outside strings deleted
# (anything else is invalid, stays, stops the reduction, and json.loads refuses it).
_ONE_KIND = str.maketrans("{}", "[]", " \t\n\r,:0123456789+-.eEtruefalsn")


class JsonInputError(ValueError):
    """The text is not JSON we accept; ``reason`` says why (safe to show the client)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, **options: Any) -> Any:
    """``json.loads(data, **options)`` for untrusted input; raises ``JsonInputError``."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonInputError("The JSON text is not valid UTF-8.") from None
    else:
        text = data
    check_depth(text, max_depth)
    try:
        value = json.loads(text, **options)
    except (ValueError, RecursionError):
        raise JsonInputError("The JSON text is not valid.") from None
    if "\\u" in text:  # a lone surrogate can only come from a \u escape
        check_strings(value)
    return value


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than ``max_depth``, without building anything.

    Strings are cut out (brackets inside them do not nest), then what else JSON allows
    outside strings, and both kinds are written as ``[]`` (json.loads refuses mismatched
    ones). Each pass
    then removes every innermost ``[]``: a document nested d levels deep is gone after d
    passes, so brackets left after ``max_depth`` passes mean it is deeper. All of it runs
    at C speed (regex, translate, replace): milliseconds for a 1 MiB body.
    """
    # Fast path: a document with few brackets cannot nest deeply.
    if text.count("[") + text.count("{") <= max_depth:
        return
    rest = _STRING.sub("", text).translate(_ONE_KIND)
    for _ in range(max_depth):
        reduced = rest.replace("[]", "")
        if reduced == rest:
            return  # fully reduced, or unbalanced (json.loads refuses that)
        rest = reduced
    if rest:
        raise JsonInputError(f"The JSON text nests deeper than {max_depth} levels.")


def check_strings(value: Any) -> None:
    """Refuse strings (keys included) that cannot be encoded as UTF-8; iterative, so the
    walk itself cannot recurse too deeply."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise JsonInputError(
                        "The JSON text contains a lone surrogate (\\ud800-\\udfff)."
                    ) from None
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def check_compact_jws(token: str) -> None:
    """Check a JWT's header and claims segments before PyJWT decodes them (with a plain
    ``json.loads``). Segments that are not base64url are left to PyJWT to refuse."""
    for segment in token.split(".")[:2]:
        try:
            raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        except (binascii.Error, ValueError):
            return
        loads(raw)
