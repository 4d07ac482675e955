"""Showing untrusted text safely: article titles, outlet names, evidence sentences and URLs all come from the
web. Nothing here produces HTML; markdown is escaped so ``$5bn`` stays text (not LaTeX), ``<script>`` stays
text, and ``[x](javascript:...)`` is not a link. Only http(s) URLs are ever links."""

from __future__ import annotations

import re
import string
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_SPACE = re.compile(r"\s+")

UTC_NAME = "UTC"
COMMON_ZONES = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Africa/Cairo",
    "Asia/Riyadh",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)


def escape_markdown(text: object) -> str:
    """Plain text for st.markdown-like elements: every ASCII punctuation backslash-escaped (CommonMark allows
    that for all of them), whitespace collapsed to single spaces so no block syntax can start a line."""
    if text is None:
        return ""
    flat = _SPACE.sub(" ", str(text)).strip()
    return _MD_SPECIAL.sub(r"\\\1", flat)


def safe_url(url: object) -> str | None:
    """The URL when it is an absolute http(s) URL with a host, else None (never a link)."""
    if not isinstance(url, str):
        return None
    candidate = url.strip()
    if any(ch in candidate for ch in "\r\n\t ") or not candidate:
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def format_lag(seconds: float | None, is_first: bool = False) -> str:
    """ "first", "+45 s", "+24 min", "+2 h 05 min", "+3 d 4 h"."""
    if is_first:
        return "first"
    if seconds is None or pd.isna(seconds):
        return ""
    total = round(float(seconds))
    sign = "+" if total >= 0 else "−"
    total = abs(total)
    if total < 60:
        return f"{sign}{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{sign}{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h"


def format_duration(seconds: float | None) -> str:
    """A span without sign: "0 min", "24 min", "2 h 05 min"."""
    if seconds is None or pd.isna(seconds):
        return ""
    return format_lag(max(0.0, float(seconds))).lstrip("+").replace("0 s", "0 min")


def zone(name: str | None) -> ZoneInfo:
    """The named zone, UTC for an unknown or empty name (a browser can report anything)."""
    try:
        return ZoneInfo(name or UTC_NAME)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_NAME)


def to_zone(values: pd.Series, zone_name: str) -> pd.Series:
    """Aware timestamps converted to the zone (naive ones are taken as UTC)."""
    series = pd.to_datetime(values)
    if series.dt.tz is None:
        series = series.dt.tz_localize("UTC")
    return series.dt.tz_convert(zone(zone_name))


def format_time(value: datetime | pd.Timestamp | None, zone_name: str, with_date: bool = True) -> str:
    """ "2026-10-06 16:02 EDT" in the chosen zone."""
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    local = stamp.tz_convert(zone(zone_name))
    return local.strftime("%Y-%m-%d %H:%M %Z" if with_date else "%H:%M %Z")


FSI, PDI = "\u2068", "\u2069"


def bidi_isolate(text: object) -> str:
    """Wrap text in a first-strong isolate (FSI ... PDI): an Arabic or Hebrew title then runs right to left, with
    its embedded Latin names in the right place, inside the left-to-right page, table cell or heading."""
    if text is None:
        return ""
    value = str(text)
    return f"{FSI}{value}{PDI}" if value else value


CLOCK_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d) (UTC(?:[+-]\d\d:\d\d)?|[A-Z]{2,5})\b")
MINUTES_PER_DAY = 24 * 60


def times_in_zone(text: str, anchor: datetime | pd.Timestamp | None, zone_name: str) -> str:
    """A stored sentence's clock times ("GeekWire at 13:31 PDT ...") rewritten in the reader's zone.

    The first time in an evidence sentence is ``anchor`` (the first report) in the outlet's zone: that gives
    the offset of its abbreviation; "UTC" and "UTC+03:00" carry their own. Each time is taken as the instant
    nearest the anchor. A time whose zone cannot be worked out is left as written."""
    if anchor is None or pd.isna(anchor):
        return text
    stamp = pd.Timestamp(anchor)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    offsets: dict[str, int] = {}
    first = CLOCK_TIME.search(text)
    if first is not None:
        local = int(first.group(1)) * 60 + int(first.group(2))
        utc = stamp.hour * 60 + stamp.minute
        offsets[first.group(3)] = (
            local - utc + MINUTES_PER_DAY // 2
        ) % MINUTES_PER_DAY - MINUTES_PER_DAY // 2

    def rewrite(match: re.Match[str]) -> str:
        offset = _zone_offset_minutes(match.group(3), offsets)
        if offset is None:
            return match.group(0)
        minutes = int(match.group(1)) * 60 + int(match.group(2)) - offset  # in UTC
        delta = (minutes - (stamp.hour * 60 + stamp.minute) + MINUTES_PER_DAY // 2) % MINUTES_PER_DAY
        instant = stamp + pd.Timedelta(minutes=delta - MINUTES_PER_DAY // 2)
        return format_time(instant, zone_name, with_date=False)

    return CLOCK_TIME.sub(rewrite, text)


def _zone_offset_minutes(name: str, known: dict[str, int]) -> int | None:
    if name == "UTC":
        return 0
    if name.startswith("UTC"):
        sign = -1 if name[3] == "-" else 1
        return sign * (int(name[4:6]) * 60 + int(name[7:9]))
    return known.get(name)
