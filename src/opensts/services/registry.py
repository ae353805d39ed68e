"""Dispatch by registration: each operation is a function registered under its action name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opensts.services.context import CallContext
    from opensts.wire.params import Params

Result = Mapping[str, Any] | None
Handler = Callable[["CallContext", "Params"], Result]


@dataclass(frozen=True)
class Operation:
    service: str  # "sts", "iam", "organizations", "access-analyzer"
    name: str  # "AssumeRole"
    handler: Handler
    signed: bool = True  # False only for AssumeRoleWithSAML / AssumeRoleWithWebIdentity
    read_only: bool = False  # CloudTrail's readOnly flag


OPERATIONS: dict[tuple[str, str], Operation] = {}

# Modules whose import registers operations. A module that does not exist yet is skipped so
# that the server runs while an API family is being built.
OPERATION_MODULES = (
    "opensts.services.sts",
    "opensts.services.iam",
    "opensts.services.organizations",
    "opensts.services.accessanalyzer",
    "opensts.services.cognito",
)


def operation(
    service: str, name: str, *, signed: bool = True, read_only: bool = False
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        key = (service, name)
        if key in OPERATIONS:
            raise RuntimeError(f"operation {service}:{name} registered twice")
        OPERATIONS[key] = Operation(service, name, _checked(service, handler), signed, read_only)
        return handler

    return register


def load_operations() -> Mapping[tuple[str, str], Operation]:
    for module in OPERATION_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return OPERATIONS


def _checked(service: str, handler: Handler) -> Handler:
    """IAM and STS report every violated constraint of a request (wire.params)."""
    if service == "organizations":
        return _organizations_denials(handler)
    if service not in ("iam", "sts"):
        return handler
    from opensts.wire.params import every_violation

    return every_violation(handler)


def _organizations_denials(handler: Handler) -> Handler:
    """Organizations answers a denial as ``AccessDeniedException`` with HTTP 400 (API
    reference, Common Errors), where IAM and STS answer ``AccessDenied`` with 403: the
    engine's denials keep their message and take Organizations' code and status."""
    import functools

    from opensts.errors import AccessDenied, SenderError

    @functools.wraps(handler)
    def run(ctx: CallContext, params: Params) -> Result:
        try:
            return handler(ctx, params)
        except AccessDenied as denied:
            raise SenderError(denied.message, code="AccessDeniedException", status=400) from None

    return run
