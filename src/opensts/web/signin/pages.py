"""Server-rendered pages: ``string.Template`` files, every value HTML-escaped."""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template

from starlette.responses import HTMLResponse

HERE = Path(__file__).parent
# The pages carry one-time codes and forms: never cache them, never frame them (consent
# clickjacking), never leak the URL (it may hold a code) through Referer.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self' "
    "http://127.0.0.1:* http://[::1]:*; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class Markup(str):
    """Already-escaped HTML."""


@cache
def _template(name: str) -> Template:
    return Template((HERE / "templates" / name).read_text(encoding="utf-8"))


def fill(name: str, **values: str) -> Markup:
    escaped = {k: v if isinstance(v, Markup) else html.escape(v) for k, v in values.items()}
    return Markup(_template(name).substitute(escaped))


def page(title: str, body: Markup, status: int = 200,
         headers: dict[str, str] | None = None) -> HTMLResponse:
    document = fill("layout.html", title=title, body=body)
    return HTMLResponse(document, status_code=status, headers={**SECURITY_HEADERS,
                                                               **(headers or {})})


def error_page(message: str, code: str, status: int = 400,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    return page("Sign-in problem", fill("error.html", message=message, code=code), status,
                headers)


def alert(message: str | None, element_id: str = "") -> Markup:
    if not message:
        return Markup("")
    ident = f' id="{html.escape(element_id)}"' if element_id else ""
    return Markup(f'<div role="alert" class="error"{ident}><p>{html.escape(message)}</p></div>')
