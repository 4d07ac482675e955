"""Which alerts are new: pure. Watches, the current facts of stories and complaint spikes, and the ids of the
alerts already raised in; new alerts out. Each (watch, story, trigger) is raised at most once (for
``language_reached``: once per language).

Triggers:
- ``new_story``: a story matches the watch (with its first report and evidence);
- ``outlets_reached``: the story has reached the watch's ``min_outlets``;
- ``language_reached``: the story has reached a language other than its first report's;
- ``spike_without_coverage``: the complaints about a service the watch names are spiking and no story covers
  it yet ("users are complaining, nobody has written about it");
- ``coverage_after_spike``: the first coverage of such a spike, with the lag;
- ``statement``: the first official status-page statement about the story's outage.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from alerts.match import AliasTable, WatchMatcher, compile_watch, story_matches, story_text, text_matches
from alerts.model import Alert, SpikeFacts, StoryFacts, Watch, alert_id
from alerts.params import PARAMS, AlertParams


def new_alerts(
    watches: Sequence[Watch],
    stories: Sequence[StoryFacts],
    spikes: Sequence[SpikeFacts],
    raised: Collection[str],
    now: datetime,
    aliases: AliasTable,
    params: AlertParams = PARAMS,
) -> list[Alert]:
    """The alerts the facts known at ``now`` call for and that were not raised before, in a stable order."""
    out: dict[str, Alert] = {}
    texts = [story_text(story, params.text_chars) for story in stories] if watches else []
    for watch in watches:
        matcher = compile_watch(watch, aliases)
        for story, folded in zip(stories, texts, strict=True):
            if story_matches(matcher, story, params.text_chars, folded):
                for alert in story_alerts(watch, story, spikes, now):
                    out.setdefault(alert.alert_id, alert)
        for alert in spike_alerts(matcher, stories, spikes, now, params):
            out.setdefault(alert.alert_id, alert)
    fresh = [a for a in out.values() if a.alert_id not in raised]
    return sorted(fresh, key=lambda a: (a.watch, a.story_id, a.trigger, a.alert_id))


def story_alerts(watch: Watch, story: StoryFacts, spikes: Sequence[SpikeFacts], now: datetime) -> list[Alert]:
    """Every trigger a matching story has reached by ``now``."""
    alerts = [_new_story(watch, story, now)]
    if watch.min_outlets and story.n_outlets >= watch.min_outlets:
        detail = (
            f"{story.headline!r} has reached {story.n_outlets} outlets (watch asks for {watch.min_outlets})."
        )
        alerts.append(_alert(watch, story, "outlets_reached", now, detail, n_outlets=str(story.n_outlets)))
    alerts += _languages_reached(watch, story, now)
    spike = _covered_spike(story, spikes, now)
    if spike is not None and story.first_published_at >= spike.onset_at:
        lag = int((story.first_published_at - spike.onset_at).total_seconds())
        detail = (
            f"First coverage of the {spike.service} complaint spike: {story.first_outlet or 'an outlet'} at "
            f"{_utc(story.first_published_at)}, {lag // 60} min after complaints began rising "
            f"({_utc(spike.onset_at)})."
        )
        alerts.append(
            _alert(
                watch, story, "coverage_after_spike", now, detail, lag_seconds=str(lag), service=spike.service
            )
        )
    if story.statement_at is not None and story.statement_at <= now:
        detail = (
            f"First official statement ({_utc(story.statement_at)}): {story.statement_text or ''}".strip()
        )
        alerts.append(
            _alert(watch, story, "statement", now, detail, statement_at=story.statement_at.isoformat())
        )
    return alerts


def _new_story(watch: Watch, story: StoryFacts, now: datetime) -> Alert:
    detail = (
        f"New story: {story.headline}. First report: {story.first_outlet or 'unknown outlet'} at "
        f"{_utc(story.first_published_at)}."
    )
    if story.first_report_evidence:
        detail += f" {story.first_report_evidence}"
    return _alert(
        watch,
        story,
        "new_story",
        now,
        detail,
        first_outlet=story.first_outlet or "",
        first_published_at=story.first_published_at.isoformat(),
        evidence=story.first_report_evidence or "",
    )


def _languages_reached(watch: Watch, story: StoryFacts, now: datetime) -> list[Alert]:
    """One alert per language after the first report's, with who brought it and when."""
    firsts: dict[str, tuple[datetime, str]] = {}
    for member in sorted(story.members, key=lambda m: (m.published_at, m.outlet)):
        if member.language and member.language not in firsts:
            firsts[member.language] = (member.published_at, member.outlet)
    ordered = sorted(firsts.items(), key=lambda kv: kv[1])
    alerts = []
    for language, (at, outlet) in ordered[1:]:
        detail = f"{story.headline!r} reached a new language, {language}: {outlet} at {_utc(at)}."
        alerts.append(
            _alert(watch, story, "language_reached", now, detail, qualifier=language, language=language)
        )
    return alerts


