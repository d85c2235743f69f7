"""``GET /services``: the service catalogue, from which field devices build their pick-list.

Every signed-in role may read it: it holds no personal data, and helpline staff, partners and
auditors need the same words the counter uses. ``?language=bn`` adds each entry's ``label`` in
that language (English where it has none), so a device shows one label without having to know
the fallback rule; ``labels`` always carries them all for devices that switch language offline.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from shared.auth import Principal, Role, require_roles
from shared.catalogue.services import CatalogueEntry, Recipient, ServiceCatalogue
from shared.errors import Invalid

router = APIRouter(tags=["services"])
AnyRole = Annotated[Principal, Depends(require_roles(*Role))]


def get_catalogue(request: Request) -> ServiceCatalogue:
    """The catalogue loaded at start-up (``app.state.catalogue``)."""
    catalogue = getattr(request.app.state, "catalogue", None)
    if not isinstance(catalogue, ServiceCatalogue):
        # A wiring mistake, not the caller's: a 500 and a log line that says what is missing.
        raise TypeError("app.state.catalogue must be a ServiceCatalogue set at start-up")
    return catalogue


CatalogueDep = Annotated[ServiceCatalogue, Depends(get_catalogue)]


class EntitlementView(BaseModel):
    max_units: int = Field(description="Most units one recipient may receive in the period.")
    per_days: int = Field(description="The period, in days, counted back from today.")
    rule: str = Field(description="The rule in words, e.g. 'at most 1 parcel per 30 days'.")


class ServiceView(BaseModel):
    code: str = Field(description="The code deliveries name, e.g. 'food_parcel'.")
    labels: dict[str, str] = Field(description="ISO 639-1 language code → label; 'en' always.")
    label: str | None = Field(
        default=None, description="The label in ?language=, else English; only with ?language=."
    )
    unit: str = Field(description="What one unit is, singular: 'parcel', 'session', 'pass'.")
    entitlement: EntitlementView | None = Field(description="The limit, or null for none.")
    requires_card: bool = Field(description="Whether a valid BenCard must be shown.")
    recipients: list[Recipient] = Field(
        description="The forms a delivery may take: to a person, an organisation, or a group."
    )


class ServiceList(BaseModel):
    services: list[ServiceView]
    next_cursor: str | None = Field(
        default=None, description="Pass as ?cursor= for the next page; null on the last page."
    )


def _view(entry: CatalogueEntry, language: str | None) -> ServiceView:
    rule = entry.entitlement
    view = ServiceView(
        code=entry.code,
        labels=dict(entry.labels),
        unit=entry.unit,
        entitlement=None
        if rule is None
        else EntitlementView(
            max_units=rule.max_units, per_days=rule.per_days, rule=rule.describe(entry.unit)
        ),
        requires_card=entry.requires_card,
        recipients=list(entry.recipients),
    )
    if language is not None:
        view.label = entry.label(language)  # set only here, so it is left out otherwise
    return view


@router.get(
    "/services",
    response_model=ServiceList,
    response_model_exclude_unset=True,
    summary="The services the programme delivers, with labels, units and entitlement rules",
)
async def list_services(
    catalogue: CatalogueDep,
    _: AnyRole,
    language: Annotated[
        str | None,
        Query(pattern="^[a-z]{2}$", description="ISO 639-1 code: adds each entry's `label`."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> ServiceList:
    """Paged like every list, though a catalogue rarely needs a second page."""
    entries = list(catalogue)
    start = 0
    if cursor is not None:
        codes = [entry.code for entry in entries]
        if cursor not in codes:
            raise Invalid("cursor is not one this service gave: start again without it")
        start = codes.index(cursor) + 1
    page = entries[start : start + limit]
    more = start + limit < len(entries)
    return ServiceList(
        services=[_view(entry, language) for entry in page],
        next_cursor=page[-1].code if more else None,
    )
