"""One settings object, built once in ``main()`` from defaults, the config file, environment and flags."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from common.errors import UsageError

DEFAULT_DB = "scooptrace.ducklake"


def _version() -> str:
    try:
        return metadata.version("scooptrace")
    except metadata.PackageNotFoundError:
        return "0+unknown"


USER_AGENT = f"scooptrace/{_version()} (+https://github.com/scooptrace/scooptrace; news-propagation research)"


@dataclass(frozen=True)
class FetchSettings:
    """How the crawler behaves on the network. Every value here can be set under ``[fetch]`` in the config."""

    user_agent: str = USER_AGENT
    # Whole-request deadline (connect + headers + body): a server trickling one byte a second is cut off.
    deadline_seconds: float = 30.0
    connect_timeout_seconds: float = 10.0
    # Cap on the *decompressed* body: a gzip bomb is stopped after this many bytes of output.
    max_body_bytes: int = 10 * 1024 * 1024
    per_host_concurrency: int = 2
    total_concurrency: int = 32
    # Open connections kept for reuse across hosts (per_host_concurrency x the hosts crawled at once).
    keepalive_connections: int = 512
    max_redirects: int = 5
    # Host names, IP addresses or CIDR blocks admitted although they resolve to private or loopback addresses.
    allow_hosts: tuple[str, ...] = ()
    respect_robots: bool = True
    # A robots.txt that answered 5xx or not at all keeps its site's pages out until asked again this much later.
    robots_retry_seconds: float = 300.0
    # A failing feed waits backoff_base * 2**(failures-1), at most backoff_max, before its next fetch.
    backoff_base_seconds: float = 300.0
    backoff_max_seconds: float = 24 * 3600.0
    # Retry-After longer than this is clamped, so a hostile header cannot park a feed for years.
    retry_after_max_seconds: float = 7 * 24 * 3600.0
    # A feed that answered fine is fetched again after its own rhythm, within these bounds (ingest.schedule).
    poll_min_seconds: float = 300.0
    poll_max_seconds: float = 6 * 3600.0
    # A failed article page is tried again after this long, three times longer each time (ingest.retry).
    page_retry_base_seconds: float = 600.0


@dataclass(frozen=True)
class AlertSettings:
    """How alerts are delivered. Every value can be set under ``[alerts]`` in the config; the secrets also
    from the environment (``SCOOPTRACE_WEBHOOK_SECRET``, ``SCOOPTRACE_SMTP_PASSWORD``), which wins."""

    smtp_host: str | None = None  # no host: e-mail alerts stay pending (and are listed) until one is set
    smtp_port: int = 587
    sender: str = "scooptrace@localhost"
    starttls: bool = True  # upgrade the SMTP session with STARTTLS (certificate verified) before login
    smtp_cafile: str | None = None  # CA bundle to verify the SMTP server with (default: the system's)
    username: str | None = None
    password: str | None = None
    # Webhook bodies are signed: X-Scooptrace-Signature: sha256=<HMAC-SHA256 hex of the body with this secret>.
    webhook_secret: str | None = None
    # Where the app is served, for links to the story in messages and the Atom feed (e.g. http://host:8501).
    app_url: str | None = None


@dataclass(frozen=True)
class Settings:
    # --db: a DuckLake catalog file (SQLite) or a postgresql:// URL. Kept as text: a URL is not a path.
    db: str = DEFAULT_DB
    # The Parquet data folder. Default for a file catalog: PATH.files beside it; required for PostgreSQL.
    data_path: str | None = None
    fetch: FetchSettings = field(default_factory=FetchSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # Worker processes for article extraction (0: one per core).
    workers: int = 0
    # Articles written per transaction: a run killed at any moment loses at most this batch.
    batch_size: int = 200
    # How long a second writer waits for the lock before giving up with exit status 75.
    lock_wait_seconds: float = 10.0

    @property
    def db_path(self) -> Path:
        """The catalog as a path (file catalogs); for a URL, the URL text itself."""
        return Path(self.db)

    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


def _coerce(cls: type, section: dict[str, Any], where: str) -> dict[str, Any]:
    known = {f.name: f for f in fields(cls)}
    out: dict[str, Any] = {}
    for key, value in section.items():
        if key not in known or key in ("fetch", "alerts"):
            raise UsageError(f"{where}: unknown setting {key!r}")
        if key == "allow_hosts":
            value = tuple(value)
        out[key] = value
    return out


def load_settings(
    *,
    db: str | None = None,
    config: str | None = None,
    allow_hosts: tuple[str, ...] = (),
    workers: int | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Defaults < config file (``--config``, ``$SCOOPTRACE_CONFIG``) < environment < flags."""
    env = dict(os.environ) if env is None else env
    settings = Settings()
    config_path = config or env.get("SCOOPTRACE_CONFIG")
    if config_path:
        try:
            data = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"{config_path}: cannot read config file: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{config_path}: invalid TOML: {exc}") from exc
        fetch_section = data.pop("fetch", {})
        alerts_section = data.pop("alerts", {})
        settings = replace(settings, **_coerce(Settings, data, config_path))
        fetch = replace(settings.fetch, **_coerce(FetchSettings, fetch_section, f"{config_path} [fetch]"))
        alerts = replace(settings.alerts, **_coerce(AlertSettings, alerts_section, f"{config_path} [alerts]"))
        settings = replace(settings, fetch=fetch, alerts=alerts)
    settings = replace(settings, db=db or env.get("SCOOPTRACE_DB") or settings.db)
    if env.get("SCOOPTRACE_DATA_PATH"):
        settings = replace(settings, data_path=env["SCOOPTRACE_DATA_PATH"])
    secrets: dict[str, Any] = {
        "webhook_secret": env.get("SCOOPTRACE_WEBHOOK_SECRET"),
        "password": env.get("SCOOPTRACE_SMTP_PASSWORD"),
    }
    if any(secrets.values()):
        settings = replace(
            settings, alerts=replace(settings.alerts, **{k: v for k, v in secrets.items() if v})
        )
    if allow_hosts:
        fetch = replace(settings.fetch, allow_hosts=settings.fetch.allow_hosts + tuple(allow_hosts))
        settings = replace(settings, fetch=fetch)
    if workers is not None:
        settings = replace(settings, workers=workers)
    return settings
