"""The errors every operation can answer, written into each service's OpenAPI document.

Routes document their successes; the failures are the same everywhere (shared/http/errors.py)
and are added here once, so that a client generated from ``/openapi.json``, or a fuzzer checking
answers against it, knows every status it can meet and the one body they share: 401 and 403 on
every operation that needs a token, any 4xx for a request to fix (404 unknown, 409 conflict or
not yet known, 410 erased, 422 invalid...), and 503 while a server is away.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA = "ErrorBody"
_ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "What went wrong, for programs."},
                "message": {"type": "string", "description": "What to fix, for people."},
                "details": {"type": "object", "description": "Specifics, e.g. the fields."},
            },
        }
    },
}
_METHODS = ("get", "put", "post", "delete", "patch")


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
        },
    }


def with_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the shared error answers added to every operation."""
    document.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA] = _ERROR_BODY
    for path_item in document.get("paths", {}).values():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if operation.get("security"):
                responses.setdefault("401", _error("No valid bearer token."))
                responses.setdefault("403", _error("The token's role or site may not do this."))
            if "422" in responses:  # FastAPI documents its own shape; ours is the error body
                responses["422"] = _error("The request is invalid; the message says what to fix.")
            responses.setdefault("4XX", _error("The request cannot be served as sent."))
            responses.setdefault("503", _error("A server is away; retry after Retry-After."))
    return document


def install_error_responses(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the shared errors (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_error_responses(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010 - FastAPI's documented way to customise it
