"""Publication time: parse date claims and reconcile them (pure, no I/O).

A claim is *zoned* (a real instant), *naive* (a wall-clock time in an unknown zone), *date-only*, or absent.
Trust: a zoned page time > a zoned feed time > the crawler's first sight. A naive or date-only claim never
beats a zoned one, and is only used as an upper bound ("published no later than") when it proves the article
is older than its first sight (a backlog seen on the first run). Nothing is published after it was first seen.
"""

from __future__ import annotations

import email.utils
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from dateutil import parser as dateutil_parser

# Zone abbreviations that are unambiguous in news feeds. US zones come from the RFC 822 table. Ambiguous
# ones (IST, AST, CST-as-China, ...) are deliberately missing: an unknown zone makes the claim naive.
ZONE_OFFSETS_HOURS: dict[str, float] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2, "MET": 1,
    "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "TRT": 3, "GST": 4, "PKT": 5, "NPT": 5.75, "ICT": 7, "WIB": 7,
    "HKT": 8, "SGT": 8, "AWST": 8, "PHT": 8, "JST": 9, "KST": 9, "ACST": 9.5, "AEST": 10, "AEDT": 11,
    "NZST": 12, "NZDT": 13, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
    "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "SAST": 2, "CAT": 2, "EAT": 3, "WAT": 1, "ART": -3,
    "BRT": -3,
}  # fmt: skip
TZINFOS = {name: int(hours * 3600) for name, hours in ZONE_OFFSETS_HOURS.items()}
HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
TRAILING_ZONE = re.compile(r"\b(?!AM\b|PM\b)([A-Z]{1,5})\s*$")
NUMERIC_ZONE = re.compile(r"([+-])(\d{2}):?(\d{2})\s*$")
# A claim up to this far after first sight is clock skew, clamped to first sight; beyond it, a future date.
CLOCK_SKEW = timedelta(minutes=10)
# The widest gap between local wall-clock time and UTC: UTC-12 .. UTC+14.
NAIVE_UPPER_BOUND = timedelta(hours=12)
DAY = timedelta(days=1)

ZONED, NAIVE, DATE_ONLY = "zoned", "naive", "date_only"


@dataclass(frozen=True)
class DateClaim:
    source: str  # page | feed
    raw: str
    kind: str  # zoned | naive | date_only
    value: datetime  # aware UTC when zoned; naive wall-clock otherwise

    def latest_possible(self) -> datetime:
        """The latest UTC instant this claim can mean."""
        if self.kind == ZONED:
            return self.value
        bound = self.value + NAIVE_UPPER_BOUND + (DAY if self.kind == DATE_ONLY else timedelta(0))
        return bound.replace(tzinfo=UTC)


def parse_claim(raw: str | None, source: str) -> DateClaim | None:
    """Parse a date string as written in a feed or page; None when it is not a date at all."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    parsed = _parse_rfc822(text) or _parse_iso(text) or _parse_loose(text)
    if parsed is None:
        return None
    if not HAS_TIME.search(text) and parsed.tzinfo is None:
        return DateClaim(source, raw, DATE_ONLY, parsed.replace(hour=0, minute=0, second=0, microsecond=0))
    if parsed.tzinfo is None:
        return DateClaim(source, raw, NAIVE, parsed)
    return DateClaim(source, raw, ZONED, parsed.astimezone(UTC))


def _parse_rfc822(text: str) -> datetime | None:
    """RFC 822 dates, reading the zone ourselves: the standard library reads unknown names as UTC."""
    if not re.match(r"^([A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}", text):
        return None
    fields = email.utils.parsedate(text)
    if fields is None:
        return None
    try:
        naive = datetime(*fields[:6])
    except ValueError:
        return None
    offset = zone_offset_seconds(text)
    return naive if offset is None else naive.replace(tzinfo=timezone(timedelta(seconds=offset)))


def zone_offset_seconds(text: str) -> int | None:
    """The UTC offset a date string ends with, or None when it has none, an unknown name, or "-0000"."""
    numeric = NUMERIC_ZONE.search(text)
    if numeric:
        sign, hours, minutes = numeric.groups()
        if sign == "-" and hours == "00" and minutes == "00":
            return None  # RFC 2822: "-0000" says the zone is unknown
        seconds = int(hours) * 3600 + int(minutes) * 60
        return -seconds if sign == "-" else seconds
    name = TRAILING_ZONE.search(text)
    return TZINFOS.get(name.group(1)) if name else None


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(
            text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d\d-\d\d \d", text) else text
        )
    except ValueError:
        return None


def _parse_loose(text: str) -> datetime | None:
    zone = TRAILING_ZONE.search(text)
    if zone and zone.group(1) not in TZINFOS:
        text = text[: zone.start()].strip()  # unknown zone name: keep the wall-clock time, drop the name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return dateutil_parser.parse(text, tzinfos=TZINFOS)  # type: ignore[arg-type]
        except (ValueError, OverflowError, TypeError):
            return None


@dataclass(frozen=True)
class Reconciled:
    published_at: datetime
    source: str  # page | feed | first_seen
    note: str | None = None  # why a claim was set aside, for the logs


def reconcile(page: DateClaim | None, feed: DateClaim | None, first_seen: datetime) -> Reconciled:
    """Pick the publication time from the claims by trust; never later than first sight."""
    notes = []
    for claim in (page, feed):
        if claim is None or claim.kind != ZONED:
            continue
        if claim.value <= first_seen:
            return Reconciled(claim.value, claim.source)
        if claim.value - first_seen <= CLOCK_SKEW:
            return Reconciled(
                first_seen, claim.source, f"{claim.source} time {claim.raw!r} clamped to first sight"
            )
        notes.append(f"{claim.source} time {claim.raw!r} is in the future; ignored")
    weak = [c for c in (page, feed) if c is not None and c.kind != ZONED]
    bounds = [(c.latest_possible(), c.source) for c in weak if c.latest_possible() < first_seen]
    if bounds:
        bound, source = min(bounds)
        notes.append(f"only a {source} time without zone: used as the latest possible instant")
        return Reconciled(bound, source, "; ".join(notes))
    return Reconciled(first_seen, "first_seen", "; ".join(notes) or None)
