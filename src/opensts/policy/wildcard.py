"""Wildcard matching for actions, resources, ARNs and ``*Like`` conditions.

Rules implemented:

* Action: "The prefix and the action name are case insensitive"; ``*`` and ``?`` are
  wildcards (reference_policies_elements_action).
* Resource: case-sensitive; ``*`` and ``?`` work within each colon-separated ARN segment,
  and a wildcard in the last segment may span colons (reference_policies_elements_resource).
  Segment 6 (the resource part) may itself contain colons, so wildcards there cross them.
* ``ArnLike``/``ArnEquals``: "each of the six colon-delimited components of the ARN is
  checked separately and each can include multi-character match wildcards (*) or
  single-character match wildcards (?)" (reference_policies_elements_condition_operators).
* ``StringLike``: ``*`` matches any run of characters, ``?`` exactly one.

Patterns become anchored regular expressions built only from ``re.escape``\\d literal text and
fixed wildcard translations, so no input character can act as a regex metacharacter.
Substituted policy-variable values arrive as *literal* parts and are escaped whole: a value
``*`` never acts as a wildcard (reference_policies_variables).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

#: A pattern broken into parts: (True, text) is literal text, (False, text) may hold wildcards.
Parts = Sequence[tuple[bool, str]]

_ANY = {"*": ".*", "?": "."}
_SEG = {"*": "[^:]*", "?": "[^:]"}


def glob_source(parts: Parts) -> str:
    """Regex source for a plain glob: ``*`` any run (colons included), ``?`` one character."""
    out: list[str] = []
    for literal, text in parts:
        if literal:
            out.append(re.escape(text))
            continue
        for ch in text:
            out.append(_ANY.get(ch) or re.escape(ch))
    return "".join(out)


def arn_source(parts: Parts) -> str:
    """Regex source for an ARN-shaped pattern, matched segment by segment.

    Wildcards in the first five segments stay inside their segment; from the sixth (the
    resource part, which may contain colons) or in the last segment of a pattern that has
    fewer than six, they may span colons.
    """
    colons = sum(text.count(":") for literal, text in parts if not literal)
    seg = 0
    out: list[str] = []
    for literal, text in parts:
        if literal:
            out.append(re.escape(text))
            continue
        for ch in text:
            if ch == ":":
                seg += 1
                out.append(":")
            elif ch in _ANY:
                out.append((_ANY if seg >= 5 or seg == colons else _SEG)[ch])
            else:
                out.append(re.escape(ch))
    return "".join(out)


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


class GlobSet:
    """Matches a string against many patterns at once: exact strings by hash lookup, the rest
    through one combined, precompiled alternation."""

    __slots__ = ("exact", "match_all", "regex")

    def __init__(self, patterns: Iterable[str], *, arn: bool = False, ignore_case: bool = False):
        exact: set[str] = set()
        sources: list[str] = []
        self.match_all = False
        for p in patterns:
            if ignore_case:
                p = p.lower()
            if p == "*":
                self.match_all = True
            elif not has_wildcard(p):
                exact.add(p)
            else:
                parts = ((False, p),)
                sources.append(arn_source(parts) if arn else glob_source(parts))
        self.exact = frozenset(exact)
        self.regex = re.compile("(?:" + "|".join(sources) + r")\Z", re.S) if sources else None

    def __call__(self, value: str) -> bool:
        if self.match_all or value in self.exact:
            return True
        return self.regex is not None and self.regex.match(value) is not None


_DYNAMIC: dict[tuple[bool, tuple[tuple[bool, str], ...]], re.Pattern[str]] = {}
_DYNAMIC_MAX = 4096


def dynamic_regex(parts: Parts, *, arn: bool) -> re.Pattern[str]:
    """Compile (and memoize) a pattern whose literal parts came from policy variables."""
    key = (arn, tuple(parts))
    rx = _DYNAMIC.get(key)
    if rx is None:
        if len(_DYNAMIC) >= _DYNAMIC_MAX:
            _DYNAMIC.clear()
        rx = re.compile((arn_source(parts) if arn else glob_source(parts)) + r"\Z", re.S)
        _DYNAMIC[key] = rx
    return rx
