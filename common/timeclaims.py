"""Time claims: what a page, a feed or the crawler says about when an article was published (pure, no I/O).

One parser and one set of rules for every stage. A raw date string becomes a ``TimeClaim``:

- ``kind``: ``zoned`` (a real instant: an offset or a known zone name), ``naive`` (a wall-clock time in an
  unknown zone: no zone, ``-0000``, or a zone name we cannot read without guessing) or ``date_only``;
- ``precision``: ``second``, ``minute`` or ``day``, as written;
- the interval ``earliest``..``latest`` (UTC) the truth lies in. A naive wall-clock time is somewhere between
  UTC-12 and UTC+14, so it spans 26 hours; a local calendar day in an unknown zone spans 50.

``reconcile`` turns the claims of one article (the page's structured claims in priority order, the feed's
date, the crawler's first sight) into a ``Reconciled`` publication time with a source (``page``, ``feed``,
``first_seen``), a precision (``second``, ``minute``, ``day``, ``bound``) and an interval, and says why in a
note. A naive or date-only claim never beats a zoned one; a bound is never presented as a time; nothing is
published after it was first seen. ``learn_outlet_zone`` finds the IANA zones consistent with every zoned
claim an outlet has made, so that its naive times can be read with the right offset, daylight saving included.
"""

from __future__ import annotations

import email.utils
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, available_timezones

from dateutil import parser as dateutil_parser

ZONED, NAIVE, DATE_ONLY = "zoned", "naive", "date_only"
SECOND, MINUTE, DAY, BOUND = "second", "minute", "day", "bound"
PAGE, FEED, FIRST_SEEN = "page", "feed", "first_seen"

# Zone names read as fixed offsets (hours). Only names that mean one thing in news feeds; the US names are
# RFC 822's own. Names missing here (IST: India, Israel or Ireland; AST: Atlantic or Arabia; BST outside
# the UK, ...) are listed in AMBIGUOUS_ZONE_NAMES and make the claim naive: feedparser would read them as UTC.
ZONE_ABBREVIATIONS: dict[str, float] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2, "MET": 1,
    "MEST": 2, "MEZ": 1, "MESZ": 2, "EET": 2, "EEST": 3, "MSK": 3, "TRT": 3, "GST": 4, "PKT": 5, "NPT": 5.75,
    "ICT": 7, "WIB": 7, "HKT": 8, "SGT": 8, "AWST": 8, "PHT": 8, "JST": 9, "KST": 9, "ACST": 9.5,
    "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7,
    "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "SAST": 2, "CAT": 2, "EAT": 3,
    "WAT": 1, "ART": -3, "BRT": -3,
}  # fmt: skip
AMBIGUOUS_ZONE_NAMES = frozenset({"IST", "AST", "ADT", "BDT", "CCT", "ECT", "SST", "AMT", "GMT+3"})


@dataclass(frozen=True)
class Limits:
    """The one table of time-claim thresholds."""

    # Local wall-clock time is at most 14 h ahead of UTC (Kiribati) and 12 h behind (Baker Island).
    ahead_of_utc: timedelta = timedelta(hours=14)
    behind_utc: timedelta = timedelta(hours=12)
    # A claim up to this far after first sight is clock skew, clamped to first sight; beyond it, a future date.
    clock_skew: timedelta = timedelta(minutes=10)
    # Two zoned claims of one page further apart than this contradict each other (and the note says so).
    contradiction: timedelta = timedelta(minutes=1)


LIMITS = Limits()

_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
# Epoch seconds from 1973 (9 digits) to 2286 (10 digits) and beyond (11): a bare number of other lengths is
# more likely a typo or milliseconds than a date.
_EPOCH_SECONDS = re.compile(r"\d{9,11}(\.\d+)?")
_RFC822_START = re.compile(r"^([A-Za-z]{3,9},?\s*)?\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{2,4}")
_HAS_SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")
_HAS_MINUTES = re.compile(r"\d{1,2}:\d{2}")
_NUMERIC_ZONE = re.compile(r"(?:\d|\s)([+-])(\d{2}):?(\d{2})\s*$")
_NAMED_ZONE = re.compile(r"(?<![A-Za-z])([A-Z]{1,5}(?:[+-]\d{1,2})?)\s*$")


