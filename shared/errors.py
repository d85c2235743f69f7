"""One error vocabulary for every service, mapped to HTTP in :mod:`shared.http.errors`.

Domain code raises these; entry points translate them. Each carries a message written for
the person who has to act on it: what went wrong and what to do next.
"""

from __future__ import annotations

from typing import Any


class BenSysError(Exception):
    """Base of every error BenSys reports to a caller on purpose."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(BenSysError):
    status_code = 404
    code = "not_found"


class Invalid(BenSysError):
    """The request cannot be carried out as given: the message says what to fix."""

    status_code = 422
    code = "invalid"


class Conflict(BenSysError):
    """The request lost a race or contradicts what is stored: the message says what to retry."""

    status_code = 409
    code = "conflict"


class NotYetKnown(Conflict):
    """A fact this service needs has not arrived from another service's events yet."""

    code = "not_yet_known"

    def __init__(
        self, message: str, *, retry_after_seconds: int = 2, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after_seconds = retry_after_seconds


class Unauthenticated(BenSysError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(BenSysError):
    status_code = 403
    code = "forbidden"


class Unavailable(BenSysError):
    """A server this service depends on is away; the caller should retry later."""

    status_code = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after_seconds: int = 5) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Gone(BenSysError):
    """The thing existed and was erased on purpose: it will not come back."""

    status_code = 410
    code = "gone"


class TooManyRequests(BenSysError):
    """One token asked more than a person at a counter would: looks like enumeration."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
