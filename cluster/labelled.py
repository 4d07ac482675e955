"""Labelled article sets for evaluation: a CSV with a gold ``story`` column, read into the core's input."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from cluster.model import ArticleIn
from common.errors import UsageError

# Rows without a publication time are all placed at this instant: one time window, the hardest case.
ONE_WINDOW = datetime(2000, 1, 1, tzinfo=UTC)
REQUIRED = ("story", "title")


@dataclass(frozen=True)
class LabelledSet:
    articles: tuple[ArticleIn, ...]
    gold: dict[str, str]  # article_id -> gold story label


def _article_id(row: dict[str, str], line: int) -> str:
    key = row.get("article_id") or row.get("url") or f"line:{line}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _published_at(value: str | None, path: Path, line: int) -> datetime:
    if not value:
        return ONE_WINDOW
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"{path}:{line}: published_at {value!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _url_day(row: dict[str, str]) -> str | None:
    """Noon UTC of the ``url_date`` column (a date-only claim from the URL), when there is one: the middle
    of the day it names. An impossible date is ignored."""
    day = (row.get("url_date") or "").strip()
    try:
        return f"{date.fromisoformat(day).isoformat()}T12:00:00+00:00" if day else None
    except ValueError:
        return None  # a URL's digits that are no real date ("2014-03-64") are no claim at all


def read_labelled_csv(path: Path) -> LabelledSet:
    """Columns ``story`` and ``title`` (required); ``url``, ``outlet``, ``published_at``, ``language``,
    ``summary``, ``text``, ``canonical_of`` (the url of the article this one copies) are optional; without
    ``published_at``, ``url_date`` (a day) places the row at noon UTC of that day."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc
    if rows and any(column not in rows[0] for column in REQUIRED):
        raise UsageError(f"{path}: needs the columns {', '.join(REQUIRED)}")
    ids = {row.get("url", ""): _article_id(row, line) for line, row in enumerate(rows, start=2)}
    articles, gold = [], {}
    for line, row in enumerate(rows, start=2):
        article_id = _article_id(row, line)
        canonical = row.get("canonical_of") or ""
        articles.append(
            ArticleIn(
                article_id=article_id,
                title=row["title"] or "",
                published_at=_published_at(row.get("published_at") or _url_day(row), path, line),
                outlet=row.get("outlet") or "",
                language=row.get("language") or None,
                summary=row.get("summary") or "",
                text=row.get("text") or "",
                canonical_article_id=ids.get(canonical) if canonical else None,
                precise_time=bool((row.get("published_at") or "").strip()),
            )
        )
        gold[article_id] = row["story"]
    return LabelledSet(tuple(articles), gold)