def spike_alerts(
    matcher: WatchMatcher,
    stories: Sequence[StoryFacts],
    spikes: Sequence[SpikeFacts],
    now: datetime,
    params: AlertParams = PARAMS,
) -> list[Alert]:
    """Complaint spikes of a service the watch names that no story has covered by ``now``."""
    alerts = []
    for spike in spikes:
        if spike.detected_at > now or now - spike.onset_at > params.spike_max_age:
            continue
        # A spike is an outage of its service by nature: the watch is asked about "<service> outage".
        if not text_matches(matcher, f"{spike.service} outage"):
            continue
        if any(_covers(story, spike, now) for story in stories):
            continue
        detail = (
            f"Users are complaining about {spike.service} and nobody has written about it yet: complaints "
            f"began rising at {_utc(spike.onset_at)} (spike confirmed {_utc(spike.detected_at)}, "
            f"peak so far {spike.peak_value:g} at {_utc(spike.peak_at)})."
        )
        key = spike.key
        alerts.append(
            Alert(
                alert_id(matcher.watch.name, key, "spike_without_coverage"),
                matcher.watch.name,
                key,
                "spike_without_coverage",
                now,
                detail,
                {"service": spike.service, "onset_at": spike.onset_at.isoformat()},
            )
        )
    return alerts


def _covers(story: StoryFacts, spike: SpikeFacts, now: datetime) -> bool:
    return (
        story.outage_service == spike.service
        and story.spike_onset_at == spike.onset_at
        and story.first_published_at <= now
    )


def _covered_spike(story: StoryFacts, spikes: Sequence[SpikeFacts], now: datetime) -> SpikeFacts | None:
    """The spike the signals stage linked this story to, once it was detectable."""
    if story.spike_onset_at is None or story.outage_service is None:
        return None
    for spike in spikes:
        if spike.service == story.outage_service and spike.onset_at == story.spike_onset_at:
            return spike if spike.detected_at <= now else None
    # No stored spike row (an older database): the onset itself is the best knowledge.
    at = story.spike_onset_at
    return SpikeFacts(story.outage_service, at, at, at, 0.0) if at <= now else None


def _alert(
    watch: Watch,
    story: StoryFacts,
    trigger: str,
    now: datetime,
    detail: str,
    qualifier: str = "",
    **data: str,
) -> Alert:
    return Alert(
        alert_id(watch.name, story.story_id, trigger, qualifier),
        watch.name,
        story.story_id,
        trigger,
        now,
        detail,
        {"headline": story.headline, **data},
    )


def _utc(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def story_as_of(story: StoryFacts, at: datetime) -> StoryFacts | None:
    """The story as a run at ``at`` would have seen it: only members published by then; None before."""
    members = tuple(m for m in story.members if m.published_at <= at)
    if not members:
        return None
    first = min(members, key=lambda m: (m.published_at, m.outlet))
    known_first = story.first_published_at <= at
    return replace(
        story,
        members=members,
        first_outlet=story.first_outlet if known_first else first.outlet,
        first_published_at=story.first_published_at if known_first else first.published_at,
        first_report_evidence=story.first_report_evidence if known_first else None,
        statement_at=story.statement_at if story.statement_at and story.statement_at <= at else None,
    )


def replay(
    watches: Sequence[Watch],
    stories: Sequence[StoryFacts],
    spikes: Sequence[SpikeFacts],
    aliases: AliasTable,
    params: AlertParams = PARAMS,
) -> list[Alert]:
    """What the watches would have received had a run happened at every instant something changed (an article
    published, a spike confirmed, a statement posted): each alert with the minute it would have been raised.
    Only stories that match in the end can have matched earlier (their text only grows), so only those replay."""
    raised: dict[str, Alert] = {}
    for watch in watches:
        matcher = compile_watch(watch, aliases)
        mine = [s for s in stories if story_matches(matcher, s, params.text_chars)]
        # Stories linked to a spike count as its coverage even when they do not match this watch.
        ids = {s.story_id for s in mine}
        relevant = [s for s in stories if s.story_id in ids or s.spike_onset_at is not None]
        for at in sorted(set(_instants(mine, spikes))):
            known = [s for s in (story_as_of(story, at) for story in relevant) if s is not None]
            for alert in new_alerts([watch], known, spikes, raised.keys(), at, aliases, params):
                raised[alert.alert_id] = alert
    return sorted(raised.values(), key=lambda a: (a.raised_at, a.watch, a.trigger, a.story_id))


def _instants(stories: Iterable[StoryFacts], spikes: Iterable[SpikeFacts]) -> Iterable[datetime]:
    for story in stories:
        yield from (m.published_at for m in story.members)
        if story.statement_at is not None:
            yield story.statement_at
    yield from (spike.detected_at for spike in spikes)
