from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.eventstore.mongo import MongoEventStore
from tests.contracts.eventstore import EventStoreContract

pytestmark = pytest.mark.integration


class TestMongoEventStore(EventStoreContract):
    @pytest.fixture
    async def store(
        self, mongo_client: AsyncMongoClient[dict[str, Any]], db_name: str
    ) -> MongoEventStore:
        store = MongoEventStore(mongo_client, db_name)
        await store.ensure_indexes()
        return store
