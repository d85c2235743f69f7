"""Every failure leaves a service in one JSON shape, with a status that tells the caller what to do.

``{"error": {"code": ..., "message": ..., "details": {...}}}``: clients branch on ``code``,
show ``message`` to the person at the counter, and read ``details`` for specifics. Bad input
is always a 4xx that says what to fix; a 500 means a bug here, and its body never carries
exception text (which may hold personal data or server internals) - the log has that.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException

from shared.errors import (
    BenSysError,
    NotYetKnown,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)

_log = logging.getLogger("bensys.http.errors")

DATABASE_RETRY_AFTER_SECONDS = 5
_MAX_PROBLEMS_IN_MESSAGE = 3

# Codes for errors Starlette/FastAPI raise themselves (unknown route, wrong method, ...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
}


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": dict(details or {})}}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, details), status_code=status_code, headers=headers
    )


async def _bensys_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BenSysError)
    headers: dict[str, str] = {}
    if isinstance(exc, NotYetKnown | Unavailable | TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


def _field(loc: Sequence[int | str]) -> str:
    """``("body", "address", "city")`` -> ``"address.city"``: the path as the caller wrote it."""
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    return ".".join(str(part) for part in parts) or "body"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        reason = malformed.get("ctx", {}).get("error", "cannot be parsed")
        position = malformed["loc"][-1] if len(malformed["loc"]) > 1 else None
        where = f" at character {position}" if isinstance(position, int) else ""
        problem = f"{reason}{where}"
        return error_response(
            422,
            "invalid",
            f"request body is not valid JSON: {problem}",
            {"fields": [{"field": "body", "problem": problem}]},
        )
    # Only location and message go back: pydantic's "input" may be a person's data.
    fields = [{"field": _field(e.get("loc", ())), "problem": str(e.get("msg", ""))} for e in errors]
    shown = "; ".join(f"{f['field']}: {f['problem']}" for f in fields[:_MAX_PROBLEMS_IN_MESSAGE])
    hidden = len(fields) - _MAX_PROBLEMS_IN_MESSAGE
    message = shown + (f" (and {hidden} more)" if hidden > 0 else "")
    return error_response(422, "invalid", message or "request is not valid", {"fields": fields})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    phrase = _phrase(status)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else phrase
    if status == 404 and message == phrase:
        message = f"nothing here: {request.method} {request.url.path} is not a known route"
    elif status == 405 and message == phrase:
        message = f"{request.method} is not allowed on {request.url.path}"
    code = _HTTP_CODES.get(status, f"http_{status}")
    return error_response(status, code, message, headers=exc.headers)


async def _database_away(request: Request, exc: Exception) -> JSONResponse:
    # The driver's message lists hosts and topology: useful in the log, not to the caller.
    _log.warning(
        "database unreachable during %s %s: %s",
        request.method,
        request.url.path,
        exc,
        extra={"error_type": type(exc).__name__},
    )
    return error_response(
        503,
        "unavailable",
        "the database is unreachable at the moment; retry shortly",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal", "something went wrong on our side; it has been logged, please retry"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; call once when building each service's app.

    ``ConnectionFailure`` covers ``AutoReconnect`` and ``ServerSelectionTimeoutError`` (its
    subclasses): whichever way the driver reports the database as away, the caller gets a
    503 with ``Retry-After`` rather than a 500.

    The catch-all runs in Starlette's outermost middleware, which re-raises after responding
    so the server can log it too; that is Starlette's design and cannot be turned off here.
    """
    app.add_exception_handler(BenSysError, _bensys_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(ConnectionFailure, _database_away)
    app.add_exception_handler(Exception, _unexpected)
