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
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
    "form-action 'self' "
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


# The way back when nothing of the sign-in survives (a bad link, a lost form): only the
# terminal can start a new sign-in (it holds the PKCE verifier), so say that, and offer the
# browser's Back when there is a page to go back to (signin.js shows the link then).
START_OVER = Markup(
    '<p class="help">To start again, run <code>opensts login</code> (or '
    '<code>aws login</code>) again in your terminal.</p>'
    '<div class="ways-back way-back" hidden><a href="#" data-back>Go back</a></div>')


NOTHING = Markup("")


def restart_link(path: str) -> Markup:
    """The way back while the terminal still waits: the sign-in again, from the start."""
    return Markup(f'<p><a href="{html.escape(path)}">Start the sign-in again</a></p>')


def ways_back(*ways: Markup) -> Markup:
    return Markup('<div class="ways-back">' + "".join(ways) + "</div>")


def error_page(message: str, code: str, status: int = 400,
               headers: dict[str, str] | None = None, *, back: Markup | None = None,
               title: str = "Sign-in problem", note: Markup = NOTHING) -> HTMLResponse:
    """Every error page says what happened and offers a way back (``back``, else
    ``START_OVER``)."""
    return page(title, fill("error.html", message=message, code=code, note=note,
                            back=START_OVER if back is None else ways_back(back)), status,
                headers)


def alert(message: str | None, element_id: str = "") -> Markup:
    if not message:
        return Markup("")
    ident = f' id="{html.escape(element_id)}"' if element_id else ""
    return Markup(f'<div role="alert" class="error"{ident}><p>{html.escape(message)}</p></div>')
