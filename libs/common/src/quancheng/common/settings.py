"""Settings of the whole platform, read from the environment (prefix ``QUANCHENG_``).

Nested settings use ``__`` as delimiter, e.g. ``QUANCHENG_IDENTITY__AUDIENCE=quancheng``.
Every service reads the same settings object and picks what concerns it.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, HttpUrl, SecretStr, field_validator, model_validator
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
    MINIO = "minio"


class BusKind(StrEnum):
    INPROCESS = "inprocess"
    KAFKA = "kafka"


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


class MinioSettings(BaseModel):
    endpoint: str = "127.0.0.1:9000"  # host:port, no scheme
    access_key: str = ""
    secret_key: SecretStr = SecretStr("")
    secure: bool = False  # https
    region: str = "us-east-1"
    # Created with Object Lock and a default COMPLIANCE retention if missing.
    bucket: str = "quancheng-originals"


class ObjectStoreSettings(BaseModel):
    kind: ObjectStoreKind = ObjectStoreKind.LOCAL
    # Local adapter: where the objects live (default: <data dir>/objects).
    root: Path | None = None
    minio: MinioSettings = Field(default_factory=MinioSettings)
    # Default retention of originals; audio-visual records are kept at least 3 years (B-8, D-15).
    default_retention_days: int = Field(default=3 * 366, ge=3 * 365)


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:9092"  # comma-separated host:port list
    client_id: str = "quancheng"
    # Topics are created on first use with these; existing topics are left as they are.
    partitions: int = Field(default=3, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    # Messages that break their contract go here, with the reason in a header.
    dead_letter_topic: str = "quancheng.dead-letter"


class BusSettings(BaseModel):
    kind: BusKind = BusKind.INPROCESS
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    # How often each service's outbox relay looks for undelivered events when not woken by a commit.
    relay_interval_seconds: float = Field(default=2.0, gt=0)
    # A delivery that fails this many times in a row (for a reason other than an outage) goes to
    # the consumer's dead letters, so that the events behind it move on.
    max_delivery_attempts: int = Field(default=5, ge=1, le=100)


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
    # Upload tokens of devices and docking stations are short-lived (A-6a: revocable).
    device_token_ttl_seconds: int = Field(default=900, ge=60, le=24 * 3600)
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


class IngestSettings(BaseModel):
    """Uploads (tus) and what ingest checks at the end of one."""

    max_upload_gib: int = Field(default=200, ge=1, description="largest upload accepted")
    # An unfinished upload untouched for this long expires; its bytes are cleaned up.
    upload_expiry_hours: int = Field(default=72, ge=1, le=30 * 24)
    expiry_sweep_seconds: int = Field(default=300, ge=1)
    # Bytes that arrive are stored as parts of at least this size (S3's minimum is 5 MiB);
    # a shorter remainder waits in the database with the upload's state.
    min_part_mib: int = Field(default=5, ge=5, le=512)
    max_part_mib: int = Field(default=64, ge=5, le=5 * 1024)
    # A-11 / D-14a: recordings are uploaded within this many hours after the work ended.
    deadline_hours: int = Field(default=24, ge=1)
    # The last bytes are answered once they are in and hashed; storing the original (on disk,
    # write-once, recorded) follows in the background. A receipt asked for meanwhile waits up
    # to this long for it, then says "finishing" (not yet safe to wipe).
    receipt_wait_seconds: int = Field(default=30, ge=0, le=600)
    # E-5: scans (JPEG, PNG, TIFF) below this resolution, or stating none, are flagged; with
    # reject_low_resolution_scans they are refused instead (nothing is stored).
    min_scan_ppi: int = Field(default=180, ge=1)
    reject_low_resolution_scans: bool = False
    # SM3 (the national standard hash) of every file, alongside SHA-256 in the same pass. Needs
    # the quancheng-sm3 extension (pip install 'quancheng-ingest[sm3]'; built with Rust).
    sm3: bool = False


class CatalogSettings(BaseModel):
    """What the compliance checks tolerate; what archive exports say."""

    # D-10a: consecutive segments of one device further apart than this are an interruption,
    # which needs an explanation; nearer is the device splitting its files. Also the slack
    # for a recording's start after its activity ended (D-10b) and for its coverage.
    segment_gap_seconds: int = Field(default=10, ge=0, le=3600)
    # Archive exports (E-17): who they come from, and the zone their dates are written in.
    bureau_name: str = Field(default="应急管理局", min_length=1, max_length=100)
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from exc
        return value


class GatewaySettings(BaseModel):
    """What the gateway serves besides the API."""

    # The web console's build (``vite build`` of console/): relative to the working directory,
    # which is the repository's root under ``make run``; the images set their own.
    console_dir: Path = Path("console/dist")
    # An access grant (调阅) always ends: a request may ask for at most this many days. Grants
    # whose period began or ended are moved this often (and whenever one is read).
    max_grant_days: int = Field(default=30, ge=1, le=366)
    grant_sweep_seconds: float = Field(default=60, gt=0, le=3600)
    # Documents kept with an access request (licences, letters, the signed hand-over).
    max_document_mib: int = Field(default=20, ge=1, le=1024)
    # A playback ticket lasts at most this long, and ends sooner when unused for the idle time.
    ticket_minutes: int = Field(default=240, ge=1, le=24 * 60)
    ticket_idle_minutes: int = Field(default=15, ge=1, le=24 * 60)


class LimitSettings(BaseModel):
    """How large and how slow a request body may be, in every service (the gateway first)."""

    # JSON and form bodies; tus uploads and the spreadsheet import are bounded by their routes.
    max_body_kib: int = Field(default=1024, ge=1, le=1024 * 1024)
    # A body that stops arriving for this long (a Content-Length larger than what is sent, a
    # stalled client) is answered 408 and its request ended. Between pieces, not for the whole.
    body_timeout_seconds: float = Field(default=60, gt=0, le=3600)


class TelemetrySettings(BaseModel):
    json_logs: bool = True
    log_level: str = "INFO"
    # Also print spans on the console (for development). Export over OTLP is configured by the
    # standard OTEL_EXPORTER_OTLP_* variables, not here.
    console_spans: bool = False


ENV_PREFIX = "QUANCHENG_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    mode: Mode = Mode.EMBEDDED
    data_dir: Path = Path("./var")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    object_store: ObjectStoreSettings = Field(default_factory=ObjectStoreSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    services: ServiceUrls = Field(default_factory=ServiceUrls)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    @model_validator(mode="after")
    def _no_unknown_variables(self) -> Settings:
        """A mistyped variable would otherwise be ignored silently and a default used instead."""
        known = env_names()
        unknown = sorted(
            name
            for name in os.environ
            if name.startswith(ENV_PREFIX) and name not in known and name not in _MODEL_ENV_NAMES
        )
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, known, n=1)
                hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
            raise ValueError(f"unknown settings in the environment: {', '.join(hints)}")
        return self

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


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings model of a field (also when optional); None for a plain value or a list."""
    candidates = [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        candidates = list(typing.get_args(annotation))
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _names(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, bool]]:
    """(variable name, whether it names a whole nested model) for every setting."""
    for name, field in model.model_fields.items():
        env = f"{prefix}{name.upper()}"
        nested = _model_of(field.annotation)
        yield env, nested is not None
        if nested is not None:
            yield from _names(nested, f"{env}__")


def env_names() -> frozenset[str]:
    """Every environment variable that sets one value, e.g. ``QUANCHENG_DATABASE__INGEST``."""
    return frozenset(name for name, whole in _names(Settings, ENV_PREFIX) if not whole)


# A whole nested model may also be given as JSON, e.g. QUANCHENG_IDENTITY='{"audience": "x"}'.
_MODEL_ENV_NAMES = frozenset(name for name, whole in _names(Settings, ENV_PREFIX) if whole)
