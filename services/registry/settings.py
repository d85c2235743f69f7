from pydantic import Field

from shared.settings import ServiceSettings

DEFAULT_VULNERABILITIES = (
    "female_worker",
    "economic_hardship",
    "chronic_illness",
    "disability",
    "pregnant",
    "older_person",
    "unaccompanied_minor",
    "survivor_of_violence",
)


class RegistrySettings(ServiceSettings):
    service_name: str = "registry"
    http_port: int = Field(default=8001, ge=1, le=65535)
    vulnerabilities: tuple[str, ...] = DEFAULT_VULNERABILITIES
    default_phone_region: str = Field(default="MV", description="For numbers without +country.")
    duplicate_threshold: float = Field(default=0.5, ge=0, le=1)
