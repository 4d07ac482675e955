"""Who reported first, and why we believe so: a pure core (plain data in, plain data out, no I/O).

Every article's publication time is a *claim* with a source (``page``: the page's own zone-aware metadata;
``feed``: the feed entry's date; ``first_seen``: the crawler's first sight) and so an uncertainty window.
The first report is the earliest independent (not syndicated) article, where a weaker claim that is earlier
only on paper, within its own uncertainty, never beats a stronger one. The evidence sentence says which
claim decided, whether the article's other claims agree, who credits whom, and where those disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class ClaimRule:
    """How far a claim of one kind may be from the true publication time, and how much it is trusted."""

    strength: int  # higher wins whenever two claims overlap within their uncertainty
    earlier: timedelta  # the true time may be this much before the claimed one
    later: timedelta  # ... or this much after it (always capped at the crawler's first sight)
    label: str  # how the evidence sentence names the claim
    why: str


# Claim kinds and their uncertainty: the one table of first-report thresholds.
CLAIM_RULES: dict[str, ClaimRule] = {
    "page": ClaimRule(
        3, timedelta(minutes=1), timedelta(minutes=1), "page metadata", "zone-aware, usually minute precision"
    ),
    "feed": ClaimRule(
        2,
        timedelta(minutes=15),
        timedelta(minutes=15),
        "feed date",
        "zone-aware, but feeds often carry the time an entry was queued or last updated",
    ),
    "feed_naive": ClaimRule(
        1,
        timedelta(hours=14),
        timedelta(hours=12),
        "feed date without time zone",
        "local time read as UTC: the real offset may be anything from UTC-12 to UTC+14",
    ),
    "first_seen": ClaimRule(
        1,
        timedelta(minutes=60),
        timedelta(0),
        "first seen by the crawler",
        "an upper bound: published at most one polling interval (about an hour) before",
    ),
    "feed_date_only": ClaimRule(
        0,
        timedelta(hours=14),
        timedelta(hours=36),
        "feed date without a time",
        "midnight of a local calendar day in an unknown zone",
    ),
}

# A page time and a feed time within this of each other "agree": feeds are often minutes late.
AGREEMENT_TOLERANCE = timedelta(minutes=10)
# A raw date ends in an offset, Z, or a zone name RFC 822 defines (others are read as UTC by feedparser).
_ZONED = re.compile(
    r"(?:Z|[+-]\d{2}:?\d{2}|\b(?:UTC|GMT|UT|EST|EDT|CST|CDT|MST|MDT|PST|PDT))\s*$", re.IGNORECASE
)
# Spread milestones reported per story (number of distinct outlets).
OUTLET_MILESTONES = (5, 10)


@dataclass(frozen=True)
class Member:
    """One article of a story, as the first-report core needs it."""

    article_id: str
    outlet: str
    published_at: datetime
    published_at_source: str  # page | feed | first_seen
    first_seen_at: datetime
    language: str | None = None
    syndicated_from_article_id: str | None = None
    feed_published_raw: str | None = None  # the feed entry's date string, exactly as written
    page_published_raw: str | None = None  # the page's own date claim, as extracted


@dataclass(frozen=True)
class Credit:
    """One citation between members' outlets, as far as first reports care."""

    citing_outlet: str
    cited_outlet: str
    says_first: bool  # "first reported by", "أول من أفاد", ... rather than a plain "according to"


@dataclass(frozen=True)
class Claim:
    article_id: str
    outlet: str
    kind: str  # a key of CLAIM_RULES
    at: datetime
    lo: datetime
    hi: datetime
    strength: int
    first_seen_at: datetime


@dataclass(frozen=True)
class LanguageReach:
    language: str
    first_at: datetime
    lag_seconds: int


@dataclass(frozen=True)
class FirstReport:
    article_id: str
    outlet: str
    published_at: datetime
    claim_kind: str
    uncertain: bool  # a weaker or equal claim overlaps the winner's time within its uncertainty
    evidence: str
    lag_seconds: Mapping[str, int]  # every member's lag from the first report (may be < 0 for weak claims)
    seconds_to_outlets: Mapping[int, int | None]  # milestone -> seconds, None when not reached
    languages: tuple[LanguageReach, ...]


def claim_precision(raw: str | None) -> str:
    """'zoned', 'naive', 'date_only' or 'unknown' for a raw date string from a feed or page."""
    if not raw or not raw.strip():
        return "unknown"
    text = raw.strip()
    if not re.search(r"\d{1,2}:\d{2}", text):
        return "date_only"
    if _ZONED.search(text):
        return "zoned"
    return "naive"  # no zone, or a zone name feedparser silently reads as UTC (CEST, IST, ...)


