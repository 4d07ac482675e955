"""The pure core of the alerts stage: matching across languages, triggers, at-most-once, the replay."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts.match import compile_watch, load_aliases, story_matches, text_matches
from alerts.model import MemberFacts, SpikeFacts, StoryFacts, Watch, alert_id
from alerts.triggers import new_alerts, replay, story_as_of

ALIASES = load_aliases()
T0 = datetime(2026, 10, 6, 19, 59, tzinfo=UTC)  # complaints begin rising (15:59 in New York)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("terms", "text", "expected"),
    [
        ("Amazon outage", "Amazon.com outage: shoppers unable to check out", True),
        ("Amazon outage", "عطل في أمازون يمنع المتسوقين من إتمام الشراء", True),
        ("Amazon outage", "تعطل موقع الأمازون", True),  # clitic ال and another form of the word
        ("Amazon outage", "Caída de Amazon: los compradores no pueden pagar", True),
        ("Amazon outage", "Panne chez Amazon : impossible de payer", True),
        ("Amazon outage", "Störung bei Amazon: Kasse funktioniert nicht", True),
        ("Amazon outage", "Amazon is down for some users", True),
        ("Amazon outage", "Amazon launches the new Kindle Lumen", False),
        ("Amazon outage", "Amazon Web Services outage takes down websites", False),  # AWS, not Amazon
        ("Amazon outage", "Microsoft Teams outage blocks messages", False),
        ("caída de Amazon", "Amazon outage: checkout fails", True),  # the watch itself in Spanish
        ("عطل أمازون", "Amazon outage: checkout fails", True),  # ... and in Arabic
        ("Teams outage", "Microsoft Teams outage blocks messages", True),
        ("checkout glitch", "Amazon checkout glitch", True),
        ("Norvella earnings", "Norvella earnings beat forecasts", True),  # a word no table knows, as itself
        ("Norvella earnings", "Norvellas quarterly earnings", True),  # with a plural s
        ("Norvella earnings", "Nor vella earnings", False),
    ],
)
def test_terms_match_across_languages(terms: str, text: str, expected: bool) -> None:
    assert text_matches(compile_watch(Watch("w", terms), ALIASES), text) is expected


def member(outlet: str, minutes: int, language: str = "en", title: str = "Amazon outage") -> MemberFacts:
    return MemberFacts(outlet, language, at(minutes), title, "")


def amazon_story(**changes: object) -> StoryFacts:
    story = StoryFacts(
        story_id="s-amazon",
        headline="Amazon.com outage: shoppers cannot check out",
        first_outlet="GeekWire",
        first_published_at=at(32),
        first_report_evidence="GeekWire at 13:31 PDT (page metadata)",
        members=(
            member("GeekWire", 32),
            member("Circuit Daily", 45),
            member("Bytewise", 60),
            member("Red Digital", 221, "es", "Caída de Amazon"),
            member("تك عربي", 260, "ar", "عطل أمازون"),
        ),
        outage_service="Amazon",
        spike_onset_at=T0,
        statement_at=at(145),
        statement_text="We are investigating checkout errors",
    )
    return replace(story, **changes)  # type: ignore[arg-type]


SPIKE = SpikeFacts("Amazon", T0, at(3), at(25), 3120.0)


def triggers_of(alerts: list) -> list[tuple[str, str]]:
    return sorted((a.trigger, a.data.get("language", "")) for a in alerts)


def test_every_trigger_of_a_matching_story() -> None:
    watch = Watch("amazon", "Amazon outage", min_outlets=3)
    alerts = new_alerts([watch], [amazon_story()], [SPIKE], (), at(300), ALIASES)
    assert triggers_of(alerts) == [
        ("coverage_after_spike", ""),
        ("language_reached", "ar"),
        ("language_reached", "es"),
        ("new_story", ""),
        ("outlets_reached", ""),
        ("statement", ""),
    ]
    coverage = next(a for a in alerts if a.trigger == "coverage_after_spike")
    assert coverage.data["lag_seconds"] == str(32 * 60)
    assert "32 min after complaints began rising" in coverage.detail
    new = next(a for a in alerts if a.trigger == "new_story")
    assert "GeekWire" in new.detail and "page metadata" in new.detail


def test_each_alert_at_most_once_and_ids_are_stable() -> None:
    watch = Watch("amazon", "Amazon outage", min_outlets=3)
    first = new_alerts([watch], [amazon_story()], [SPIKE], (), at(300), ALIASES)
    again = new_alerts([watch], [amazon_story()], [SPIKE], {a.alert_id for a in first}, at(400), ALIASES)
    assert again == []
    assert alert_id("amazon", "s-amazon", "new_story") in {a.alert_id for a in first}
    # Another watch gets its own alerts for the same story.
    other = new_alerts(
        [replace(watch, name="other")],
        [amazon_story()],
        [SPIKE],
        {a.alert_id for a in first},
        at(300),
        ALIASES,
    )
    assert len(other) == len(first)


def test_outlets_reached_waits_for_min_outlets() -> None:
    watch = Watch("amazon", "Amazon outage", min_outlets=4)
    early = story_as_of(amazon_story(), at(61))
    assert early is not None and early.n_outlets == 3
    assert "outlets_reached" not in {a.trigger for a in new_alerts([watch], [early], [], (), at(61), ALIASES)}
    assert "outlets_reached" in {
        a.trigger for a in new_alerts([watch], [amazon_story()], [], (), at(300), ALIASES)
    }


def test_outlet_and_language_filters() -> None:
    story = amazon_story()
    assert story_matches(
        compile_watch(Watch("w", "Amazon outage", outlets=("bytewise",)), ALIASES), story, 400
    )
    assert not story_matches(
        compile_watch(Watch("w", "Amazon outage", outlets=("Reuters",)), ALIASES), story, 400
    )
    assert story_matches(compile_watch(Watch("w", "Amazon outage", languages=("ar",)), ALIASES), story, 400)
    assert not story_matches(
        compile_watch(Watch("w", "Amazon outage", languages=("fr",)), ALIASES), story, 400
    )


def test_spike_without_coverage_only_while_nobody_wrote_about_it() -> None:
    watch = Watch("amazon", "Amazon outage")
    # Before the spike is confirmed: nothing.
    assert new_alerts([watch], [], [SPIKE], (), at(2), ALIASES) == []
    # Confirmed, no story yet: the alert, keyed by the spike.
    alerts = new_alerts([watch], [], [SPIKE], (), at(10), ALIASES)
    assert [(a.trigger, a.story_id) for a in alerts] == [("spike_without_coverage", SPIKE.key)]
    assert "nobody has written about it" in alerts[0].detail
    # Once a story covers it, no spike alert (a story about another service does not cover it).
    covered = new_alerts([watch], [amazon_story()], [SPIKE], (), at(40), ALIASES)
    assert "spike_without_coverage" not in {a.trigger for a in covered}
    teams = amazon_story(story_id="s-teams", headline="Teams outage", outage_service="Teams",
                         members=(member("X", 10, title="Teams outage"),))  # fmt: skip
    assert [a.trigger for a in new_alerts([watch], [teams], [SPIKE], (), at(20), ALIASES)] == [
        "spike_without_coverage"
    ]
    # A spike of a service the watch does not name, or one too old, is not news for this watch.
    assert new_alerts([watch], [], [replace(SPIKE, service="Slack")], (), at(10), ALIASES) == []
    assert new_alerts([watch], [], [SPIKE], (), at(13 * 60), ALIASES) == []


def test_replay_raises_the_spike_alert_before_the_first_article() -> None:
    watch = Watch("amazon", "Amazon outage", min_outlets=3)
    alerts = replay([watch], [amazon_story()], [SPIKE], ALIASES)
    when = {(a.trigger, a.data.get("language", "")): a.raised_at for a in alerts}
    assert when[("spike_without_coverage", "")] == at(3)  # the minute the spike was confirmed
    assert when[("new_story", "")] == at(32)  # GeekWire's article
    assert when[("coverage_after_spike", "")] == at(32)
    assert when[("outlets_reached", "")] == at(60)  # the third outlet
    assert when[("statement", "")] == at(145)
    assert when[("language_reached", "es")] == at(221)
    assert when[("language_reached", "ar")] == at(260)
    assert [a.raised_at for a in alerts] == sorted(a.raised_at for a in alerts)


def test_story_as_of_hides_the_future() -> None:
    story = amazon_story()
    assert story_as_of(story, at(31)) is None
    early = story_as_of(story, at(50))
    assert early is not None
    assert early.n_outlets == 2 and early.languages == ("en",) and early.statement_at is None
