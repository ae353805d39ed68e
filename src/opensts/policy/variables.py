"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``, ``${*}``.

Rules (reference_policies_variables, "IAM policy elements: Variables and tags"):

* Variables are recognised only when the policy's Version is ``2012-10-17``.
* ``${key}`` takes the request's value of the condition key ``key`` (names case-insensitive).
  Multivalued keys cannot be used as variables, so a list value counts as missing.
* ``${key, 'default'}`` uses ``default`` when the key is missing.
* A variable with no value and no default is "effectively null": the element it appears in
  matches nothing.
* ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters ``*``, ``?`` and ``$``
  "in any string where you can use regular policy variables".
* Substituted values are literal text, never wildcards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from opensts.policy.glob import Parts

_VAR = re.compile(r"\$\{([^{}',]+?)(?:\s*,\s*'([^']*)')?\s*\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}

Context = Mapping[str, "str | tuple[str, ...]"]


@dataclass(frozen=True)
class Variable:
    key: str  # lower-cased condition key name
    default: str | None
    text: str  # as written, for explanations


@dataclass(frozen=True)
class Template:
    """A string that may contain variables; ``parts`` alternate text and Variable items."""

    text: str
    parts: tuple[str | Variable, ...]
    has_vars: bool

    def resolve(self, ctx: Context, seen: dict[str, str | None] | None = None) -> Parts | None:
        """Substitute variables. Returns None when one has no value (the element then matches
        nothing). Plain text parts keep their wildcards; substituted values are literal."""
        out: list[tuple[bool, str]] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append((False, part))
                continue
            value = lookup_single(ctx, part.key)
            if value is None:
                value = part.default
            if seen is not None and part.key:
                seen[part.text] = value
            if value is None:
                return None
            out.append((True, value))
        return out

    def any_value_parts(self) -> Parts:
        """The pattern with every variable replaced by a ``*`` wildcard: what it could match
        whatever the variables' values are."""
        return [
            (False, p)
            if isinstance(p, str)
            else (True, p.default or "")
            if not p.key
            else (False, "*")
            for p in self.parts
        ]


def lookup_single(ctx: Context, key: str) -> str | None:
    value = ctx.get(key)
    if value is None or isinstance(value, str):
        return value
    return value[0] if len(value) == 1 else None


def parse_template(text: str, *, enabled: bool) -> Template:
    """Split ``text`` into literal text and variables (only when ``enabled``)."""
    if not enabled or "${" not in text:
        return Template(text, (text,), False)
    parts: list[str | Variable] = []
    pos = 0
    has_vars = False
    for m in _VAR.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        key = m.group(1).strip()
        if key in _SPECIAL:
            # A literal character, kept separate so it is escaped rather than a wildcard.
            parts.append(Variable("", _SPECIAL[key], m.group(0)))
        else:
            parts.append(Variable(key.lower(), m.group(2), m.group(0)))
        has_vars = True
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return Template(text, tuple(parts), has_vars)


def join(parts: Parts) -> str:
    return "".join(text for _, text in parts)
