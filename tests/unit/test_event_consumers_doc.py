"""docs/events.md and each service's AsyncAPI document say what the services really wire.

``bensys.docs.CONSUMER_GROUPS`` repeats which topics each consumer group reads (only the
services' ``app`` modules say it). These tests run each service's real wiring on a runtime that
records ``add_consumer`` and is never started, so neither the table nor the documents' receive
operations can drift from the code.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from bensys.docs import (
    CONSUMER_GROUPS,
    NAMESPACE,
    consumers_label,
    event_classes,
    render_docs,
)
from services.cards.settings import CardsSettings
from services.distribution.settings import DistributionSettings
from services.helpline.settings import HelplineSettings
from services.registry.settings import RegistrySettings
from services.reporting.partners import partner_event_names
from services.reporting.settings import ReportingSettings
from shared.contracts.catalog import EventCatalog
from shared.contracts.partner import PartnerEvent
from shared.contracts.registry import MigrantRegistered
from shared.http.app import Wiring
from shared.messaging.consumer import IdempotentConsumer, Projector
from shared.messaging.topics import topic_name
from shared.observability.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

SECRET_ENV = "BENSYS_TEST_PARTNER_SECRET"
EVENTS = {event.ce_type(): event for event in event_classes()}
ASYNCAPI = {
    Path(relative).stem: json.loads(text)
    for relative, text in render_docs().items()
    if relative.startswith("asyncapi/")
}
"""Each service's AsyncAPI document, by service."""


@dataclass(frozen=True)
class Wired:
    producers: tuple[str, ...]
    event_types: frozenset[str]


class RecordingRuntime(ServiceRuntime):
    """The real runtime, never started, that notes each consumer group a service adds."""

    def __init__(self, settings: ServiceSettings) -> None:
        super().__init__(settings, ServiceMetrics())
        self.wired: dict[tuple[str, str], Wired] = {}

    def add_consumer(
        self,
        group: str,
        projectors: Mapping[str, Projector],
        catalog: EventCatalog,
        *producers: str,
        batches: bool = False,
    ) -> IdempotentConsumer:
        readable = {e.ce_type() for e in catalog if e.producer in producers}
        handled = frozenset(projectors) & readable
        self.wired[(self.settings.service_name, group)] = Wired(producers, handled)
        return super().add_consumer(group, projectors, catalog, *producers, batches=batches)


