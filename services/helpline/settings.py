from pydantic import Field

from shared.settings import ServiceSettings


class HelplineSettings(ServiceSettings):
    service_name: str = "helpline"
    http_port: int = Field(default=8004, ge=1, le=65535)
