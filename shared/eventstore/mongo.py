"""The event store on MongoDB (PyMongo's ``AsyncMongoClient``), one database per service.

Collections: ``events`` (unique ``(stream_id, version)`` and ``event_id``; a global
``position``; ``published`` makes it the outbox), ``commands`` (first answers of idempotent
commands), ``counters`` (the last position handed out) and ``relay`` (how far the broker's log
must reach). An append is one multi-document transaction, so the events, the command record
and any inline projection are stored together or not at all.

Positions are reserved by an atomic increment *before* the transaction, not inside it: a
counter written in every transaction is one document every append contends for, and under
concurrency transactions abort on it and retry (every bench showed eight requests in flight
no faster than one). Reserved outside, a position is still unique and still larger than that
of every event already appended when the reservation was made, so whatever happened before
an append (another event about the same person, the earlier versions of its own stream) has
a smaller position, and the relay publishes it first. Positions are not gap-free (an aborted
append leaves its reservation unused), and two appends in flight at once may commit in either
order, which nothing may rely on: they were concurrent.

The first event of a new stream with no command record and no inline projection (a
verification, a recorded read) needs no transaction at all: one insert is atomic, and the
unique ``(stream_id, version)`` index is its concurrency check.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.eventstore.audit import AuditedStream, UnreadableEvent
from shared.eventstore.building import build_stored_events
from shared.eventstore.chain import GENESIS
from shared.eventstore.model import (
    CommandRecord,
    ConcurrencyConflict,
    DuplicateCommand,
    EventMetadata,
    PendingEvent,
    StoredEvent,
    utc_now,
)
from shared.eventstore.port import InlineProjection

Document = dict[str, Any]


class MongoEventStore:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._client = client
        db = client[database]
        self._events: AsyncCollection[Document] = db["events"]
        self._commands: AsyncCollection[Document] = db["commands"]
        self._counters: AsyncCollection[Document] = db["counters"]
        self._relay: AsyncCollection[Document] = db["relay"]

    async def ensure_indexes(self) -> None:
        await self._events.create_index(
            [("stream_id", ASCENDING), ("version", ASCENDING)], unique=True, name="stream_version"
        )
        await self._events.create_index("position", unique=True, name="position")
        await self._events.create_index(
            [("published", ASCENDING), ("position", ASCENDING)], name="outbox"
        )
        await self._events.create_index("subject", name="subject")
        await self._create_counter()

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[PendingEvent],
        metadata: EventMetadata,
        *,
        command: CommandRecord | None = None,
        inline: InlineProjection | None = None,
    ) -> list[StoredEvent]:
        first_position = await self._reserve_positions(len(events))
        if expected_version == 0 and len(events) == 1 and command is None and inline is None:
            return await self._start_stream(stream_id, events[0], metadata, first_position)

        async def in_transaction(session: AsyncClientSession) -> list[StoredEvent]:
            return await self._append_in(
                session,
                stream_id=stream_id,
                expected_version=expected_version,
                events=events,
                metadata=metadata,
                command=command,
                inline=inline,
                first_position=first_position,
            )

        try:
            async with self._client.start_session() as session:
                return await session.with_transaction(in_transaction)
        except DuplicateKeyError as exc:
            # The transaction was aborted, so a command record that exists now was committed
            # by another request carrying the same id: that request's answer is the answer.
            if command is not None:
                existing = await self.get_command(command.command_id)
                if existing is not None:
                    raise DuplicateCommand(existing) from exc
            actual = await self._current_version(stream_id)
            raise ConcurrencyConflict(stream_id, expected_version, actual) from exc

    async def _reserve_positions(self, count: int) -> int:
        """The first of ``count`` positions no other append will ever be given."""
        for _ in range(2):
            counter = await self._counters.find_one_and_update(
                {"_id": "position"},
                {"$inc": {"value": count}},
                return_document=ReturnDocument.AFTER,
            )
            if counter is not None:
                return int(counter["value"]) - count + 1
            await self._create_counter()  # a store whose indexes were never ensured
        raise RuntimeError("the position counter could not be created")

    async def _create_counter(self) -> None:
        # Created apart from its first increment: concurrent upserting increments of a missing
        # document can answer without the field on SecantusDB.
        with contextlib.suppress(DuplicateKeyError):  # another append created it first
            await self._counters.update_one(
                {"_id": "position"}, {"$setOnInsert": {"value": 0}}, upsert=True
            )

    async def _start_stream(
        self, stream_id: str, event: PendingEvent, metadata: EventMetadata, position: int
    ) -> list[StoredEvent]:
        stored = build_stored_events(
            stream_id=stream_id,
            first_version=1,
            first_position=position,
            previous_chainhash=GENESIS,
            events=[event],
            metadata=metadata,
            occurred_at=utc_now(),
        )
        try:
            await self._events.insert_one(_to_document(stored[0]))
        except DuplicateKeyError as exc:
            actual = await self._current_version(stream_id)
            raise ConcurrencyConflict(stream_id, 0, actual) from exc
        return stored

    async def _append_in(
        self,
        session: AsyncClientSession,
        *,
        stream_id: str,
        expected_version: int,
        events: Sequence[PendingEvent],
        metadata: EventMetadata,
        command: CommandRecord | None,
        inline: InlineProjection | None,
        first_position: int,
    ) -> list[StoredEvent]:
        if command is not None:
            await self._commands.insert_one(
                {
                    "_id": command.command_id,
                    "fingerprint": command.fingerprint,
                    "result": command.result,
                },
                session=session,
            )
        last = await self._events.find_one(
            {"stream_id": stream_id}, sort=[("version", DESCENDING)], session=session
        )
        actual = int(last["version"]) if last else 0
        if actual != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version, actual)
        stored = build_stored_events(
            stream_id=stream_id,
            first_version=expected_version + 1,
            first_position=first_position,
            previous_chainhash=str(last["chainhash"]) if last else GENESIS,
            events=events,
            metadata=metadata,
            occurred_at=utc_now(),
        )
        await self._events.insert_many([_to_document(e) for e in stored], session=session)
        if inline is not None:
            await inline(session, stored)
        return stored

    async def _current_version(self, stream_id: str) -> int:
        last = await self._events.find_one({"stream_id": stream_id}, sort=[("version", DESCENDING)])
        return int(last["version"]) if last else 0

    async def load(self, stream_id: str, *, after_version: int = 0) -> list[StoredEvent]:
        cursor = self._events.find(
            {"stream_id": stream_id, "version": {"$gt": after_version}},
            sort=[("version", ASCENDING)],
        )
        return [_from_document(doc) async for doc in cursor]

    async def get_command(self, command_id: str) -> CommandRecord | None:
        doc = await self._commands.find_one({"_id": command_id})
        if doc is None:
            return None
        return CommandRecord(command_id, str(doc["fingerprint"]), dict(doc["result"]))

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        cursor = self._events.find(
            {"position": {"$gt": after_position}}, sort=[("position", ASCENDING)], limit=limit
        )
        return [_from_document(doc) async for doc in cursor]

    async def audit_streams(self) -> AsyncIterator[AuditedStream]:
        """Streams one after another from the ``stream_version`` index, never all at once."""
        current: AuditedStream | None = None
        cursor = self._events.find({}, sort=[("stream_id", ASCENDING), ("version", ASCENDING)])
        async for doc in cursor:
            stream_id = str(doc.get("stream_id"))
            if current is None or current.stream_id != stream_id:
                if current is not None:
                    yield current
                current = AuditedStream(stream_id, [], [])
            try:
                current.events.append(_from_document(doc))
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                version = doc.get("version")
                current.unreadable.append(
                    UnreadableEvent(
                        stream_id,
                        version if isinstance(version, int) else None,
                        str(doc.get("_id")),
                        f"not an event any more: {type(error).__name__}: {error}",
                    )
                )
        if current is not None:
            yield current

    async def unpublished(self, limit: int) -> list[StoredEvent]:
        cursor = self._events.find(
            {"published": False}, sort=[("position", ASCENDING)], limit=limit
        )
        return [_from_document(doc) async for doc in cursor]

    async def mark_published(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            await self._events.update_many(
                {"_id": {"$in": list(event_ids)}}, {"$set": {"published": True}}
            )

    async def mark_all_unpublished(self) -> int:
        result = await self._events.update_many({"published": True}, {"$set": {"published": False}})
        return result.modified_count

    async def published_count(self) -> int:
        return await self._events.count_documents({"published": True})

    async def load_broker_marks(self, topic: str) -> dict[int, int]:
        doc = await self._relay.find_one({"_id": topic})
        return {int(p): int(o) for p, o in (doc or {}).get("marks", {}).items()}

    async def save_broker_marks(self, topic: str, marks: dict[int, int]) -> None:
        await self._relay.update_one(
            {"_id": topic}, {"$set": {"marks": {str(p): o for p, o in marks.items()}}}, upsert=True
        )


def _to_document(event: StoredEvent) -> Document:
    return {
        "_id": event.event_id,
        "stream_id": event.stream_id,
        "version": event.version,
        "position": event.position,
        "type": event.type,
        "subject": event.subject,
        "data": event.data,
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "site": event.site,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "traceparent": event.traceparent,
        "chainhash": event.chainhash,
        "published": False,
    }


def _from_document(doc: Document) -> StoredEvent:
    return StoredEvent(
        event_id=str(doc["_id"]),
        stream_id=str(doc["stream_id"]),
        version=int(doc["version"]),
        position=int(doc["position"]),
        type=str(doc["type"]),
        subject=str(doc["subject"]),
        data=dict(doc["data"]),
        occurred_at=doc["occurred_at"].replace(tzinfo=UTC),
        actor=str(doc["actor"]),
        site=doc.get("site"),
        correlation_id=str(doc["correlation_id"]),
        causation_id=doc.get("causation_id"),
        traceparent=doc.get("traceparent"),
        chainhash=str(doc["chainhash"]),
    )
