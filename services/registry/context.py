"""What registry handlers reach beyond the shared runtime: its settings, index and indexer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.registry.card_numbers import CardNumbers
from services.registry.matching import BlindIndexer, blind_index_key
from services.registry.people import PeopleIndex
from services.registry.settings import RegistrySettings
from shared.auth import Principal, Role, require_roles
from shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class Registry:
    runtime: ServiceRuntime
    settings: RegistrySettings
    people: PeopleIndex
    indexer: BlindIndexer
    cards: CardNumbers

    @classmethod
    def on(cls, runtime: ServiceRuntime) -> Registry:
        settings = runtime.settings
        assert isinstance(settings, RegistrySettings)
        return cls(
            runtime=runtime,
            settings=settings,
            people=PeopleIndex(runtime.mongo, settings.database),
            indexer=BlindIndexer(blind_index_key(settings.master_key_bytes)),
            cards=CardNumbers(runtime.mongo, settings.database),
        )


def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]
RegistrarOrAdmin = Annotated[Principal, Depends(require_roles(Role.registrar, Role.admin))]
"""Who may change a person's record: the roles of every registry command route."""
