"""Who reported first, and why we believe so: a pure core (plain data in, plain data out, no I/O).

Every article's publication time is a *claim* with a source (``page``, ``feed``, ``first_seen``), a precision
and so an interval the truth lies in (common.timeclaims). The first report is the earliest independent (not
syndicated) article whose interval overlaps no earlier-starting one. When the earliest intervals overlap, the
report is not certain, the evidence sentence says who else could have been first and why, and the credit
other outlets give decides; a day, a bound or a time read in a guessed zone never decides by its own time.
The evidence sentence also says whether the article's other claims agree and who credits whom.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from common.timeclaims import BOUND, DAY, NAIVE, SECOND, ZONED, is_instant, parse_time_claim


@dataclass(frozen=True)
class ClaimRule:
    """How far a claim of one kind may be from the true publication time, and how much it is trusted."""

    strength: int  # breaks a tie after credit: an exact time before a guessed zone, a day or a bound
    earlier: timedelta  # the true time may be this much before the claimed one (exact kinds only)
    later: timedelta  # ... or this much after it (always capped at the crawler's first sight)
    label: str  # how the evidence sentence names the claim
    why: str


# Claim kinds and their uncertainty: the one table of first-report thresholds. Only "page" and "feed" are
# exact; the others have the interval their article row carries (a day, a naive time's 26 hours, a bound).
HOUR = timedelta(hours=1)

CLAIM_RULES: dict[str, ClaimRule] = {
    "page": ClaimRule(
        4, timedelta(minutes=1), timedelta(minutes=1), "page metadata", "zone-aware, usually minute precision"
    ),
    "feed": ClaimRule(
        3,
        timedelta(minutes=15),
        timedelta(minutes=15),
        "feed date",
        "zone-aware, but feeds often carry the time an entry was queued or last updated",
    ),
    "zone_learned": ClaimRule(
        2,
        timedelta(0),
        timedelta(0),
        "time without zone, read in the outlet's usual zone",
        "the zone is learned from the outlet's other articles, a guess that never decides alone",
    ),
    "first_seen": ClaimRule(
        1,
        timedelta(minutes=60),
        timedelta(0),
        "first seen by the crawler",
        "an upper bound: published at most one polling interval (about an hour) before",
    ),
    "day": ClaimRule(
        0,
        timedelta(0),
        timedelta(0),
        "date without a time",
        "only the calendar day is known, in a zone anywhere from UTC-12 to UTC+14",
    ),
    "feed_naive": ClaimRule(
        0,
        timedelta(0),
        timedelta(0),
        "feed date without time zone",
        "a local time in an unknown zone: anywhere from UTC-12 to UTC+14",
    ),
}

# A page time and a feed time within this of each other "agree": feeds are often minutes late.
AGREEMENT_TOLERANCE = timedelta(minutes=10)
# Spread milestones reported per story (number of distinct outlets).
OUTLET_MILESTONES = (5, 10)
EXACT_KINDS = ("page", "feed")


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
    precision: str | None = None  # second | minute | day | bound (None: an older row, read from the raws)
    earliest: datetime | None = None  # the interval the truth lies in, as stored with the article
    latest: datetime | None = None
    zone_learned: str | None = None  # the IANA zone a naive time was read in (a guess)


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

    @property
    def exact(self) -> bool:
        return self.kind in EXACT_KINDS


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
    uncertain: bool  # the earliest candidates' intervals overlap (first_report_certain is its negation)
    evidence: str
    lag_seconds: Mapping[str, int]  # every member's lag from the first report (may be < 0 for weak claims)
    seconds_to_outlets: Mapping[int, int | None]  # milestone -> seconds, None when not reached
    languages: tuple[LanguageReach, ...]
    candidates: tuple[str, ...] = ()  # article ids that could each have been first, the winner first

    @property
    def certain(self) -> bool:
        return not self.uncertain


def claim_precision(raw: str | None) -> str:
    """'zoned', 'naive', 'date_only' or 'unknown' for a raw date string (read by common.timeclaims)."""
    claim = parse_time_claim(raw, "feed")
    return claim.kind if claim is not None else "unknown"


def parse_claim(raw: str | None) -> datetime | None:
    """The instant a zone-aware raw date string names, in UTC; None when it is naive, date-only or garbage."""
    claim = parse_time_claim(raw, "feed")
    return claim.instant if claim is not None and claim.kind == ZONED else None


def _kind_of(member: Member) -> str:
    """The claim kind of a member, from its stored precision or, for older rows, from its raw claims."""
    source, precision = member.published_at_source, member.precision
    if source not in EXACT_KINDS:
        return "first_seen"
    if precision is None:  # a row written before precision was stored: read the claim it came from
        raw = member.feed_published_raw if source == "feed" else member.page_published_raw
        kind = claim_precision(raw) if raw else ZONED
        precision = SECOND if kind == ZONED else DAY
        if kind == NAIVE and source == "feed":
            return "feed_naive"
    if is_instant(precision):
        if member.zone_learned:
            return "zone_learned"
        if (
            member.earliest is not None
            and member.latest is not None
            and member.latest - member.earliest > HOUR
        ):
            return "feed_naive"  # a time without zone read as UTC (an imported row): its interval is wide
        return source
    if precision == BOUND:
        return "first_seen"
    if source == "feed" and claim_precision(member.feed_published_raw) == NAIVE:
        return "feed_naive"
    return "day"


def claim_of(member: Member) -> Claim:
    """The member's publication claim with the interval the truth lies in."""
    kind = _kind_of(member)
    rule = CLAIM_RULES[kind]
    seen = member.first_seen_at
    at = min(member.published_at, seen)
    if kind in EXACT_KINDS or kind == "first_seen":
        lo, hi = at - rule.earlier, min(at + rule.later, seen)
    elif kind == "zone_learned":
        lo, hi = _unzoned_window(member, at)
    elif member.earliest is not None and member.latest is not None:
        lo, hi = member.earliest, member.latest
    else:
        lo, hi = _weak_window(member, at)
    hi = min(hi, seen)
    return Claim(member.article_id, member.outlet, kind, at, min(lo, hi), hi, rule.strength, seen)


