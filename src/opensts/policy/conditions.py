"""Condition operators, compiled once per policy.

Rules (reference_policies_elements_condition_operators and
reference_policies_condition-single-vs-multi-valued-context-keys):

* Different operators are ANDed, keys under one operator are ANDed, the values of one key
  are ORed; a negated operator with several values matches only if none does (NOR).
* A key missing from the request makes every operator false, except negated operators
  (true), ``…IfExists`` (true) and ``Null``.
* ``ForAllValues:`` is true when every request value matches, and also when the key is
  missing or empty; ``ForAnyValue:`` needs at least one matching value.
* A single-valued operator against a multivalued request value is false (positive or
  negated alike), as iam-simulate does; the docs say such keys "require a condition set
  operator".
* Values that cannot be read as the operator's type (a number, a date, an IP) never match:
  the condition is false even for negated operators.
* Policy variables substitute in String and ARN operators; Null takes none. A value whose
  variable cannot be resolved matches nothing, and makes a negated operator false too
  ("If AWS cannot resolve a variable this might cause the entire statement to be invalid").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from opensts.errors import MalformedPolicyDocument
from opensts.policy.variables import Context, Template, join, parse_template
from opensts.policy.wildcard import GlobSet, dynamic_matcher

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)\Z")
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?\Z")


def parse_number(text: str) -> float | None:
    return float(text) if _NUMBER.match(text.strip()) else None


def parse_date(text: str) -> float | None:
    """W3C ISO 8601 dates and times, or epoch seconds (condition_operators: Date)."""
    text = text.strip()
    if _EPOCH.match(text):
        return float(text)
    try:
        value = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR block; a bare address is a /32 (or /128)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_arn(text: str) -> str | None:
    return text if text.startswith("arn:") and text.count(":") >= 5 else None


# --- value matchers: "does this (parsed) request value match any policy value?" ------------


class _Static:
    """Policy values without variables, checked by a precompiled predicate."""

    __slots__ = ("pred",)

    def __init__(self, pred: Callable[[Any], bool]):
        self.pred = pred

    def __call__(self, value: Any, ctx: Context, seen: dict[str, str | None] | None) -> bool:
        return self.pred(value)


class _Templated:
    """String/ARN policy values with variables, resolved against the request each time."""

    __slots__ = ("kind", "templates")

    def __init__(self, templates: list[Template], kind: str):
        self.templates = templates
        self.kind = kind

    def __call__(self, value: str, ctx: Context, seen: dict[str, str | None] | None) -> bool | None:
        """True on a match; None when nothing matched and a variable had no value."""
        unresolved = False
        for t in self.templates:
            parts = t.resolve(ctx, seen)
            if parts is None:
                unresolved = True
                continue
            if self.kind == "eq":
                if value == join(parts):
                    return True
            elif self.kind == "eqi":
                if value == join(parts).lower():
                    return True
            elif dynamic_matcher(parts, arn=self.kind == "arn")(value):
                return True
        return None if unresolved else False


def _compare(op: Callable[[Any, Any], bool], values: list[Any]) -> Callable[[Any], bool]:
    return lambda v: any(op(v, p) for p in values)


def _lt(a: Any, b: Any) -> bool:
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    return bool(a >= b)


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)


_ORDER = {
    "Equals": _eq,
    "LessThan": _lt,
    "LessThanEquals": _le,
    "GreaterThan": _gt,
    "GreaterThanEquals": _ge,
}

# operator name -> (family, negated, comparison)
OPERATORS: dict[str, tuple[str, bool, str]] = {
    "StringEquals": ("string", False, "eq"),
    "StringNotEquals": ("string", True, "eq"),
    "StringEqualsIgnoreCase": ("string", False, "eqi"),
    "StringNotEqualsIgnoreCase": ("string", True, "eqi"),
    "StringLike": ("string", False, "like"),
    "StringNotLike": ("string", True, "like"),
    "ArnEquals": ("arn", False, "arn"),
    "ArnLike": ("arn", False, "arn"),
    "ArnNotEquals": ("arn", True, "arn"),
    "ArnNotLike": ("arn", True, "arn"),
    "Bool": ("bool", False, "eq"),
    "BinaryEquals": ("binary", False, "eq"),
    "IpAddress": ("ip", False, "in"),
    "NotIpAddress": ("ip", True, "in"),
    "Null": ("null", False, "null"),
}
for _name in ("Equals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals"):
    OPERATORS["Numeric" + _name] = ("numeric", False, _name)
    OPERATORS["Date" + _name] = ("date", False, _name)
OPERATORS["NumericNotEquals"] = ("numeric", True, "Equals")
OPERATORS["DateNotEquals"] = ("date", True, "Equals")

_CANONICAL = {name.lower(): name for name in OPERATORS}

# How a request value is read per family; None keeps the string as it is. The ip, numeric
# and date readers are pure and slow next to a match (ipaddress parses in Python), and the
# same request values recur (a caller's address, the current second), so they are memoized.
_PARSERS: dict[str, Callable[[str], Any] | None] = {
    "string": None,
    "arn": parse_arn,
    "bool": str.lower,
    "binary": parse_binary,
    "ip": functools.lru_cache(maxsize=1024)(parse_ip),
    "numeric": functools.lru_cache(maxsize=1024)(parse_number),
    "date": functools.lru_cache(maxsize=1024)(parse_date),
}


def split_operator(name: str) -> tuple[str | None, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> ("any", "StringLike", True); raises on unknown."""
    qualifier = None
    base = name
    if ":" in name:
        prefix, base = name.split(":", 1)
        qualifier = {"forallvalues": "all", "foranyvalue": "any"}.get(prefix.lower())
        if qualifier is None:
            raise MalformedPolicyDocument(f"Invalid Condition type : {name}")
    if_exists = False
    canonical = _CANONICAL.get(base.lower())
    if canonical is None and base.lower().endswith("ifexists"):
        canonical = _CANONICAL.get(base[: -len("IfExists")].lower())
        if_exists = True
    if canonical is None or (if_exists and canonical == "Null"):
        raise MalformedPolicyDocument(f"Invalid Condition type : {name}")
    return qualifier, canonical, if_exists


