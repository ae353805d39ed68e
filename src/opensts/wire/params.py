"""Typed access to AWS query-protocol parameters.

The query protocol sends every parameter as a form field; lists are ``Name.member.N`` and
lists of structures ``Name.member.N.Field``. Constraint violations answer with the
Smithy-style message AWS uses (``1 validation error detected: Value 'x' at 'roleSessionName'
failed to satisfy constraint: ...``), naming the member in lowerCamelCase.
"""

from __future__ import annotations

import builtins
import contextvars
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict, Unpack

from opensts.errors import ValidationError

ONE = "1 validation error detected: "
# While set, violations are recorded here instead of raised (see every_violation).
_COLLECT: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "opensts_validation_collect", default=None)


def _member_label(name: str) -> str:
    return name[:1].lower() + name[1:]


def _violation(name: str, value: object, constraint: str) -> str:
    shown = "null" if value is None else str(value)
    return (f"Value '{shown}' at '{_member_label(name)}' failed to satisfy constraint: "
            f"{constraint}")


def validation_error(name: str, value: object, constraint: str) -> ValidationError:
    return ValidationError(ONE + _violation(name, value, constraint))


def _fail(name: str, value: object, constraint: str) -> None:
    """Raise the violation, or record it while every_violation collects."""
    found = _COLLECT.get()
    if found is None:
        raise validation_error(name, value, constraint)
    found.append(_violation(name, value, constraint))


class StrConstraints(TypedDict, total=False):
    """The Smithy-style constraints ``Params.str`` and ``check_str`` take."""

    min_len: int | None
    max_len: int | None
    pattern: re.Pattern[str] | None
    pattern_text: str | None
    choices: Iterable[str] | None


