"""The clustering core: assign articles to stories one by one, in order of publication. No I/O.

Each article is compared with the stories still open at its time (``ClusterParams.open_gap_hours`` and
``max_span_hours``), never with all articles: an inverted index maps each specific token to the open stories
that contain it, and only the stories sharing the article's most specific tokens are scored. A story is
compared as a whole: its token profile (how many members carry each token), its core (tokens most members
share) and a few representative titles, so one loose member cannot chain two events together.

The result depends only on the articles and their order (publication time, then article_id), and the state
before an article is a function of the articles before it: so an incremental run that restores the open
stories and the token statistics gives exactly what a rebuild gives.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from rapidfuzz.fuzz import ratio

from cluster.features import ENTITY, EVENT, PORTABLE_HEADS, Features, featurize
from cluster.model import ArticleIn, Assignment, StoryMembers
from cluster.parallel import PARALLEL_MIN, featurize_stream
from cluster.params import DEFAULT_PARAMS, ClusterParams
from cluster.syndication import SyndicationIndex, find_original

# Title tokens count twice in a story profile, lead tokens once (integers keep sums exact and order-free).
TITLE_COUNT = 2
LEAD_COUNT = 1


def story_id_for(article_id: str) -> str:
    """A story's id: derived from the article that founded it, so a rebuild gives the same ids."""
    return hashlib.sha1(f"story:{article_id}".encode()).hexdigest()[:16]


class _Story:
    """The mutable state of one open story (internal to the core; a slotted class: one is made per story)."""

    __slots__ = (
        "core",
        "core_total",
        "counts",
        "first_ts",
        "languages",
        "last_ts",
        "main_language",
        "member_ids",
        "n",
        "outlets",
        "recent",
        "rep_keys",
        "representatives",
        "seq",
        "small",
        "story_id",
    )

    def __init__(self, story_id: str, seq: int, ts: float) -> None:
        self.story_id = story_id
        self.seq = seq
        self.first_ts = ts
        self.last_ts = ts
        self.n = 0
        self.counts: dict[str, int] = {}  # token -> members with it in the title x 2 + in the lead x 1
        self.core: dict[str, float] = {}  # core token -> class weight x count
        self.core_total = 0.0
        self.languages: dict[str, int] = {}
        self.main_language = "und"
        self.representatives: list[str] = []  # fuzzy titles: the founder and the latest members
        self.rep_keys: list[tuple[float, str]] = []  # their members' sort keys
        self.member_ids: list[str] = []
        self.outlets: set[str] = set()
        # Precise publication times of the members of the last burst_hours (before the latest), sorted.
        self.recent: list[float] = []
        # While the story is small (second_look_members or fewer): each member's features, outlet and time
        # precision, to compare them again with a grown story (the second look).
        self.small: list[tuple[Features, str, bool]] = []

    def deadline(self, params: ClusterParams) -> float:
        return min(self.last_ts + params.open_gap_hours * 3600, self.first_ts + params.max_span_hours * 3600)

    def add_language(self, language: str) -> None:
        self.languages[language] = self.languages.get(language, 0) + 1
        if language != self.main_language:
            self.main_language = min(self.languages.items(), key=lambda kv: (-kv[1], kv[0]))[0]


@dataclass
class _Scored:
    story: _Story
    score: float


