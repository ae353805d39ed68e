"""One request-body limit for every route, as ASGI middleware around the whole app.

A declared ``Content-Length`` over the limit is refused before the app runs, so not one
body byte is read. A body without one (chunked) is counted while the app reads it; the
read that crosses the limit answers 413 itself and then raises ``BodyTooLarge`` into the
app. Answering from inside ``receive`` keeps the answer independent of how the app handles
exceptions (Starlette would first turn one into a 500); anything the app sends after that
is dropped, and the exception is swallowed here.

What the 413 looks like is the app's business: ``reject`` is an ASGI app that renders it
for the route in ``scope`` (an AWS error envelope on ``/``, JSON on ``/v1/token``, ...).
"""

from __future__ import annotations

import contextlib

from opensts.web.asgi import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The request body went over the limit (raised from ``receive``)."""


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int, reject: ASGIApp):
        self.app = app
        self.limit = limit
        self.reject = reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.limit:
            await self.reject(scope, receive, send)
            return
        received = 0
        started = False  # a response start went out (from the app or from reject)
        refused = False  # we answered 413: the app's own answer is dropped

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        async def counted_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    if not refused:
                        refused = True
                        if not started:  # else the app's answer began; it is cut short
                            await self.reject(scope, receive, send)
                    raise BodyTooLarge
            return message

        with contextlib.suppress(BodyTooLarge):  # answered (or cut short) above
            await self.app(scope, counted_receive, guarded_send)
