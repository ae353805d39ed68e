"""The wildcard matcher: same answers as before, bounded work whatever the pattern.

The old engine translated patterns to backtracking regular expressions, so
``StringLike aws:UserAgent "*a*a*a*a*a*a*a*b"`` against a 60-character User-Agent ran for
15 s. These tests bound the matcher's *steps* (positions considered plus characters
compared, see opensts.policy.glob), not wall-clock time, and check its answers against a
dynamic-programming reference and, on small inputs, against the old regex translation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensts.policy.glob import glob, match_steps
from opensts.policy.wildcard import GlobSet, arn_match_steps, compile_pattern, dynamic_matcher

Parts = Sequence[tuple[bool, str]]

# --- references -----------------------------------------------------------------------------

ANY, SEG = "any", "seg"  # a wildcard that may cross ':' / one that stays in its segment


def _tokens(parts: Parts, arn: bool) -> list[tuple[str, str]]:
    """(kind, char) per pattern character: kind "lit", or "*"/"?" + "any"/"seg", following
    the documented rule: in an ARN, wildcards stay in their segment in the first five
    segments, unless it is the pattern's last segment."""
    colons = sum(t.count(":") for lit, t in parts if not lit)
    seg = 0
    out: list[tuple[str, str]] = []
    for literal, text in parts:
        for ch in text:
            if literal or ch not in "*?":
                out.append(("lit", ch))
                if ch == ":" and not literal:
                    seg += 1
            else:
                scope = ANY if not arn or seg >= 5 or seg == colons else SEG
                out.append((ch + scope, ch))
    return out


def reference(parts: Parts, value: str, *, arn: bool = False) -> bool:
    """Textbook O(n*m) dynamic programming over the pattern's tokens."""
    toks = _tokens(parts, arn)
    n = len(value)
    # row[j]: tokens so far match value[:j]
    row = [True] + [False] * n
    for kind, ch in toks:
        new = [False] * (n + 1)
        if kind.startswith("*"):
            new[0] = row[0]
            for j in range(1, n + 1):
                crosses = kind == "*" + ANY or value[j - 1] != ":"
                new[j] = row[j] or (new[j - 1] and crosses)
        else:
            for j in range(1, n + 1):
                if kind == "lit":
                    ok = value[j - 1] == ch
                else:
                    ok = kind == "?" + ANY or value[j - 1] != ":"
                new[j] = row[j - 1] and ok
        row = new
    return row[n]


def legacy(parts: Parts, value: str, *, arn: bool = False) -> bool:
    """The old translation to a regular expression (safe only on small inputs)."""
    table = {"*" + ANY: ".*", "?" + ANY: ".", "*" + SEG: "[^:]*", "?" + SEG: "[^:]"}
    source = "".join(table.get(kind) or re.escape(ch) for kind, ch in _tokens(parts, arn))
    return re.compile(source + r"\Z", re.S).match(value) is not None


# --- strategies -----------------------------------------------------------------------------

PATTERN_CHARS = "ab*?:/"
VALUE_CHARS = "ab:/"
patterns = st.text(PATTERN_CHARS, max_size=12)
values = st.text(VALUE_CHARS, max_size=14)
parts_lists = st.lists(st.tuples(st.booleans(), patterns), max_size=4)


@st.composite
def near_misses(draw: st.DrawFn) -> tuple[list[tuple[bool, str]], str]:
    """A pattern and a value made from it (wildcards filled in), often edited once: random
    values rarely come close to matching, and the edge cases sit right next to a match."""
    parts = draw(parts_lists)
    out = []
    for literal, text in parts:
        for ch in text:
            if literal or ch not in "*?":
                out.append(ch)
            elif ch == "?":
                out.append(draw(st.sampled_from(VALUE_CHARS)))
            else:
                out.append(draw(st.text(VALUE_CHARS, max_size=4)))
    value = "".join(out)
    edit = draw(st.sampled_from(["none", "insert", "delete", "replace"]))
    if edit != "none" and (value or edit == "insert"):
        i = draw(st.integers(0, len(value) - (edit != "insert")))
        ch = draw(st.sampled_from(VALUE_CHARS))
        keep = i + (edit != "insert")
        value = value[:i] + ("" if edit == "delete" else ch) + value[keep:]
    return parts, value


cases = st.one_of(near_misses(), st.tuples(parts_lists, values))


# --- agreement with the references --------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "value", "arn"),
    [
        ([(False, "arn:aws:s*:us-east-1:1:q")], "arn:aws:sqs:x:us-east-1:1:q", True),
        ([(False, "arn:aws:s3:*")], "arn:aws:s3:::b/a:b", True),
        ([(False, "a*:b")], "ax:y:b", False),
        ([(False, "a:"), (True, "x:y"), (False, ":*")], "a:x:y:z", True),
    ],
)
def test_references_agree_with_each_other(parts, value, arn):
    assert reference(parts, value, arn=arn) == legacy(parts, value, arn=arn)


@settings(max_examples=1500, deadline=None)
@given(cases, st.booleans())
def test_references_agree_on_random_inputs(case, arn):
    parts, value = case
    assert reference(parts, value, arn=arn) == legacy(parts, value, arn=arn)


