"""Where things are in a policy's JSON text: the ``span`` of a ValidatePolicy location.

Access Analyzer's ``Position`` (botocore model): "The line of the position, starting from
1", "The column of the position, starting from 0", "The offset within the policy ...
starting from 0"; a ``Span`` is a start (inclusive) and an end (exclusive). Offsets and
columns count characters of the text as sent (Python ``str`` indices).

``PositionMap`` scans the text once, by hand, because ``json`` keeps no positions: for every
value it records its type and the span of its token (quotes and brackets included), and for
every object member the span of its key. Paths are tuples of object keys (``str``) and
array indices (``int``), e.g. ``("Statement", 0, "Action", 1)``. The scan runs only on text
that ``json`` already accepted (policy.parser.load_json), so nesting is bounded and the
grammar is known good; it still refuses, rather than guesses, anything else.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass

Path = tuple[str | int, ...]

_WS = " \t\n\r"
_NUMBER_CHARS = frozenset("+-0123456789.eE")


@dataclass(frozen=True)
class Position:
    line: int
    column: int
    offset: int


@dataclass(frozen=True)
class Span:
    start: Position
    end: Position


@dataclass(frozen=True)
class _Node:
    kind: str  # "object" | "array" | "string" | "number" | "true" | "false" | "null"
    start: int
    end: int


class PositionMap:
    """Spans of every value and object key of a JSON text."""

    def __init__(self, text: str):
        self.text = text
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self._values: dict[Path, _Node] = {}
        self._keys: dict[Path, tuple[int, int]] = {}
        #: Object members whose key appeared before in the same object (path, key span):
        #: JSON leaves their meaning open, and IAM's parser refuses them.
        self.duplicates: list[tuple[Path, Span]] = []
        pos = self._skip(0)
        end = self._value(pos, ())
        if self._skip(end) != len(text):
            raise ValueError("text after the JSON value")

    # --- queries -------------------------------------------------------------------------

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return Position(line + 1, offset - self._line_starts[line], offset)

    def span(self, start: int, end: int) -> Span:
        return Span(self.position(start), self.position(end))

    def kind(self, path: Path) -> str | None:
        node = self._values.get(path)
        return node.kind if node else None

    def value_span(self, path: Path) -> Span | None:
        """The span of the value at ``path``; None when there is none."""
        node = self._values.get(path)
        return self.span(node.start, node.end) if node else None

    def key_span(self, path: Path) -> Span | None:
        """The span of the key (quotes included) of the object member at ``path``."""
        hit = self._keys.get(path)
        return self.span(*hit) if hit else None

    def nearest_span(self, path: Path) -> Span:
        """The value at ``path``, or at its longest prefix that exists (the document at
        worst): a finding about something missing points at where it should be."""
        for n in range(len(path), -1, -1):
            node = self._values.get(path[:n])
            if node is not None:
                return self.span(node.start, node.end)
        return self.span(0, len(self.text))

    # --- the scan ------------------------------------------------------------------------

    def _skip(self, pos: int) -> int:
        text = self.text
        while pos < len(text) and text[pos] in _WS:
            pos += 1
        return pos

    def _value(self, pos: int, path: Path) -> int:
        text = self.text
        if pos >= len(text):
            raise ValueError("unexpected end of JSON")
        ch = text[pos]
        if ch == "{":
            end = self._object(pos, path)
            kind = "object"
        elif ch == "[":
            end = self._array(pos, path)
            kind = "array"
        elif ch == '"':
            end = self._string_end(pos)
            kind = "string"
        elif ch in _NUMBER_CHARS:
            end = pos
            while end < len(text) and text[end] in _NUMBER_CHARS:
                end += 1
            kind = "number"
        else:
            for word in ("true", "false", "null"):
                if text.startswith(word, pos):
                    end, kind = pos + len(word), word
                    break
            else:
                raise ValueError(f"unexpected character at {pos}")
        self._values[path] = _Node(kind, pos, end)
        return end

    def _string_end(self, pos: int) -> int:
        text = self.text
        i = pos + 1
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                return i + 1
            i += 1
        raise ValueError("unterminated string")

    def _object(self, pos: int, path: Path) -> int:
        text = self.text
        pos = self._skip(pos + 1)
        if pos < len(text) and text[pos] == "}":
            return pos + 1
        while True:
            if pos >= len(text) or text[pos] != '"':
                raise ValueError(f"expected a key at {pos}")
            key_end = self._string_end(pos)
            key = json.loads(text[pos:key_end])
            member = (*path, key)
            if member in self._keys:
                self.duplicates.append((member, self.span(pos, key_end)))
            self._keys[member] = (pos, key_end)
            pos = self._skip(key_end)
            if pos >= len(text) or text[pos] != ":":
                raise ValueError(f"expected ':' at {pos}")
            pos = self._value(self._skip(pos + 1), member)
            pos = self._skip(pos)
            if pos < len(text) and text[pos] == ",":
                pos = self._skip(pos + 1)
                continue
            if pos < len(text) and text[pos] == "}":
                return pos + 1
            raise ValueError(f"expected ',' or '}}' at {pos}")

    def _array(self, pos: int, path: Path) -> int:
        text = self.text
        pos = self._skip(pos + 1)
        if pos < len(text) and text[pos] == "]":
            return pos + 1
        index = 0
        while True:
            pos = self._skip(self._value(pos, (*path, index)))
            index += 1
            if pos < len(text) and text[pos] == ",":
                pos = self._skip(pos + 1)
                continue
            if pos < len(text) and text[pos] == "]":
                return pos + 1
            raise ValueError(f"expected ',' or ']' at {pos}")


def error_position(text: str) -> int:
    """The offset where ``json`` stops reading ``text`` (0 when it does not say)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        return err.pos
    except (ValueError, RecursionError):
        return 0
    return 0