@dataclass(frozen=True)
class TimeClaim:
    """One date string as written somewhere, read without guessing."""

    origin: str  # where it was read: jsonld, meta, itemprop, time, dc, htmldate, url, feed, import
    raw: str
    kind: str  # zoned | naive | date_only
    precision: str  # second | minute | day
    wall: datetime  # the wall-clock time as written, naive
    offset: timedelta | None = None  # the UTC offset when zoned
    note: str | None = None  # what the parser set aside (an unknown zone name, "-0000")

    @property
    def instant(self) -> datetime | None:
        """The UTC instant of a zoned claim; None otherwise."""
        if self.offset is None:
            return None
        return (self.wall - self.offset).replace(tzinfo=UTC)

    @property
    def value(self) -> datetime:
        """The UTC instant when zoned, else the naive wall-clock time."""
        return self.instant or self.wall

    @property
    def day(self) -> date:
        """The calendar day where the claim was written."""
        return self.wall.date()

    @property
    def at_midnight(self) -> bool:
        return self.wall.time() == time(0)

    def interval(self) -> tuple[datetime, datetime]:
        """The UTC interval the truth lies in, on this claim alone."""
        instant = self.instant
        if instant is not None and self.kind == ZONED:
            return instant, instant
        start = self.wall if self.kind == NAIVE else datetime.combine(self.day, time(0))
        end = self.wall if self.kind == NAIVE else start + timedelta(days=1)
        return (start - LIMITS.ahead_of_utc).replace(tzinfo=UTC), (end + LIMITS.behind_utc).replace(
            tzinfo=UTC
        )

    def as_day(self, why: str) -> TimeClaim:
        """The same claim read as its calendar day only."""
        return replace(self, kind=DATE_ONLY, precision=DAY, offset=None, note=why)


def parse_time_claim(raw: str | None, origin: str) -> TimeClaim | None:
    """Parse a date string as written in a feed or page; None when it is not a date at all."""
    if raw is None or not raw.strip():
        return None
    text = " ".join(raw.split())
    if _EPOCH_SECONDS.fullmatch(text):
        moment = datetime.fromtimestamp(float(text), UTC).replace(tzinfo=None)
        return TimeClaim(origin, raw, ZONED, SECOND, moment, timedelta(0), "epoch seconds")
    if _ISO_START.match(text):
        parsed = _parse_iso(text)
    elif _RFC822_START.match(text):
        parsed = _parse_rfc822(text)
    else:
        parsed = _parse_loose(text)
    if parsed is None:
        return None
    wall, offset, note = parsed
    if wall.year < 1990 or wall.year > 2100:
        return None
    if _HAS_SECONDS.search(text):
        precision = SECOND
    elif _HAS_MINUTES.search(text):
        precision = MINUTE
    else:
        return TimeClaim(origin, raw, DATE_ONLY, DAY, datetime.combine(wall.date(), time(0)), None, note)
    if offset is None and wall.time() == time(0):
        note = "naive midnight read as a date only"  # how CMSs and htmldate write a bare day
        return TimeClaim(origin, raw, DATE_ONLY, DAY, wall, None, note)
    return TimeClaim(origin, raw, ZONED if offset is not None else NAIVE, precision, wall, offset, note)


Parsed = tuple[datetime, timedelta | None, str | None]


def _split(moment: datetime) -> Parsed:
    offset = moment.utcoffset()
    return moment.replace(tzinfo=None, microsecond=0), offset, None


def _parse_iso(text: str) -> Parsed | None:
    candidate = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d\d-\d\d \d", text) else text
    candidate = re.sub(r"(?<=\d)\s*(UTC|GMT)$", "+00:00", candidate)
    candidate = re.sub(r"([+-]\d{2})$", r"\1:00", candidate)  # "+02" -> "+02:00"
    try:
        return _split(datetime.fromisoformat(candidate))
    except ValueError:
        return _parse_loose(text)


def _parse_rfc822(text: str) -> Parsed | None:
    """RFC 822 dates, reading the zone ourselves: the standard library reads unknown names as UTC."""
    fields = email.utils.parsedate(text)
    if fields is None:
        return _parse_loose(text)
    try:
        wall = datetime(*fields[:6])
    except ValueError:
        return None
    offset, note = zone_offset(text)
    return wall, offset, note


def zone_offset(text: str) -> tuple[timedelta | None, str | None]:
    """The UTC offset a date string ends with, or None (with why) when it has none or an unreadable one."""
    numeric = _NUMERIC_ZONE.search(text)
    if numeric:
        sign, hours, minutes = numeric.groups()
        if sign == "-" and hours == "00" and minutes == "00":
            return None, "zone -0000 means unknown (RFC 2822)"
        seconds = int(hours) * 3600 + int(minutes) * 60
        return timedelta(seconds=-seconds if sign == "-" else seconds), None
    name = _NAMED_ZONE.search(text)
    if name is None or name.group(1) in ("AM", "PM"):
        return None, None
    known = ZONE_ABBREVIATIONS.get(name.group(1))
    if known is None:
        return None, f"zone name {name.group(1)} is ambiguous or unknown: read as a naive time"
    return timedelta(hours=known), None


