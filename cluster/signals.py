"""Outage signals: parse complaint counts and status-page feeds, find where a spike begins, and line it up
with the stories about the outage. A pure core: bytes or plain data in, plain data out, no I/O."""

from __future__ import annotations

import calendar
import csv
import io
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from cluster.citations import normalize_text
from common.text import plural
from common.timeclaims import parse_time_claim, parse_timestamp


@dataclass(frozen=True)
class SpikeRules:
    """Spike detection thresholds, each with why."""

    # Minutes of quiet history the baseline is the median of: long enough that one burst does not move it,
    # short enough to follow the daily rhythm of complaints.
    baseline_points: int = 60
    # No spike is called before this much history: a median of a handful of points is noise.
    min_history: int = 10
    # A spike needs the count this many robust standard deviations (1.4826 * MAD) above the median ...
    k_sigma: float = 6.0
    # ... and at least this many complaints more (at low counts Poisson noise alone gives a few) ...
    min_rise: float = 10.0
    # ... and at least this multiple of the baseline (a doubling is what people notice).
    min_ratio: float = 2.0
    # Consecutive points above the threshold: one odd minute (a bot, a retry storm) is not an outage.
    confirm_points: int = 2
    # The rise begins where the count last stood within this many sigmas of the baseline ...
    quiet_sigma: float = 2.0
    # ... with at least this absolute margin, so a flat baseline (MAD 0) does not make every +1 a rise.
    quiet_margin: float = 3.0
    # A spike ends after this many points back at the quiet level; then the baseline learns again.
    settle_points: int = 5


SPIKE_RULES = SpikeRules()


@dataclass(frozen=True)
class LinkRules:
    """Which signals belong to a story, and why."""

    # A complaint spike can precede the first headline by hours (nobody writes until it is clearly big) ...
    onset_before_first_report: timedelta = timedelta(hours=12)
    # ... and follow it a little (an outlet may hear from insiders before users notice).
    onset_after_first_report: timedelta = timedelta(hours=1)
    # An official statement counts from shortly before the spike (status pages are sometimes first) ...
    statement_before_onset: timedelta = timedelta(hours=1)
    # ... until a day after the story's last article.
    statement_after_last_article: timedelta = timedelta(hours=24)
    # Without a complaint spike nothing says the story is about an incident (a product launch names the
    # service too): a status entry then counts only this close to the first report.
    statement_without_spike: timedelta = timedelta(hours=6)


LINK_RULES = LinkRules()


@dataclass(frozen=True)
class SignalPoint:
    source: str
    service: str
    ts: datetime
    value: float | None
    kind: str  # complaints | status
    text: str | None = None


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str


@dataclass(frozen=True)
class ParsedSignals:
    points: tuple[SignalPoint, ...]
    problems: tuple[Problem, ...]


class SignalFormatError(ValueError):
    """The file cannot be used at all (not a counts CSV, not a feed); the message says why."""


@dataclass(frozen=True)
class Onset:
    service: str
    onset_at: datetime
    peak_at: datetime
    peak_value: float
    baseline: float
    threshold: float
    # The point that confirmed the spike: a run reading the series as it grew could not have known it sooner.
    detected_at: datetime | None = None


_TS_NAMES = ("ts", "time", "timestamp", "datetime", "date")
_COUNT_NAMES = ("count", "value", "reports", "complaints")


