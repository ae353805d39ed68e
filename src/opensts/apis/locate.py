"""Where each value of a declaration file is, so an error can name its line and column.

The stdlib parsers give values without positions, so:

* JSON is parsed here, strictly (RFC 8259; duplicate keys refused, nesting bounded), with
  ``json``'s own string scanner, recording where every value starts;
* TOML is parsed by ``tomllib`` and located by a scan of its lines that follows table
  headers (``[a.b]``, ``[[a]]``) and ``key =`` lines; a value inside an inline table or a
  multi-line array is reported at its key's line.

A path is a tuple of keys and list indexes (``("routes", 0, "resource")``);
``Locator.at(path)`` answers the position of the longest known prefix.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from json import decoder
from typing import Any

# json's own string scanner (C): strict (no control characters), escapes checked. Public
# in the module but absent from the type stubs.
scanstring: Callable[[str, int, bool], tuple[str, int]] = decoder.scanstring  # type: ignore[attr-defined]

Path = tuple[str | int, ...]
MAX_DEPTH = 32
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WS = " \t\n\r"


class LocatedError(ValueError):
    def __init__(self, message: str, line: int, column: int):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass
class Locator:
    text: str
    positions: dict[Path, int] = field(default_factory=dict)  # path → character offset
    lines: dict[Path, int] = field(default_factory=dict)  # path → 1-based line (TOML)

    def at(self, path: Sequence[str | int]) -> tuple[int, int]:
        """(line, column), both 1-based, of the value at ``path`` or its nearest parent."""
        key = tuple(path)
        while True:
            if key in self.positions:
                return _line_col(self.text, self.positions[key])
            if key in self.lines:
                return self.lines[key], 1
            if not key:
                return 1, 1
            key = key[:-1]


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# -- JSON -----------------------------------------------------------------------------------

def parse_json(text: str) -> tuple[Any, Locator]:
    locator = Locator(text)
    parser = _Json(text, locator)
    value = parser.value(0, (), 0)
    end = parser.skip(parser.end)
    if end != len(text):
        parser.fail("extra text after the JSON value", end)
    return value, locator


class _Json:
    def __init__(self, text: str, locator: Locator):
        self.text = text
        self.locator = locator
        self.end = 0

    def fail(self, message: str, offset: int) -> None:
        line, column = _line_col(self.text, offset)
        raise LocatedError(message, line, column)

    def skip(self, i: int) -> int:
        text = self.text
        while i < len(text) and text[i] in _WS:
            i += 1
        return i

    def value(self, i: int, path: Path, depth: int) -> Any:
        text = self.text
        i = self.skip(i)
        self.locator.positions[path] = i
        if depth > MAX_DEPTH:
            self.fail("nested too deeply", i)
        if i >= len(text):
            self.fail("unexpected end of the file: a value is missing", i)
        ch = text[i]
        if ch == "{":
            return self.object(i, path, depth)
        if ch == "[":
            return self.array(i, path, depth)
        if ch == '"':
            return self.string(i)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, i):
                self.end = i + len(word)
                return value
        number = _NUMBER.match(text, i)
        if number:
            self.end = number.end()
            literal = number.group()
            return float(literal) if any(c in literal for c in ".eE") else int(literal)
        self.fail(f"unexpected character {ch!r}: expected a JSON value", i)
        return None  # unreachable

    def string(self, i: int) -> str:
        try:
            value, self.end = scanstring(self.text, i + 1, True)
        except json.JSONDecodeError as exc:
            self.fail(f"bad string: {exc.msg}", exc.pos)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("a string holds a lone surrogate escape", i)
        return value

    def object(self, i: int, path: Path, depth: int) -> dict[str, Any]:
        text = self.text
        out: dict[str, Any] = {}
        i = self.skip(i + 1)
        if i < len(text) and text[i] == "}":
            self.end = i + 1
            return out
        while True:
            if i >= len(text) or text[i] != '"':
                self.fail("expected a key in double quotes", i)
            key_at = i
            key = self.string(i)
            if key in out:
                self.fail(f"duplicate key {key!r}", key_at)
            i = self.skip(self.end)
            if i >= len(text) or text[i] != ":":
                self.fail("expected ':' after the key", i)
            out[key] = self.value(i + 1, (*path, key), depth + 1)
            i = self.skip(self.end)
            if i < len(text) and text[i] == ",":
                i = self.skip(i + 1)
                continue
            if i < len(text) and text[i] == "}":
                self.end = i + 1
                return out
            self.fail("expected ',' or '}'", i)

    def array(self, i: int, path: Path, depth: int) -> list[Any]:
        text = self.text
        out: list[Any] = []
        i = self.skip(i + 1)
        if i < len(text) and text[i] == "]":
            self.end = i + 1
            return out
        while True:
            out.append(self.value(i, (*path, len(out)), depth + 1))
            i = self.skip(self.end)
            if i < len(text) and text[i] == ",":
                i += 1
                continue
            if i < len(text) and text[i] == "]":
                self.end = i + 1
                return out
            self.fail("expected ',' or ']'", i)


# -- TOML -----------------------------------------------------------------------------------

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
_KEY_PART = re.compile(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""")


def _key_parts(dotted: str) -> list[str]:
    return [p[1:-1] if p[0] in "\"'" else p for p in _KEY_PART.findall(dotted)]


def parse_toml(text: str) -> tuple[Any, Locator]:
    try:
        value = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        at = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise LocatedError(f"TOML: {message}", *at) from None
    locator = Locator(text)
    table: Path = ()
    counts: dict[Path, int] = {}
    multiline: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if multiline is not None:  # inside a multi-line string: only its end matters
            if line.count(multiline) % 2 == 1:
                multiline = None
            continue
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith(("[\"", "['")) and "=" not in line:
            parts = tuple(_key_parts(header.group(2)))
            if header.group(1) == "[[":
                index = counts.get(parts, 0)
                counts[parts] = index + 1
                table = (*_indexed(parts[:-1], counts), parts[-1], index)
            else:
                table = _indexed(parts, counts)
            locator.lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            path = (*table, *_key_parts(key.group(1)))
            locator.lines.setdefault(path, number)
            rest = line[key.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    multiline = quote
    return value, locator


def _indexed(parts: Sequence[str], counts: dict[Path, int]) -> Path:
    """A table path with the current index of every array of tables it passes through
    (``[routes.conditions]`` after the second ``[[routes]]`` is routes[1].conditions)."""
    out: list[str | int] = []
    for i, part in enumerate(parts):
        out.append(part)
        n = counts.get(tuple(parts[: i + 1]))
        if n:
            out.append(n - 1)
    return tuple(out)