def _parse_loose(text: str) -> Parsed | None:
    offset, note = zone_offset(text)
    name = _NAMED_ZONE.search(text)
    body = text
    if name and name.group(1) not in ("AM", "PM"):
        body = text[: name.start()].strip()  # the zone is read above, never by dateutil
    body = _NUMERIC_ZONE.sub(lambda m: m.group(0)[0], body) if offset is not None or note else body
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = dateutil_parser.parse(body)
        except (ValueError, OverflowError, TypeError):
            return None
    if parsed.tzinfo is not None:
        return _split(parsed)
    return parsed.replace(microsecond=0), offset, note


def from_instant(moment: datetime, origin: str) -> TimeClaim:
    """A claim for an instant already held as a datetime (an aware one is zoned, a naive one is naive)."""
    offset = moment.utcoffset()
    precision = SECOND if moment.second or moment.microsecond else MINUTE
    kind = ZONED if offset is not None else NAIVE
    return TimeClaim(origin, moment.isoformat(), kind, precision, moment.replace(tzinfo=None), offset)


def feed_gives_days(raws: Iterable[str | None]) -> bool:
    """True when every dated item of a feed sits at exactly 00:00:00 UTC: its dates are days, not instants."""
    claims = [parse_time_claim(raw, "feed") for raw in raws]
    zoned = [c for c in claims if c is not None and c.kind == ZONED]
    if not zoned:
        return False
    return all(c.offset == timedelta(0) and c.at_midnight for c in zoned)


# -- outlet zones ---------------------------------------------------------------------------------------

# When several IANA zones fit an outlet's offsets, the name shown is the first of these that fits.
PREFERRED_ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London",
    "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Moscow", "Africa/Cairo", "Asia/Riyadh",
    "Asia/Dubai", "Asia/Beirut", "Asia/Jerusalem", "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo",
    "Australia/Sydney", "America/Mexico_City", "America/Bogota", "America/Argentina/Buenos_Aires",
    "America/Sao_Paulo", "America/Santiago", "America/Lima", "America/Caracas", "Africa/Lagos",
)  # fmt: skip


@dataclass(frozen=True)
class OutletZone:
    """The IANA zones consistent with every zoned claim of one outlet."""

    name: str  # the one shown in notes
    candidates: tuple[str, ...]
    n_claims: int

    def localize(self, wall: datetime) -> datetime | None:
        """The UTC instant of a wall-clock time, when every candidate zone agrees on its offset; else None."""
        offsets = set()
        for zone_name in self.candidates:
            zone = _zone(zone_name)
            first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
            if first.utcoffset() != second.utcoffset():
                return None  # the hour repeated or skipped at a daylight-saving change
            offsets.add(first.utcoffset())
        if len(offsets) != 1:
            return None
        (offset,) = offsets
        assert offset is not None
        return (wall - offset).replace(tzinfo=UTC)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _all_zones() -> tuple[str, ...]:
    return tuple(
        sorted(name for name in available_timezones() if "/" in name and not name.startswith("Etc/"))
    )


def learn_outlet_zone(claims: Iterable[TimeClaim]) -> OutletZone | None:
    """The zones consistent with every zoned claim of an outlet, ignoring UTC ones; None when none fits.

    Claims at +00:00 are left out: many publishing systems write UTC whatever the newsroom's zone, so they
    say nothing about the zone of the outlet's naive times."""
    observed = {(c.instant, c.offset) for c in claims if c.kind == ZONED and c.offset}
    if not observed:
        return None
    fitting = tuple(
        name
        for name in _all_zones()
        if all(instant.astimezone(_zone(name)).utcoffset() == offset for instant, offset in observed)  # type: ignore[union-attr]
    )
    if not fitting:
        return None
    shown = next((name for name in PREFERRED_ZONES if name in fitting), fitting[0])
    return OutletZone(shown, fitting, len(observed))