class Condition:
    """One ``operator: {key: values}`` pair, ready to evaluate."""

    __slots__ = (
        "family",
        "fold",
        "if_exists",
        "key",
        "key_l",
        "matcher",
        "negated",
        "operator",
        "parse",
        "plain",
        "pred",
        "qualifier",
        "values",
    )

    def __init__(self, operator: str, key: str, values: list[str], variables: bool):
        self.operator = operator
        self.qualifier, base, self.if_exists = split_operator(operator)
        self.family, self.negated, comparison = OPERATORS[base]
        self.key = key
        self.key_l = key.lower()
        self.values = values
        self.parse = _PARSERS.get(self.family)
        self.fold = comparison == "eqi"
        self.matcher = self._compile(comparison, values, variables)
        # Values without variables: call the predicate directly, one call less per value.
        self.pred = self.matcher.pred if isinstance(self.matcher, _Static) else None
        # The common shape: a String operator, no set qualifier, no variables, no case folding.
        # A single string request value then needs only the predicate (see evaluate).
        self.plain = (
            self.family == "string"
            and self.qualifier is None
            and self.pred is not None
            and not self.fold
        )

    def _compile(self, comparison: str, values: list[str], variables: bool) -> Any:
        family = self.family
        if family == "null":
            return {v.lower() for v in values}
        if family in ("string", "arn"):
            templates = [parse_template(v, enabled=variables) for v in values]
            if any(t.has_vars for t in templates):
                return _Templated(templates, comparison)
            if comparison == "eq":
                return _Static(frozenset(values).__contains__)
            if comparison == "eqi":
                return _Static(frozenset(v.lower() for v in values).__contains__)
            return _Static(GlobSet(values, arn=comparison == "arn"))
        if family == "bool":
            return _Static(frozenset(v.lower() for v in values).__contains__)
        if family == "binary":
            decoded = {b for b in map(parse_binary, values) if b is not None}
            return _Static(decoded.__contains__)
        if family == "ip":
            nets = [n for n in map(parse_network, values) if n is not None]
            return _Static(lambda ip: any(ip.version == n.version and ip in n for n in nets))
        parse = parse_number if family == "numeric" else parse_date
        parsed = [p for p in map(parse, values) if p is not None]
        return _Static(_compare(_ORDER[comparison], parsed))

    def _one(self, raw: str, ctx: Context, seen: dict[str, str | None] | None) -> bool:
        value = self.parse(raw) if self.parse is not None else raw
        if value is None:
            return False
        if self.fold:
            value = value.lower()
        if self.pred is not None:
            return not self.pred(value) if self.negated else self.pred(value)
        hit = self.matcher(value, ctx, seen)
        if hit is None:
            # "If AWS cannot resolve a variable this might cause the entire statement to be
            # invalid" (reference_policies_variables): never true, negated or not.
            return False
        return not hit if self.negated else hit

    def evaluate(self, ctx: Context, seen: dict[str, str | None] | None = None) -> bool:
        raw = ctx.get(self.key_l)
        if self.plain and type(raw) is str:
            # What _one computes for this shape: the predicates return bools.
            return self.pred(raw) != self.negated  # type: ignore[misc]
        if self.family == "null":
            # Null: "true" means the key must be absent, "false" that it must be present.
            present = raw is not None
            return any((v == "false") == present for v in self.matcher)
        if self.qualifier is not None:
            if raw is None or raw == ():
                return self.qualifier == "all" or (self.if_exists and raw is None)
            items = (raw,) if isinstance(raw, str) else raw
            if self.qualifier == "all":
                return all(self._one(v, ctx, seen) for v in items)
            return any(self._one(v, ctx, seen) for v in items)
        if raw is None:
            return self.if_exists or self.negated
        if not isinstance(raw, str):
            if len(raw) != 1:
                return False
            raw = raw[0]
        return self._one(raw, ctx, seen)


def compile_conditions(
    block: Mapping[str, Mapping[str, list[str]]], variables: bool
) -> tuple[Condition, ...]:
    return tuple(
        Condition(op, key, values, variables)
        for op, keys in block.items()
        for key, values in keys.items()
    )
