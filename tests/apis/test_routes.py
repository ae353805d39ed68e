"""Route templates: grammar, API Gateway's most-specific-wins selection, and a trie match
that agrees with a brute-force reference and stays linear."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensts.apis import routes as r
from opensts.apis.routes import GREEDY, LITERAL, RouteError, Router, parse_route, split_path


def router(*texts: str) -> Router:
    return Router([parse_route(t) for t in texts])


def chosen(rt: Router, method: str, path: str) -> str | None:
    segments = split_path(path)
    assert segments is not None
    found = rt.match(method, segments)
    return None if found is None else rt.templates[found.index].text


def test_the_developer_guide_example() -> None:
    # http-api-develop-routes, "Routing API requests": most specific match first.
    rt = router("GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}")
    assert chosen(rt, "GET", "/pets/dog/1") == "GET /pets/dog/1"
    assert chosen(rt, "GET", "/pets/dog/2") == "GET /pets/dog/{id}"
    assert chosen(rt, "GET", "/pets/cat/1") == "GET /pets/{proxy+}"
    assert chosen(rt, "POST", "/pets/cat") == "ANY /{proxy+}"


def test_literal_beats_param_beats_greedy_left_to_right_then_method() -> None:
    rt = router("GET /a/{x}/c", "GET /{y}/b/c", "ANY /a/b/c", "GET /a/{rest+}")
    assert chosen(rt, "GET", "/a/b/c") == "ANY /a/b/c"  # all literal, even though ANY
    assert chosen(rt, "POST", "/a/z/c") is None
    assert chosen(rt, "GET", "/a/z/c") == "GET /a/{x}/c"
    assert chosen(rt, "GET", "/q/b/c") == "GET /{y}/b/c"
    assert chosen(rt, "GET", "/a/z/d") == "GET /a/{rest+}"  # backtracks out of /a/{x}
    rt2 = router("GET /o/{id}", "ANY /o/{id}")
    assert chosen(rt2, "GET", "/o/1") == "GET /o/{id}"
    assert chosen(rt2, "DELETE", "/o/1") == "ANY /o/{id}"


def test_parameters_are_decoded_segments_and_greedy_keeps_its_slashes() -> None:
    rt = router("GET /o/{id}", "GET /f/{path+}")
    segments = split_path("/o/a%2Fb%20c")
    assert segments == ["o", "a/b c"]
    m = rt.match("GET", segments)
    assert m is not None and m.params == {"id": "a/b c"} and m.greedy_name is None
    m = rt.match("GET", split_path("/f/x/y%2Fz") or [])
    assert m is not None and m.params == {"path": "x/y/z"} and m.greedy == ("x", "y/z")
    assert m.greedy_name == "path"
    # Params need a non-empty segment; greedy needs something after the prefix.
    assert rt.match("GET", split_path("/o/") or []) is None
    assert rt.match("GET", ["f"]) is None
    assert rt.match("GET", ["f", ""]) is None
    assert chosen(router("GET /"), "GET", "/") == "GET /"


@pytest.mark.parametrize("path", ["orders", "/a/../b", "/a/./b", "/a/%2e%2e/b", "/a/%zz",
                                  "/a/%e9", "/%"])
def test_paths_that_match_nothing(path: str) -> None:
    assert split_path(path) is None


@pytest.mark.parametrize(("text", "column", "needle"), [
    ("GET", 1, "METHOD /path"),
    ("FETCH /a", 1, "unknown method"),
    ("GET a", 5, "start with '/'"),
    ("GET /a//b", 8, "empty path segment"),
    ("GET /a/", 8, "empty path segment"),
    ("GET /a/{b+}/c", 8, "must be the last"),
    ("GET /a/{1x}", 9, "parameter name"),
    ("GET /a/{x}/{x}", 12, "appears twice"),
    ("GET /a/b{x}", 9, "whole segment"),
    ("GET /a/%20", 8, "not a literal"),
    ("GET /a/..", 8, "not a literal"),
    ("GET /" + "a/" * 64 + "b", 5, "at most 64"),
])
def test_grammar_errors_name_the_column(text: str, column: int, needle: str) -> None:
    with pytest.raises(RouteError) as caught:
        parse_route(text)
    assert needle in caught.value.message
    assert caught.value.column == column


def test_two_routes_of_one_method_and_shape_conflict() -> None:
    with pytest.raises(RouteError, match="matches the same requests"):
        router("GET /a/{x}", "GET /a/{y}")
    with pytest.raises(RouteError):
        router("ANY /f/{a+}", "ANY /f/{b+}")
    router("GET /a/{x}", "POST /a/{y}", "ANY /a/{z}", "GET /a/{x}/{rest+}")


# -- the reference: every route tried, the best by the documented order --------------------

def reference(templates: list[r.Template], method: str, segments: list[str]) -> int | None:
    best: tuple[tuple[int, ...], int, int] | None = None
    for index, t in enumerate(templates):
        if t.method not in (method, "ANY"):
            continue
        ranks: list[int] = []
        ok = True
        for depth, seg in enumerate(t.segments):
            if seg.kind == GREEDY:
                ok = depth < len(segments) and any(segments[depth:])
                ranks.append(2)
                break
            if depth >= len(segments):
                ok = False
                break
            if seg.kind == LITERAL:
                ok = seg.value == segments[depth]
                ranks.append(0)
            else:
                ok = bool(segments[depth])
                ranks.append(1)
            if not ok:
                break
        else:
            ok = len(t.segments) == len(segments)
        if not ok:
            continue
        key = (tuple(ranks), 0 if t.method == method else 1, index)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


_SEG = st.sampled_from(["a", "b", "c", "{p}", "{q}"])
_TEMPLATE = st.tuples(
    st.sampled_from(["GET", "POST", "ANY"]),
    st.lists(_SEG, max_size=4),
    st.booleans(),
)


def _text(method: str, segs: list[str], greedy: bool) -> str:
    names = iter(f"p{i}" for i in range(10))
    parts = [f"{{{next(names)}}}" if s.startswith("{") else s for s in segs]
    if greedy:
        parts.append("{rest+}")
    return f"{method} /" + "/".join(parts)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEMPLATE, max_size=12),
       st.sampled_from(["GET", "POST", "PUT"]),
       st.lists(st.sampled_from(["a", "b", "c", "d", ""]), max_size=6))
def test_the_trie_agrees_with_brute_force(raw: list[tuple[str, list[str], bool]], method: str,
                                          segments: list[str]) -> None:
    templates: list[r.Template] = []
    shapes: set[tuple[str, object]] = set()
    for m, segs, greedy in raw:
        t = parse_route(_text(m, segs, greedy))
        if (t.method, t.shape) in shapes:
            continue  # a conflicting duplicate: refused by Router, tested above
        shapes.add((t.method, t.shape))
        templates.append(t)
    rt = Router(templates)
    found = rt.match(method, segments)
    assert (None if found is None else found.index) == reference(templates, method, segments)


def test_matching_visits_each_trie_node_at_most_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The worst case for a backtracking matcher: every prefix matches both a literal and a
    # parameter, and nothing matches at the end.
    depth = 20
    texts = []
    for i in range(depth):
        texts.append("GET /" + "/".join(["a"] * i + ["{p}"] + ["a"] * (depth - i - 1)) + "/z")
        texts.append("GET /" + "/".join(["a"] * (i + 1)) + "/y")
    rt = router(*texts)
    calls = 0
    walk = Router._walk

    def counting(self: Router, *args: object) -> int | None:
        nonlocal calls
        calls += 1
        return walk(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Router, "_walk", counting)
    assert rt.match("GET", ["a"] * depth + ["x"]) is None
    nodes = 1 + sum(len(t.segments) for t in rt.templates)
    assert calls <= nodes
