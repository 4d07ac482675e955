"""The contracts of the clustering core: plain frozen dataclasses in and out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ArticleIn:
    """One article as the clustering core sees it. ``published_at`` must be time-zone aware."""

    article_id: str
    title: str
    published_at: datetime
    outlet: str = ""
    language: str | None = None
    summary: str = ""
    text: str = ""
    # The article that this one's rel=canonical link points to, resolved by the shell (another outlet's
    # article: a syndicated copy). None when there is no such link or it points to this article itself.
    canonical_article_id: str | None = None
    # The publication time is known to the minute or better (a feed or page time with a clock time). False
    # for a day-only date, an interval or a stand-in (first seen): such a time says nothing about which
    # articles came out together, so the burst prior (ClusterParams.burst_*) ignores it.
    precise_time: bool = True

    @property
    def sort_key(self) -> tuple[float, str]:
        """Processing order: publication time, ties broken by article_id (deterministic)."""
        return (self.published_at.timestamp(), self.article_id)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where the core put one article."""

    article_id: str
    story_id: str
    # Similarity to the story when the article joined it; None for the article that founded the story.
    score: float | None
    syndicated_from_article_id: str | None = None
    syndication_evidence: str | None = None
    # Stories merged into ``story_id`` when this article was placed (the merge pass: fragments of one event
    # found to be one story). Their earlier members now belong to ``story_id``; see ``resolve_merges``.
    merged_story_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryMembers:
    """An existing story handed back to the core (incremental runs): its members in processing order."""

    story_id: str
    members: tuple[ArticleIn, ...]
    # Parallel to members: syndicated_from_article_id of each (None when independent).
    syndicated_from: tuple[str | None, ...]
