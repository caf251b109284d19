"""Domain errors a user can cause, and the one place that turns them into HTTP answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
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


def field_errors(errors: Iterable[Mapping[str, Any]], *, whole: str) -> Invalid:
    """One Invalid for pydantic's error list: each message by its dotted field (``whole``
    for an error of the whole input), the first as the message a person reads."""
    by_field = {
        ".".join(str(part) for part in error["loc"]) or whole: error["msg"].removeprefix(
            "Value error, "
        )
        for error in errors
    }
    field, message = next(iter(by_field.items()))
    return Invalid(f"Invalid {field}: {message}", errors=by_field)


def _request_errors(exc: RequestValidationError) -> Iterable[Mapping[str, Any]]:
    """FastAPI's errors with their source (query, path, body) taken off the field name."""
    for error in exc.errors():
        where, *field = error["loc"]
        if error["type"] == "json_invalid":
            yield {"loc": ("body",), "msg": f"not valid JSON ({error['ctx']['error']})"}
        else:
            yield {**error, "loc": field or [where]}


def install_error_handlers(app: FastAPI) -> None:
    """One JSON shape for every error a person can act on: {"detail": message, ...extra},
    a request that does not fit the API's schema included (a 422 whose detail is a sentence,
    not FastAPI's list, with every field's message under "errors")."""

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, **exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await _domain_error(request, field_errors(_request_errors(exc), whole="body"))
