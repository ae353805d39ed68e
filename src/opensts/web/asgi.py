"""The ASGI callable types, defined once for every module under ``web/`` (Starlette's)."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]
