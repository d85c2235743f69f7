"""What distribution handlers reach beyond the shared runtime: catalogue, facts and ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.distribution.facts import KnownFacts
from services.distribution.ledger import Ledger
from services.distribution.repatriation_cases import RepatriationCases
from services.distribution.settings import DistributionSettings
from shared.auth import Principal, Role, require_roles
from shared.catalogue.services import ServiceCatalogue, load_catalogue
from shared.errors import Forbidden
from shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class Distribution:
    runtime: ServiceRuntime
    settings: DistributionSettings
    catalogue: ServiceCatalogue
    facts: KnownFacts
    ledger: Ledger

    @classmethod
    def on(cls, runtime: ServiceRuntime) -> Distribution:
        settings = runtime.settings
        assert isinstance(settings, DistributionSettings)
        return cls(
            runtime=runtime,
            settings=settings,
            catalogue=load_catalogue(settings.service_catalogue_file),
            facts=KnownFacts(runtime.mongo, settings.database),
            ledger=Ledger(runtime.mongo, settings.database),
        )

    async def start(self) -> None:
        await self.facts.ensure_indexes()
        await self.ledger.ensure_indexes()
        await RepatriationCases(self.runtime.mongo, self.settings.database).ensure_indexes()


def get_distribution(request: Request) -> Distribution:
    distribution: Distribution = request.app.state.distribution
    return distribution


def require_site(principal: Principal, site: str) -> None:
    """Field staff record only at their own site; an admin anywhere."""
    if principal.role is not Role.admin and principal.site != site:
        raise Forbidden(
            f"your token is for site {principal.site!r}, not {site!r}: record and read at "
            "your own site, or ask an admin"
        )


DistributionDep = Annotated[Distribution, Depends(get_distribution)]
Recorder = Annotated[Principal, Depends(require_roles(Role.distributor, Role.manager, Role.admin))]
"""Who records relief: distributors, and managers (who alone may override a rule) and admins."""
