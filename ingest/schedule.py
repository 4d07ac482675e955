"""Adaptive polling (pure): when to fetch a feed next, from its own publishing rhythm and its cache hints.

A feed that publishes every ten minutes is polled every five; one that publishes twice a day is polled every
few hours; a feed in a breaking burst (several new entries within the hour) is polled at the minimum. The
server's own hints (``Cache-Control: max-age``, ``Expires``, RSS ``<ttl>``) are a floor: never polled sooner
than it asks, and never sooner than the minimum. Failures back off separately (``ingest.run``).
"""

from __future__ import annotations

import email.utils
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median

MAX_AGE = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class PollParams:
    """Every threshold of the polling schedule, in seconds unless named otherwise."""

    min_seconds: float = 300.0  # never poll one feed more often than every 5 minutes
    max_seconds: float = 6 * 3600.0  # never leave a feed unpolled for more than 6 hours
    unknown_rhythm_seconds: float = 1800.0  # fewer than 2 dated entries: every 30 minutes until one shows
    rhythm_entries: int = 20  # the rhythm is the median gap between this many most recent entries
    gap_fraction: float = 0.5  # poll at half the median gap: a new entry waits half a gap at most, on average
    burst_window_seconds: float = 3600.0  # a burst: at least burst_entries entries within this window ...
    burst_entries: int = 3  # ... counted back from now; the feed is then polled at the minimum
    stale_gap_factor: float = 4.0  # stale: silent for more than 4 times its median gap ...
    stale_min_seconds: float = 2 * 86400.0  # ... and for more than 2 days (a weekly column is not stale)


DEFAULT_POLL = PollParams()


def recent_times(times: Sequence[datetime], now: datetime, limit: int) -> list[datetime]:
    """The ``limit`` latest entry times no later than ``now``, oldest first."""
    past = sorted(t for t in times if t <= now)
    return past[-limit:] if limit > 0 else []


def median_gap_seconds(times: Sequence[datetime]) -> float | None:
    """The median gap between consecutive entry times (sorted); None with fewer than two distinct times."""
    ordered = sorted(set(times))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    return median(gaps) if gaps else None


def cache_floor_seconds(headers: Mapping[str, str], ttl_minutes: int | None, now: datetime) -> float | None:
    """How long the server asks us to wait: the largest of max-age, Expires and RSS <ttl> (None: no hint).
    ``no-cache``/``no-store`` mean revalidate every time, never "poll more often than the schedule"."""
    hints: list[float] = []
    control = headers.get("cache-control", "")
    match = MAX_AGE.search(control)
    if match:
        hints.append(float(match.group(2)))
    elif headers.get("expires"):
        expires = _http_date(headers["expires"])
        date = _http_date(headers.get("date", "")) or now
        if expires is not None:
            hints.append(max(0.0, (expires - date).total_seconds()))
    if ttl_minutes is not None and ttl_minutes > 0:
        hints.append(ttl_minutes * 60.0)
    return max(hints) if hints else None


def _http_date(value: str) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def in_burst(times: Sequence[datetime], now: datetime, params: PollParams = DEFAULT_POLL) -> bool:
    window_start = now - timedelta(seconds=params.burst_window_seconds)
    return sum(1 for t in times if window_start <= t <= now) >= params.burst_entries


def poll_interval_seconds(
    times: Sequence[datetime], now: datetime, floor: float | None, params: PollParams = DEFAULT_POLL
) -> float:
    """Seconds until the next fetch of a feed that answered fine."""
    recent = recent_times(times, now, params.rhythm_entries)
    gap = median_gap_seconds(recent)
    if in_burst(recent, now, params):
        interval = params.min_seconds
    elif gap is None:
        interval = params.unknown_rhythm_seconds
    else:
        interval = gap * params.gap_fraction
    if floor is not None:
        interval = max(interval, floor)
    return min(max(interval, params.min_seconds), params.max_seconds)


def next_poll(
    times: Sequence[datetime], now: datetime, floor: float | None, params: PollParams = DEFAULT_POLL
) -> datetime:
    return now + timedelta(seconds=poll_interval_seconds(times, now, floor, params))


def is_stale(times: Sequence[datetime], now: datetime, params: PollParams = DEFAULT_POLL) -> bool:
    """True when the feed has gone quiet far beyond its own rhythm (needs a rhythm to judge by)."""
    recent = recent_times(times, now, params.rhythm_entries)
    gap = median_gap_seconds(recent)
    if gap is None:
        return False
    silent = (now - recent[-1]).total_seconds()
    return silent > params.stale_gap_factor * gap and silent > params.stale_min_seconds
