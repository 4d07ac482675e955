"""common.timeclaims: parsing, zone knowledge, outlet zones and reconciliation (pure functions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from common.timeclaims import (
    BOUND,
    DATE_ONLY,
    DAY,
    FEED,
    FIRST_SEEN,
    MINUTE,
    NAIVE,
    PAGE,
    SECOND,
    ZONED,
    OutletZone,
    feed_gives_days,
    learn_outlet_zone,
    parse_time_claim,
    reconcile,
)

FIRST_SEEN_AT = datetime(2024, 7, 10, 12, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "kind", "precision", "instant"),
    [
        ("2024-07-09T14:05:09+02:00", ZONED, SECOND, utc(2024, 7, 9, 12, 5, 9)),
        ("2024-07-09T14:05:09.123Z", ZONED, SECOND, utc(2024, 7, 9, 14, 5, 9)),
        ("2024-07-09T14:05+0530", ZONED, MINUTE, utc(2024, 7, 9, 8, 35)),
        ("2024-07-09 14:05:09 +02", ZONED, SECOND, utc(2024, 7, 9, 12, 5, 9)),
        ("2024-07-09 14:05:09 UTC", ZONED, SECOND, utc(2024, 7, 9, 14, 5, 9)),
        ("Tue, 09 Jul 2024 14:05:09 GMT", ZONED, SECOND, utc(2024, 7, 9, 14, 5, 9)),
        ("Tue, 09 Jul 2024 14:05:09 +0200", ZONED, SECOND, utc(2024, 7, 9, 12, 5, 9)),
        ("Tue, 09 Jul 2024 14:05:09 CEST", ZONED, SECOND, utc(2024, 7, 9, 12, 5, 9)),
        ("Tue, 09 Jul 2024 14:05:09 EDT", ZONED, SECOND, utc(2024, 7, 9, 18, 5, 9)),
        ("Tue, 09 Jan 2024 14:05:09 MEZ", ZONED, SECOND, utc(2024, 1, 9, 13, 5, 9)),
        ("2014-12-16 11:45:18 EST", ZONED, SECOND, utc(2014, 12, 16, 16, 45, 18)),
        ("July 9, 2024 2:05 PM EDT", ZONED, MINUTE, utc(2024, 7, 9, 18, 5)),
        ("2024-07-09T14:05:09", NAIVE, SECOND, None),
        ("Thursday, December 11, 2014,  1:40 PM", NAIVE, MINUTE, None),
        ("2024-07-09", DATE_ONLY, DAY, None),
        ("20141120", DATE_ONLY, DAY, None),
        ("2024-07-09T00:00:00", DATE_ONLY, DAY, None),  # a naive midnight is how a bare day is written
    ],
)
def test_parse_kinds_precisions_and_instants(
    raw: str, kind: str, precision: str, instant: datetime | None
) -> None:
    claim = parse_time_claim(raw, "meta")
    assert claim is not None
    assert (claim.kind, claim.precision, claim.instant) == (kind, precision, instant)


@pytest.mark.parametrize(
    "raw", ["Tue, 09 Jul 2024 14:05:09 IST", "Tue, 09 Jul 2024 14:05:09 AST", "2024-07-09 14:05 XYZT"]
)
def test_ambiguous_or_unknown_zone_names_make_a_naive_claim_with_a_note(raw: str) -> None:
    claim = parse_time_claim(raw, "feed")
    assert claim is not None and claim.kind == NAIVE and claim.instant is None
    assert claim.wall == datetime(2024, 7, 9, 14, 5, 9) or claim.wall == datetime(2024, 7, 9, 14, 5)
    assert claim.note is not None and "ambiguous or unknown" in claim.note


def test_minus_zero_zone_means_unknown() -> None:
    claim = parse_time_claim("Tue, 09 Jul 2024 14:05:09 -0000", "feed")
    assert claim is not None and claim.kind == NAIVE
    assert claim.note is not None and "-0000" in claim.note


@pytest.mark.parametrize("raw", [None, "", "   ", "not a date", "1970-01-01T00:00:00Z", "3024-01-01"])
def test_non_dates_and_absurd_years_are_not_claims(raw: str | None) -> None:
    assert parse_time_claim(raw, "meta") is None


def test_intervals() -> None:
    zoned = parse_time_claim("2024-07-09T14:05:09+02:00", "meta")
    naive = parse_time_claim("2024-07-09T14:05:09", "meta")
    day = parse_time_claim("2024-07-09", "meta")
    assert zoned is not None and naive is not None and day is not None
    assert zoned.interval() == (utc(2024, 7, 9, 12, 5, 9), utc(2024, 7, 9, 12, 5, 9))
    # a wall-clock time anywhere from UTC+14 to UTC-12
    assert naive.interval() == (utc(2024, 7, 9, 0, 5, 9), utc(2024, 7, 10, 2, 5, 9))
    # a local day anywhere on Earth: 50 hours
    start, end = day.interval()
    assert (start, end - start) == (utc(2024, 7, 8, 10), timedelta(hours=50))


def test_feed_gives_days_only_when_every_dated_item_is_at_utc_midnight() -> None:
    assert feed_gives_days(["Tue, 09 Jul 2024 00:00:00 +0000", "Mon, 08 Jul 2024 00:00:00 GMT", None])
    assert not feed_gives_days(["Tue, 09 Jul 2024 00:00:00 +0000", "Mon, 08 Jul 2024 13:12:00 +0000"])
    assert not feed_gives_days(["Tue, 09 Jul 2024 00:00:00 +0200"])
    assert not feed_gives_days([None, "2024-07-09"])


# -- outlet zones ---------------------------------------------------------------------------------------


def claims(*raws: str) -> list:
    return [parse_time_claim(raw, "meta") for raw in raws]


def test_learn_outlet_zone_is_daylight_saving_correct() -> None:
    zone = learn_outlet_zone(claims("2024-07-09T14:05:00+02:00", "2024-01-15T09:00:00+01:00"))
    assert zone is not None and zone.name == "Europe/Paris"
    assert (
        "Europe/Berlin" in zone.candidates and "Africa/Lagos" not in zone.candidates
    )  # Lagos has no summer time
    assert zone.localize(datetime(2024, 3, 1, 12, 0)) == utc(2024, 3, 1, 11, 0)  # winter: +01:00
    assert zone.localize(datetime(2024, 8, 1, 12, 0)) == utc(2024, 8, 1, 10, 0)  # summer: +02:00
    assert zone.localize(datetime(2024, 3, 31, 2, 30)) is None  # the skipped hour
    assert zone.localize(datetime(2024, 10, 27, 2, 30)) is None  # the repeated hour


def test_learn_outlet_zone_ignores_utc_and_rejects_impossible_offsets() -> None:
    assert learn_outlet_zone(claims("2024-07-09T14:05:00Z", "2024-07-09T14:05:00+00:00")) is None
    assert learn_outlet_zone(claims("2024-07-09T14:05:00+02:00", "2024-07-10T14:05:00-05:00")) is None


def test_candidate_zones_that_disagree_leave_a_naive_time_unread() -> None:
    # One summer claim at +02:00 fits Paris (+01:00 in winter) and Johannesburg (+02:00 all year): winter is unknown.
    zone = OutletZone("Europe/Paris", ("Europe/Paris", "Africa/Johannesburg"), 1)
    assert zone.localize(datetime(2024, 1, 9, 12, 0)) is None
    assert zone.localize(datetime(2024, 7, 9, 12, 0)) == utc(2024, 7, 9, 10, 0)


# -- reconciliation -------------------------------------------------------------------------------------


def test_zoned_page_claim_wins_and_others_are_kept() -> None:
    page = claims("2024-07-09T14:05:09", "2024-07-09T14:05:09+02:00")
    feed = parse_time_claim("Tue, 09 Jul 2024 13:00:00 +0000", FEED)
    result = reconcile(page, feed, FIRST_SEEN_AT)
    assert (result.published_at, result.source, result.precision) == (utc(2024, 7, 9, 12, 5, 9), PAGE, SECOND)
    assert result.earliest == result.latest == result.published_at
    assert len(result.claims) == 3


def test_naive_page_claim_never_beats_a_zoned_feed_claim() -> None:
    page = claims("2024-07-09T14:05:09")
    feed = parse_time_claim("Tue, 09 Jul 2024 12:05:09 +0000", FEED)
    result = reconcile(page, feed, FIRST_SEEN_AT)
    assert (result.source, result.precision, result.published_at) == (FEED, SECOND, utc(2024, 7, 9, 12, 5, 9))


def test_naive_claim_alone_is_a_day_never_a_time() -> None:
    result = reconcile(claims("2024-07-09T14:05:09"), None, FIRST_SEEN_AT)
    assert (result.source, result.precision, result.day) == (PAGE, DAY, date(2024, 7, 9))
    assert result.published_at == utc(2024, 7, 9)
    assert result.earliest == utc(2024, 7, 9, 0, 5, 9) and result.latest == utc(2024, 7, 10, 2, 5, 9)
    assert "day is known, not the time" in (result.note or "")


def test_naive_claim_read_in_the_learned_outlet_zone_says_so() -> None:
    zone = learn_outlet_zone(claims("2024-07-01T10:00:00-04:00", "2024-01-05T10:00:00-05:00"))
    assert zone is not None and zone.name == "America/New_York"
    result = reconcile(claims("2024-07-09 14:05:09"), None, FIRST_SEEN_AT, outlet_zone=zone)
    assert (result.published_at, result.precision, result.zone_learned) == (
        utc(2024, 7, 9, 18, 5, 9),
        SECOND,
        "America/New_York",
    )
    assert "read in America/New_York" in (result.note or "")


def test_page_midnight_in_its_own_zone_is_a_day() -> None:
    result = reconcile(claims("2014-12-16T00:00:00-06:00"), None, utc(2014, 12, 20))
    assert (result.precision, result.day) == (DAY, date(2014, 12, 16))


def test_feed_of_utc_midnights_gives_days_and_a_page_time_wins() -> None:
    feed = parse_time_claim("Tue, 09 Jul 2024 00:00:00 +0000", FEED)
    alone = reconcile([], feed, FIRST_SEEN_AT, feed_days=True)
    assert (alone.source, alone.precision, alone.day) == (FEED, DAY, date(2024, 7, 9))
    with_page = reconcile(claims("2024-07-09T16:30:00+02:00"), feed, FIRST_SEEN_AT, feed_days=True)
    assert (with_page.source, with_page.precision) == (PAGE, SECOND)


def test_feed_utc_midnight_on_the_page_day_is_a_day() -> None:
    feed = parse_time_claim("Tue, 09 Jul 2024 00:00:00 +0000", FEED)
    result = reconcile(claims("2024-07-09"), feed, FIRST_SEEN_AT)
    assert (result.precision, result.day) == (DAY, date(2024, 7, 9))


def test_never_later_than_first_seen() -> None:
    skew = reconcile(claims("2024-07-10T12:05:00Z"), None, FIRST_SEEN_AT)
    assert (skew.published_at, skew.precision) == (FIRST_SEEN_AT, SECOND)
    assert "clock skew" in (skew.note or "")
    future = reconcile(claims("2024-07-11T12:00:00Z"), None, FIRST_SEEN_AT)
    assert (future.source, future.precision, future.earliest) == (FIRST_SEEN, BOUND, None)
    same_day = reconcile(claims("2024-07-10"), None, utc(2024, 7, 10, 0, 30))
    assert same_day.published_at <= utc(2024, 7, 10, 0, 30) and same_day.latest <= utc(2024, 7, 10, 0, 30)


def test_no_claim_is_a_first_seen_bound() -> None:
    result = reconcile([], None, FIRST_SEEN_AT)
    assert (result.source, result.precision, result.earliest, result.latest) == (
        FIRST_SEEN,
        BOUND,
        None,
        FIRST_SEEN_AT,
    )
    assert not result.is_instant


def test_url_day_is_a_day_bound_and_comes_after_other_weak_claims() -> None:
    url = parse_time_claim("2024-07-08", "url")
    meta = parse_time_claim("2024-07-09", "meta")
    assert url is not None and meta is not None
    result = reconcile([meta, url], None, FIRST_SEEN_AT)
    assert (result.source, result.precision, result.day) == (PAGE, DAY, date(2024, 7, 9))


def test_contradictions_are_noted() -> None:
    result = reconcile(claims("2014-12-24T12:02:29Z", "2014-12-24T18:02:29Z"), None, utc(2014, 12, 25))
    assert "contradicts" in (result.note or "")
    assert result.published_at == utc(2014, 12, 24, 12, 2, 29)
