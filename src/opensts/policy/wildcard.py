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

Matching never builds a regular expression from policy text: globs run through the
non-backtracking matcher in :mod:`opensts.policy.glob`, so a match costs at most
O(len(pattern) * len(value)) whatever the pattern. Substituted policy-variable values arrive
as *literal* parts and stay literal: a value ``*`` never acts as a wildcard
(reference_policies_variables).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

from opensts.policy.glob import Matcher, Parts, compile_chunks, compile_glob, runner

__all__ = [
    "GlobSet",
    "Matcher",
    "Parts",
    "arn_match_steps",
    "compile_arn",
    "dynamic_matcher",
    "has_wildcard",
]

#: Wildcards in ARN segments before this one stay inside their segment.
_RESOURCE_SEGMENT = 5


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def _split_arn(parts: Parts) -> tuple[list[list[tuple[bool, str]]], list[tuple[bool, str]]]:
    """Split an ARN pattern into the segments whose wildcards stay inside them, and the rest.

    Segment colons are those of the pattern text; the confined segments are the first five,
    or all but the last when the pattern has fewer (its last segment's wildcards span
    colons). Colons inside literal parts do not count as segment boundaries but still must
    meet a colon of the value, so they split the confined prefix too. Returns (pieces, rest):
    the value matches when its text up to its ``len(pieces)``-th colon, split on colons,
    matches ``pieces`` one by one, and what follows matches ``rest``.
    """
    colons = sum(text.count(":") for literal, text in parts if not literal)
    bound = min(_RESOURCE_SEGMENT, colons)
    pieces: list[list[tuple[bool, str]]] = [[]]
    rest: list[tuple[bool, str]] = []
    seen = 0
    for literal, text in parts:
        if seen == bound:
            rest.append((literal, text))
            continue
        if literal:
            first, *more = text.split(":")
            pieces[-1].append((True, first))
            pieces.extend([(True, m)] for m in more)
            continue
        pos = 0
        while seen < bound:
            k = text.find(":", pos)
            if k < 0:
                break
            pieces[-1].append((False, text[pos:k]))
            pieces.append([])
            seen += 1
            pos = k + 1
        (rest if seen == bound else pieces[-1]).append((False, text[pos:]))
    pieces.pop()  # the empty piece opened by the last confined colon: it starts ``rest``
    return pieces, rest


def _confined(pieces: list[list[tuple[bool, str]]]) -> bool:
    """Does a wildcard sit in a segment it may not leave?"""
    return any(not literal and has_wildcard(text) for p in pieces for literal, text in p)


def compile_arn(parts: Parts) -> Matcher:
    """A predicate for an ARN-shaped pattern, matched segment by segment."""
    pieces, rest = _split_arn(parts)
    if not _confined(pieces):
        # No wildcard is confined to a segment, and the literal colons of the prefix meet
        # the value's colons one for one: the whole pattern is a plain glob.
        return compile_glob(parts)
    count = len(pieces)
    tail = compile_glob(rest)
    # Per segment: a lone '*' matches any (colon-free) segment and needs no check; literal
    # segments are compared all at once through one itemgetter; the rest run as globs.
    texts = [_literal_text(p) for p in pieces]
    exact = [(i, t) for i, t in enumerate(texts) if t is not None]
    globs = tuple(
        (i, compile_glob(p)) for i, p in enumerate(pieces) if texts[i] is None and not _star(p)
    )
    pick = operator.itemgetter(*(i for i, _ in exact)) if exact else None
    want: object = tuple(t for _, t in exact) if len(exact) > 1 else exact[0][1] if exact else None

    def match(value: str) -> bool:
        values = value.split(":", count)
        if len(values) <= count:
            return False
        if pick is not None and pick(values) != want:
            return False
        for i, segment in globs:
            if not segment(values[i]):
                return False
        return tail(values[count])

    return match


