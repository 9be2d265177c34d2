"""Settings of the whole platform, read from the environment (prefix ``QUANCHENG_``).

Nested settings use ``__`` as delimiter, e.g. ``QUANCHENG_IDENTITY__AUDIENCE=quancheng``.
Every service reads the same settings object and picks what concerns it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, HttpUrl
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = (
    "device-registry",
    "ingest",
    "catalog",
    "access-gateway",
    "retention",
)


class Mode(StrEnum):
    EMBEDDED = "embedded"
    DISTRIBUTED = "distributed"


class ObjectStoreKind(StrEnum):
    LOCAL = "local"


class BusKind(StrEnum):
    INPROCESS = "inprocess"


class DatabaseSettings(BaseModel):
    """One database per service. An empty URL means a SQLite file under the data dir."""

    device_registry: str = ""
    ingest: str = ""
    catalog: str = ""
    access_gateway: str = ""
    retention: str = ""
    pool_size: int = Field(default=10, ge=1)
    echo: bool = False

    def url_for(self, service: str) -> str:
        url: str = getattr(self, service.replace("-", "_"), "")
        return url


class ObjectStoreSettings(BaseModel):
    kind: ObjectStoreKind = ObjectStoreKind.LOCAL
    # Local adapter: where the objects live (default: <data dir>/objects).
    root: Path | None = None
    # Default retention of originals; audio-visual records are kept at least 3 years (B-8, D-15).
    default_retention_days: int = Field(default=3 * 366, ge=3 * 365)


class BusSettings(BaseModel):
    kind: BusKind = BusKind.INPROCESS
    # How often each service's outbox relay looks for undelivered events when not woken by a commit.
    relay_interval_seconds: float = Field(default=2.0, gt=0)


class ExternalIssuer(BaseModel):
    """An identity provider whose RS256 tokens are accepted (e.g. the district platform's IdP)."""

    issuer: str
    jwks_url: HttpUrl
    audience: str | None = None  # defaults to the platform's audience


class IdentitySettings(BaseModel):
    builtin_enabled: bool = True
    issuer: str = "quancheng"
    audience: str = "quancheng"
    default_token_ttl_seconds: int = Field(default=3600, gt=0, le=7 * 24 * 3600)
    external_issuers: list[ExternalIssuer] = Field(default_factory=list)
    jwks_cache_seconds: int = Field(default=300, ge=0)
    leeway_seconds: int = Field(default=30, ge=0, le=300)


class ServiceUrls(BaseModel):
    """Where the gateway reaches the other services in distributed mode."""

    device_registry: HttpUrl | None = None
    ingest: HttpUrl | None = None
    catalog: HttpUrl | None = None
    retention: HttpUrl | None = None

    def url_for(self, service: str) -> HttpUrl | None:
        url: HttpUrl | None = getattr(self, service.replace("-", "_"))
        return url


class TelemetrySettings(BaseModel):
    json_logs: bool = True
    log_level: str = "INFO"
    # Export spans to the console log (useful for development); production wires an OTLP exporter.
    console_spans: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QUANCHENG_", env_nested_delimiter="__", extra="forbid"
    )

    mode: Mode = Mode.EMBEDDED
    data_dir: Path = Path("./var")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    object_store: ObjectStoreSettings = Field(default_factory=ObjectStoreSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    services: ServiceUrls = Field(default_factory=ServiceUrls)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    def database_url(self, service: str) -> str:
        """The service's database URL (SQLAlchemy form, without an async driver)."""
        url = self.database.url_for(service)
        if url:
            return url
        return f"sqlite:///{(self.data_dir / 'db' / f'{service}.sqlite3').resolve()}"

    @property
    def objects_root(self) -> Path:
        return (self.object_store.root or self.data_dir / "objects").resolve()

    @property
    def identity_dir(self) -> Path:
        return (self.data_dir / "identity").resolve()
