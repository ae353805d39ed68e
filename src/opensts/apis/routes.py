"""Route templates ``METHOD /path/{param}`` and their matching, after API Gateway.

Grammar (API Gateway developer guide, "Working with routes for HTTP APIs",
http-api-develop-routes, and REST API resources): a method (``GET``, ``HEAD``, ``POST``,
``PUT``, ``PATCH``, ``DELETE``, ``OPTIONS``, or ``ANY`` for every method), one space, and a
path of whole segments: literals, ``{name}`` (one non-empty segment) and, as the last
segment only, the greedy ``{name+}`` (one or more segments, e.g. ``{proxy+}``).

Which route wins (the guide: "API Gateway always selects the route with the most-specific
match", a full match before a greedy one): segments compare left to right, and at the first
segment where two matching routes differ a literal beats a parameter, which beats a greedy
parameter; between routes of the same path a route of the request's own method beats
``ANY``. So for ``GET /pets/dog/1``: ``GET /pets/dog/1`` > ``GET /pets/dog/{id}`` >
``GET /pets/{proxy+}`` > ``ANY /{proxy+}``, the guide's example.

Requests are matched on their raw path split at ``/`` and then percent-decoded segment by
segment, so an encoded slash stays inside its segment. Paths with ``.`` or ``..`` segments
or invalid percent-encoding match nothing: an upstream that normalises them would serve
another path than the one authorized (fail closed).

Matching walks a trie of the templates, literal child first: each trie node is visited at
most once, so a match costs O(path length + template segments), never backtracking
exponentially, whatever the routes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "ANY")
LITERAL, PARAM, GREEDY = 0, 1, 2
MAX_SEGMENTS = 64
MAX_ROUTE_LENGTH = 1024
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# A literal segment: RFC 3986 pchar, with no braces and no percent-escapes (templates name
# decoded segments), so what the operator wrote is what requests must carry.
_LITERAL = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@]+")
_HEX = re.compile(r"%(?![0-9A-Fa-f]{2})")


class RouteError(ValueError):
    """A malformed route template; ``column`` is the 1-based offset of the problem."""

    def __init__(self, message: str, column: int = 1):
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Segment:
    kind: int  # LITERAL | PARAM | GREEDY
    value: str  # the literal text, or the parameter's name


@dataclass(frozen=True)
class Template:
    method: str
    segments: tuple[Segment, ...]
    text: str

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(s.value for s in self.segments if s.kind != LITERAL)

    @property
    def shape(self) -> tuple[tuple[int, str], ...]:
        """What two routes of one method must not share (parameter names aside)."""
        return tuple((s.kind, s.value if s.kind == LITERAL else "") for s in self.segments)


def parse_route(text: str) -> Template:
    """``"GET /orders/{id}"`` → Template; raises RouteError naming the column."""
    if len(text) > MAX_ROUTE_LENGTH:
        raise RouteError(f"a route is at most {MAX_ROUTE_LENGTH} characters")
    method, sep, path = text.partition(" ")
    if not sep:
        raise RouteError("a route is 'METHOD /path', e.g. 'GET /orders/{id}'")
    if method not in METHODS:
        raise RouteError(f"unknown method {method!r}: one of {', '.join(METHODS)}")
    column = len(method) + 2
    if not path.startswith("/"):
        raise RouteError("the path must start with '/'", column)
    if path == "/":
        return Template(method, (), text)
    parts = path[1:].split("/")
    if len(parts) > MAX_SEGMENTS:
        raise RouteError(f"at most {MAX_SEGMENTS} path segments", column)
    segments: list[Segment] = []
    names: set[str] = set()
    column += 1
    for i, part in enumerate(parts):
        if not part:
            raise RouteError("empty path segment (a doubled or trailing '/')", column)
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.removesuffix("+")
            if not _NAME.fullmatch(name):
                raise RouteError(f"parameter name {name!r} is not letters, digits and '_' "
                                 "(not starting with a digit)", column + 1)
            if greedy and i != len(parts) - 1:
                raise RouteError(f"the greedy parameter {{{name}+}} must be the last segment",
                                 column)
            if name in names:
                raise RouteError(f"parameter {{{name}}} appears twice", column)
            names.add(name)
            segments.append(Segment(GREEDY if greedy else PARAM, name))
        elif "{" in part or "}" in part:
            raise RouteError("a parameter is a whole segment, '{name}' or '{name+}'",
                             column + min(i for i in (part.find("{"), part.find("}")) if i >= 0))
        elif not _LITERAL.fullmatch(part) or part in (".", ".."):
            raise RouteError(f"segment {part!r} is not a literal path segment (letters, "
                             "digits and -._~!$&'()*+,;=:@; no %-escapes, no . or ..)", column)
        else:
            segments.append(Segment(LITERAL, part))
        column += len(part) + 1
    return Template(method, tuple(segments), text)


def split_path(path: str) -> list[str] | None:
    """The decoded segments of a request path (``/`` gives ``[]``), or None for a path
    that must match nothing: not absolute, with ``.``/``..`` segments or bad escapes."""
    if not path.startswith("/"):
        return None
    if path == "/":
        return []
    segments = []
    for raw in path[1:].split("/"):
        if "%" in raw:
            if _HEX.search(raw):
                return None
            try:
                value = unquote(raw, errors="strict")
            except UnicodeDecodeError:
                return None
        else:
            value = raw
        if value in (".", ".."):
            return None
        segments.append(value)
    return segments


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    here: dict[str, int] = field(default_factory=dict)  # method → route index
    greedy: dict[str, int] = field(default_factory=dict)  # a {name+} child: method → index


@dataclass(frozen=True)
class Match:
    index: int  # of the route in the router's list
    params: dict[str, str]  # decoded; a greedy value joins its segments with "/"
    greedy: tuple[str, ...] = ()  # the segments of the greedy parameter, if any
    greedy_name: str | None = None


class Router:
    """The routes of one API; raises RouteError if two routes of one method have the same
    shape (``GET /a/{x}`` and ``GET /a/{y}`` could never both be chosen)."""

    def __init__(self, templates: Sequence[Template]):
        self.templates = tuple(templates)
        self._root = _Node()
        for index, t in enumerate(self.templates):
            node = self._root
            for seg in t.segments:
                if seg.kind == LITERAL:
                    node = node.literal.setdefault(seg.value, _Node())
                elif seg.kind == PARAM:
                    if node.param is None:
                        node.param = _Node()
                    node = node.param
            slots = node.greedy if t.segments and t.segments[-1].kind == GREEDY else node.here
            if t.method in slots:
                other = self.templates[slots[t.method]].text
                raise RouteError(f"route {t.text!r} matches the same requests as {other!r}")
            slots[t.method] = index

    def match(self, method: str, segments: Sequence[str]) -> Match | None:
        """The most specific route for the request, with its parameters (decoded)."""
        # rest[d]: some segment from d on is non-empty (what a greedy parameter needs).
        rest = [False] * (len(segments) + 1)
        for d in range(len(segments) - 1, -1, -1):
            rest[d] = rest[d + 1] or bool(segments[d])
        found = self._walk(self._root, method, segments, 0, rest)
        if found is None:
            return None
        template = self.templates[found]
        params: dict[str, str] = {}
        greedy: tuple[str, ...] = ()
        greedy_name: str | None = None
        for depth, seg in enumerate(template.segments):
            if seg.kind == PARAM:
                params[seg.value] = segments[depth]
            elif seg.kind == GREEDY:
                greedy, greedy_name = tuple(segments[depth:]), seg.value
                params[seg.value] = "/".join(greedy)
        return Match(found, params, greedy, greedy_name)

    def _walk(self, node: _Node, method: str, segments: Sequence[str], depth: int,
              rest: list[bool]) -> int | None:
        # Recursion depth is bounded by the templates' depth (MAX_SEGMENTS), not the path's.
        if depth == len(segments):
            return _pick(node.here, method)
        child = node.literal.get(segments[depth])
        if child is not None:
            found = self._walk(child, method, segments, depth + 1, rest)
            if found is not None:
                return found
        if node.param is not None and segments[depth]:
            found = self._walk(node.param, method, segments, depth + 1, rest)
            if found is not None:
                return found
        if node.greedy and rest[depth]:
            return _pick(node.greedy, method)
        return None


def _pick(slots: dict[str, int], method: str) -> int | None:
    found = slots.get(method)
    return slots.get("ANY") if found is None else found
