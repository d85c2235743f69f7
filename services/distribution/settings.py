from pydantic import Field

from shared.settings import ServiceSettings


class DistributionSettings(ServiceSettings):
    service_name: str = "distribution"
    http_port: int = Field(default=8003, ge=1, le=65535)
