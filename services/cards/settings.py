from pydantic import Field

from shared.settings import ServiceSettings

DEFAULT_VACCINES = {
    "measles_rubella": 2,
    "tetanus_diphtheria": 3,
    "hepatitis_b": 3,
    "covid19": 2,
    "typhoid": 1,
    "influenza": 1,
    "polio": 3,
}
"""Vaccine code → doses that complete its course: how reports tell 'vaccinated' from
'complete'. Each programme sets its own with ``BENSYS_VACCINES`` (JSON)."""


class CardsSettings(ServiceSettings):
    service_name: str = "cards"
    http_port: int = Field(default=8002, ge=1, le=65535)
    card_validity_days: int = Field(
        default=730, ge=1, le=3650, description="How long a card is valid: two years by default."
    )
    card_issuer: str = Field(
        default="Maldivian Red Crescent",
        description="The issuing society, printed on the card and named in its credential.",
    )
    card_programme: str = Field(
        default="Migrant Support Programme", description="Printed on the card."
    )
    vaccines: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_VACCINES))
    print_batch_limit: int = Field(
        default=500, ge=1, le=5000, description="Most cards one batch print lays out."
    )