def _unzoned_window(member: Member, at: datetime) -> tuple[datetime, datetime]:
    """Where a time read in a learned zone could lie if the zone were unknown: its wall clock anywhere."""
    offset = at.astimezone(ZoneInfo(member.zone_learned or "UTC")).utcoffset() or timedelta(0)
    wall = at + offset
    return wall - timedelta(hours=14), wall + timedelta(hours=12)


def _weak_window(member: Member, at: datetime) -> tuple[datetime, datetime]:
    claim = parse_time_claim(member.feed_published_raw, "feed") or parse_time_claim(
        member.page_published_raw, "page"
    )
    if claim is not None and claim.kind != ZONED:
        return claim.interval()
    day = datetime.combine(at.date(), time(0), tzinfo=UTC)
    return day - timedelta(hours=14), day + timedelta(hours=36)


def _order_key(claim: Claim) -> tuple[datetime, int, datetime, str, str]:
    return (claim.at, -claim.strength, claim.first_seen_at, claim.outlet.casefold(), claim.article_id)


def candidates_of(claims: Sequence[Claim]) -> list[Claim]:
    """The claims that could each be the first: those starting before every interval has ended."""
    first_end = min(c.hi for c in claims)
    return sorted((c for c in claims if c.lo <= first_end), key=_order_key)


def credit_score(outlet: str, credits: Sequence[Credit]) -> tuple[int, int]:
    """(other outlets crediting it as first, other outlets citing it at all)."""
    first = {c.citing_outlet for c in credits if c.cited_outlet == outlet and c.says_first}
    cited = {c.citing_outlet for c in credits if c.cited_outlet == outlet}
    return len(first - {outlet}), len(cited - {outlet})


