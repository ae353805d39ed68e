"""The shared decoder for request JSON: exact depth bound, brackets in strings, surrogates."""

from __future__ import annotations

import pytest

from opensts import safejson


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + "1" + close * depth


@pytest.mark.parametrize("text", [nested(32), nested(32, '{"a":', "}"),
                                  '[' * 30 + '{"k": "]]]]{{{{\\"[[[", "n": [true, null]}'
                                  + ']' * 30, "[" + "[]," * 10_000 + "[]]"])
def test_accepted(text: str) -> None:
    safejson.loads(text)


@pytest.mark.parametrize("text", [nested(33), nested(33, '{"a":', "}"), "[" * 100_000,
                                  nested(16) [:-16] + "," + nested(17) + "]" * 16])
def test_too_deep(text: str) -> None:
    with pytest.raises(safejson.JsonInputError):
        safejson.loads(text)


@pytest.mark.parametrize("text", ['"\\udcff"', '{"\\ud800": 1}', '["\\ud83d"]',
                                  '"\\ude00\\ud83d"'])
def test_lone_surrogates(text: str) -> None:
    with pytest.raises(safejson.JsonInputError, match="surrogate"):
        safejson.loads(text)


def test_surrogate_pairs_and_escaped_backslashes() -> None:
    assert safejson.loads('"\\ud83d\\ude00"') == "\U0001F600"
    assert safejson.loads('"\\\\udcff"') == "\\udcff"  # a backslash, then text


@pytest.mark.parametrize("data", [b"\xff{}", b"{", b"[}", b"NaN-"])
def test_invalid(data: bytes) -> None:
    with pytest.raises(safejson.JsonInputError):
        safejson.loads(data)