def parse_claim(raw: str | None) -> datetime | None:
    """The instant a zone-aware raw date string names, in UTC; None when it is naive, date-only or garbage."""
    if claim_precision(raw) != "zoned" or raw is None:
        return None
    text = raw.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def claim_of(member: Member) -> Claim:
    """The member's publication claim with its uncertainty window."""
    kind = member.published_at_source
    if kind == "feed":
        precision = claim_precision(member.feed_published_raw)
        kind = {"naive": "feed_naive", "date_only": "feed_date_only"}.get(precision, "feed")
    rule = CLAIM_RULES.get(kind, CLAIM_RULES["first_seen"])
    at = min(member.published_at, member.first_seen_at)
    return Claim(
        article_id=member.article_id,
        outlet=member.outlet,
        kind=kind if kind in CLAIM_RULES else "first_seen",
        at=at,
        lo=at - rule.earlier,
        hi=min(at + rule.later, member.first_seen_at),
        strength=rule.strength,
        first_seen_at=member.first_seen_at,
    )


def _order_key(claim: Claim) -> tuple[datetime, int, datetime, str, str]:
    return (claim.at, -claim.strength, claim.first_seen_at, claim.outlet.casefold(), claim.article_id)


def pick_first(claims: Sequence[Claim]) -> tuple[Claim, list[Claim], list[Claim]]:
    """The winning claim, the weaker claims earlier only on paper (overtaken), and the claims tied with it.

    Among all claims whose time falls within the uncertainty of the earliest one, the strongest wins, then
    the earliest, then the earliest first sight, then the outlet name and article id (deterministic)."""
    ordered = sorted(claims, key=_order_key)
    leader = ordered[0]
    contenders = [c for c in ordered if c.at <= leader.hi]
    winner = min(contenders, key=lambda c: (-c.strength, *_order_key(c)))
    overtaken = [c for c in ordered if c.at < winner.at and c.strength < winner.strength]
    tied = [
        c
        for c in ordered
        if c is not winner
        and c.strength == winner.strength
        and winner.at <= c.at <= winner.at + _tie_window(winner)
    ]
    return winner, overtaken, tied


def _tie_window(claim: Claim) -> timedelta:
    """Page times are minute-precise, so a minute apart is a tie; other claims tie only when equal."""
    return CLAIM_RULES["page"].later if claim.kind == "page" else timedelta(0)


def choose_first_report(
    members: Sequence[Member],
    credits: Sequence[Credit] = (),
    zones: Mapping[str, tzinfo] | None = None,
) -> FirstReport:
    """The first report of a story, with its evidence sentence and the story's spread."""
    if not members:
        raise ValueError("a story without members has no first report")
    independent = [m for m in members if not m.syndicated_from_article_id]
    pool = independent or list(members)
    claims = [claim_of(m) for m in pool]
    winner, overtaken, tied = pick_first(claims)
    by_id = {m.article_id: m for m in members}
    first = by_id[winner.article_id]
    zone = (zones or {}).get(first.outlet) or _zone_of_raw(first.page_published_raw) or UTC
    parts = [f"{first.outlet} at {format_time(winner.at, zone)} ({_claim_detail(first, winner)})"]
    parts += _overtaken_notes(overtaken, winner, zone)
    parts += _tie_notes(tied, winner)
    if not independent:
        parts.append("every article here is a copy of another; the earliest copy is shown")
    parts += credit_notes(first.outlet, winner.at, members, credits, zone)
    lags = {
        m.article_id: int((min(m.published_at, m.first_seen_at) - winner.at).total_seconds()) for m in members
    }
    return FirstReport(
        article_id=first.article_id,
        outlet=first.outlet,
        published_at=winner.at,
        claim_kind=winner.kind,
        uncertain=bool(overtaken or tied) or winner.strength < CLAIM_RULES["feed"].strength,
        evidence="; ".join(parts),
        lag_seconds=lags,
        seconds_to_outlets=outlet_milestones(members, winner.at),
        languages=languages_reached(members, winner.at),
    )


def format_time(at: datetime, zone: tzinfo) -> str:
    """'13:38 PDT' in the zone's own abbreviation, else its UTC offset."""
    local = at.astimezone(zone)
    name = local.tzname() or ""
    if not name or name[0] in "+-":
        offset = local.strftime("%z")
        name = "UTC" if offset in ("+0000", "") else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{local:%H:%M} {name}"


def _zone_of_raw(raw: str | None) -> tzinfo | None:
    parsed = None
    if raw and claim_precision(raw) == "zoned":
        try:
            parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed.tzinfo if parsed is not None else None


