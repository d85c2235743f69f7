"""Refuses JSON bodies carrying never-collected fields before any handler can see them.

Doing this at the door, not in each handler, means a new endpoint cannot forget the rule and
a refused value is never parsed into a model, logged by a handler or written anywhere.
Written as pure ASGI (not BaseHTTPMiddleware) so the body is read once and replayed to the
app byte for byte.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.errors import error_response
from shared.policy import NeverCollected, NeverCollectedPolicy

_METHODS_WITH_BODIES = frozenset({"POST", "PUT", "PATCH"})


class NeverCollectedMiddleware:
    def __init__(self, app: ASGIApp, policy: NeverCollectedPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _METHODS_WITH_BODIES
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return

        messages = await _read_body(receive)
        if messages[-1]["type"] != "http.disconnect":  # nobody left to answer otherwise
            body = b"".join(message.get("body", b"") for message in messages)
            offending = self._offending_fields(body)
            if offending:
                await _refuse(self.policy, offending, scope, receive, send)
                return
        await self.app(scope, _replay(messages, receive), send)

    def _offending_fields(self, body: bytes) -> list[str]:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return []  # not JSON after all: FastAPI reports that better than we could
        return self.policy.violations(payload)


def _is_json(scope: Scope) -> bool:
    """``application/json`` and its ``+json`` relatives such as merge-patch."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type == b"application/json" or media_type.endswith(b"+json")
    return False


async def _read_body(receive: Receive) -> list[Message]:
    """Every message up to the end of the body, or up to the client going away."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """The app gets the messages we consumed, as they came, then the real channel."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def _refuse(
    policy: NeverCollectedPolicy, offending: list[str], scope: Scope, receive: Receive, send: Send
) -> None:
    error = NeverCollected(policy.refusal_message(offending), details={"fields": offending})
    response = error_response(error.status_code, error.code, error.message, error.details)
    await response(scope, receive, send)