class Clusterer:
    """Online story clustering. Feed articles in ``sort_key`` order with ``add``; read back the token
    statistics (``df``, ``n_docs``) to persist them for the next incremental run."""

    def __init__(
        self, params: ClusterParams = DEFAULT_PARAMS, df: dict[str, int] | None = None, n_docs: int = 0
    ) -> None:
        self.params = params
        self.df: dict[str, int] = dict(df or {})
        self.n_docs = n_docs
        self._stories: dict[int, _Story] = {}
        self._postings: dict[str, set[int]] = {}
        self._deadlines: list[tuple[float, int]] = []
        self._story_of: dict[str, _Story] = {}
        self._origin_of: dict[str, str] = {}
        self._syndication = SyndicationIndex(params)
        self._next_seq = 0
        self._class_cache: dict[str, float] = {}
        self._last_key: tuple[float, str] | None = None

    # --- public ------------------------------------------------------------------------------------------

    def restore(self, stories: Iterable[StoryMembers]) -> None:
        """Re-open existing stories (members in processing order) before adding newer articles."""
        for story in sorted(stories, key=lambda s: s.members[0].sort_key):
            state: _Story | None = None
            for article, origin in zip(story.members, story.syndicated_from, strict=True):
                features = self.features(article)
                if state is None:
                    state = self._found(article, story.story_id)
                self._join(state, article, features, origin)

    def add(self, article: ArticleIn, features: Features | None = None) -> Assignment:
        """Assign one article (later in ``sort_key`` order than every article added before). ``features``
        may be given when computed elsewhere (see cluster.parallel); they must be ``self.features(article)``."""
        key = article.sort_key
        if self._last_key is not None and key < self._last_key:
            raise ValueError(f"article {article.article_id} is out of order")
        self._last_key = key
        ts = key[0]
        self._expire(ts)
        if features is None:
            features = self.features(article)
        weights = self._weights(features)
        story, score, origin, evidence = self._choose(article, features, weights, ts)
        if story is None:
            story = self._found(article, story_id_for(article.article_id))
            score = None
        self._join(story, article, features, origin)
        self._count_tokens(features)
        story, merged = self._merge_pass(story)
        return Assignment(article.article_id, story.story_id, score, origin, evidence, merged)

    def add_all(self, articles: Iterable[ArticleIn], workers: int | None = 0) -> list[Assignment]:
        """Assign every article, in processing order. With ``workers`` (None: one per spare core), a batch
        of PARALLEL_MIN articles or more is featurised on other processes meanwhile; the result is the same."""
        ordered = sorted(articles, key=lambda a: a.sort_key)
        if len(ordered) < PARALLEL_MIN:
            workers = 0
        return list(self.add_stream(ordered, workers))

    def add_stream(self, articles: Iterable[ArticleIn], workers: int | None = 0) -> Iterator[Assignment]:
        """Assign articles that arrive already in processing order (e.g. read page by page from a database),
        yielding each assignment; memory stays with the open stories, not the stream."""
        for _, _, assignment in self.place_stream(articles, workers):
            yield assignment

    def place_stream(
        self, articles: Iterable[ArticleIn], workers: int | None = 0
    ) -> Iterator[tuple[ArticleIn, Features, Assignment]]:
        """``add_stream`` that also yields each article and the features it was clustered on."""
        for article, features in featurize_stream(articles, self.params, workers):
            yield article, features, self.add(article, features)

    def features(self, article: ArticleIn) -> Features:
        return featurize(article, self.params)

    @property
    def open_stories(self) -> int:
        return len(self._stories)

    # --- decisions -----------------------------------------------------------------------------------------

    def _choose(
        self, article: ArticleIn, features: Features, weights: dict[str, float], ts: float
    ) -> tuple[_Story | None, float | None, str | None, str | None]:
        """The story to join (None: found one), the score, and the original when this is a copy."""
        copy = find_original(article, features, self._syndication, self._story_of, self._origin_of)
        if copy is not None:
            story = self._story_of.get(copy[0])
            if story is not None:
                return story, 1.0, copy[0], copy[1]
        best = self._best_story(features, weights, ts, article.outlet, article.precise_time)
        origin: str | None = copy[0] if copy is not None else None
        evidence: str | None = copy[1] if copy is not None else None
        if best is None or best.score < self.params.join_threshold:
            return None, None, origin, evidence
        return best.story, round(best.score, 4), origin, evidence

    def _best_story(
        self, features: Features, weights: dict[str, float], ts: float, outlet: str, precise: bool
    ) -> _Scored | None:
        """The best-scoring candidate at or above the join threshold, ties to the earlier story."""
        best: _Scored | None = None
        floor = self.params.join_threshold
        for story in self._candidates(features, weights):
            score = self._similarity(story, features, weights, ts, outlet, floor, precise)
            if score < floor:
                continue
            if best is None or score > best.score or (score == best.score and story.seq < best.story.seq):
                best = _Scored(story, score)
                floor = score
        return best

    def _candidates(self, features: Features, weights: dict[str, float]) -> list[_Story]:
        """Open stories sharing the article's most specific tokens, best shared weight first."""
        p = self.params
        # Heaviest first, ties by token (two C-level sorts: sorting is stable, also with reverse=True).
        keys = sorted(
            sorted({*features.title_tokens, *features.portable}), key=weights.__getitem__, reverse=True
        )
        shared: dict[int, float] = {}
        used = 0
        for token in keys:
            postings = self._postings.get(token)
            if not postings:
                continue
            if len(postings) > p.max_postings and used:
                continue
            used += 1
            for seq in postings:
                shared[seq] = shared.get(seq, 0.0) + weights[token]
            if used >= p.block_tokens:
                break
        ranked = sorted(sorted(shared), key=shared.__getitem__, reverse=True)[: p.max_candidates]
        return [self._stories[seq] for seq in ranked]

    def _similarity(
        self,
        story: _Story,
        features: Features,
        weights: dict[str, float],
        ts: float,
        outlet: str,
        floor: float,
        precise: bool,
    ) -> float:
        """Similarity of the article to the story (0..1, up to 1 + burst_bonus in a burst); -1 as soon as
        it cannot reach ``floor``."""
        p = self.params
        gap = max(0.0, ts - story.last_ts) / (p.open_gap_hours * 3600)
        factor = 1 - p.time_penalty * min(1.0, gap)
        if outlet in story.outlets:
            factor *= 1 - p.same_outlet_penalty
        if story.n == 1:
            factor *= 1 - p.singleton_margin
        if precise and len(story.recent) > 1 and p.burst_bonus:
            factor *= 1 + p.burst_bonus * self._burst(story, ts, features)
        score = self._coverage(story, weights, features)
        main = story.main_language
        cross = 0.0
        if features.language != main and "und" not in (features.language, main):
            cross = self._cross_language(story, features, weights)
        score = (1 - p.fuzzy_weight) * score
        if max(score + p.fuzzy_weight, cross) * factor < floor:
            return -1.0  # even identical wording could not lift it to the floor
        fuzzy = 0.0
        for rep in story.representatives:
            fuzzy = max(fuzzy, ratio(features.fuzzy_title, rep))
        return max(score + p.fuzzy_weight * fuzzy / 100.0, cross) * factor

    def _burst(self, story: _Story, ts: float, features: Features) -> float:
        """How far the story is into a burst at ``ts`` (0..1). 0 unless the article shares a plain word of
        the story's core (not a name from aliases.toml, not an event word) and names no other entity."""
        p = self.params
        recent = len(story.recent) - bisect.bisect_left(story.recent, ts - p.burst_hours * 3600)
        if recent < 2:
            return 0.0
        core = story.core
        if not any(token in core and token[0] not in PORTABLE_HEADS for token in features.title_tokens):
            return 0.0
        # An article naming another company than the story does is another story, however hot this one.
        names = [token for token in features.title_tokens if token[0] == ENTITY]
        other_name = names and not any(token in story.counts for token in names)
        if other_name and any(token[0] == ENTITY for token in core):
            return 0.0
        return min(1.0, (recent - 1) / max(1, p.burst_members - 1))

    def _coverage(self, story: _Story, weights: dict[str, float], features: Features) -> float:
        """Weighted agreement of article and story, blended: the article's weight found in the story profile
        (over the title, or title and lead when that is higher) and the story core's weight found in the
        article. One pass over the article's tokens; the core is a subset of the profile."""
        counts_get, core_get = story.counts.get, story.core.get
        found = total = core_found = 0.0
        # A token counts fully once this many title mentions carry it: a big story's wording varies.
        full = max(TITLE_COUNT, TITLE_COUNT * story.n * self.params.profile_share)
        for token in features.title_tokens:
            weight = weights[token]
            total += weight
            count = counts_get(token)
            if count:
                found += weight * min(count, full)
                core_found += core_get(token, 0.0)
        article_side = found / (total * full) if total else 0.0
        if features.lead_tokens:
            for token in features.lead_tokens:
                weight = weights[token]
                total += weight
                count = counts_get(token)
                if count:
                    found += weight * min(count, full)
                    core_found += core_get(token, 0.0)
            article_side = max(article_side, found / (total * full))
        story_side = core_found / story.core_total if story.core_total else 0.0
        side = self.params.article_side
        return side * article_side + (1 - side) * story_side

    def _cross_language(self, story: _Story, features: Features, weights: dict[str, float]) -> float:
        """Across languages only what carries over counts: aliases, numbers, Latin names in another script.
        Few tokens, so both sides must agree (the smaller coverage), and a shared entity is required: a
        shared event word alone ("outage") never joins a Spanish Teams article to an English Amazon story."""
        full = TITLE_COUNT * story.n
        counts = story.counts
        total = found = entity = 0.0
        for token in features.portable:
            weight = weights[token]
            total += weight
            count = counts.get(token, 0)
            if count:
                found += weight * count / full
                if token[0] == ENTITY:
                    entity += weight
        if not entity:
            return 0.0
        core_total = core_found = 0.0
        for token, value in story.core.items():
            if token[0] in PORTABLE_HEADS or token.isdigit():
                core_total += value
                if token in weights:
                    core_found += value
        score = min(found / total, core_found / core_total if core_total else 0.0)
        return score if score >= self.params.cross_language_min_coverage else 0.0

    # --- merge pass --------------------------------------------------------------------------------------------

    def _merge_pass(self, story: _Story) -> tuple[_Story, tuple[str, ...]]:
        """Fragments of one event: when ``story`` has doubled in size (2, 4, 8, ... members; a new article
        was already compared with its candidates when it was placed), compare its whole profile with
        the open stories that share its core, and merge those alike into the oldest of them. Returns the
        story the latest article is now in and the ids of the stories merged away."""
        n = story.n
        if n < 2 or n & (n - 1):  # only at 2, 4, 8, ...: a few passes per story, each over all its fragments
            return story, ()
        p = self.params
        weights: dict[str, float] = {}
        alike = [
            other
            for other in self._merge_candidates(story, weights)
            if other.main_language == story.main_language
            and max(other.n, story.n) >= p.merge_min_members
            and self._profile_cosine(story, other, weights) >= p.merge_threshold
        ]
        if n >= 4 and p.second_look_threshold:
            alike.extend(self._second_look(story, {story.seq, *(other.seq for other in alike)}))
        if not alike:
            return story, ()
        group = sorted([story, *alike], key=lambda s: s.seq)
        target = group[0]
        for source in group[1:]:
            self._absorb(target, source)
        return target, tuple(sorted(s.story_id for s in group[1:]))

    def _second_look(self, story: _Story, taken: set[int]) -> list[_Story]:
        """Small open fragments (``second_look_members`` or fewer) that share the story's core and whose
        every member, compared now with the grown story, reaches ``second_look_threshold``."""
        p = self.params
        shared: dict[int, float] = {}
        stories = self._stories
        for token in sorted(story.core):
            weight = story.core[token]
            for seq in sorted(self._postings.get(token, ())):
                if seq in taken or not stories[seq].small:
                    continue
                shared[seq] = shared.get(seq, 0.0) + weight
        ranked = sorted(sorted(shared), key=shared.__getitem__, reverse=True)[: p.second_look_candidates]
        assert self._last_key is not None
        now = self._last_key[0]
        floor = p.second_look_threshold
        found = []
        for seq in ranked:
            other = stories[seq]
            if all(
                self._similarity(story, features, self._weights(features), now, outlet, floor, precise)
                >= floor
                for features, outlet, precise in other.small
            ):
                found.append(other)
        return found

    def _merge_candidates(self, story: _Story, weights: dict[str, float]) -> list[_Story]:
        """Open stories sharing the story's most specific core tokens (``block_tokens`` of them, by weight),
        most shared weight first, at most ``merge_candidates``."""
        p = self.params
        core = sorted(story.core)  # no core (members share no title word): nothing to merge on
        for token in core:
            if token not in weights:
                self._merge_weight(token, weights)
        shared: dict[int, float] = {}
        used = 0
        for token in sorted(core, key=weights.__getitem__, reverse=True):
            postings = self._postings.get(token)
            if not postings or len(postings) > p.max_postings:
                continue
            used += 1
            weight = weights[token] * story.core[token]
            for seq in postings:
                if seq != story.seq:
                    shared[seq] = shared.get(seq, 0.0) + weight
            if used >= p.block_tokens:
                break
        ranked = sorted(sorted(shared), key=shared.__getitem__, reverse=True)[: p.merge_candidates]
        return [self._stories[seq] for seq in ranked]

    def _profile_cosine(self, one: _Story, two: _Story, weights: dict[str, float]) -> float:
        """Cosine of the two stories' token profiles (member counts x idf x class), idf of this moment.
        ``weights`` caches token weights within one pass. Sums run in token order: exact in every run."""
        small, large = (one, two) if len(one.counts) <= len(two.counts) else (two, one)
        large_get = large.counts.get
        dot = norm_small = norm_shared = 0.0
        for token, count in sorted(small.counts.items()):
            weight = weights.get(token) or self._merge_weight(token, weights)
            norm_small += (weight * count) ** 2
            other = large_get(token)
            if other:
                dot += weight * weight * count * other
                norm_shared += (weight * other) ** 2
        # The large story's norm is at least its shared tokens' part: when even that bound stays under the
        # threshold, skip the pass over its whole profile (the decision is the same, only cheaper).
        if not dot or dot < self.params.merge_threshold * math.sqrt(norm_small * norm_shared):
            return 0.0
        norm_large = 0.0
        for token, count in sorted(large.counts.items()):
            weight = weights.get(token) or self._merge_weight(token, weights)
            norm_large += (weight * count) ** 2
        return dot / math.sqrt(norm_small * norm_large)

    def _merge_weight(self, token: str, weights: dict[str, float]) -> float:
        idf = math.log(self.n_docs + self.params.idf_prior_docs + 1) - math.log(self.df.get(token, 0) + 1)
        weight = weights[token] = max(idf, 1e-6) * self._class_weight(token)
        return weight

    def _absorb(self, target: _Story, source: _Story) -> None:
        """Merge ``source`` into the older ``target``: the state becomes exactly what joining every member
        of both, in processing order, would give (so restoring the merged story continues identically)."""
        p = self.params
        target.n += source.n
        target.first_ts = min(target.first_ts, source.first_ts)
        target.last_ts = max(target.last_ts, source.last_ts)
        for token, count in source.counts.items():
            target.counts[token] = target.counts.get(token, 0) + count
        threshold = max(p.core_share * target.n, 1) * TITLE_COUNT
        target.core = {
            t: self._class_weight(t) * c for t, c in sorted(target.counts.items()) if c >= threshold
        }
        target.core_total = sum(target.core.values())
        for language, count in source.languages.items():
            target.languages[language] = target.languages.get(language, 0) + count
        target.main_language = min(target.languages.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        founder = (target.rep_keys[0], target.representatives[0])
        rest = sorted(
            [
                *zip(target.rep_keys[1:], target.representatives[1:], strict=True),
                *zip(source.rep_keys, source.representatives, strict=True),
            ]
        )
        latest = rest[len(rest) - (p.representatives - 1) :] if p.representatives > 1 else []
        target.rep_keys = [founder[0], *(k for k, _ in latest)]
        target.representatives = [founder[1], *(r for _, r in latest)]
        target.member_ids.extend(source.member_ids)
        target.outlets |= source.outlets
        target.recent = sorted([*target.recent, *source.recent])
        # (the order of the small members does not matter: the second look needs all of them to agree)
        target.small = [*target.small, *source.small] if target.n <= p.second_look_members else []
        for article_id in source.member_ids:
            self._story_of[article_id] = target
        for token in source.counts:
            postings = self._postings.get(token)
            if postings is not None and source.seq in postings:
                postings.discard(source.seq)
                postings.add(target.seq)
        self._syndication.merge(source.story_id, target.story_id)
        del self._stories[source.seq]
        heapq.heappush(self._deadlines, (target.deadline(p), target.seq))

    # --- state ---------------------------------------------------------------------------------------------

    def _class_weight(self, token: str) -> float:
        """The multiplier of a token's class: entity, event word, number or plain word."""
        weight = self._class_cache.get(token)
        if weight is None:
            p = self.params
            head = token[0]
            if head == ENTITY:
                weight = p.entity_weight
            elif head == EVENT:
                weight = p.event_weight
            elif token.isdigit():
                weight = p.number_weight
            else:
                weight = 1.0
            self._class_cache[token] = weight
        return weight

    def _weights(self, features: Features) -> dict[str, float]:
        """Token weights of the article at this moment: idf x class (x lead weight for lead-only words)."""
        log_docs = math.log(self.n_docs + self.params.idf_prior_docs + 1)
        df_get, class_get, log = self.df.get, self._class_cache.get, math.log
        weights = {}
        for token in features.title_tokens:
            idf = log_docs - log(df_get(token, 0) + 1)
            weights[token] = max(idf, 1e-6) * (class_get(token) or self._class_weight(token))
        if features.lead_tokens:
            lead = self.params.lead_weight
            for token in features.lead_tokens:
                idf = log_docs - log(df_get(token, 0) + 1)
                weights[token] = max(idf, 1e-6) * (class_get(token) or self._class_weight(token)) * lead
        return weights

    def _count_tokens(self, features: Features) -> None:
        df = self.df
        for tokens in (features.title_tokens, features.lead_tokens):
            for token in tokens:
                df[token] = df.get(token, 0) + 1
        self.n_docs += 1

    def _found(self, article: ArticleIn, story_id: str) -> _Story:
        ts = article.sort_key[0]
        story = _Story(story_id, self._next_seq, ts)
        self._next_seq += 1
        self._stories[story.seq] = story
        return story

    def _join(self, story: _Story, article: ArticleIn, features: Features, origin: str | None) -> None:
        p = self.params
        story.n += 1
        story.last_ts = max(story.last_ts, article.sort_key[0])
        counts = story.counts
        for token in features.title_tokens:
            counts[token] = counts.get(token, 0) + TITLE_COUNT
        for token in features.lead_tokens:
            counts[token] = counts.get(token, 0) + LEAD_COUNT
        # At least a title mention: a lone article's lead words are context, not what the story is about.
        threshold = max(p.core_share * story.n, 1) * TITLE_COUNT
        # The threshold only rises, and only this article's tokens gained counts: so the new core is within
        # the old core plus this article's tokens (no scan of the whole profile).
        class_get = self._class_cache.get  # filled by _class_weight for every token of this article
        maybe = sorted({*story.core, *features.title_tokens, *features.lead_tokens})
        story.core = {
            t: (class_get(t) or self._class_weight(t)) * counts[t] for t in maybe if counts[t] >= threshold
        }
        story.core_total = sum(story.core.values())
        story.add_language(features.language)
        reps = story.representatives
        reps.append(features.fuzzy_title)
        story.rep_keys.append(article.sort_key)
        if len(reps) > p.representatives:
            del reps[1]  # keep the founder and the latest members
            del story.rep_keys[1]
        postings, seq = self._postings, story.seq
        for tokens in (features.title_tokens, features.portable):
            for token in tokens:
                stories = postings.get(token)
                if stories is None:
                    postings[token] = {seq}
                else:
                    stories.add(seq)
        story.member_ids.append(article.article_id)
        if article.outlet:
            story.outlets.add(article.outlet)
        if article.precise_time:
            recent = story.recent
            recent.append(article.sort_key[0])
            if recent[0] < recent[-1] - p.burst_hours * 3600:
                del recent[: bisect.bisect_left(recent, recent[-1] - p.burst_hours * 3600)]
        if story.n <= p.second_look_members:
            story.small.append((features, article.outlet, article.precise_time))
        else:
            story.small = []
        self._story_of[article.article_id] = story
        if origin is not None:
            self._origin_of[article.article_id] = origin
        if features.body_hash:
            self._syndication.add(article, features, story.story_id)
        heapq.heappush(self._deadlines, (story.deadline(p), story.seq))

    def _expire(self, ts: float) -> None:
        """Close every story whose window ended before ``ts`` and forget its state."""
        heap = self._deadlines
        while heap and heap[0][0] < ts:
            _, seq = heapq.heappop(heap)
            story = self._stories.get(seq)
            if story is None or story.deadline(self.params) >= ts:
                continue
            del self._stories[seq]
            for token in story.counts:
                postings = self._postings.get(token)
                if postings is not None:
                    postings.discard(seq)
                    if not postings:
                        del self._postings[token]
            for article_id in story.member_ids:
                self._story_of.pop(article_id, None)
                self._origin_of.pop(article_id, None)
            self._syndication.forget(story.story_id)


def merge_targets(assignments: Iterable[Assignment]) -> dict[str, str]:
    """Every story merged away -> the story it ended in (following later merges of that one)."""
    parent: dict[str, str] = {}
    for assignment in assignments:
        for source in assignment.merged_story_ids:
            parent[source] = assignment.story_id
    final: dict[str, str] = {}
    for source in parent:
        target = parent[source]
        while target in parent:
            target = parent[target]
        final[source] = target
    return final


def resolve_merges(assignments: list[Assignment]) -> list[Assignment]:
    """The assignments with each story id replaced by the story it was merged into, if it was (what the
    shell does to the stored members after a run)."""
    final = merge_targets(assignments)
    if not final:
        return assignments
    return [replace(a, story_id=final[a.story_id]) if a.story_id in final else a for a in assignments]


def cluster_articles(
    articles: Iterable[ArticleIn], params: ClusterParams = DEFAULT_PARAMS
) -> list[Assignment]:
    """Cluster a whole collection from scratch (the rebuild path, and evaluation), merges resolved."""
    return resolve_merges(Clusterer(params).add_all(articles))
