"""Outage signals: parsing counts and status feeds, spike onset on noisy series, linking to stories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cluster.citations import load_services
from cluster.signals import (
    SignalFormatError,
    SignalPoint,
    StoryRef,
    detect_onsets,
    index_signals,
    link_story,
    parse_counts_csv,
    parse_status_feed,
    parse_timestamp,
)

DATA = Path(__file__).parent.parent / "data"
T0 = datetime(2026, 10, 6, 18, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def noisy(seed: int, n: int = 240, mean: float = 20, sd: float = 5) -> list[tuple[datetime, float]]:
    rng = random.Random(seed)
    return [(minutes(i), float(max(0, round(rng.gauss(mean, sd))))) for i in range(n)]


def test_onset_is_where_the_rise_begins_not_the_peak() -> None:
    parsed = parse_counts_csv((DATA / "signals_amazon_complaints.csv").read_text(), "file.csv", "x")
    series = [(p.ts, p.value or 0.0) for p in parsed.points]
    [onset] = detect_onsets(series, "Amazon")
    assert minutes(122) <= onset.onset_at <= minutes(123)  # 20:02-20:03 UTC, i.e. 16:02 EDT
    assert onset.peak_at == minutes(131) and onset.peak_value == 4600
    assert 15 <= onset.baseline <= 30
    assert onset.threshold > 40


@pytest.mark.parametrize("seed", range(8))
def test_noise_alone_never_crosses_the_threshold(seed: int) -> None:
    series = noisy(seed)
    series[100] = (series[100][0], 75.0)  # one odd minute is not an outage
    assert detect_onsets(series) == []


@pytest.mark.parametrize("seed", range(5))
def test_spike_on_noise_found_at_its_start(seed: int) -> None:
    series = noisy(seed)
    for offset, value in enumerate([45, 90, 300, 900, 700, 400, 200]):
        series[150 + offset] = (minutes(150 + offset), float(value))
    [onset] = detect_onsets(series)
    assert onset.onset_at == minutes(150)
    assert onset.peak_at == minutes(153)


def test_gradual_rise_onset_walks_back_to_its_start() -> None:
    series = noisy(3, mean=10, sd=2)
    for offset in range(20):
        series[100 + offset] = (minutes(100 + offset), 10.0 + 6 * (offset + 1))
    [onset] = detect_onsets(series)
    assert minutes(100) <= onset.onset_at <= minutes(101)


def test_two_spikes_and_flat_zero_baseline() -> None:
    series = [(minutes(i), 0.0) for i in range(200)]
    for at in (50, 150):
        for offset, value in enumerate([15, 40, 30, 12]):
            series[at + offset] = (minutes(at + offset), float(value))
    onsets = detect_onsets(series)
    assert [o.onset_at for o in onsets] == [minutes(50), minutes(150)]
    assert detect_onsets(series[:8]) == []  # too little history to judge


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("2026-10-06T16:02:00-04:00") == (minutes(122), True)
    assert parse_timestamp("2026-10-06T20:02:00Z") == (minutes(122), True)
    assert parse_timestamp("2026-10-06 20:02") == (minutes(122), False)
    assert parse_timestamp(str(int(minutes(122).timestamp()))) == (minutes(122), True)


def test_counts_csv_problems_are_reported_by_line() -> None:
    parsed = parse_counts_csv((DATA / "signals_bad.csv").read_text(), "bad.csv", "Default")
    assert [(p.ts, p.value) for p in parsed.points] == [(minutes(120), 12.0), (minutes(124), 14.0)]
    lines = {p.line: p.message for p in parsed.problems}
    assert "not a number" in lines[3]
    assert "not ISO 8601" in lines[4]
    assert "non-negative" in lines[5]
    assert "field" in lines[7]
    assert "1 timestamp without a time zone read as UTC" in lines[None]


def test_counts_csv_without_header_and_default_service() -> None:
    parsed = parse_counts_csv("2026-10-06T20:00:00Z,5\n2026-10-06T20:01:00Z,6,Slack\n", "f.csv", "Amazon")
    assert [p.service for p in parsed.points] == ["Amazon", "Slack"]
    assert all(p.kind == "complaints" for p in parsed.points)
    assert [p.message for p in parsed.problems] == ["1 row without a service: recorded as 'Amazon'"]


@pytest.mark.parametrize("text", ["", "hello\nworld\n", "ts,foo\n1,2\n"])
def test_unusable_counts_file(text: str) -> None:
    with pytest.raises(SignalFormatError):
        parse_counts_csv(text, "f.csv", "Amazon")


def test_status_feed_entries_become_status_signals() -> None:
    parsed = parse_status_feed((DATA / "signals_amazon_status.atom").read_bytes(), "status.atom")
    first, second = parsed.points
    assert first.service == "Amazon" and first.kind == "status" and first.value is None
    assert first.ts == minutes(185)
    assert (
        first.text
        == "Checkout errors for some customers: We are investigating increased error rates at checkout."
    )
    assert second.ts == datetime(2026, 9, 30, 8, 0, tzinfo=UTC)


def test_rss_status_feed_with_service_override() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Slack System Status</title>
    <item><title>Messages delayed</title><pubDate>Tue, 06 Oct 2026 20:30:00 GMT</pubDate></item>
    <item><title>No date here</title></item></channel></rss>"""
    parsed = parse_status_feed(rss, "slack.rss")
    assert [(p.service, p.ts) for p in parsed.points] == [("Slack", minutes(150))]
    assert parsed.problems[0].line == 2
    assert parse_status_feed(rss, "slack.rss", "Slack Inc").points[0].service == "Slack Inc"