def _partners_for_every_partner_event(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A partners folder whose one partner subscribes to every partner event."""
    monkeypatch.setenv(SECRET_ENV, "s" * 64)
    events = json.dumps(sorted(partner_event_names()))
    (folder / "everything.toml").write_text(
        f'name = "Everything"\nsecret_env = "{SECRET_ENV}"\nevents = {events}\n',
        encoding="utf-8",
    )
    return folder


def _wiring_of(service: str, settings: ServiceSettings, monkeypatch: pytest.MonkeyPatch) -> Wiring:
    """The ``wire`` a service's create_app hands to create_service_app, caught on its way."""
    module = importlib.import_module(f"services.{service}.app")
    caught: list[Wiring] = []

    def catch(_: ServiceSettings, **parts: Any) -> FastAPI:
        caught.append(parts["wire"])
        return FastAPI()

    monkeypatch.setattr(module, "create_service_app", catch)
    module.create_app(settings)
    [wire] = caught
    return wire


async def _wired(
    settings: ServiceSettings, monkeypatch: pytest.MonkeyPatch
) -> dict[tuple[str, str], Wired]:
    runtime = RecordingRuntime(settings)
    try:
        _wiring_of(settings.service_name, settings, monkeypatch)(runtime)
    finally:
        await runtime.stop()
    return runtime.wired


async def _every_service_wired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[tuple[str, str], Wired]:
    """Every service's groups, reporting's with a partner subscribed to every partner event."""
    every_service: list[ServiceSettings] = [
        CardsSettings(),
        DistributionSettings(),
        HelplineSettings(),
        RegistrySettings(),
        ReportingSettings(partners_dir=_partners_for_every_partner_event(tmp_path, monkeypatch)),
    ]
    wired: dict[tuple[str, str], Wired] = {}
    for settings in every_service:
        wired |= await _wired(settings, monkeypatch)
    return wired


def _resolved(document: dict[str, Any], ref: str) -> Any:
    """What a local ``$ref`` (``#/a/b``) points at, through any ``$ref`` found there."""
    node: Any = document
    for key in ref.removeprefix("#/").split("/"):
        node = node[key.replace("~1", "/").replace("~0", "~")]
    return _resolved(document, node["$ref"]) if "$ref" in node else node


def _messages_of(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """The ce_types an operation lists."""
    return {_resolved(document, message["$ref"])["name"] for message in operation["messages"]}


def _operations(document: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [op for op in document["operations"].values() if op["action"] == action]


async def test_the_documented_consumer_groups_are_the_ones_the_services_wire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given every service, reporting with a partner subscribed to every partner event
    # when each one's real wiring runs (nothing is started: no broker, no database)
    wired = await _every_service_wired(tmp_path, monkeypatch)

    # then the catalogue's table names the same groups, topics and event types
    documented = {
        (group.service, group.group): Wired(group.producers, group.event_types())
        for group in CONSUMER_GROUPS
    }
    assert documented == wired, (
        "bensys.docs.CONSUMER_GROUPS no longer matches the services' add_consumer calls: "
        "update it, then run `bensys docs`"
    )


async def test_the_partner_feed_group_runs_only_when_partners_are_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given reporting with no partners folder
    settings = ReportingSettings(partners_dir=None)

    # when its wiring runs
    wired = await _wired(settings, monkeypatch)

    # then only the views are fed, as the catalogue's "Runs" column says
    assert list(wired) == [("reporting", "reporting")]
    [feed] = [group for group in CONSUMER_GROUPS if group.group == "partner-feed"]
    assert feed.runs.startswith("only when partners are configured")


def test_an_event_lists_each_consuming_service_with_its_groups() -> None:
    label = consumers_label(MigrantRegistered)

    assert label == (
        "cards (group cards), distribution (group distribution), helpline (group helpline), "
        "reporting (groups reporting, partner-feed)"
    )


def test_an_event_no_group_projects_says_so() -> None:
    partner_event = EVENTS["bensys.partner.PersonRegistered.v1"]

    assert consumers_label(MigrantRegistered, groups=()) == "none yet"
    assert consumers_label(partner_event, groups=()).startswith("none in BenSys")


def test_every_event_in_the_catalogue_names_its_consumers() -> None:
    catalogue = render_docs()["events.md"]

    assert catalogue.count("\n- **Consumers:** ") == len(EVENTS)


async def test_each_service_document_receives_what_each_of_its_groups_handles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given what every consumer group of every service really handles, topic by topic
    wired = await _every_service_wired(tmp_path, monkeypatch)

    # when each service's AsyncAPI document is read, receive operation by receive operation
    documented: dict[tuple[str, str], set[str]] = {}
    for service, document in ASYNCAPI.items():
        for operation in _operations(document, "receive"):
            group = operation["bindings"]["kafka"]["groupId"]["const"]
            assert f"consumer group `{group}`" in operation["description"]
            address = _resolved(document, operation["channel"]["$ref"])["address"]
            messages = _messages_of(document, operation)
            assert {topic_name(NAMESPACE, EVENTS[m].producer) for m in messages} == {address}
            documented.setdefault((service, group), set()).update(messages)

    # then each group has its operations in its own service's document, listing exactly what
    # its projectors handle
    assert documented == {key: set(group.event_types) for key, group in wired.items()}


def test_reporting_sends_the_partner_feed_and_each_event_is_sent_by_one_document() -> None:
    # given the events each service's document sends
    sent = {
        service: [
            (_resolved(document, op["channel"]["$ref"])["address"], _messages_of(document, op))
            for op in _operations(document, "send")
        ]
        for service, document in ASYNCAPI.items()
    }

    # then reporting sends every partner event on the partner topic, and nothing else
    partner_events = {name for name, event in EVENTS.items() if issubclass(event, PartnerEvent)}
    assert sent["reporting"] == [("bensys.partner.v1", partner_events)]
    # and every other service sends its own events on its own topic
    for service in ASYNCAPI.keys() - {"reporting"}:
        own = {name for name, event in EVENTS.items() if event.producer == service}
        assert sent[service] == [(topic_name(NAMESPACE, service), own)]