def parse_counts_csv(text: str, source: str, default_service: str) -> ParsedSignals:
    """Rows ``ts,count[,service]`` (header optional). Bad rows are skipped and reported by line number."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise SignalFormatError("the file is empty")
    columns, start = _csv_columns(rows[0])
    points: list[SignalPoint] = []
    problems: list[Problem] = []
    naive_lines = unnamed = 0
    for number, row in enumerate(rows[start:], start=start + 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        try:
            point, zoned = _counts_row(row, columns, source, default_service)
        except ValueError as exc:
            problems.append(Problem(number, str(exc)))
            continue
        naive_lines += not zoned
        unnamed += not _cell(row, columns.get("service"))
        points.append(point)
    if not points:
        raise SignalFormatError(no_usable_rows(problems))
    if naive_lines:
        problems.append(Problem(None, f"{plural(naive_lines, 'timestamp')} without a time zone read as UTC"))
    if unnamed:
        problems.append(
            Problem(None, f"{plural(unnamed, 'row')} without a service: recorded as {default_service!r}")
        )
    return ParsedSignals(tuple(points), tuple(problems))


# How many problem rows an all-junk file lists before "... and N more": enough to see the pattern.
LISTED_PROBLEMS = 10


def no_usable_rows(problems: Sequence[Problem]) -> str:
    """The message for a file without one usable row, listing its first problem rows (line and problem)."""
    head = f"no usable ts,count[,service] rows ({plural(len(problems), 'row')} with problems)"
    listed = [f"\n  line {p.line}: {p.message}" for p in problems[:LISTED_PROBLEMS]]
    more = len(problems) - LISTED_PROBLEMS
    return head + "".join(listed) + (f"\n  ... and {more} more" if more > 0 else "")


def _csv_columns(first: Sequence[str]) -> tuple[dict[str, int], int]:
    names = [cell.strip().lower() for cell in first]
    if any(n in _TS_NAMES for n in names):
        ts = next(i for i, n in enumerate(names) if n in _TS_NAMES)
        count = next((i for i, n in enumerate(names) if n in _COUNT_NAMES), None)
        if count is None:
            raise SignalFormatError(f"header {','.join(first)!r} has no count column (one of {_COUNT_NAMES})")
        service = names.index("service") if "service" in names else None
        return {"ts": ts, "count": count, **({"service": service} if service is not None else {})}, 1
    return {"ts": 0, "count": 1, "service": 2}, 0


def _cell(row: Sequence[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _counts_row(
    row: Sequence[str], columns: Mapping[str, int], source: str, default_service: str
) -> tuple[SignalPoint, bool]:
    if len(row) <= max(columns["ts"], columns["count"]):
        raise ValueError(f"expected ts,count[,service], got {len(row)} field(s)")
    try:
        ts, zoned = parse_timestamp(row[columns["ts"]])
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"timestamp {row[columns['ts']]!r} is not ISO 8601 or epoch seconds") from exc
    try:
        value = float(row[columns["count"]])
    except ValueError as exc:
        raise ValueError(f"count {row[columns['count']]!r} is not a number") from exc
    if value < 0 or value != value:
        raise ValueError(f"count {row[columns['count']]!r} must be a non-negative number")
    service = _cell(row, columns.get("service")) or default_service
    return SignalPoint(source, service, ts, value, "complaints"), zoned


# "Amazon Status - Incident History", "Slack System Status": the service is what comes before.
_FEED_TITLE_TAIL = re.compile(r"\s*\b(?:system |service )?(?:status|incident history|incidents)\b.*$", re.I)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def parse_status_feed(data: bytes, source: str, default_service: str | None = None) -> ParsedSignals:
    """Entries of a status-page Atom/RSS feed as ``status`` signals (the title and summary as text)."""
    parsed = feedparser.parse(data)
    if not parsed.entries:
        reason = getattr(parsed, "bozo_exception", None)
        raise SignalFormatError(f"not a usable Atom/RSS feed{f': {reason}' if reason else ' (no entries)'}")
    title = str(parsed.feed.get("title", "")).strip()
    service = default_service or _FEED_TITLE_TAIL.sub("", title).strip(" -–|:")
    points: list[SignalPoint] = []
    problems: list[Problem] = []
    for number, entry in enumerate(parsed.entries, start=1):
        ts = _entry_time(entry, number, problems)
        if ts is None:
            problems.append(
                Problem(number, f"entry {number} ({entry.get('title', '')!r}) has no usable date")
            )
            continue
        summary = _SPACE.sub(" ", _TAG.sub(" ", str(entry.get("summary", "")))).strip()
        text = ": ".join(x for x in (str(entry.get("title", "")).strip(), summary) if x)
        points.append(SignalPoint(source, service or "unknown", ts, None, "status", text[:1000]))
    if not points:
        raise SignalFormatError("no feed entry has a usable date")
    return ParsedSignals(tuple(points), tuple(problems))


def _entry_time(entry: Any, number: int, problems: list[Problem]) -> datetime | None:
    """The entry's date read by common.timeclaims (feedparser reads unknown zone names and -0000 as UTC)."""
    raw = entry.get("published") or entry.get("updated")
    claim = parse_time_claim(raw, "feed") if raw else None
    if claim is not None and claim.instant is not None:
        return claim.instant
    if claim is not None:
        problems.append(Problem(number, f"entry {number} date {raw!r} has no usable zone: read as UTC"))
        return claim.wall.replace(tzinfo=UTC)
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp is not None else None


