"""AWS query-protocol XML responses: the success envelope and the error envelope.

Results are plain Python structures rendered in insertion order: a ``dict`` becomes child
elements, a ``list`` becomes ``<member>`` items, ``bool`` is ``true``/``false``, ``datetime``
is ISO 8601 UTC with a ``Z``, and ``None`` is omitted. Rendering is plain string building:
it runs for every response, and escaping is the only transformation needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

# Characters XML 1.0 cannot carry even as references; user input echoed in a message or
# value (e.g. a control character in a name) is shown as U+FFFD instead of breaking the
# document.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# One search tells whether a value needs any work at all (most need none).
# (One character class: the XML-safe ranges without "&" 0x26, "<" 0x3c and ">" 0x3e.)
_SPECIAL = re.compile(
    "[^\t\n\r\x20-\x25\x27-\x3b\x3d\x3f-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def text(value: str) -> str:
    """Escape for element content."""
    if not _SPECIAL.search(value):
        return value
    if _NOT_XML.search(value):
        value = _NOT_XML.sub("\ufffd", value)
    return escape(value)


STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def iso8601(moment: datetime) -> str:
    """AWS's timestamp form: ``2026-11-25T17:00:00Z`` (UTC, no sub-second digits)."""
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def _render_value(out: list[str], value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            kind = type(child)
            # Leaves inline (exact types only: bool is not int here, str subclasses go the
            # general way), everything else through _render_element.
            if kind is str:
                out.append(f"<{key}>{text(child)}</{key}>")
            elif kind is int:
                out.append(f"<{key}>{child}</{key}>")
            else:
                _render_element(out, key, child)
    elif isinstance(value, list | tuple):
        for item in value:
            _render_element(out, "member", item)
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, datetime):
        out.append(iso8601(value))
    else:
        out.append(text(str(value)))


def _render_element(out: list[str], name: str, value: Any) -> None:
    if value is None:
        return
    out.append(f"<{name}>")
    _render_value(out, value)
    out.append(f"</{name}>")


def success(
    action: str, namespace: str, result: Mapping[str, Any] | None, request_id: str
) -> bytes:
    out = [f'<{action}Response xmlns="{namespace}">']
    if result is not None:
        _render_element(out, f"{action}Result", result)
    out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    out.append(f"</{action}Response>")
    return "".join(out).encode()


def error(namespace: str, code: str, message: str, fault: str, request_id: str) -> bytes:
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault}</Type>'
        f"<Code>{text(code)}</Code><Message>{text(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
