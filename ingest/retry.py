"""When a failed article page is tried again (pure): transient failures back off, missing pages give up soon.

A page that failed once (a 500, a reset, a deadline, a flaky 404) is not lost: its article keeps the feed
entry's title, summary and date, and the page is fetched again when due, until it works or the tries run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

TRANSIENT = "transient"  # 5xx, 429, 408, connection errors, deadlines, robots.txt unreachable
MISSING = "missing"  # 404, 410 and other 4xx: maybe a flaky server, so a few more tries
PERMANENT = "permanent"  # not HTML, too large, forbidden address, extractor crash: no point trying again
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class PageRetryParams:
    """Every threshold of the page retry schedule."""

    base_seconds: float = 600.0  # the first retry waits 10 minutes ...
    factor: float = 3.0  # ... each later one three times longer ...
    max_seconds: float = 24 * 3600.0  # ... at most a day
    transient_attempts: int = 6  # a transient failure is given up after 6 tries (about 1.5 days)
    missing_attempts: int = 3  # a 404/410 is tried 3 times: a flaky 404 heals, a real one stops soon


DEFAULT_PAGE_RETRY = PageRetryParams()


def failure_kind(status: int | None, error: str, retryable: bool) -> str:
    """Classify one page failure. ``retryable`` is the fetcher's own view of an error without a status."""
    if status is not None and status >= 400:
        if status in TRANSIENT_STATUSES or status >= 500:
            return TRANSIENT
        return MISSING
    return TRANSIENT if retryable else PERMANENT


def next_attempt(
    kind: str, attempts: int, now: datetime, params: PageRetryParams = DEFAULT_PAGE_RETRY
) -> datetime | None:
    """When to try again after ``attempts`` tries in all (this one included); None: give up."""
    limit = {TRANSIENT: params.transient_attempts, MISSING: params.missing_attempts}.get(kind, 0)
    if attempts >= limit:
        return None
    wait = min(params.base_seconds * params.factor ** max(0, attempts - 1), params.max_seconds)
    return now + timedelta(seconds=wait)