def detect_onsets(
    series: Sequence[tuple[datetime, float]], service: str = "", rules: SpikeRules = SPIKE_RULES
) -> list[Onset]:
    """Complaint spikes in a time-ordered series: where each rise begins (not its peak), its peak, and the
    baseline and threshold it was judged against. Spike points never feed the baseline."""
    points = sorted(series)
    history: list[float] = []
    onsets: list[Onset] = []
    i = 0
    while i < len(points):
        if len(history) >= rules.min_history:
            base, sigma = _baseline(history[-rules.baseline_points :])
            threshold = base + max(rules.k_sigma * sigma, rules.min_rise, (rules.min_ratio - 1) * base)
            if _confirmed(points, i, threshold, rules.confirm_points):
                quiet = base + max(rules.quiet_sigma * sigma, rules.quiet_margin)
                start = _rise_start(points, i, quiet)
                end = _spike_end(points, i, quiet, rules.settle_points)
                peak_at, peak = max(points[start:end], key=lambda p: (p[1], -p[0].timestamp()))
                detected_at = points[i + rules.confirm_points - 1][0]
                onsets.append(Onset(service, points[start][0], peak_at, peak, base, threshold, detected_at))
                i = end
                continue
        history.append(points[i][1])
        i += 1
    return onsets


def _baseline(values: Sequence[float]) -> tuple[float, float]:
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return median, 1.4826 * mad


def _confirmed(points: Sequence[tuple[datetime, float]], i: int, threshold: float, needed: int) -> bool:
    window = points[i : i + needed]
    return len(window) == needed and all(value > threshold for _, value in window)


def _rise_start(points: Sequence[tuple[datetime, float]], i: int, quiet: float) -> int:
    """Walk back from the first point over the threshold while the count is still above the quiet level."""
    start = i
    while start > 0 and points[start - 1][1] > quiet:
        start -= 1
    return start


def _spike_end(points: Sequence[tuple[datetime, float]], i: int, quiet: float, settle: int) -> int:
    """Index just past the spike: after ``settle`` consecutive quiet points (or the end of the series)."""
    calm = 0
    j = i
    while j < len(points):
        calm = calm + 1 if points[j][1] <= quiet else 0
        j += 1
        if calm >= settle:
            return j - settle
    return len(points)


@dataclass(frozen=True)
class StoryRef:
    story_id: str
    text: str  # headline and member titles, any language
    first_published_at: datetime
    last_published_at: datetime
    first_outlet: str = ""


@dataclass(frozen=True)
class StoryOutage:
    story_id: str
    service: str
    onset_at: datetime | None
    peak_at: datetime | None
    peak_value: float | None
    first_report_at: datetime
    lag_seconds: int | None  # first report minus spike onset
    statement_at: datetime | None
    statement_text: str | None
    summary: str


def service_pattern(name: str, aliases: Sequence[str]) -> re.Pattern[str] | None:
    """Whole-word forms of a service; short all-caps names (AWS, PSN) match only in capitals."""
    forms = sorted(
        {normalize_text(f) for f in (name, *aliases) if len(f.strip()) >= 2}, key=lambda f: (-len(f), f)
    )
    if not forms:
        return None
    loose = [re.escape(f).replace(r"\ ", r"\s+") for f in forms if not (f.isupper() and len(f) <= 4)]
    strict = [re.escape(f) for f in forms if f.isupper() and len(f) <= 4]
    parts = []
    if loose:
        parts.append(f"(?i:{'|'.join(loose)})")
    if strict:
        parts.append("|".join(strict))
    return re.compile(rf"(?<!\w)(?:[وفبلك]{{0,2}}|ال)?(?:{'|'.join(parts)})(?!\w)")


@dataclass(frozen=True)
class ServiceSignals:
    """A service's spikes and status entries, computed once for every story that names it."""

    service: str
    pattern: re.Pattern[str] | None
    onsets: tuple[Onset, ...]
    statuses: tuple[SignalPoint, ...]


