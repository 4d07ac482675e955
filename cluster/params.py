"""Every threshold and weight of story clustering, in one table, each with the reason for its value.

Tuned on ../shared/data/uci-slugs-dev.csv (real English headlines, one time window) and on
tests/data/cluster_outages.csv (outage coverage in en/ar/es/fr/de with confusable neighbours); see
docs/stories.md for the figures. Changing any value changes ``fingerprint()``, and the next
``update_stories`` then rebuilds instead of mixing old and new decisions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ClusterParams:
    # --- time -------------------------------------------------------------------------------------------
    # A story takes new articles while its latest article is at most this old: follow-ups ("fixed now")
    # come hours later; a gap of a day and a half means a new event (the AWS outage a week earlier).
    open_gap_hours: float = 36.0
    # ... and while its first article is at most this old, so a recurring topic cannot chain for weeks.
    max_span_hours: float = 96.0
    # Score multiplier falls linearly to (1 - time_penalty) as the gap to the story's latest article
    # reaches open_gap_hours: an article an hour later needs a little less evidence than one a day later.
    time_penalty: float = 0.15
    same_outlet_penalty: float = 0.15
    singleton_margin: float = 0.2

    # --- weights of a token -------------------------------------------------------------------------------
    # Weight = idf x class multiplier x field weight. idf = ln((n_docs + idf_prior_docs) / (df + 1)):
    # the prior keeps weights flat while the corpus is small (a fresh database), instead of calling every
    # word rare.
    idf_prior_docs: float = 200.0
    # Organisations, products, places and outlets from aliases.toml say *who*; they weigh more.
    entity_weight: float = 1.5
    # Event words (outage, launch) say *what* but are shared by neighbours (Teams outage vs Amazon outage).
    event_weight: float = 0.8
    # Numbers (a count of users, a version, a flight number) are specific when present.
    number_weight: float = 1.2
    # Words of the lead (first sentences) that are not in the title: context, less precise than the title.
    lead_weight: float = 0.5
    # Leading words of the text used as the lead.
    lead_words: int = 40

    # --- candidates -----------------------------------------------------------------------------------------
    # Blocking: the article's most specific tokens that are looked up in the inverted index of open stories.
    block_tokens: int = 6
    # A token in more open stories than this is too common to block on (skipped unless nothing else).
    max_postings: int = 400
    # Only the best candidates by shared specific weight get the full comparison.
    max_candidates: int = 4

    # --- decision -------------------------------------------------------------------------------------------
    # An article joins the best open story when the combined similarity reaches this; else it founds one.
    join_threshold: float = 0.35
    # Tokens in at least this share of a story's members form its core (what the story is about).
    core_share: float = 0.34
    # Blend of the two coverages: article side (its weight found in the story) and story side (the story's
    # core found in the article). Both matter: a short headline inside a long one, and vice versa.
    article_side: float = 0.5
    # rapidfuzz token_sort_ratio (0..1) against the story's representatives, blended in with this weight:
    # catches spelling variants the tokens miss.
    fuzzy_weight: float = 0.2
    # Representatives compared by rapidfuzz: the founder plus the latest few members.
    representatives: int = 3
    # Across languages only portable tokens (aliases, numbers, names) count, a shared entity is required,
    # and the smaller of the two coverages must reach this: with so few tokens, one shared name ("Amazon")
    # is not enough when the story is about Amazon *and* an outage and the article about Amazon shares.
    cross_language_min_coverage: float = 0.6

    # --- syndication ------------------------------------------------------------------------------------
    # Bodies compared on their first characters; near-identical at this rapidfuzz ratio or more is a copy.
    syndication_chars: int = 600
    syndication_ratio: float = 92.0
    # Bodies shorter than this are not compared: a one-line summary is often the same across outlets.
    syndication_min_chars: int = 200

    def fingerprint(self) -> str:
        """A short hash of every value, stored with the stories to detect a change of parameters."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


DEFAULT_PARAMS = ClusterParams()
