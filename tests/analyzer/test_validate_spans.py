"""spans.PositionMap: every value's and key's span, against json's own reading."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from opensts.analyzer.spans import Position, PositionMap, error_position

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


def _paths(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


@settings(max_examples=200, deadline=None)
@given(json_values, st.sampled_from([None, 1, 2]), st.booleans())
def test_every_value_span_decodes_to_that_value(value, indent, ascii_only):
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    positions = PositionMap(text)
    for path, expected in _paths(value):
        span = positions.value_span(path)
        assert span is not None
        assert json.loads(text[span.start.offset:span.end.offset]) == expected
        if path and isinstance(path[-1], str):
            key = positions.key_span(path)
            assert key is not None
            assert json.loads(text[key.start.offset:key.end.offset]) == path[-1]


@given(st.text(alphabet="ab\n", max_size=30), st.integers(min_value=0, max_value=30))
def test_line_and_column_count_from_one_and_zero(prefix, extra):
    text = json.dumps(prefix)
    positions = PositionMap(text)
    offset = min(extra, len(text))
    p = positions.position(offset)
    assert p.offset == offset
    assert p.line == text.count("\n", 0, offset) + 1
    assert p.column == offset - (text.rfind("\n", 0, offset) + 1)


def test_a_policy_statement_action_is_located():
    text = ('{\n  "Version": "2012-10-17",\n  "Statement": [\n'
            '    {"Action": ["s3:x", "s3:y"]}\n  ]\n}')
    positions = PositionMap(text)
    span = positions.value_span(("Statement", 0, "Action", 1))
    assert span is not None
    assert text[span.start.offset:span.end.offset] == '"s3:y"'
    assert span.start == Position(line=4, column=24, offset=text.index('"s3:y"'))
    key = positions.key_span(("Statement", 0, "Action"))
    assert key is not None and text[key.start.offset:key.end.offset] == '"Action"'


def test_missing_paths_fall_back_to_the_nearest_parent():
    text = '{"Statement": [{"Effect": "Allow"}]}'
    positions = PositionMap(text)
    assert positions.value_span(("Statement", 0, "Action")) is None
    near = positions.nearest_span(("Statement", 0, "Action"))
    assert text[near.start.offset:near.end.offset] == '{"Effect": "Allow"}'


def test_error_position_is_where_json_stops():
    assert error_position('{"a": [1, }') == 10
    assert error_position("{}") == 0
