"""The contracts of the alerts stage: plain frozen data, no I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

TRIGGERS = (
    "new_story",
    "outlets_reached",
    "language_reached",
    "spike_without_coverage",
    "coverage_after_spike",
    "statement",
)


@dataclass(frozen=True)
class Watch:
    """A saved search: every term must match (in any language, through the aliases); optional filters."""

    name: str
    terms: str
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    min_outlets: int | None = None
    webhook: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class MemberFacts:
    """One article of a story, as the alerts stage needs it."""

    outlet: str
    language: str | None
    published_at: datetime
    title: str
    text: str = ""


@dataclass(frozen=True)
class StoryFacts:
    """Plain data about a story: what the stories and first-report stages stored about it."""

    story_id: str
    headline: str
    first_outlet: str | None
    first_published_at: datetime
    first_report_evidence: str | None
    members: tuple[MemberFacts, ...]
    outage_service: str | None = None
    spike_onset_at: datetime | None = None
    statement_at: datetime | None = None
    statement_text: str | None = None

    @property
    def n_outlets(self) -> int:
        return len({m.outlet for m in self.members if m.outlet})

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted({m.language for m in self.members if m.language}))

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(m.title for m in self.members)


@dataclass(frozen=True)
class SpikeFacts:
    """A complaint spike of a service, as the signals stage detected and stored it."""

    service: str
    onset_at: datetime
    detected_at: datetime  # the minute the spike was confirmed: no run could have known it earlier
    peak_at: datetime
    peak_value: float

    @property
    def key(self) -> str:
        """The stand-in story id of a spike nobody has written about: stable across runs."""
        return f"spike:{self.service}:{self.onset_at:%Y-%m-%dT%H:%MZ}"


@dataclass(frozen=True)
class Alert:
    alert_id: str
    watch: str
    story_id: str
    trigger: str
    raised_at: datetime
    detail: str
    data: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def alert_id(watch: str, story_id: str, trigger: str, qualifier: str = "") -> str:
    """Deterministic: the same (watch, story, trigger[, language]) always gives the same id."""
    key = "\x1f".join((watch, story_id, trigger, qualifier))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
