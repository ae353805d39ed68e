"""The sign-in web app (``/v1/...``, ``/signin/static``) mounted by ``OpenStsApp``."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from opensts.services.runtime import Runtime
from opensts.services.signin.service import SigninService
from opensts.web.signin.api import TokenApi
from opensts.web.signin.routes import SigninRoutes


def build_signin_app(runtime: Runtime) -> Starlette:
    service = SigninService(runtime)
    routes, api = SigninRoutes(service), TokenApi(service)

    async def not_found(request: object, exc: Exception) -> JSONResponse:
        return JSONResponse({"message": "Not Found"}, status_code=404)

    return Starlette(
        routes=[
            Route("/v1/authorize", routes.authorize, methods=["GET"]),
            Route("/v1/signin", routes.signin, methods=["POST"]),
            Route("/v1/mfa", routes.mfa, methods=["POST"]),
            Route("/v1/password", routes.password, methods=["POST"]),
            Route("/v1/another", routes.another, methods=["POST"]),
            Route("/v1/signout", routes.signout, methods=["POST"]),
            Route("/v1/choose", routes.choose, methods=["POST"]),
            Route("/v1/consent", routes.consent, methods=["POST"]),
            Route("/v1/sessions/confirmation", routes.confirmation, methods=["GET"]),
            Route("/v1/token", api.token, methods=["POST"]),
            Route("/v1/revoke", api.revoke, methods=["POST"]),
            Route("/v1/.well-known/jwks.json", api.jwks, methods=["GET"]),
            Mount(
                "/signin/static",
                app=StaticFiles(directory=Path(__file__).parent / "static"),
                name="static",
            ),
        ],
        exception_handlers={404: not_found},
    )
