"""Domain errors a user can cause, and the one place that turns them into HTTP answers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class DomainError(Exception):
    """Base of the errors a person can act on; `status` is the HTTP code."""

    status = 400

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFound(DomainError):
    """The thing asked for does not exist."""

    status = 404


class Forbidden(DomainError):
    """The user may not do this (role, assignment)."""

    status = 403


class Conflict(DomainError):
    """The request is stale or clashes with the current state (e.g. a newer label revision)."""

    status = 409


class Invalid(DomainError):
    """The request is well formed but its content is wrong."""

    status = 422


def install_error_handlers(app: FastAPI) -> None:
    """One JSON shape for every domain error: {"detail": message, ...extra}."""

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, **exc.detail}, status_code=exc.status)
