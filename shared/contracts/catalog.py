"""Which event types exist, and how an old version of one is read as the current version.

Consumers decode with the catalog, never by importing a producer's package. A breaking change
to an event is a new version plus an upcaster from the old one (STYLE habit 4): stored history
is never rewritten, it is read through the upcasters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from shared.contracts.base import Event

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
E = TypeVar("E", bound=type[Event])


class UnknownEventType(LookupError):
    """A message names an event type this process does not know: not ours to guess at."""


class EventCatalog:
    def __init__(self) -> None:
        self._types: dict[str, type[Event]] = {}
        self._upcasters: dict[str, tuple[str, Upcaster]] = {}

    def register(self, event_class: E) -> E:
        """Class decorator: make ``event_class`` decodable by its wire name."""
        name = event_class.ce_type()
        existing = self._types.get(name)
        if existing is not None and existing is not event_class:
            raise ValueError(f"{name} is registered twice ({existing.__name__})")
        self._types[name] = event_class
        return event_class

    def register_upcaster(self, old_type: str, new_type: str, upcast: Upcaster) -> None:
        """Read events stored as ``old_type`` as ``new_type`` by transforming their data."""
        if old_type in self._upcasters:
            raise ValueError(f"{old_type} already has an upcaster")
        self._upcasters[old_type] = (new_type, upcast)

    def upcast(self, ce_type: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Follow the upcaster chain from ``ce_type`` to the newest version it leads to."""
        seen = {ce_type}
        while ce_type in self._upcasters:
            ce_type, upcaster = self._upcasters[ce_type]
            if ce_type in seen:
                raise ValueError(f"upcaster cycle through {ce_type}")
            seen.add(ce_type)
            data = upcaster(data)
        return ce_type, data

    def decode(self, ce_type: str, data: dict[str, Any]) -> Event:
        current_type, current_data = self.upcast(ce_type, data)
        try:
            event_class = self._types[current_type]
        except KeyError:
            raise UnknownEventType(f"unknown event type {ce_type!r}") from None
        return event_class.model_validate(current_data)

    def __contains__(self, ce_type: object) -> bool:
        return ce_type in self._types or ce_type in self._upcasters

    def __iter__(self) -> Iterator[type[Event]]:
        return iter(sorted(self._types.values(), key=lambda cls: cls.ce_type()))


CATALOG = EventCatalog()
"""Every published BenSys event, registered by the contract modules as they are imported."""