class Params:
    """Read-only view of one request's parameters with AWS-style validation."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str]):
        self._items = items

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Params:
        items: dict[str, str] = {}
        for key, value in pairs:
            # The last value wins, as AWS does for repeated query keys.
            items[key] = value
        return cls(items)

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def raw(self) -> Mapping[str, str]:
        return self._items

    def str(
        self,
        name: str,
        *,
        required: bool = False,
        min_len: int | None = None,
        max_len: int | None = None,
        pattern: re.Pattern[str] | None = None,
        pattern_text: str | None = None,
        choices: Iterable[str] | None = None,
    ) -> str | None:
        value = self._items.get(name)
        if value is None:
            if required:
                _fail(name, None, "Member must not be null")
                return ""
            return None
        return check_str(
            name,
            value,
            min_len=min_len,
            max_len=max_len,
            pattern=pattern,
            pattern_text=pattern_text,
            choices=choices,
        )

    def required(
        self, name: builtins.str, **constraints: Unpack[StrConstraints]
    ) -> builtins.str:
        value = self.str(name, required=True, **constraints)
        assert value is not None
        return value

    def int(
        self,
        name: builtins.str,
        *,
        required: bool = False,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int | None:
        text = self._items.get(name)
        if text is None or text == "":
            if required:
                _fail(name, None, "Member must not be null")
            return None
        try:
            value = int(text.strip())
        except ValueError:
            _fail(name, text, "Member must be a number")
            return None
        if minimum is not None and value < minimum:
            _fail(name, value, f"Member must have value greater than or equal to {minimum}")
            return minimum
        if maximum is not None and value > maximum:
            _fail(name, value, f"Member must have value less than or equal to {maximum}")
            return maximum
        return value

    def bool(self, name: builtins.str) -> bool | None:
        text = self._items.get(name)
        if text is None or text == "":
            return None
        lowered = text.lower()
        if lowered not in ("true", "false"):
            _fail(name, text, "Member must be a boolean")
            return None
        return lowered == "true"

    def strings(
        self, name: builtins.str, *, max_items: builtins.int | None = None
    ) -> list[builtins.str]:
        """``Name.member.N`` values in N order."""
        found = self._members(name, None)
        values = [value for _, value in sorted(found.items())]
        if max_items is not None and len(values) > max_items:
            _fail(name, values, f"Member must have length less than or equal to {max_items}")
        return values

    def structs(
        self,
        name: builtins.str,
        fields: Iterable[builtins.str],
        *,
        max_items: builtins.int | None = None,
    ) -> list[dict[builtins.str, builtins.str]]:
        """``Name.member.N.Field`` structures in N order; absent fields are omitted."""
        wanted = tuple(fields)
        rows: dict[int, dict[str, str]] = {}
        for field in wanted:
            for index, value in self._members(name, field).items():
                rows.setdefault(index, {})[field] = value
        result = [rows[i] for i in sorted(rows)]
        if max_items is not None and len(result) > max_items:
            _fail(name, "[...]", f"Member must have length less than or equal to {max_items}")
        return result

    def _members(
        self, name: builtins.str, field: builtins.str | None
    ) -> dict[builtins.int, builtins.str]:
        prefix = f"{name}.member."
        found: dict[int, str] = {}
        for key, value in self._items.items():
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :]
            index_text, _, tail = rest.partition(".")
            if (field is None and tail) or (field is not None and tail != field):
                continue
            if not index_text.isdigit():
                continue
            found[int(index_text)] = value
        return found


def check_str(
    name: str,
    value: str,
    *,
    min_len: int | None = None,
    max_len: int | None = None,
    pattern: re.Pattern[str] | None = None,
    pattern_text: str | None = None,
    choices: Iterable[str] | None = None,
) -> str:
    """Apply Smithy-style constraints to one string member."""
    if min_len is not None and len(value) < min_len:
        _fail(name, value, f"Member must have length greater than or equal to {min_len}")
    if max_len is not None and len(value) > max_len:
        _fail(name, value, f"Member must have length less than or equal to {max_len}")
    if pattern is not None and pattern.fullmatch(value) is None:
        _fail(name, value,
              f"Member must satisfy regular expression pattern: {pattern_text or pattern.pattern}")
    if choices is not None:
        allowed = list(choices)
        if value not in allowed:
            _fail(name, value, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return value


# -- every violation, as AWS reports them ------------------------------------------------------

class _Stop(Exception):
    """The handler went past its parameters (it touched the caller, store or authorizer)."""


class _ParamsOnly:
    """A stand-in CallContext for the second run: the request time and a scratch audit
    record are there; anything else ends the run."""

    def __init__(self, ctx: Any):
        self.meta = ctx.meta
        self.audit = type(ctx.audit)()

    def __getattr__(self, name: str) -> Any:
        raise _Stop(name)


def every_violation(handler: Callable[[Any, Params], Any]) -> Callable[[Any, Params], Any]:
    """AWS checks all of a request's members and reports every violated constraint
    (``2 validation errors detected: ...; ...``). Handlers read their parameters first and
    raise at the first violation; on such an error the handler's parameter reading runs
    once more, recording instead of raising, until it reaches the caller, the store or the
    authorizer (which it never does with a stand-in context), and the violations found are
    reported together. The second run has no effects: it sees only the parameters."""

    def run(ctx: Any, params: Params) -> Any:
        try:
            return handler(ctx, params)
        except ValidationError as first:
            if _COLLECT.get() is not None or not first.message.startswith(ONE):
                raise
            found = _collect(handler, ctx, params)
            if len(found) < 2:
                raise
            raise ValidationError(
                f"{len(found)} validation errors detected: " + "; ".join(found)) from None

    run.__wrapped__ = handler  # type: ignore[attr-defined]
    run.__name__ = getattr(handler, "__name__", "handler")
    return run


def _collect(handler: Callable[[Any, Params], Any], ctx: Any, params: Params) -> list[str]:
    found: list[str] = []
    token = _COLLECT.set(found)
    try:
        handler(_ParamsOnly(ctx), params)
    except ValidationError as exc:
        if exc.message.startswith(ONE):
            found.append(exc.message[len(ONE):])
    except Exception:  # noqa: S110 — _Stop, or a later check tripping on a recorded value
        pass
    finally:
        _COLLECT.reset(token)
    # One member may fail the same way twice (read twice by the handler): report it once.
    return list(dict.fromkeys(found))
