"""First report: mixed claim strengths, syndicated copies, ties, evidence sentences and spread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cluster.first_report import (
    Credit,
    Member,
    choose_first_report,
    claim_of,
    claim_precision,
    format_time,
    parse_claim,
)

T0 = datetime(2026, 10, 6, 20, 38, tzinfo=UTC)  # 13:38 PDT
PACIFIC = ZoneInfo("America/Los_Angeles")


def member(
    article_id: str,
    outlet: str,
    minutes: float,
    source: str = "page",
    *,
    seen_after: float = 5,
    language: str = "en",
    syndicated_from: str | None = None,
    feed_raw: str | None = None,
    page_raw: str | None = None,
) -> Member:
    at = T0 + timedelta(minutes=minutes)
    return Member(
        article_id=article_id,
        outlet=outlet,
        published_at=at,
        published_at_source=source,
        first_seen_at=at + timedelta(minutes=seen_after),
        language=language,
        syndicated_from_article_id=syndicated_from,
        feed_published_raw=feed_raw,
        page_published_raw=page_raw,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 06 Oct 2026 13:38:00 -0700", "zoned"),
        ("Tue, 06 Oct 2026 20:38:00 GMT", "zoned"),
        ("Tue, 06 Oct 2026 13:38:00 PDT", "zoned"),
        ("2026-10-06T20:38:00Z", "zoned"),
        ("2026-10-06T13:38:00-07:00", "zoned"),
        ("2026-10-06T13:38:00", "naive"),
        ("Tue, 06 Oct 2026 22:38:00 CEST", "zoned"),  # read from the table of zone names
        ("Tue, 06 Oct 2026 22:38:00 IST", "naive"),  # India, Israel or Ireland: not guessed
        ("2026-10-06", "date_only"),
        ("6 October 2026", "date_only"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_claim_precision(raw: str | None, expected: str) -> None:
    assert claim_precision(raw) == expected


def test_parse_claim_only_zoned() -> None:
    assert parse_claim("Tue, 06 Oct 2026 13:38:00 -0700") == T0
    assert parse_claim("2026-10-06T13:38:00-07:00") == T0
    assert parse_claim("2026-10-06T13:38:00") is None
    assert parse_claim("not a date 12:00 +0000") is None


def test_earliest_page_time_wins_and_evidence_is_checkable() -> None:
    members = [
        member(
            "g",
            "GeekWire",
            0,
            page_raw="2026-10-06T13:38:00-07:00",
            feed_raw="Tue, 06 Oct 2026 13:41:00 -0700",
        ),
        member("v", "The Verge", 12),
        member("c", "CNBC", 20),
        member("t", "تك عربي", 140, language="ar"),
    ]
    credits = [
        Credit("The Verge", "GeekWire", says_first=True),
        Credit("CNBC", "GeekWire", says_first=True),
        Credit("تك عربي", "GeekWire", says_first=True),
    ]
    report = choose_first_report(members, credits, {"GeekWire": PACIFIC})
    assert report.article_id == "g"
    assert report.evidence == (
        "GeekWire at 13:38 PDT (page metadata, agrees with its feed); "
        "credited as first by CNBC, The Verge and تك عربي"
    )
    assert report.lag_seconds == {"g": 0, "v": 720, "c": 1200, "t": 8400}
    assert not report.uncertain
    assert [(r.language, r.lag_seconds) for r in report.languages] == [("en", 0), ("ar", 8400)]


def test_naive_feed_date_does_not_beat_a_page_time_within_its_uncertainty() -> None:
    # The naive feed time is 13:38 local time read as UTC: seven hours "earlier" on paper.
    naive = member("n", "Daily Bits", -420, "feed", seen_after=430, feed_raw="2026-10-06T13:38:00")
    page = member("g", "GeekWire", 0, page_raw="2026-10-06T13:38:00-07:00")
    report = choose_first_report([naive, page], zones={"GeekWire": PACIFIC})
    assert report.article_id == "g"
    assert report.uncertain and not report.certain
    assert report.candidates == ("g", "n")
    assert "not certain: Daily Bits between" in report.evidence
    assert "(feed date without time zone) could also be first" in report.evidence
    assert report.evidence.endswith("decided for the exact time over the weaker claim")
    assert report.lag_seconds["n"] == -420 * 60


def test_weak_claim_wins_when_the_crawler_saw_it_before_the_strong_one() -> None:
    # First sight caps the naive claim: it was seen an hour before GeekWire's page time.
    naive = member("n", "Daily Bits", -120, "feed", seen_after=60, feed_raw="2026-10-06T18:38:00")
    page = member("g", "GeekWire", 0)
    report = choose_first_report([naive, page])
    assert report.article_id == "n"
    assert report.certain  # its interval ends (first sight) before GeekWire's begins
    assert "Daily Bits between 06 Oct 04:38 UTC and 06 Oct 19:38 UTC" in report.evidence
    assert "first seen at 19:38 UTC" in report.evidence


def test_first_sight_is_an_upper_bound_that_later_claims_cannot_beat() -> None:
    seen = member("s", "Blog", -10, "first_seen", seen_after=0)
    feed = member("f", "Wire", 0, "feed", feed_raw="Tue, 06 Oct 2026 20:38:00 GMT")
    assert claim_of(seen).hi == claim_of(seen).at
    report = choose_first_report([seen, feed])
    # The bound overlaps the feed time's uncertainty: it never decides by its own time.
    assert report.article_id == "f"
    assert report.uncertain
    assert "Blog first seen at 20:28 UTC (first seen by the crawler) could also be first" in report.evidence


def test_zoned_feed_time_beats_naive_feed_time_within_its_uncertainty() -> None:
    naive = member("n", "Blog", -60, "feed", seen_after=90, feed_raw="2026-10-06T19:38:00")
    feed = member("f", "Wire", 0, "feed", feed_raw="Tue, 06 Oct 2026 20:38:00 GMT")
    assert choose_first_report([naive, feed]).article_id == "f"


def test_syndicated_copy_is_never_first() -> None:
    original = member("o", "Reuters", 5)
    copy = member("c", "Yahoo News", 0, syndicated_from="o")
    report = choose_first_report([copy, original])
    assert report.article_id == "o"
    assert report.lag_seconds["c"] == -300


def test_only_copies_still_gives_an_answer_and_says_so() -> None:
    report = choose_first_report(
        [member("a", "Yahoo", 3, syndicated_from="x"), member("b", "MSN", 1, syndicated_from="x")]
    )
    assert report.article_id == "b"
    assert "copy" in report.evidence


def test_ties_are_deterministic_and_reported() -> None:
    a = member("a1", "Beta News", 0, seen_after=2)
    b = member("b1", "Alpha Times", 0, seen_after=2)
    first = choose_first_report([a, b])
    again = choose_first_report([b, a])
    assert first.article_id == again.article_id == "b1"  # same time and sight: by outlet name
    assert "not certain: Beta News at 20:38 UTC is too close to call" in first.evidence
    assert first.evidence.endswith("chosen by first sight and name")
    earlier_sight = member("a2", "Beta News", 0, seen_after=1)
    assert choose_first_report([b, earlier_sight]).article_id == "a2"


def test_disagreement_between_credit_and_times_is_stated() -> None:
    members = [member("g", "GeekWire", 0), member("r", "Reuters", 32), member("v", "The Verge", 40)]
    credits = [Credit("The Verge", "Reuters", says_first=True), Credit("CNBC", "Bloomberg", says_first=True)]
    evidence = choose_first_report(members, credits).evidence
    assert (
        "The Verge credit Reuters as first, but its article here is at 21:10 UTC, 32 min later than GeekWire"
        in (evidence)
    )
    assert "CNBC credit Bloomberg as first, but no article of Bloomberg is in this story" in evidence


def test_page_and_feed_disagreeing_is_stated() -> None:
    m = member("g", "GeekWire", 0, feed_raw="Tue, 06 Oct 2026 21:38:00 GMT")
    assert "its feed says 60 min later" in choose_first_report([m]).evidence


def test_outlet_milestones() -> None:
    members = [member(str(i), f"Outlet {i}", i * 10) for i in range(12)]
    members.append(member("dup", "Outlet 1", 1))  # a second article of an outlet does not count twice
    report = choose_first_report(members)
    assert report.seconds_to_outlets == {5: 2400, 10: 5400}
    assert choose_first_report(members[:3]).seconds_to_outlets == {5: None, 10: None}


def test_format_time_zones() -> None:
    assert format_time(T0, PACIFIC) == "13:38 PDT"
    assert format_time(T0, UTC) == "20:38 UTC"
    assert (
        format_time(T0, datetime.fromisoformat("2026-10-06T23:38:00+03:00").tzinfo or UTC)
        == "23:38 UTC+03:00"
    )


def test_zone_from_page_raw_when_outlet_zone_unknown() -> None:
    m = member("g", "GeekWire", 0, page_raw="2026-10-06T13:38:00-07:00")
    assert choose_first_report([m]).evidence.startswith("GeekWire at 13:38 UTC-07:00 (page metadata)")


def test_empty_story_rejected() -> None:
    with pytest.raises(ValueError):
        choose_first_report([])


def test_distinct_exact_times_are_certain() -> None:
    report = choose_first_report([member("a", "Alpha", 0), member("b", "Beta", 3)])
    assert (report.article_id, report.certain, report.candidates) == ("a", True, ("a",))
    assert "not certain" not in report.evidence


def day_member(article_id: str, outlet: str, day: str, seen: datetime, feed_raw: str | None = None) -> Member:
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return Member(
        article_id, outlet, start, "page", seen, "en", None, feed_raw, day, "day",
        start - timedelta(hours=14), min(start + timedelta(hours=36), seen),
    )  # fmt: skip


def test_a_day_never_wins_by_its_midnight_and_credit_decides_the_tie() -> None:
    # The day claim sits at 00:00 UTC on paper, 20 hours "before" GeekWire's page time.
    day = day_member("d", "Daily Bits", "2026-10-06", T0 + timedelta(hours=2))
    page = member("g", "GeekWire", 0)
    report = choose_first_report([day, page])
    assert (report.article_id, report.uncertain) == ("g", True)
    assert "Daily Bits between 05 Oct 10:00 UTC and 06 Oct 22:38 UTC (date without a time)" in report.evidence
    credits = [
        Credit("The Verge", "Daily Bits", says_first=True),
        Credit("CNBC", "Daily Bits", says_first=True),
    ]
    credited = choose_first_report([day, page], credits)
    assert credited.article_id == "d"
    assert "decided by the credit other outlets give" in credited.evidence
    assert "Daily Bits between" in credited.evidence.split(";")[0]  # a day is never shown as a time


def test_a_guessed_zone_never_decides() -> None:
    guessed = Member(
        "z", "Diario", T0 - timedelta(hours=2), "feed", T0 + timedelta(minutes=5), "es",
        precision="second", earliest=T0 - timedelta(hours=2), latest=T0 - timedelta(hours=2),
        zone_learned="Europe/Madrid",
    )  # fmt: skip
    page = member("g", "GeekWire", 0)
    report = choose_first_report([guessed, page])
    assert (report.article_id, report.uncertain) == ("g", True)
    assert "Diario at about" in report.evidence
    alone = choose_first_report([guessed, member("late", "Late", 26 * 60, seen_after=5)])
    assert (alone.article_id, alone.certain) == ("z", True)  # 26 h later is outside even an unknown zone


def test_stored_interval_is_used_for_days() -> None:
    day = day_member("d", "Daily Bits", "2026-10-06", T0 + timedelta(hours=2))
    claim = claim_of(day)
    assert (claim.kind, claim.lo, claim.hi) == ("day", day.earliest, day.latest)


def test_overlapping_days_are_never_decided_by_their_midnights() -> None:
    one = day_member("a", "Alpha", "2026-10-05", T0 + timedelta(hours=30))
    two = day_member("b", "Beta", "2026-10-06", T0 + timedelta(hours=30))
    report = choose_first_report([two, one])
    assert report.uncertain and set(report.candidates) == {"a", "b"}
    assert "no exact time or credit decides it" in report.evidence
    assert "decided by the earlier time" not in report.evidence
