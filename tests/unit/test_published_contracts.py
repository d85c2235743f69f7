"""The published contract: what partners read in docs/ is what the code publishes.

The files under docs/ are golden files: a change to an event's shape shows up here first, so it
is decided on purpose (a new version with an upcaster, or an additive change regenerated with
``make docs``) rather than discovered by a partner whose consumer broke.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bensys.docs import (
    GENERATED_DIRS,
    event_classes,
    nested_models,
    render_docs,
    service_of,
    stale_files,
    walk_fields,
    write_docs,
)
from shared.contracts.base import Event, Sealed
from shared.messaging.topics import PRODUCERS
from shared.policy import NeverCollectedPolicy
from shared.settings import DEFAULT_NEVER_COLLECTED

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CE_TYPE = re.compile(r"^bensys\.[a-z]+\.[A-Z][A-Za-z]+\.v[1-9][0-9]*$")

RENDERED = render_docs()
EVENTS = event_classes()


def _contract_models() -> list[type[BaseModel]]:
    """Every event, every model nested in one, and Sealed: all of them travel on the wire."""
    models: list[type[BaseModel]] = [*EVENTS, Sealed]
    for event in EVENTS:
        for entry in walk_fields(event):
            models += [m for m in nested_models(entry.annotation) if m not in models]
    return models


MODELS = _contract_models()


def _changed(relative: str) -> str:
    return (
        f"the published shape of docs/{relative} changed: events are never changed in place — "
        "add a new version with an upcaster, or, for an additive change, run `make docs` and "
        "commit the result"
    )


def _model_id(model: type[BaseModel]) -> str:
    return model.ce_type() if model in EVENTS and issubclass(model, Event) else model.__name__


def _refused_names(model: type[BaseModel], policy: NeverCollectedPolicy) -> list[str]:
    """Paths of the fields, nested ones included, whose name or wire alias policy refuses."""
    refused = []
    for entry in walk_fields(model):
        names = (entry.name, entry.info.alias, entry.info.serialization_alias)
        if policy.forbidden_names([name for name in names if name]):
            refused.append(entry.path)
    return refused


# --- golden files ----------------------------------------------------------------------------


def test_every_event_is_published() -> None:
    assert EVENTS, "no event is registered in CATALOG: are the contract modules imported?"
    for event in EVENTS:
        assert f"schemas/{event.ce_type()}.json" in RENDERED
        assert f"asyncapi/{service_of(event.producer)}.json" in RENDERED
    assert "events.md" in RENDERED


def test_there_is_one_asyncapi_document_per_service() -> None:
    services = sorted(app.parent.name for app in (ROOT / "services").glob("*/app.py"))

    documents = sorted(
        relative.removeprefix("asyncapi/").removesuffix(".json")
        for relative in RENDERED
        if relative.startswith("asyncapi/")
    )

    assert documents == services


@pytest.mark.parametrize("relative", sorted(RENDERED))
def test_the_checked_in_contract_is_what_the_code_publishes(relative: str) -> None:
    # given what the code publishes today
    rendered = RENDERED[relative]
    # when the checked-in file is read
    path = DOCS / relative
    checked_in = path.read_text(encoding="utf-8") if path.is_file() else None
    # then they are the same, byte for byte
    assert checked_in == rendered, _changed(relative)


@pytest.mark.parametrize("folder", GENERATED_DIRS)
def test_no_checked_in_contract_is_left_behind(folder: str) -> None:
    stale = [path.relative_to(DOCS).as_posix() for path in stale_files(DOCS, folder, RENDERED)]

    assert stale == [], (
        f"docs/{folder} holds files the code no longer publishes: {', '.join(stale)}. "
        "Events are never changed in place or withdrawn silently — keep the old version "
        "registered with an upcaster, or, if the removal is intended, run `make docs` and "
        "commit the result"
    )


def test_writing_the_docs_regenerates_them_and_removes_stale_ones(tmp_path: Path) -> None:
    # given a docs folder with a withdrawn schema, an outdated one and a hand-written page
    withdrawn = tmp_path / "schemas" / "bensys.registry.Withdrawn.v1.json"
    withdrawn.parent.mkdir(parents=True)
    withdrawn.write_text("{}\n", encoding="utf-8")
    outdated = tmp_path / next(iter(RENDERED))
    outdated.parent.mkdir(parents=True, exist_ok=True)
    outdated.write_text("outdated\n", encoding="utf-8")
    hand_written = tmp_path / "architecture.md"
    hand_written.write_text("# Architecture\n", encoding="utf-8")

    # when the docs are written
    written = write_docs(tmp_path)

    # then every generated file is current, the withdrawn one is gone, and the page is kept
    assert sorted(path.relative_to(tmp_path).as_posix() for path in written) == sorted(RENDERED)
    for relative, text in RENDERED.items():
        assert (tmp_path / relative).read_text(encoding="utf-8") == text
    assert not withdrawn.exists()
    assert hand_written.read_text(encoding="utf-8") == "# Architecture\n"


def test_rendering_is_deterministic() -> None:
    assert render_docs() == RENDERED
    assert all(text.endswith("\n") and not text.endswith("\n\n") for text in RENDERED.values())


# --- the rules every event keeps -------------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=_model_id)
def test_every_event_field_is_described(event: type[Event]) -> None:
    undescribed = [entry.path for entry in walk_fields(event) if not entry.info.description]

    assert undescribed == [], f"{event.ce_type()}: give these a Field(description=…)"


@pytest.mark.parametrize("event", EVENTS, ids=_model_id)
def test_every_event_says_what_happened(event: type[Event]) -> None:
    # the class docstring is the event's description in the catalogue
    assert (event.__dict__.get("__doc__") or "").strip(), f"{event.ce_type()} has no docstring"


@pytest.mark.parametrize("model", MODELS, ids=_model_id)
def test_a_published_fact_cannot_be_changed_after_the_fact(model: type[BaseModel]) -> None:
    # given an instance of the model
    instance = model.model_construct()
    field = next(iter(model.model_fields), "anything")
    # when one of its fields is assigned, then pydantic refuses
    with pytest.raises(ValidationError, match="frozen"):
        setattr(instance, field, "changed")


@pytest.mark.parametrize("model", MODELS, ids=_model_id)
def test_a_field_the_contract_does_not_name_is_refused(model: type[BaseModel]) -> None:
    # when data with a field the contract does not name is read
    with pytest.raises(ValidationError) as refused:
        model.model_validate({"not_in_the_contract": 1})
    # then that field is named as forbidden
    assert {"type": "extra_forbidden", "loc": ("not_in_the_contract",)} in [
        {"type": error["type"], "loc": error["loc"]} for error in refused.value.errors()
    ]


def test_ce_types_are_unique_and_well_formed() -> None:
    ce_types = [event.ce_type() for event in EVENTS]

    malformed = [ce_type for ce_type in ce_types if not CE_TYPE.match(ce_type)]
    assert malformed == [], f"ce_type must match {CE_TYPE.pattern}"
    # unique even ignoring case: two names differing only in case would confuse every reader
    assert len({ce_type.casefold() for ce_type in ce_types}) == len(ce_types)


@pytest.mark.parametrize("event", EVENTS, ids=_model_id)
def test_every_event_has_a_topic(event: type[Event]) -> None:
    assert event.producer in PRODUCERS, f"no topic is created for producer {event.producer!r}"


@pytest.mark.parametrize("event", EVENTS, ids=_model_id)
def test_no_event_carries_a_field_that_is_never_collected(event: type[Event]) -> None:
    policy = NeverCollectedPolicy(DEFAULT_NEVER_COLLECTED)

    assert _refused_names(event, policy) == [], policy.refusal_message(
        _refused_names(event, policy)
    )


def test_a_never_collected_field_is_found_inside_a_nested_model() -> None:
    # given an event that hides a refused field in a model nested in an optional list
    class Document(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        document_type: str = Field(description="Kind of document.")
        visa_expiry: str = Field(description="Never collected.")

    class Household(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        documents: tuple[Document, ...] | None = Field(default=None, description="Papers.")

    class Registered(Event):
        """Not a real event."""

        household: Household = Field(description="Who lives with the person.")
        residency: str = Field(description="Refused by its name.")
        status: str = Field(alias="permitStatus", description="Refused by its name on the wire.")

    # when its fields are judged
    refused = _refused_names(Registered, NeverCollectedPolicy(DEFAULT_NEVER_COLLECTED))

    # then every refused field is found, however deep and whatever it is called on the wire
    assert refused == ["household.documents.visa_expiry", "residency", "status"]
