"""AWS's rest-json protocol, driven by a route table generated from the service model.

The table (``opensts/analyzer/operations.json``, generated from botocore's model by
tests/analyzer/routes_model.py and checked against it) gives each operation its HTTP method,
URI template and input shape, and the shapes' constraints. This module is pure: it matches a
request line to an operation, gathers the input members from the URI labels, the query
string, headers and the JSON body, and validates them against the model the way AWS's
Smithy front end does, reporting every violated constraint (ValidationException's
``fieldList``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    segments: tuple[str, ...]  # literal segments, or "{label}" / "{label+}"
    query: tuple[tuple[str, str], ...]  # literal query parts of the template (none today)
    input: str | None
    status: int

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))


@dataclass(frozen=True)
class Violation:
    """One violated constraint: ``path`` is the member path (``filter.status.eq``)."""

    path: str
    message: str


class Table:
    def __init__(self, document: Mapping[str, Any]):
        self.document = document
        self.shapes: Mapping[str, Any] = document["shapes"]
        self.errors: Mapping[str, Any] = document["errors"]
        routes = []
        for name, op in document["operations"].items():
            path, _, query = op["uri"].partition("?")
            segments = tuple(s for s in path.split("/") if s)
            pairs = tuple((k, v) for k, _, v in (p.partition("=") for p in query.split("&") if p))
            routes.append(Route(name, op["method"], segments, pairs, op.get("input"),
                                op.get("code", 200)))
        # Literal segments win over labels (GET /analyzer/findings/... vs /analyzer/{name}).
        self.routes = sorted(routes, key=lambda r: (-len(r.segments), -r.literal_count))

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        """The operation for ``method`` on ``raw_path`` (still percent-encoded), with its
        decoded URI labels; None when no operation has that method and path."""
        parts = [p for p in raw_path.split("/") if p]
        for route in self.routes:
            if route.method != method:
                continue
            labels = _match_segments(route.segments, parts)
            if labels is not None:
                return route, labels
        return None

    def path_known(self, raw_path: str) -> bool:
        parts = [p for p in raw_path.split("/") if p]
        return any(_match_segments(r.segments, parts) is not None for r in self.routes)

    def decode(
        self,
        route: Route,
        labels: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: Any,
    ) -> tuple[dict[str, Any], list[Violation]]:
        """The operation's input as a dict of member name → value, and its violations.

        ``body`` is the decoded JSON object (or None for an empty body). Members bound to
        the URI, query string or headers take their value from there; the rest come from
        the body. Query and header values are converted to the member's type."""
        if route.input is None:
            return {}, []
        shape = self.shapes[route.input]
        values: dict[str, Any] = {}
        violations: list[Violation] = []
        body = body if isinstance(body, dict) else {}
        for member, ref in shape.get("members", {}).items():
            location = ref.get("location")
            wire_name = ref.get("locationName", member)
            target = self.shapes[ref["shape"]]
            if location == "uri":
                if wire_name in labels:
                    values[member] = labels[wire_name]
            elif location == "querystring":
                found = [v for k, v in query if k == wire_name]
                if found:
                    converted = _from_text(target, found, self.shapes)
                    if converted is _BAD:
                        violations.append(Violation(member, _type_message(target)))
                    else:
                        values[member] = converted
            elif location == "header":
                value = headers.get(wire_name.lower())
                if value is not None:
                    values[member] = value
            elif member in body:
                values[member] = body[member]
        violations.extend(self.validate(route.input, values, ""))
        return values, violations

    def validate(self, shape_name: str, value: Any, path: str) -> list[Violation]:
        """Every constraint of ``shape_name`` that ``value`` violates (AWS reports them all)."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        out: list[Violation] = []
        if kind == "structure":
            if not isinstance(value, dict):
                return [Violation(path, "Expected an object")]
            for required in shape.get("required", ()):
                if value.get(required) is None:
                    out.append(Violation(_join(path, required), "Member must not be null"))
            members = shape.get("members", {})
            present = [k for k, v in value.items() if k in members and v is not None]
            if shape.get("union") and len(present) != 1:
                out.append(Violation(path, "Union must have exactly one member set"))
            for key, item in value.items():
                if key in members and item is not None:
                    out.extend(self.validate(members[key]["shape"], item, _join(path, key)))
            return out
        if kind == "list":
            if not isinstance(value, list):
                return [Violation(path, "Expected a list")]
            out.extend(_length(shape, len(value), path))
            for index, item in enumerate(value):
                if item is not None:
                    out.extend(self.validate(shape["member"], item, f"{path}.{index + 1}"))
            return out
        if kind == "map":
            if not isinstance(value, dict):
                return [Violation(path, "Expected a map")]
            out.extend(_length(shape, len(value), path))
            for key, item in value.items():
                out.extend(self.validate(shape["key"], key, f"{path}.key"))
                if item is not None:
                    out.extend(self.validate(shape["value"], item, f"{path}.{key}"))
            return out
        if kind == "string":
            if not isinstance(value, str):
                return [Violation(path, "Expected a string")]
            out.extend(_length(shape, len(value), path))
            if "enum" in shape and value not in shape["enum"]:
                out.append(Violation(path, "Member must satisfy enum value set: "
                                           f"[{', '.join(shape['enum'])}]"))
            pattern = shape.get("pattern")
            if pattern is not None and _compiled(pattern).search(value) is None:
                out.append(Violation(path, f"Member must satisfy regular expression pattern: "
                                           f"{pattern}"))
            return out
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                return [Violation(path, "Expected an integer")]
            if "min" in shape and value < shape["min"]:
                out.append(Violation(path, f"Member must have value greater than or equal to "
                                           f"{shape['min']}"))
            if "max" in shape and value > shape["max"]:
                out.append(Violation(path, f"Member must have value less than or equal to "
                                           f"{shape['max']}"))
            return out
        if kind == "boolean":
            return [] if isinstance(value, bool) else [Violation(path, "Expected a boolean")]
        if kind == "timestamp":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                return [Violation(path, "Expected a timestamp")]
            return []
        return []


_BAD = object()


def _from_text(shape: Mapping[str, Any], found: list[str], shapes: Mapping[str, Any]) -> Any:
    kind = shape["type"]
    if kind == "list":
        member = shapes[shape["member"]]
        items = [_from_text(member, [v], shapes) for v in found]
        return _BAD if any(i is _BAD for i in items) else items
    text = found[-1]
    if kind == "integer":
        try:
            return int(text, 10)
        except ValueError:
            return _BAD
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, _BAD)
    return text


def _type_message(shape: Mapping[str, Any]) -> str:
    return f"Member must be of type {shape['type']}"


def _length(shape: Mapping[str, Any], size: int, path: str) -> list[Violation]:
    low, high = shape.get("min"), shape.get("max")
    if (low is not None and size < low) or (high is not None and size > high):
        bounds = f"{low if low is not None else 0}"
        if high is not None:
            bounds += f" and less than or equal to {high}"
        return [Violation(path, f"Member must have length greater than or equal to {bounds}")]
    return []


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # Patterns come from the service model (a fixed, reviewed set), never from requests.
    return re.compile(pattern, re.DOTALL)


def _match_segments(template: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    labels: dict[str, str] = {}
    for index, segment in enumerate(template):
        if segment.startswith("{") and segment.endswith("+}"):
            rest = parts[index:]
            if not rest:
                return None
            labels[segment[1:-2]] = unquote("/".join(rest), errors="strict")
            return labels
        if index >= len(parts):
            return None
        if segment.startswith("{"):
            labels[segment[1:-1]] = unquote(parts[index], errors="strict")
        elif segment != parts[index]:
            return None
    return labels if len(parts) == len(template) else None


def to_wire(value: Any) -> Any:
    """A handler's result as JSON-ready data: timestamps as ISO 8601 (the model's format)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, Mapping):
        return {k: to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value


@cache
def access_analyzer_table() -> Table:
    text = resources.files("opensts.analyzer").joinpath("operations.json").read_text("utf-8")
    return Table(json.loads(text))
