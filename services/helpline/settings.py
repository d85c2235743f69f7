from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings


class HelplineSettings(ServiceSettings):
    service_name: str = "helpline"
    http_port: int = Field(default=8004, ge=1, le=65535)
    service_catalogue_file: Path | None = Field(
        default=None, description="The service catalogue, as distribution reads it."
    )
    partner_directory_file: Path | None = Field(
        default=None, description="The partner directory; None for the packaged partners.json."
    )
    default_phone_region: str = Field(default="MV", description="For numbers without +country.")