def test_status_feed_zone_names_are_read_by_our_parser_not_feedparser() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Slack System Status</title>
    <item><title>Messages delayed</title><pubDate>Tue, 06 Oct 2026 22:30:00 CEST</pubDate></item>
    <item><title>Calls dropped</title><pubDate>Tue, 06 Oct 2026 20:45:00 -0000</pubDate></item>
    </channel></rss>"""
    parsed = parse_status_feed(rss, "slack.rss")
    assert [p.ts for p in parsed.points] == [minutes(150), minutes(165)]
    assert [(p.line, "no usable zone" in p.message) for p in parsed.problems] == [(2, True)]


def test_unusable_status_feed() -> None:
    with pytest.raises(SignalFormatError):
        parse_status_feed(b"<html><body>not a feed</body></html>", "x.html")


def _amazon_signals() -> list[SignalPoint]:
    counts = parse_counts_csv((DATA / "signals_amazon_complaints.csv").read_text(), "c.csv", "Amazon").points
    status = parse_status_feed((DATA / "signals_amazon_status.atom").read_bytes(), "s.atom").points
    slack = [SignalPoint("s", "Slack", minutes(i), 3.0, "complaints") for i in range(100)]
    return [*counts, *status, *slack]


def test_story_linked_to_spike_lag_and_statement() -> None:
    story = StoryRef("s1", "Amazon.com checkout down for thousands", minutes(158), minutes(300), "GeekWire")
    [outage] = link_story(story, index_signals(_amazon_signals(), load_services()))
    assert outage.service == "Amazon"
    assert outage.onset_at is not None and outage.lag_seconds is not None
    assert 35 * 60 <= outage.lag_seconds <= 36 * 60
    assert outage.statement_at == minutes(185)
    assert "GeekWire" in outage.summary and "after the spike began" in outage.summary


def test_arabic_story_linked_and_no_statement_yet() -> None:
    signals = [p for p in _amazon_signals() if p.kind == "complaints"]
    story = StoryRef("s2", "عطل في موقع أمازون يمنع المتسوقين من الدفع", minutes(158), minutes(200))
    [outage] = link_story(story, index_signals(signals, load_services()))
    assert outage.statement_at is None
    assert outage.summary.endswith("no official statement yet")


def test_no_link_for_other_services_or_distant_times() -> None:
    services = load_services()
    index = index_signals(_amazon_signals(), services)
    teams = StoryRef("s3", "Microsoft Teams outage", minutes(158), minutes(200))
    assert link_story(teams, index) == []
    weeks_later = StoryRef("s4", "Amazon Kindle launch", minutes(60 * 24 * 14), minutes(60 * 24 * 14))
    assert link_story(weeks_later, index) == []
    # "AWS" in capitals is the service; "laws" is not.
    aws = [SignalPoint("a", "AWS", minutes(0), None, "status", "Elevated errors in us-east-1")]
    aws_index = index_signals(aws, services)
    assert link_story(StoryRef("s5", "New laws for shops", minutes(10), minutes(20)), aws_index) == []
    assert len(link_story(StoryRef("s6", "AWS outage hits shops", minutes(10), minutes(20)), aws_index)) == 1


def test_status_entry_far_from_a_story_without_spike_is_not_its_statement() -> None:
    index = index_signals(_amazon_signals(), load_services())
    # A Kindle launch the same morning names Amazon, but the checkout incident's status post is 8 hours later.
    launch = StoryRef("k1", "Amazon unveils a new Kindle", minutes(-300), minutes(-200))
    assert link_story(launch, index) == []
    # Status post two hours after a story on a service with no complaint data: that is its statement.
    status_only = index_signals([p for p in _amazon_signals() if p.kind == "status"], load_services())
    [outage] = link_story(StoryRef("s7", "Amazon checkout errors", minutes(65), minutes(90)), status_only)
    assert outage.onset_at is None and outage.statement_at == minutes(185)


def test_each_source_is_its_own_series() -> None:
    # Two trackers counting the same service on different scales: merged, they would look like noise.
    small = [SignalPoint("a.csv", "Amazon", t, v, "complaints") for t, v in noisy(1, mean=5, sd=1)]
    big = [SignalPoint("b.csv", "Amazon", t, v, "complaints") for t, v in noisy(2, mean=400, sd=20)]
    for offset, value in enumerate([40.0, 90.0, 120.0]):
        small[150 + offset] = SignalPoint("a.csv", "Amazon", minutes(150 + offset), value, "complaints")
    [onset] = index_signals([*small, *big], load_services())["Amazon"].onsets
    assert onset.onset_at == minutes(150)