# -- reconciliation -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciled:
    """An article's publication time with its source, precision and interval."""

    published_at: datetime  # UTC; for precision "day" the calendar day at 00:00 UTC (never after first sight)
    source: str  # page | feed | first_seen
    precision: str  # second | minute | day | bound
    earliest: datetime | None  # None when only a latest possible instant is known
    latest: datetime
    note: str | None = None
    day: date | None = None  # the calendar day where the article was published, when known
    zone_learned: str | None = None  # the outlet zone a naive time was read in
    claims: tuple[TimeClaim, ...] = field(default=(), compare=False)

    @property
    def is_instant(self) -> bool:
        return is_instant(self.precision)


def is_instant(precision: str | None) -> bool:
    """A time known to the minute or better (not a day, not an interval, not unknown)."""
    return precision in (SECOND, MINUTE)


def _source_of(claim: TimeClaim) -> str:
    return FEED if claim.origin == FEED else PAGE


def reconcile(
    page_claims: Sequence[TimeClaim],
    feed_claim: TimeClaim | None,
    first_seen: datetime,
    *,
    outlet_zone: OutletZone | None = None,
    feed_days: bool = False,
) -> Reconciled:
    """Pick the publication time from the claims; never later than first sight.

    ``page_claims`` come in the page's priority order (structured metadata first, the URL last).
    ``feed_days`` says the feed's items all sit at 00:00 UTC, so its date is a day. ``outlet_zone`` reads naive
    times in the outlet's own zone, and the note says so."""
    notes: list[str] = []
    feed = feed_claim
    if feed is not None and feed_days and _utc_midnight(feed):
        feed = feed.as_day("the feed dates every item at 00:00 UTC: a day, not a time")
    elif (
        feed is not None
        and _utc_midnight(feed)
        and any(c.kind == DATE_ONLY and c.day == feed.day for c in page_claims)
    ):
        feed = feed.as_day("the feed's 00:00 UTC falls on the page's own date: a day, not a time")
    # A page time at exactly 00:00:00 in its own zone is how publishing systems write a bare day.
    page = [
        c.as_day("midnight in its own zone: a date, not a time") if _page_midnight(c) else c
        for c in page_claims
    ]
    claims = [c for c in (*page, feed) if c is not None]
    notes += [f"{c.origin} {c.raw!r}: {c.note}" for c in claims if c.note and c.kind != DATE_ONLY]
    notes += _contradictions(claims)
    for chosen in (_zoned(claims, first_seen, notes), _naive_in_zone(claims, first_seen, outlet_zone, notes)):
        if chosen is not None:
            return _finish(chosen, notes, claims)
    day = _day(claims, first_seen, outlet_zone, notes)
    if day is not None:
        return _finish(day, notes, claims)
    notes.append("no usable date in the page or the feed: the crawler's first sight is a latest bound")
    return _finish(Reconciled(first_seen, FIRST_SEEN, BOUND, None, first_seen), notes, claims)


def _utc_midnight(claim: TimeClaim) -> bool:
    return claim.kind == ZONED and claim.at_midnight and not claim.offset


def _page_midnight(claim: TimeClaim) -> bool:
    return claim.kind == ZONED and claim.at_midnight and claim.origin != FEED


def _finish(result: Reconciled, notes: list[str], claims: Sequence[TimeClaim]) -> Reconciled:
    note = "; ".join(dict.fromkeys(n for n in notes if n)) or None
    return replace(result, note=note, claims=tuple(claims))


def _usable_instant(
    claim: TimeClaim, instant: datetime, first_seen: datetime, notes: list[str]
) -> datetime | None:
    if instant <= first_seen:
        return instant
    if instant - first_seen <= LIMITS.clock_skew:
        notes.append(f"{claim.origin} time {claim.raw!r} clamped to first sight (clock skew)")
        return first_seen
    notes.append(f"{claim.origin} time {claim.raw!r} is after first sight; ignored")
    return None


def _zoned(claims: Sequence[TimeClaim], first_seen: datetime, notes: list[str]) -> Reconciled | None:
    """The first zoned page claim (real times before midnights), else the feed's zoned claim."""
    zoned = [c for c in claims if c.kind == ZONED]
    real_times = [c for c in zoned if not c.at_midnight]
    for claim in [*real_times, *(c for c in zoned if c.at_midnight)]:
        instant = claim.instant
        assert instant is not None
        usable = _usable_instant(claim, instant, first_seen, notes)
        if usable is not None:
            return Reconciled(usable, _source_of(claim), claim.precision, usable, usable, day=claim.day)
    return None


