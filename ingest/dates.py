"""Ingest's publication times: the claims of a feed entry or a page, reconciled with common.timeclaims (pure).

There is one parser and one set of rules (common.timeclaims); this module only says which claims ingest has at
each step: a new feed entry has its feed date and first sight; an extracted page adds its own claims, and the
other pages of the batch tell the outlet's zone and whether its feed dates are really days.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from common.timeclaims import (
    DATE_ONLY,
    NAIVE,
    ZONED,
    OutletZone,
    Reconciled,
    TimeClaim,
    describe_claims,
    feed_gives_days,
    learn_outlet_zone,
    parse_time_claim,
    reconcile,
)

__all__ = [
    "DATE_ONLY",
    "NAIVE",
    "ZONED",
    "Reconciled",
    "claims_json",
    "entry_time",
    "outlet_zones",
    "page_time",
    "parse_time_claim",
]


def entry_time(feed_raw: str | None, first_seen: datetime, feed_days: bool = False) -> Reconciled:
    """A new feed entry's publication time from its feed date alone."""
    return reconcile((), parse_time_claim(feed_raw, "feed"), first_seen, feed_days=feed_days)


def page_time(
    page_claims: Sequence[TimeClaim],
    feed_raw: str | None,
    first_seen: datetime,
    *,
    outlet_zone: OutletZone | None = None,
    feed_days: bool = False,
) -> Reconciled:
    """An extracted article's publication time from its page claims, its feed date and first sight."""
    feed = parse_time_claim(feed_raw, "feed")
    return reconcile(page_claims, feed, first_seen, outlet_zone=outlet_zone, feed_days=feed_days)


def outlet_zones(claims_by_outlet: dict[str, list[TimeClaim]]) -> dict[str, OutletZone]:
    """Each outlet's zone, learned from its own zoned claims (page and feed); outlets with none are left out."""
    zones = {}
    for outlet, claims in claims_by_outlet.items():
        zone = learn_outlet_zone(claims)
        if zone is not None:
            zones[outlet] = zone
    return zones


def feed_days_by_outlet(feed_raws_by_outlet: dict[str, list[str | None]]) -> dict[str, bool]:
    """Per outlet: whether every feed date seen sits at exactly 00:00 UTC (so they are days, not times)."""
    return {outlet: feed_gives_days(raws) for outlet, raws in feed_raws_by_outlet.items()}


def claims_json(result: Reconciled) -> str:
    """The raw claims and the decision, as stored with the article (``published_claims``)."""
    return json.dumps(
        {
            "claims": describe_claims(result.claims),
            "source": result.source,
            "precision": result.precision,
            "zone_learned": result.zone_learned,
            "note": result.note,
        },
        ensure_ascii=False,
    )


def group_claims(pairs: Iterable[tuple[str | None, Iterable[TimeClaim]]]) -> dict[str, list[TimeClaim]]:
    """(outlet, claims) pairs gathered per outlet."""
    grouped: dict[str, list[TimeClaim]] = {}
    for outlet, claims in pairs:
        if outlet:
            grouped.setdefault(outlet, []).extend(claims)
    return grouped


def claims_from_json(text: str | None) -> list[TimeClaim]:
    """The claims stored in a ``published_claims`` value, parsed again (PageMap epochs and junk are skipped)."""
    if not text:
        return []
    try:
        records = json.loads(text).get("claims") or []
    except (ValueError, AttributeError):
        return []
    parsed = (
        parse_time_claim(r.get("raw"), r.get("origin") or "page") for r in records if isinstance(r, dict)
    )
    return [claim for claim in parsed if claim is not None]
