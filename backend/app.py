"""The FastAPI application: routers, static files, sessions, error handlers."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from backend.config import get_settings
from backend.errors import install_error_handlers
from backend.routes import (
    adjudication,
    agreement,
    auth,
    campaigns,
    dashboard,
    datasets,
    exports,
    health,
    jobs,
    maps,
    nomenclatures,
    patches,
    predictions,
    review,
    runs,
    training_sets,
)
from backend.templating import FRONTEND
from backend.tiles import install_tiles

ROUTERS = [
    health.router,
    auth.router,
    dashboard.router,
    nomenclatures.router,
    datasets.router,
    patches.router,
    patches.pages,
    review.router,
    review.pages,
    maps.router,
    maps.pages,
    campaigns.router,
    campaigns.pages,
    agreement.router,
    agreement.pages,
    adjudication.router,
    adjudication.pages,
    exports.router,
    jobs.router,
    jobs.pages,
    predictions.runs_router,
    predictions.router,
    runs.router,
    runs.pages,
    training_sets.router,
    training_sets.pages,
]


def create_app() -> FastAPI:
    """Build the app from the current settings (tests build one per database)."""
    settings = get_settings()
    app = FastAPI(
        title="sitslab",
        description="Validate Sentinel-2 label patches, train U-BARN and the OSO Random "
        "Forest, compare their land-cover maps.",
        version="0.1.0",
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="sitslab_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.mount("/static", StaticFiles(directory=FRONTEND / "static"), name="static")
    install_tiles(app, settings)  # first: a map view asks for dozens of tiles at once
    for router in ROUTERS:
        app.include_router(router)
    install_error_handlers(app)

    @app.exception_handler(HTTPException)
    async def _login_redirect(request: Request, exc: HTTPException) -> Response:
        # A person opening a page without a session is sent to the login form;
        # API clients keep the JSON 401.
        wants_page = not request.url.path.startswith("/api/") and request.method == "GET"
        if exc.status_code == 401 and wants_page:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return await http_exception_handler(request, exc)

    return app