def pick_first(claims: Sequence[Claim], credits: Sequence[Credit] = ()) -> tuple[Claim, list[Claim], str]:
    """The first report, the other claims that overlap it, and what decided between them.

    The first report is the earliest article whose interval overlaps no earlier-starting one. When the
    earliest intervals overlap, the credit other outlets give decides; then an exact time over a guessed zone,
    a day or a bound; then the earliest exact time, first sight, outlet name and article id."""
    candidates = candidates_of(claims)
    if len(candidates) == 1:
        return candidates[0], [], "interval"
    scores = {c.outlet: credit_score(c.outlet, credits) for c in candidates}
    winner = min(candidates, key=lambda c: (tuple(-x for x in scores[c.outlet]), -c.strength, *_order_key(c)))
    others = [c for c in candidates if c is not winner]
    runner_up = min(others, key=lambda c: (tuple(-x for x in scores[c.outlet]), -c.strength, *_order_key(c)))
    if scores[winner.outlet] != scores[runner_up.outlet]:
        decided = "credit"
    elif winner.strength != runner_up.strength:
        decided = "strength"
    elif winner.at != runner_up.at:
        decided = "time"
    else:
        decided = "name"
    if decided in ("strength", "time") and not (winner.exact and (decided == "strength" or runner_up.exact)):
        decided = "undecided"  # a day, a bound or a guessed zone never decides by its own time
    return winner, others, decided


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
    winner, overlapping, decided = pick_first([claim_of(m) for m in pool], credits)
    by_id = {m.article_id: m for m in members}
    first = by_id[winner.article_id]
    zone = (zones or {}).get(first.outlet) or _zone_of_raw(first.page_published_raw) or UTC
    parts = [f"{first.outlet} {_when(winner, zone)} ({_claim_detail(first, winner)})"]
    parts += _overlap_notes(overlapping, winner, decided, zone)
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
        uncertain=bool(overlapping),
        evidence="; ".join(parts),
        lag_seconds=lags,
        seconds_to_outlets=outlet_milestones(members, winner.at),
        languages=languages_reached(members, winner.at),
        candidates=(winner.article_id, *(c.article_id for c in overlapping)),
    )


def _when(claim: Claim, zone: tzinfo) -> str:
    """'at 13:38 PDT' for an exact time; a day or a bound is never shown as a time."""
    if claim.exact:
        return f"at {format_time(claim.at, zone)}"
    if claim.kind == "first_seen":
        return f"first seen at {format_time(claim.first_seen_at, zone)}"
    if claim.kind == "zone_learned":
        return f"at about {format_time(claim.at, zone)}"
    return f"between {_span_end(claim.lo)} and {_span_end(claim.hi)}"


def _span_end(at: datetime) -> str:
    return f"{at:%d %b %H:%M} UTC"


def format_time(at: datetime, zone: tzinfo) -> str:
    """'13:38 PDT' in the zone's own abbreviation, else its UTC offset."""
    local = at.astimezone(zone)
    name = local.tzname() or ""
    if not name or name[0] in "+-":
        offset = local.strftime("%z")
        name = "UTC" if offset in ("+0000", "") else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{local:%H:%M} {name}"


def _zone_of_raw(raw: str | None) -> tzinfo | None:
    claim = parse_time_claim(raw, "page")
    if claim is None or claim.offset is None:
        return None
    return timezone(claim.offset)


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
    if claim.kind == "zone_learned":
        return f"{label} ({member.zone_learned})"
    if not claim.exact:
        return f"{label}, uncertain by hours; first seen at {claim.first_seen_at:%H:%M} UTC"
    return label


DECIDED_BY = {
    "credit": "decided by the credit other outlets give",
    "strength": "decided for the exact time over the weaker claim",
    "time": "decided by the earlier time",
    "name": "chosen by first sight and name",
    "undecided": "no exact time or credit decides it: listed first by claim and first sight only",
}


def _overlap_notes(overlapping: Sequence[Claim], winner: Claim, decided: str, zone: tzinfo) -> list[str]:
    """Why the first report is not certain: who else could have been first, and what their claims are."""
    if not overlapping:
        return []
    notes = []
    for claim in overlapping[:3]:
        rule = CLAIM_RULES[claim.kind]
        where = _when(claim, zone)
        if claim.exact and winner.exact:
            notes.append(f"{claim.outlet} {where} is too close to call (within the claims' precision)")
        else:
            weakest = claim if claim.strength <= winner.strength else winner
            why = CLAIM_RULES[weakest.kind].why
            notes.append(f"{claim.outlet} {where} ({rule.label}) could also be first: {why}")
    return [f"not certain: {'; '.join(notes)}; {DECIDED_BY[decided]}"]


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
