"""Glob matching without backtracking: ``*`` matches any run of characters, ``?`` exactly one.

Why not regular expressions: ``*a*a*a*a*b`` translated to ``.*a.*a.*a.*a.*b`` makes a
backtracking engine try every way of splitting the value between the stars before it gives
up, so each extra ``*a`` multiplies the time. Policy authors choose patterns (a caller
writes its own session policy) and callers choose values (a User-Agent), so a match must
cost a bounded amount of work whatever both hold.

The algorithm: split the pattern on ``*`` into chunks of fixed width (literal characters and
``?``). Without a star the one chunk must be the whole value. Otherwise the first chunk is
anchored at the start, the last at the end, and every chunk in between is placed at its
leftmost occurrence after the previous one. Leftmost placement never loses a match: in any
match, a middle chunk placed further right can move left to its leftmost occurrence, because
a star on each side absorbs the difference. Scans only move forward, so each value position
is considered once per match and verified against at most one chunk: O(len(value) *
len(pattern)) in the worst case (chunks full of ``?``), O(len(value) + len(pattern)) for
patterns without ``?``.

:func:`match_steps` counts the work: one step per value position considered as a chunk's
start, plus one per character compared when a chunk is checked at a position.
``str.find``/``startswith`` do that work in C.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

#: A pattern broken into parts: (True, text) is literal text, (False, text) may hold wildcards.
Parts = Sequence[tuple[bool, str]]

Matcher = Callable[[str], bool]


class Chunk(NamedTuple):
    """Text between two stars: ``width`` characters, literal ``pieces`` at fixed offsets, the
    rest ``?``. ``anchor`` is the longest piece, searched for first; ``others`` are checked
    once the anchor is found."""

    width: int
    pieces: tuple[tuple[int, str], ...]
    anchor: tuple[int, str]
    others: tuple[tuple[int, str], ...]


def _chunk(pieces: list[tuple[int, str]], width: int) -> Chunk:
    if not pieces:
        return Chunk(width, (), (0, ""), ())
    anchor = max(pieces, key=lambda p: len(p[1]))
    others = tuple(p for p in pieces if p is not anchor)
    return Chunk(width, tuple(pieces), anchor, others)


def chunks_of(parts: Parts) -> list[Chunk]:
    """The pattern's chunks; a pattern with k stars has k + 1 (some possibly empty).

    Literal parts (substituted policy-variable values) never become wildcards.
    """
    chunks: list[Chunk] = []
    pieces: list[tuple[int, str]] = []
    lit: list[str] = []  # literal text of the piece being built
    width = 0

    def flush() -> None:
        if lit:
            text = "".join(lit)
            pieces.append((width - len(text), text))
            lit.clear()

    for literal, text in parts:
        if literal or ("*" not in text and "?" not in text):
            lit.append(text)
            width += len(text)
            continue
        for ch in text:
            if ch == "*":
                flush()
                chunks.append(_chunk(pieces, width))
                pieces = []
                width = 0
            elif ch == "?":
                flush()
                width += 1
            else:
                lit.append(ch)
                width += 1
    flush()
    chunks.append(_chunk(pieces, width))
    return chunks


class Glob(NamedTuple):
    """A compiled glob: its chunks, laid out for :func:`run`."""

    star: bool  # False: the head chunk is the whole pattern
    min_len: int  # the sum of the chunks' widths
    head: Chunk
    tail: Chunk
    middle: tuple[Chunk, ...]


def compile_chunks(parts: Parts) -> Glob:
    chunks = chunks_of(parts)
    return Glob(
        len(chunks) > 1,
        sum(c.width for c in chunks),
        chunks[0],
        chunks[-1],
        tuple(chunks[1:-1]),
    )


def runner(g: Glob) -> Callable[[str], tuple[bool, int]]:
    """The chunk scan for one compiled glob: a function of the value returning (matched,
    steps). The glob's fields are bound as closure variables and the loops written out
    inline because, for the short values of a request, calls and attribute reads cost more
    than the scan itself."""
    star, min_len = g.star, g.min_len
    head, head_width = g.head.pieces, g.head.width
    tail, tail_width = g.tail.pieces, g.tail.width
    middle = tuple((c.width, c.anchor[0], c.anchor[1], c.others) for c in g.middle)

    def run(value: str) -> tuple[bool, int]:
        n = len(value)
        if n < min_len or (not star and n != min_len):
            return False, 1
        steps = 0
        for off, text in head:
            steps += len(text)
            if not value.startswith(text, off):
                return False, steps
        if not star:
            return True, steps
        stop = n - tail_width  # min_len keeps the tail clear of the head
        for off, text in tail:
            steps += len(text)
            if not value.startswith(text, stop + off):
                return False, steps
        pos = head_width
        for width, aoff, atext, others in middle:
            last = stop - width  # the last position where this chunk still fits
            if pos > last:
                return False, steps + 1
            if not atext:  # only '?': the first position with room will do
                steps += 1
                pos += width
                continue
            end = last + aoff + len(atext)  # the anchor must end by here
            while True:
                j = value.find(atext, pos + aoff, end)
                if j < 0:
                    return False, steps + last - pos + 1
                cand = j - aoff
                steps += cand - pos + 1 + len(atext)
                for off, text in others:
                    steps += len(text)
                    if not value.startswith(text, cand + off):
                        break
                else:
                    pos = cand + width
                    break
                pos = cand + 1  # scans move forward only
                if pos > last:
                    return False, steps
        return True, steps

    return run


def match_steps(pattern: str | Parts, value: str) -> tuple[bool, int]:
    """(matched, steps) for a glob, for tests and benchmarks that bound the work."""
    parts = ((False, pattern),) if isinstance(pattern, str) else pattern
    return runner(compile_chunks(parts))(value)


def _literal(chunk: Chunk) -> str | None:
    """The chunk's text when it has no ``?``."""
    if not chunk.pieces:
        return "" if chunk.width == 0 else None
    if len(chunk.pieces) == 1 and chunk.width == len(chunk.pieces[0][1]):
        return chunk.pieces[0][1]
    return None


def compile_glob(parts: Parts) -> Matcher:
    """A predicate for one glob. The common shapes (exact text, ``s3:Get*``, ``*.example.com``,
    ``*mozilla*``) become one string operation: what :func:`run` does for them, minus the
    bookkeeping. The rest run the chunk scan."""
    g = compile_chunks(parts)
    lits = [_literal(c) for c in (g.head, *g.middle, g.tail)]
    if not g.star and lits[0] is not None:
        return lits[0].__eq__
    if all(lit == "" for lit in lits):  # "*", "**": any value
        return _true
    if len(lits) == 2 and lits[0] is not None and lits[1] == "":
        prefix = lits[0]
        return lambda value: value.startswith(prefix)
    if len(lits) == 2 and lits[0] == "" and lits[1] is not None:
        suffix = lits[1]
        return lambda value: value.endswith(suffix)
    if len(lits) == 3 and lits[0] == "" == lits[2] and lits[1] is not None:
        inner = lits[1]
        return lambda value: inner in value
    run = runner(g)
    return lambda value: run(value)[0]


def _true(value: str) -> bool:
    return True


def glob(pattern: str, *, ignore_case: bool = False) -> Matcher:
    """A predicate for a plain ``*``/``?`` glob written as one string (no literal parts)."""
    if ignore_case:
        matcher = compile_glob(((False, pattern.lower()),))
        return lambda value: matcher(value.lower())
    return compile_glob(((False, pattern),))
