"""Wire copies and syndication: an article whose body is (nearly) the same as an earlier one's, or whose
canonical link points to another outlet's article. A copy stays in the story, marked with the original it
copies (the original's own original, when that was a copy too); it is never an independent report."""

from __future__ import annotations

from collections.abc import Mapping

from rapidfuzz.fuzz import ratio

from cluster.features import Features
from cluster.model import ArticleIn
from cluster.params import ClusterParams


class SyndicationIndex:
    """Bodies of the members of open stories: exact by hash, near-duplicate by rapidfuzz within a story."""

    def __init__(self, params: ClusterParams) -> None:
        self.params = params
        self.by_hash: dict[str, str] = {}
        self.bodies: dict[str, list[tuple[str, str]]] = {}
        self.hashes: dict[str, list[str]] = {}

    def add(self, article: ArticleIn, features: Features, story_id: str, origin: str | None) -> None:
        if not features.body:
            return
        if features.body_hash not in self.by_hash:
            self.by_hash[features.body_hash] = article.article_id
            self.hashes.setdefault(story_id, []).append(features.body_hash)
        bodies = self.bodies.setdefault(story_id, [])
        if len(bodies) < self.params.syndication_max_bodies:
            bodies.append((article.article_id, features.body))

    def forget(self, story_id: str) -> None:
        """Drop a closed story's bodies."""
        self.bodies.pop(story_id, None)
        for body_hash in self.hashes.pop(story_id, ()):
            self.by_hash.pop(body_hash, None)

    def near_duplicate(self, features: Features, story_id: str, article_id: str) -> tuple[str, str] | None:
        """The earliest member of the story whose body is near-identical to this one, with evidence."""
        if not features.body:
            return None
        cutoff = self.params.syndication_ratio
        for other_id, body in self.bodies.get(story_id, ()):
            if other_id == article_id:
                continue
            score = ratio(features.body, body, score_cutoff=cutoff)
            if score:
                return other_id, f"body {score:.0f}% identical to article {other_id}"
        return None


def find_original(
    article: ArticleIn,
    features: Features,
    index: SyndicationIndex,
    story_of: Mapping[str, object],
    origin_of: dict[str, str],
) -> tuple[str, str] | None:
    """The original this article copies, by canonical link or identical body, with evidence; else None."""
    target = article.canonical_article_id
    if target and target != article.article_id:
        return origin_of.get(target, target), f"canonical link points to article {target}"
    if features.body_hash:
        other = index.by_hash.get(features.body_hash)
        if other is not None and other != article.article_id and other in story_of:
            return origin_of.get(other, other), f"body identical to article {other}"
    return None
