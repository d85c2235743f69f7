"""What helpline handlers reach beyond the shared runtime: settings, catalogue and facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.helpline.facts import KnownFacts
from services.helpline.settings import HelplineSettings
from shared.auth import Principal, Role, require_roles
from shared.catalogue.services import ServiceCatalogue, load_catalogue
from shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class Helpline:
    runtime: ServiceRuntime
    settings: HelplineSettings
    catalogue: ServiceCatalogue
    facts: KnownFacts

    @classmethod
    def on(cls, runtime: ServiceRuntime) -> Helpline:
        settings = runtime.settings
        assert isinstance(settings, HelplineSettings)
        return cls(
            runtime=runtime,
            settings=settings,
            catalogue=load_catalogue(settings.service_catalogue_file),
            facts=KnownFacts(runtime.mongo, settings.database),
        )


def get_helpline(request: Request) -> Helpline:
    helpline: Helpline = request.app.state.helpline
    return helpline


HelplineDep = Annotated[Helpline, Depends(get_helpline)]
Operator = Annotated[Principal, Depends(require_roles(Role.helpline, Role.admin))]
"""Who logs calls, refers and follows up: the helpline's operators, and admins."""
