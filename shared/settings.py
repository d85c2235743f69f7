"""Settings every BenSys service shares, validated once at start-up.

Each service subclasses :class:`ServiceSettings` to set its own name, port and database.
Secrets have development defaults so that ``make up`` works on a fresh machine, and those
defaults are refused outside development: a production deployment that forgot to set them
must not start.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "bensys-development-only-jwt-secret-change-me"  # noqa: S105 - refused in production
# 32 zero-ish bytes, base64: a placeholder that must never protect real people's data.
DEV_MASTER_KEY = base64.b64encode(b"bensys-dev-master-key-change-me!").decode()

DEFAULT_NEVER_COLLECTED = (
    "legal_status",
    "immigration_status",
    "migration_status",
    "residence_status",
    "residence_permit",
    "residency",
    "visa",
    "visa_status",
    "visa_type",
    "visa_number",
    "visa_expiry",
    "work_permit",
    "work_permit_number",
    "work_visa",
    "permit_status",
    "irregular",
    "irregular_status",
    "undocumented_status",
    "overstay",
    "overstayed",
    "deportation",
)

DEFAULT_SITES = ("Greater Malé", "Kaafu Atoll", "Kdh Atoll", "Seenu Atoll")
MIN_JWT_SECRET_CHARS = 32
"""An HS256 secret shorter than this can be guessed offline from one captured token."""


class ServiceSettings(BaseSettings):
    """What every service needs to reach its servers and protect its data."""

    model_config = SettingsConfigDict(env_prefix="BENSYS_", extra="ignore", frozen=True)

    service_name: str = Field(description="The producing service, e.g. 'registry'.")
    environment: Literal["development", "test", "production"] = "development"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_acks: Literal["all", 1, 0] = "all"
    # Tansu (the embedded broker) does not implement the idempotent producer.
    kafka_enable_idempotence: bool = False
    kafka_partitions: int = Field(default=3, ge=1)
    kafka_replication_factor: int = Field(
        default=1,
        ge=1,
        description="Copies of each topic the services create: 3 on a three-broker cluster "
        "with min.insync.replicas 2, so acks=all survives losing one broker.",
    )
    topic_namespace: str = Field(
        default="bensys",
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="First part of every topic name; tests use a unique one per test.",
    )

    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_database: str = ""
    mongo_write_concern: Literal["majority", "1"] = "1"
    mongo_journal: bool = Field(
        default=True,
        description="Acknowledge a write only once it is in the database's journal: a "
        "database killed right after a 201 must still have what the 201 promised.",
    )
    mongo_socket_timeout_seconds: float = Field(
        default=20,
        gt=0,
        description="How long one database operation may go unanswered on an open connection "
        "before the request is told 503: without it a black-holed link hangs requests forever.",
    )
    mongo_server_wait_seconds: float = Field(
        default=5,
        gt=0,
        description="How long a request waits for the database to answer before it is told "
        "503 and to retry (pymongo's own default is 30 s: too long for a person at a counter).",
    )
    vault_database: str = "bensys_vault"

    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_jwks_url: str | None = None
    master_key: str = Field(
        default=DEV_MASTER_KEY,
        description="Base64 of 32 bytes: wraps every person's data key.",
    )

    never_collected: tuple[str, ...] = DEFAULT_NEVER_COLLECTED
    sites: tuple[str, ...] = DEFAULT_SITES
    small_cell_threshold: int = Field(default=5, ge=1)

    relay_batch_size: int = Field(default=500, ge=1)
    relay_idle_seconds: float = Field(default=0.2, gt=0)
    relay_refill_grace_seconds: float = Field(
        default=10,
        ge=0,
        description="After a broker came back without its log, how long the relay leaves it "
        "empty before publishing everything again, so that every consumer starts over.",
    )
    startup_wait_seconds: float = Field(
        default=60, ge=0, description="How long a starting service waits for its servers."
    )
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    consumer_lag_interval_seconds: float = Field(
        default=10, gt=0, description="How often consumer lag is measured for /metrics."
    )

    lookup_rate_per_minute: int = Field(
        default=120,
        ge=1,
        description="Searches and lookups one token may make a minute, on average; more is "
        "answered 429 (enumeration).",
    )
    lookup_burst: int = Field(default=60, ge=1, description="Of those, how many at once.")

    log_level: str = "INFO"
    otlp_endpoint: str | None = None

    @field_validator("master_key")
    @classmethod
    def _master_key_is_32_bytes(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("master_key must be base64 (e.g. `openssl rand -base64 32`)") from exc
        if len(raw) != 32:
            raise ValueError(f"master_key must decode to 32 bytes, not {len(raw)}")
        return value

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> ServiceSettings:
        if self.environment != "production":
            return self
        problems = []
        if self.jwt_secret == DEV_JWT_SECRET and self.jwt_jwks_url is None:
            problems.append("BENSYS_JWT_SECRET is the development placeholder")
        if self.master_key == DEV_MASTER_KEY:
            problems.append("BENSYS_MASTER_KEY is the development placeholder")
        if self.jwt_jwks_url is None and len(self.jwt_secret) < MIN_JWT_SECRET_CHARS:
            problems.append(
                f"BENSYS_JWT_SECRET must be at least {MIN_JWT_SECRET_CHARS} characters "
                "(or set BENSYS_JWT_JWKS_URL for RS256)"
            )
        if self.kafka_acks != "all":
            problems.append("BENSYS_KAFKA_ACKS must be 'all' in production")
        if not self.kafka_enable_idempotence:
            problems.append(
                "BENSYS_KAFKA_ENABLE_IDEMPOTENCE must be true on a production Kafka "
                "(only the embedded Tansu broker lacks it)"
            )
        if self.mongo_write_concern != "majority":
            problems.append(
                "BENSYS_MONGO_WRITE_CONCERN must be 'majority' in production: an event "
                "acknowledged by one replica-set member can be lost when it fails"
            )
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def database(self) -> str:
        """The service's own database: one per service, never shared."""
        return self.mongo_database or f"bensys_{self.service_name}"

    @property
    def master_key_bytes(self) -> bytes:
        return base64.b64decode(self.master_key)

    def topic(self, producer: str) -> str:
        """The topic a producing service writes: ``<namespace>.<producer>.v1``."""
        return f"{self.topic_namespace}.{producer}.v1"
