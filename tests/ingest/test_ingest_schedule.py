"""The pure schedules: adaptive feed polling and page retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest import retry, schedule
from ingest.schedule import PollParams

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
PARAMS = PollParams()


def every(gap: timedelta, count: int, last: datetime = NOW - timedelta(minutes=1)) -> list[datetime]:
    return [last - gap * i for i in range(count)]


@pytest.mark.parametrize(
    ("gap", "expected"),
    [
        (timedelta(minutes=4), PARAMS.min_seconds),  # faster than the minimum allows
        (timedelta(hours=2), 3600.0),  # half the median gap
        (timedelta(days=1), PARAMS.max_seconds),  # slower than the maximum allows
    ],
)
def test_interval_follows_the_publishing_rhythm(gap: timedelta, expected: float) -> None:
    times = every(gap, 10, last=NOW - timedelta(hours=3))  # no burst: nothing in the last hour
    assert schedule.poll_interval_seconds(times, NOW, None) == expected


def test_unknown_rhythm_and_future_entries() -> None:
    assert schedule.poll_interval_seconds([], NOW, None) == PARAMS.unknown_rhythm_seconds
    one = [NOW - timedelta(hours=5)]
    assert schedule.poll_interval_seconds(one, NOW, None) == PARAMS.unknown_rhythm_seconds
    future = [NOW + timedelta(hours=i) for i in range(1, 5)]  # claims from the future say nothing
    assert schedule.poll_interval_seconds(future, NOW, None) == PARAMS.unknown_rhythm_seconds


def test_breaking_burst_polls_at_the_minimum() -> None:
    slow = every(timedelta(hours=12), 10, last=NOW - timedelta(hours=7))
    burst = [NOW - timedelta(minutes=m) for m in (5, 20, 40)]
    assert schedule.poll_interval_seconds(slow, NOW, None) == PARAMS.max_seconds
    assert schedule.poll_interval_seconds(slow + burst, NOW, None) == PARAMS.min_seconds
    assert schedule.poll_interval_seconds(slow + burst[:2], NOW, None) > PARAMS.min_seconds


def test_cache_hints_are_a_floor_within_the_bounds() -> None:
    fast = every(timedelta(minutes=10), 10, last=NOW - timedelta(hours=2))
    assert schedule.poll_interval_seconds(fast, NOW, 3600.0) == 3600.0
    assert schedule.poll_interval_seconds(fast, NOW, 60.0) == PARAMS.min_seconds  # never below the min
    assert schedule.poll_interval_seconds(fast, NOW, 10 * 86400.0) == PARAMS.max_seconds
    slow = every(timedelta(hours=4), 10, last=NOW - timedelta(hours=5))
    assert schedule.poll_interval_seconds(slow, NOW, 600.0) == 7200.0  # a small hint never speeds up


def test_cache_floor_from_headers_and_ttl() -> None:
    floor = schedule.cache_floor_seconds
    assert floor({"cache-control": "public, max-age=900"}, None, NOW) == 900.0
    assert floor({"cache-control": "s-maxage=120, no-transform"}, 30, NOW) == 1800.0  # ttl 30 min wins
    expires = {"expires": "Wed, 02 Dec 2026 13:00:00 GMT", "date": "Wed, 02 Dec 2026 12:30:00 GMT"}
    assert floor(expires, None, NOW) == 1800.0
    assert floor({"expires": "Wed, 02 Dec 2026 13:00:00 GMT"}, None, NOW) == 3600.0  # no Date: now
    assert floor({"expires": "0"}, None, NOW) is None  # invalid date: no hint
    assert floor({"cache-control": "no-cache"}, None, NOW) is None
    assert floor({}, None, NOW) is None


def test_next_poll_is_now_plus_interval() -> None:
    params = PollParams(min_seconds=0.0, max_seconds=0.0)
    assert schedule.next_poll(every(timedelta(hours=1), 5), NOW, 3600.0, params) == NOW
    assert schedule.next_poll([], NOW, None) == NOW + timedelta(minutes=30)


def test_stale_when_silent_far_beyond_its_rhythm() -> None:
    hourly_then_silent = every(timedelta(hours=1), 20, last=NOW - timedelta(days=3))
    assert schedule.is_stale(hourly_then_silent, NOW)
    recently_silent = every(timedelta(hours=1), 20, last=NOW - timedelta(days=1))
    assert not schedule.is_stale(recently_silent, NOW)  # 24 gaps, but not yet 2 days
    weekly = every(timedelta(days=7), 10, last=NOW - timedelta(days=10))
    assert not schedule.is_stale(weekly, NOW)  # a weekly column 10 days quiet is within its rhythm
    weekly_gone = every(timedelta(days=7), 10, last=NOW - timedelta(days=30))
    assert schedule.is_stale(weekly_gone, NOW)
    assert not schedule.is_stale([NOW - timedelta(days=90)], NOW)  # one entry: no rhythm to judge by


def test_page_failure_kinds() -> None:
    assert retry.failure_kind(503, "", retryable=False) == retry.TRANSIENT
    assert retry.failure_kind(500, "", retryable=False) == retry.TRANSIENT
    assert retry.failure_kind(429, "", retryable=False) == retry.TRANSIENT
    assert retry.failure_kind(404, "", retryable=True) == retry.MISSING
    assert retry.failure_kind(410, "", retryable=True) == retry.MISSING
    assert retry.failure_kind(None, "ReadError", retryable=True) == retry.TRANSIENT
    assert retry.failure_kind(None, "too large", retryable=False) == retry.PERMANENT


def test_page_retry_backs_off_and_gives_up() -> None:
    params = retry.PageRetryParams()
    waits = [retry.next_attempt(retry.TRANSIENT, n, NOW, params) for n in range(1, 8)]
    assert [w - NOW for w in waits if w] == [
        timedelta(minutes=10), timedelta(minutes=30), timedelta(minutes=90), timedelta(minutes=270),
        timedelta(minutes=810),
    ]  # fmt: skip
    assert waits[5:] == [None, None]  # 6 tries in all
    missing = [retry.next_attempt(retry.MISSING, n, NOW, params) for n in range(1, 4)]
    assert missing[0] is not None and missing[1] is not None and missing[2] is None
    assert retry.next_attempt(retry.PERMANENT, 1, NOW, params) is None
    capped = retry.PageRetryParams(base_seconds=3600.0, factor=10.0, max_seconds=7200.0, transient_attempts=9)
    assert retry.next_attempt(retry.TRANSIENT, 4, NOW, capped) == NOW + timedelta(hours=2)
