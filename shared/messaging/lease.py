"""Which replica's relay publishes a service's outbox: a lease in the service's database.

With several replicas of a service, each runs a relay over the one outbox. Without a lease they
all publish the same events (consumers drop the copies, but Kafka carries each event several
times) and overwrite each other's broker marks, which the check for a broker that lost its log
relies on. So a relay publishes only while it holds the lease of its topic: one document,
taken when free or expired and renewed while held. A replica that dies lets its lease expire
and another takes over within ``ttl``. Two holders can overlap only if a holder stalls past its
lease; publication is at least once anyway, so that costs copies, never events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

LEASES = "relay_leases"


class Lease(Protocol):
    async def hold(self) -> bool:
        """True when this holder has the lease now (taking or renewing it)."""
        ...

    async def release(self) -> None:
        """Give the lease up at once (a clean stop), rather than letting it expire."""
        ...


class AlwaysHeld:
    """One process, no competition: tests and tools that run a relay alone."""

    async def hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class MongoLease:
    """The lease named ``name`` for ``holder``, in ``database``."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        database: str,
        *,
        name: str,
        holder: str,
        ttl: timedelta = timedelta(seconds=15),
    ) -> None:
        self._leases = client[database][LEASES]
        self._name = name
        self._holder = holder
        self._ttl = ttl

    async def hold(self) -> bool:
        now = datetime.now(UTC)
        try:
            taken = await self._leases.find_one_and_update(
                {
                    "_id": self._name,
                    "$or": [{"holder": self._holder}, {"expires_at": {"$lt": now}}],
                },
                {"$set": {"holder": self._holder, "expires_at": now + self._ttl}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # the upsert lost to a lease another holder has, unexpired
            return False
        return taken is not None and taken["holder"] == self._holder

    async def release(self) -> None:
        await self._leases.delete_one({"_id": self._name, "holder": self._holder})