def _claim_detail(member: Member, claim: Claim) -> str:
    """'page metadata, agrees with its feed' and the like."""
    label = CLAIM_RULES[claim.kind].label
    if claim.kind == "first_seen":
        return f"{label}; no trustworthy date of its own"
    feed_at = parse_claim(member.feed_published_raw)
    if claim.kind == "page" and feed_at is not None:
        gap = feed_at - claim.at
        if abs(gap) <= AGREEMENT_TOLERANCE:
            return f"{label}, agrees with its feed"
        return f"{label}; its feed says {_duration(abs(gap))} {'later' if gap > timedelta(0) else 'earlier'}"
    if claim.kind == "page" and member.feed_published_raw:
        return f"{label}; its feed date has no time zone"
    if claim.kind in ("feed_naive", "feed_date_only"):
        return f"{label}, uncertain by hours; first seen at {claim.first_seen_at:%H:%M} UTC"
    return label


def _overtaken_notes(overtaken: Sequence[Claim], winner: Claim, zone: tzinfo) -> list[str]:
    notes = []
    for claim in overtaken[:3]:
        rule = CLAIM_RULES[claim.kind]
        notes.append(
            f"{claim.outlet} is earlier on paper at {format_time(claim.at, zone)}, but that is a {rule.label} "
            f"({rule.why}) and a stronger claim lies within its uncertainty"
        )
    return notes


def _tie_notes(tied: Sequence[Claim], winner: Claim) -> list[str]:
    if not tied:
        return []
    names = _join(sorted({c.outlet for c in tied if c.outlet != winner.outlet}, key=str.casefold))
    if not names:
        return []
    return [
        f"too close to call against {names} (within the claims' precision); chosen by first sight and name"
    ]


def credit_notes(
    first_outlet: str,
    first_at: datetime,
    members: Sequence[Member],
    credits: Sequence[Credit],
    zone: tzinfo,
) -> list[str]:
    """'credited as first by ...' and, where others credit someone else, whether the times agree."""
    credited: dict[str, set[str]] = {}
    for credit in credits:
        if credit.citing_outlet != credit.cited_outlet:
            credited.setdefault(credit.cited_outlet, set()).add(credit.citing_outlet)
    first_credit = {c.citing_outlet for c in credits if c.cited_outlet == first_outlet and c.says_first}
    plain = credited.get(first_outlet, set()) - first_credit
    notes = []
    if first_credit:
        notes.append(f"credited as first by {_join(sorted(first_credit, key=str.casefold))}")
    if plain:
        notes.append(f"cited by {_join(sorted(plain, key=str.casefold))}")
    earliest = _earliest_by_outlet(members)
    said_first: dict[str, set[str]] = {}
    for credit in credits:
        if (
            credit.says_first
            and credit.cited_outlet != first_outlet
            and credit.citing_outlet != credit.cited_outlet
        ):
            said_first.setdefault(credit.cited_outlet, set()).add(credit.citing_outlet)
    for outlet in sorted(said_first, key=str.casefold):
        who = _join(sorted(said_first[outlet], key=str.casefold))
        at = earliest.get(outlet)
        if at is None:
            notes.append(f"{who} credit {outlet} as first, but no article of {outlet} is in this story")
        else:
            later = _duration(at - first_at) if at > first_at else "no earlier"
            notes.append(
                f"{who} credit {outlet} as first, but its article here is at {format_time(at, zone)}, "
                f"{later}{' later' if at > first_at else ''} than {first_outlet}"
            )
    return notes


def _earliest_by_outlet(members: Sequence[Member]) -> dict[str, datetime]:
    earliest: dict[str, datetime] = {}
    for m in members:
        at = min(m.published_at, m.first_seen_at)
        if m.outlet not in earliest or at < earliest[m.outlet]:
            earliest[m.outlet] = at
    return earliest


def outlet_milestones(members: Sequence[Member], first_at: datetime) -> dict[int, int | None]:
    """Seconds from the first report until the story had reached 5 and 10 distinct outlets."""
    times = sorted(_earliest_by_outlet(members).values())
    return {
        n: (max(0, int((times[n - 1] - first_at).total_seconds())) if len(times) >= n else None)
        for n in OUTLET_MILESTONES
    }


def languages_reached(members: Sequence[Member], first_at: datetime) -> tuple[LanguageReach, ...]:
    """Each language of the story with its first article's time and lag, earliest first."""
    earliest: dict[str, datetime] = {}
    for m in members:
        if not m.language:
            continue
        at = min(m.published_at, m.first_seen_at)
        if m.language not in earliest or at < earliest[m.language]:
            earliest[m.language] = at
    ordered = sorted(earliest.items(), key=lambda kv: (kv[1], kv[0]))
    return tuple(LanguageReach(lang, at, int((at - first_at).total_seconds())) for lang, at in ordered)


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _join(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