def _naive_in_zone(
    claims: Sequence[TimeClaim], first_seen: datetime, zone: OutletZone | None, notes: list[str]
) -> Reconciled | None:
    """A naive time read in the outlet's learned zone, when every zone that fits agrees on its offset."""
    if zone is None:
        return None
    for claim in (c for c in claims if c.kind == NAIVE):
        instant = zone.localize(claim.wall)
        if instant is None:
            notes.append(f"zones fitting this outlet disagree on the offset of {claim.raw!r}")
            continue
        usable = _usable_instant(claim, instant, first_seen, notes)
        if usable is None:
            continue
        notes.append(
            f"{claim.origin} time {claim.raw!r} has no zone; read in {zone.name}, the zone that fits all "
            f"{zone.n_claims} zoned times of this outlet"
        )
        source = _source_of(claim)
        return Reconciled(
            usable, source, claim.precision, usable, usable, day=claim.day, zone_learned=zone.name
        )
    return None


def _day(
    claims: Sequence[TimeClaim], first_seen: datetime, zone: OutletZone | None, notes: list[str]
) -> Reconciled | None:
    """The calendar day of the best weak claim (page before feed, URL last), its interval narrowed by others."""
    weak = [c for c in claims if c.kind in (NAIVE, DATE_ONLY)]
    ordered = sorted(weak, key=lambda c: (c.origin == "url", c.origin == FEED, c.kind == DATE_ONLY))
    for claim in ordered:
        earliest, latest = _day_interval(claim, zone)
        if earliest > first_seen:
            notes.append(f"{claim.origin} date {claim.raw!r} is after first sight; ignored")
            continue
        latest = min(latest, first_seen)
        for other in ordered:
            other_earliest, other_latest = _day_interval(other, zone)
            if other is not claim and other_earliest <= latest and other_latest >= earliest:
                earliest, latest = max(earliest, other_earliest), min(latest, other_latest)
        what = "a time without zone" if claim.kind == NAIVE else "a date without time"
        origin = "the URL" if claim.origin == "url" else f"{claim.origin} {claim.raw!r}"
        notes.append(f"only {what} ({origin}): the day is known, not the time")
        published = min(datetime.combine(claim.day, time(0), tzinfo=UTC), first_seen)
        return Reconciled(published, _source_of(claim), DAY, earliest, latest, day=claim.day)
    return None


def _day_interval(claim: TimeClaim, zone: OutletZone | None) -> tuple[datetime, datetime]:
    if zone is not None and claim.kind == DATE_ONLY:
        start = zone.localize(datetime.combine(claim.day, time(12)))
        if start is not None:  # the day's span in the outlet's zone (offset taken at noon)
            offset = datetime.combine(claim.day, time(12), tzinfo=UTC) - start
            begin = datetime.combine(claim.day, time(0), tzinfo=UTC) - offset
            return begin, begin + timedelta(days=1)
    return claim.interval()


def _contradictions(claims: Sequence[TimeClaim]) -> list[str]:
    """Notes on page claims that do not agree with the first zoned one."""
    zoned = [c for c in claims if c.kind == ZONED and c.origin != FEED and not c.at_midnight]
    notes = []
    if zoned:
        lead = zoned[0]
        assert lead.instant is not None
        for other in claims:
            if other is lead or other.origin == FEED:
                continue
            if other.kind == ZONED and other.instant is not None:
                if abs(other.instant - lead.instant) > LIMITS.contradiction:
                    notes.append(f"{other.origin} {other.raw!r} contradicts {lead.origin} {lead.raw!r}")
            elif other.day not in {
                lead.day,
                (lead.wall - timedelta(days=1)).date(),
                (lead.wall + timedelta(days=1)).date(),
            }:
                notes.append(f"{other.origin} day {other.day} contradicts {lead.origin} {lead.raw!r}")
    return notes


def describe_claims(claims: Iterable[TimeClaim]) -> list[dict[str, str | None]]:
    """The raw claims as plain records (for a JSON column and the story page)."""
    return [
        {
            "origin": c.origin,
            "raw": c.raw,
            "kind": c.kind,
            "precision": c.precision,
            "utc": c.instant.isoformat() if c.instant else None,
            "note": c.note,
        }
        for c in claims
    ]


def parse_timestamp(text: str) -> tuple[datetime, bool]:
    """A UTC instant and whether it carried a zone, for files whose contract says UTC (signal counts,
    imports): a time without a zone is read as UTC. Raises ValueError when the text is not a time."""
    claim = parse_time_claim(text, "import")
    if claim is None:
        raise ValueError(f"{text!r} is not a date")
    if claim.instant is not None:
        return claim.instant, True
    return claim.wall.replace(tzinfo=UTC), False
