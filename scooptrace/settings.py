"""One settings object, built once in ``main()`` from defaults, the config file, environment and flags."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from scooptrace import __version__
from scooptrace.errors import UsageError

DEFAULT_DB = "scooptrace.duckdb"
USER_AGENT = (
    f"scooptrace/{__version__} (+https://github.com/scooptrace/scooptrace; news-propagation research)"
)


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
class Settings:
    db_path: Path = Path(DEFAULT_DB)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    # Worker processes for article extraction (0: one per core).
    workers: int = 0
    # Articles written per transaction: a run killed at any moment loses at most this batch.
    batch_size: int = 200
    # How long a second writer waits for the lock before giving up with exit status 75.
    lock_wait_seconds: float = 10.0
    # Publish the readers' copy after this many seconds of work even mid-run (0: only at the end).
    publish_every_seconds: float = 60.0

    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


def _coerce(cls: type, section: dict[str, Any], where: str) -> dict[str, Any]:
    known = {f.name: f for f in fields(cls)}
    out: dict[str, Any] = {}
    for key, value in section.items():
        if key not in known or key == "fetch":
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
        settings = replace(settings, **_coerce(Settings, data, config_path))
        fetch = replace(settings.fetch, **_coerce(FetchSettings, fetch_section, f"{config_path} [fetch]"))
        settings = replace(settings, fetch=fetch)
    db_path = db or env.get("SCOOPTRACE_DB") or str(settings.db_path)
    settings = replace(settings, db_path=Path(db_path))
    if allow_hosts:
        fetch = replace(settings.fetch, allow_hosts=settings.fetch.allow_hosts + tuple(allow_hosts))
        settings = replace(settings, fetch=fetch)
    if workers is not None:
        settings = replace(settings, workers=workers)
    return settings