def _literal_text(piece: list[tuple[bool, str]]) -> str | None:
    if any(not literal and has_wildcard(text) for literal, text in piece):
        return None
    return "".join(text for _, text in piece)


def _star(piece: list[tuple[bool, str]]) -> bool:
    """Only stars: matches any segment."""
    text = "".join(t for _, t in piece)
    return set(text) == {"*"} and all(not literal or not t for literal, t in piece)


def arn_match_steps(parts: Parts, value: str) -> tuple[bool, int]:
    """(matched, steps) for an ARN pattern: what :func:`compile_arn` does, with the work
    counted as in :func:`opensts.policy.glob.match_steps` (splitting costs one step per
    character), for tests and benchmarks that bound it."""
    pieces, rest = _split_arn(parts)
    if not _confined(pieces):
        return runner(compile_chunks(parts))(value)
    count = len(pieces)
    values = value.split(":", count)
    steps = len(value) + 1
    if len(values) <= count:
        return False, steps
    for piece, text in zip([*pieces, rest], values, strict=True):
        ok, more = runner(compile_chunks(piece))(text)
        steps += more
        if not ok:
            return False, steps
    return True, steps


def compile_pattern(parts: Parts, *, arn: bool) -> Matcher:
    return compile_arn(parts) if arn else compile_glob(parts)


def _plain(pattern: str, arn: bool) -> tuple[str, str]:
    """("prefix", text) / ("suffix", text) when the pattern is that simple, else ("", "")."""
    if pattern.count("*") != 1 or "?" in pattern:
        return "", ""
    if pattern.endswith("*"):
        # A trailing star is in the pattern's last segment, which spans colons even in an ARN.
        return "prefix", pattern[:-1]
    if pattern.startswith("*") and not (arn and ":" in pattern):
        # In an ARN a leading star before a colon is confined to the first segment.
        return "suffix", pattern[1:]
    return "", ""


class GlobSet:
    """Matches a string against many patterns at once: exact strings by hash lookup, the
    ``s3:Get*``-style prefixes (and ``*.suffix`` globs) by one ``startswith``/``endswith``
    over a tuple, the rest one by one through the glob matcher."""

    __slots__ = ("exact", "match_all", "others", "prefixes", "suffixes")

    def __init__(self, patterns: Iterable[str], *, arn: bool = False, ignore_case: bool = False):
        exact: set[str] = set()
        prefixes: list[str] = []
        suffixes: list[str] = []
        others: list[Matcher] = []
        self.match_all = False
        for p in patterns:
            if ignore_case:
                p = p.lower()
            if p == "*":
                self.match_all = True
            elif not has_wildcard(p):
                exact.add(p)
            else:
                kind, text = _plain(p, arn)
                if kind == "prefix":
                    prefixes.append(text)
                elif kind == "suffix":
                    suffixes.append(text)
                else:
                    others.append(compile_pattern(((False, p),), arn=arn))
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)
        self.suffixes = tuple(suffixes)
        self.others = tuple(others)

    def __call__(self, value: str) -> bool:
        if self.match_all or value in self.exact:
            return True
        if self.prefixes and value.startswith(self.prefixes):
            return True
        if self.suffixes and value.endswith(self.suffixes):
            return True
        for match in self.others:  # noqa: SIM110 - a loop: any() adds a generator per call
            if match(value):
                return True
        return False


_DYNAMIC: dict[tuple[bool, tuple[tuple[bool, str], ...]], Matcher] = {}
_DYNAMIC_MAX = 4096


def dynamic_matcher(parts: Parts, *, arn: bool) -> Matcher:
    """Compile (and memoize) a pattern whose literal parts came from policy variables."""
    key = (arn, tuple(parts))
    matcher = _DYNAMIC.get(key)
    if matcher is None:
        if len(_DYNAMIC) >= _DYNAMIC_MAX:
            _DYNAMIC.clear()
        matcher = _DYNAMIC[key] = compile_pattern(parts, arn=arn)
    return matcher