def index_signals(
    signals: Sequence[SignalPoint], services: Mapping[str, Sequence[str]]
) -> dict[str, ServiceSignals]:
    """Per service: its name pattern (with the alias table's forms), complaint spikes and status entries."""
    by_service: dict[str, list[SignalPoint]] = {}
    for point in signals:
        by_service.setdefault(point.service, []).append(point)
    index = {}
    for service, mine in sorted(by_service.items()):
        onsets: list[Onset] = []
        for source in sorted({p.source for p in mine if p.kind == "complaints"}):
            # Each source is its own series: two trackers' counts are not one curve.
            series = [
                (p.ts, p.value)
                for p in mine
                if p.source == source and p.kind == "complaints" and p.value is not None
            ]
            onsets += detect_onsets(series, service)
        statuses = tuple(sorted((p for p in mine if p.kind == "status"), key=lambda p: (p.ts, p.text or "")))
        aliases = services.get(_service_key(service, services), ())
        index[service] = ServiceSignals(
            service,
            service_pattern(service, aliases),
            tuple(sorted(onsets, key=lambda o: o.onset_at)),
            statuses,
        )
    return index


def link_story(
    story: StoryRef, index: Mapping[str, ServiceSignals], rules: LinkRules = LINK_RULES
) -> list[StoryOutage]:
    """For each service the story names and has signals for: the spike onset nearest before the first report,
    the lag to the first report, and the first official statement (or none yet)."""
    text = normalize_text(story.text)
    out = []
    for service, signals in sorted(index.items()):
        if signals.pattern is None or not signals.pattern.search(text):
            continue
        onset = _nearest_onset(story, signals.onsets, rules)
        statement = _first_statement(story, signals.statuses, onset, rules)
        if onset is None and statement is None:
            continue
        out.append(_outage(story, service, onset, statement))
    return out


def _service_key(service: str, services: Mapping[str, Sequence[str]]) -> str:
    """The alias table's name for a service written as its name or one of its aliases."""
    folded = normalize_text(service).casefold()
    for name, aliases in services.items():
        if folded in {normalize_text(f).casefold() for f in (name, *aliases)}:
            return name
    return service


def _nearest_onset(story: StoryRef, onsets: Sequence[Onset], rules: LinkRules) -> Onset | None:
    earliest = story.first_published_at - rules.onset_before_first_report
    latest = story.first_published_at + rules.onset_after_first_report
    candidates = [o for o in onsets if earliest <= o.onset_at <= latest]
    return max(candidates, key=lambda o: o.onset_at) if candidates else None


def _first_statement(
    story: StoryRef, statuses: Sequence[SignalPoint], onset: Onset | None, rules: LinkRules
) -> SignalPoint | None:
    if onset is not None:
        start = onset.onset_at - rules.statement_before_onset
        end = story.last_published_at + rules.statement_after_last_article
    else:
        start = story.first_published_at - rules.statement_without_spike
        end = story.first_published_at + rules.statement_without_spike
    return next((p for p in statuses if start <= p.ts <= end), None)


def _outage(story: StoryRef, service: str, onset: Onset | None, statement: SignalPoint | None) -> StoryOutage:
    lag = int((story.first_published_at - onset.onset_at).total_seconds()) if onset else None
    parts = []
    if onset:
        parts.append(f"{service} complaints began rising at {onset.onset_at:%Y-%m-%d %H:%M} UTC")
        parts.append(f"peak {onset.peak_value:g} at {onset.peak_at:%H:%M} UTC")
    who = f" ({story.first_outlet})" if story.first_outlet else ""
    gap = ""
    if lag is not None:
        gap = f", {abs(lag) // 60} min {'after' if lag >= 0 else 'before'} the spike began"
    parts.append(f"first report{who} at {story.first_published_at:%Y-%m-%d %H:%M} UTC{gap}")
    if statement:
        parts.append(
            f"first official statement at {statement.ts:%Y-%m-%d %H:%M} UTC: {statement.text or ''}"[:300]
        )
    else:
        parts.append("no official statement yet")
    return StoryOutage(
        story_id=story.story_id,
        service=service,
        onset_at=onset.onset_at if onset else None,
        peak_at=onset.peak_at if onset else None,
        peak_value=onset.peak_value if onset else None,
        first_report_at=story.first_published_at,
        lag_seconds=lag,
        statement_at=statement.ts if statement else None,
        statement_text=statement.text if statement else None,
        summary="; ".join(parts),
    )
