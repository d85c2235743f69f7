from pydantic import Field

from shared.settings import ServiceSettings


class CardsSettings(ServiceSettings):
    service_name: str = "cards"
    http_port: int = Field(default=8002, ge=1, le=65535)
