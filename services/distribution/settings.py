from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings


class DistributionSettings(ServiceSettings):
    service_name: str = "distribution"
    http_port: int = Field(default=8003, ge=1, le=65535)
    service_catalogue_file: Path | None = Field(
        default=None,
        description="A JSON catalogue replacing the default (shared/catalogue/services.json).",
    )
    batch_limit: int = Field(default=1000, ge=1, le=10_000, description="Most deliveries a batch.")
