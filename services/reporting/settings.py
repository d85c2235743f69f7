from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = Field(default=8005, ge=1, le=65535)
    report_timezone: str = Field(
        default="Indian/Maldives",
        description="The programme's calendar: which day an event belongs to in reports.",
    )

    report_programme: str = Field(
        default="Maldivian Red Crescent: Migrant Support Programme",
        min_length=1,
        max_length=120,
        description="The heading of a printed report.",
    )

    partners_dir: Path | None = Field(
        default=None,
        description="A folder of <partner id>.toml subscriptions: who gets the partner feed "
        "(bensys.partner.v1) and which events. None: no feed is published.",
    )

    @field_validator("report_timezone")
    @classmethod
    def known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"BENSYS_REPORT_TIMEZONE={name!r} is not an IANA time zone, e.g. Indian/Maldives"
            ) from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.report_timezone)