@settings(max_examples=1500, deadline=None)
@given(cases)
def test_glob_matches_reference(case):
    parts, value = case
    expected = reference(parts, value)
    assert compile_pattern(parts, arn=False)(value) is expected
    assert match_steps(parts, value)[0] is expected


@settings(max_examples=1500, deadline=None)
@given(cases)
def test_arn_matches_reference(case):
    parts, value = case
    expected = reference(parts, value, arn=True)
    assert compile_pattern(parts, arn=True)(value) is expected
    assert arn_match_steps(parts, value)[0] is expected


@settings(max_examples=1000, deadline=None)
@given(st.lists(near_misses(), min_size=1, max_size=4), st.integers(0, 3), st.booleans())
def test_glob_set_matches_reference(drawn, pick, arn):
    # The patterns as one string each (wildcards live), the value made from one of them.
    pats = ["".join(t for _, t in parts) for parts, _ in drawn]
    value = drawn[pick % len(drawn)][1]
    expected = any(reference([(False, p)], value, arn=arn) for p in pats)
    assert GlobSet(pats, arn=arn)(value) is expected


@settings(max_examples=500, deadline=None)
@given(st.text("aAbB*?:", max_size=8), st.text("aAbB:", max_size=10))
def test_ignore_case(pattern, value):
    expected = reference([(False, pattern.lower())], value.lower())
    assert glob(pattern, ignore_case=True)(value) is expected
    assert GlobSet([pattern], ignore_case=True)(value.lower()) is expected


def test_literal_parts_never_act_as_wildcards():
    parts = [(False, "arn:aws:s3:::home/"), (True, "*"), (False, "/*")]
    assert not dynamic_matcher(parts, arn=True)("arn:aws:s3:::home/bob/a")
    assert dynamic_matcher(parts, arn=True)("arn:aws:s3:::home/*/a")
    assert not dynamic_matcher([(True, "a?c")], arn=False)("abc")
    assert dynamic_matcher([(True, "a?c")], arn=False)("a?c")


# --- bounded work ---------------------------------------------------------------------------


def _bound(pattern_len: int, value_len: int) -> int:
    return 3 * (pattern_len + 1) * (value_len + 1)


def _linear(pattern_len: int, value_len: int) -> int:
    return 3 * (pattern_len + value_len + 1)


def _length(parts: Parts) -> int:
    return sum(len(t) for _, t in parts)


@settings(max_examples=1500, deadline=None)
@given(cases, st.booleans())
def test_steps_are_bounded(case, arn):
    parts, value = case
    _, steps = (arn_match_steps if arn else match_steps)(parts, value)
    assert steps <= _bound(_length(parts), len(value))
    if not any("?" in t for lit, t in parts if not lit):
        # Without '?' every chunk is found by one forward scan: linear.
        assert steps <= _linear(_length(parts), len(value))


# Patterns built to make a backtracking engine explode: runs of the value's own character
# between stars, ending in a character the value lacks.
ADVERSARIAL = st.builds(
    lambda unit, k, end: unit * k + end,
    st.sampled_from(["*a", "*?", "*a?", "*?a", "*aa*?", "*:a", "*a:*"]),
    st.integers(1, 40),
    st.sampled_from(["*b", "b", "?b", "*", ""]),
)


@settings(max_examples=300, deadline=None)
@given(ADVERSARIAL, st.integers(0, 600), st.booleans())
def test_adversarial_steps_are_bounded(pattern, n, arn):
    value = "a" * n
    parts = [(False, pattern)]
    _, steps = (arn_match_steps if arn else match_steps)(parts, value)
    assert steps <= _bound(len(pattern), n)
    if "?" not in pattern:
        assert steps <= _linear(len(pattern), n)


@pytest.mark.parametrize("n", [60, 10_000])
def test_user_agent_attack(n):
    # The reported case: 14.9 s for 60 characters with the regex translation.
    pattern = "*a*a*a*a*a*a*a*b"
    matched, steps = match_steps(pattern, "a" * n)
    assert not matched
    assert steps <= _linear(len(pattern), n)
    assert not GlobSet([pattern])("a" * n)
    assert GlobSet([pattern])("a" * n + "b")


@pytest.mark.parametrize(
    "pattern",
    ["*?" * 50 + "*b", "*?*?*" * 30, "?" * 200 + "*b", "*a?" * 40 + "b", "*" * 500 + "b"],
)
def test_question_mark_runs(pattern):
    value = "a" * 10_000
    matched, steps = match_steps(pattern, value)
    assert matched is ("b" not in pattern)  # the value has no 'b'
    assert steps <= _bound(len(pattern), len(value))


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("arn:*:*:*:*:" + "*a" * 30 + "*b", "arn:aws:s3:us-east-1:1:" + "a" * 10_000),
        ("arn:" + "*a" * 30 + "*b:*:*:*:*", "arn:" + "a" * 10_000 + ":x:y:z:w"),
        ("arn:aws:" + "*a" * 30 + "*b", "arn:aws:" + "a:" * 5_000),
        ("arn:" + "*:" * 4 + "*a?" * 30 + "b", "arn:" + "a:" * 4 + "a" * 10_000),
    ],
)
def test_arn_attack(pattern, value):
    matched, steps = arn_match_steps([(False, pattern)], value)
    assert not matched
    assert steps <= _bound(len(pattern), len(value))
    assert not GlobSet([pattern], arn=True)(value)
