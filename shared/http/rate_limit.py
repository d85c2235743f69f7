"""Lookups and searches are limited per token: enumeration is cut off with 429.

A registrar searches a few names a minute and a vaccination centre checks a card every few
seconds; a script walking through names, phone numbers or card numbers to copy the registry
asks hundreds of times faster. Each token gets a bucket of ``burst`` requests refilled at
``per_minute``; an empty bucket answers 429 with ``Retry-After``. The limit is per token and
per service process: with several replicas behind a balancer a token may get that many per
replica, which still stops a dump of the registry at a crawl.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from shared.errors import TooManyRequests

DEFAULT_PER_MINUTE = 120
DEFAULT_BURST = 60
MAX_TRACKED_TOKENS = 10_000
"""Buckets kept; the least recently used goes first (a full bucket loses nothing by it)."""


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """``burst`` requests at once, ``per_minute`` on average, per key."""

    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60
        self._burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when the request may go ahead; else the seconds until one more would."""
        now = self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(float(self._burst), now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        self._buckets[key] = bucket
        if len(self._buckets) > MAX_TRACKED_TOKENS:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self._rate


def _token_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None  # no token: the route's own authentication answers 401
    return hashlib.sha256(token.encode()).hexdigest()


def lookup_limit(kind: str) -> Callable[[Request], Awaitable[None]]:
    """A route dependency limiting lookups of ``kind`` (named in the 429's message)."""

    async def within_limit(request: Request) -> None:
        buckets = _buckets_of(request)
        key = _token_key(request)
        if key is None:
            return
        wait = buckets.take(key)
        if wait:
            raise TooManyRequests(
                f"too many {kind} from this token: at most {buckets.per_minute:.0f} a "
                f"minute; retry in {math.ceil(wait)} s",
                retry_after_seconds=math.ceil(wait),
            )

    return within_limit


def _buckets_of(request: Request) -> TokenBuckets:
    """The app's buckets (create_service_app makes them from its settings); an app assembled
    by hand gets the default limits rather than no limit."""
    state = request.app.state
    buckets = getattr(state, "lookup_limits", None)
    if not isinstance(buckets, TokenBuckets):
        settings = getattr(state, "settings", None)
        buckets = state.lookup_limits = TokenBuckets(
            per_minute=getattr(settings, "lookup_rate_per_minute", DEFAULT_PER_MINUTE),
            burst=getattr(settings, "lookup_burst", DEFAULT_BURST),
        )
    return buckets
