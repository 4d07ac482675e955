"""Wire copies and syndication: an article whose body text is (nearly) the same as an earlier one's, or whose
canonical link points to another outlet's article. A copy stays in the story, marked with the original it
copies (the original's own original, when that was a copy too); it is never an independent report.

Near-identical bodies are found on the extracted text, not the page: each body is cut into overlapping word
sequences (shingles) and a fixed hash-chosen sample of them is kept, the same sample in every article. A
copy shares most of the original's sampled shingles wherever the original's text sits in it, so a wire story
wrapped in another site's furniture (a newsletter box, "related stories", a dateline) is still found, while
two reports that share a quoted sentence share few. Lookups go through an inverted index over the bodies of
open stories, so a copy is found whatever headline it carries.
"""

from __future__ import annotations

from collections.abc import Mapping

from cluster.features import Features
from cluster.model import ArticleIn
from cluster.params import ClusterParams


class SyndicationIndex:
    """Bodies of the members of open stories: exact by digest, near-identical by shared shingles."""

    def __init__(self, params: ClusterParams) -> None:
        self.params = params
        self.by_hash: dict[str, str] = {}
        self.hashes: dict[str, list[str]] = {}  # story_id -> digests it registered in by_hash
        # shingle -> article ids, in processing order (a dict as an ordered set: removal in O(1))
        self.postings: dict[int, dict[str, None]] = {}
        self.sizes: dict[str, int] = {}  # article_id -> number of sampled shingles
        self.keys: dict[
            str, tuple[float, str]
        ] = {}  # article_id -> processing order (ties go to the earliest)
        self.members: dict[str, list[tuple[str, tuple[int, ...]]]] = {}  # story_id -> indexed bodies

    def add(self, article: ArticleIn, features: Features, story_id: str) -> None:
        if not features.body_hash:
            return
        if features.body_hash not in self.by_hash:
            self.by_hash[features.body_hash] = article.article_id
            self.hashes.setdefault(story_id, []).append(features.body_hash)
        bodies = self.members.setdefault(story_id, [])
        if len(bodies) >= self.params.syndication_max_bodies or not features.shingles:
            return
        bodies.append((article.article_id, features.shingles))
        self.sizes[article.article_id] = len(features.shingles)
        self.keys[article.article_id] = article.sort_key
        for shingle in features.shingles:
            ids = self.postings.get(shingle)
            if ids is None:
                self.postings[shingle] = {article.article_id: None}
            else:
                ids[article.article_id] = None

    def merge(self, source: str, target: str) -> None:
        """The source story's bodies now belong to the target: the earliest ``syndication_max_bodies`` of
        both, as if every member had joined the target (the rest leave the index)."""
        for body_hash in self.hashes.pop(source, ()):
            self.hashes.setdefault(target, []).append(body_hash)
        bodies = sorted([*self.members.get(target, ()), *self.members.pop(source, ())], key=self._key)
        keep, drop = (
            bodies[: self.params.syndication_max_bodies],
            bodies[self.params.syndication_max_bodies :],
        )
        if keep:
            self.members[target] = keep
        for article_id, shingles in drop:
            self._unindex(article_id, shingles)

    def _key(self, body: tuple[str, tuple[int, ...]]) -> tuple[float, str]:
        return self.keys[body[0]]

    def _unindex(self, article_id: str, shingles: tuple[int, ...]) -> None:
        del self.sizes[article_id]
        del self.keys[article_id]
        for shingle in shingles:
            ids = self.postings[shingle]
            del ids[article_id]
            if not ids:
                del self.postings[shingle]

    def forget(self, story_id: str) -> None:
        """Drop a closed story's bodies."""
        for body_hash in self.hashes.pop(story_id, ()):
            self.by_hash.pop(body_hash, None)
        for article_id, shingles in self.members.pop(story_id, ()):
            self._unindex(article_id, shingles)

    def near_duplicate(self, features: Features, article_id: str) -> tuple[str, str] | None:
        """The indexed body sharing the largest part of this one's sampled shingles (of the smaller of the
        two samples), when that part reaches ``syndication_containment``; ties to the earliest."""
        mine = features.shingles
        if not mine:
            return None
        p = self.params
        shared: dict[str, int] = {}
        for shingle in mine:
            ids = self.postings.get(shingle)
            if ids is None or len(ids) > p.shingle_max_postings:
                continue  # absent, or boilerplate that many bodies carry
            for other in ids:
                shared[other] = shared.get(other, 0) + 1
        best: tuple[float, tuple[float, str], str] | None = None  # (-part, order, article_id): smallest wins
        for other, count in shared.items():
            if other == article_id or count < p.shingle_min_shared:
                continue
            order = self.keys[other]
            part = count / min(len(mine), self.sizes[other])
            if part >= p.syndication_containment and (best is None or (-part, order) < best[:2]):
                best = (-part, order, other)
        if best is None:
            return None
        return best[2], f"body text {-best[0]:.0%} identical to article {best[2]} (shared word sequences)"


def find_original(
    article: ArticleIn,
    features: Features,
    index: SyndicationIndex,
    story_of: Mapping[str, object],
    origin_of: dict[str, str],
) -> tuple[str, str] | None:
    """The original this article copies, by canonical link, identical body or near-identical body text,
    with evidence; else None."""
    target = article.canonical_article_id
    if target and target != article.article_id:
        return origin_of.get(target, target), f"canonical link points to article {target}"
    if features.body_hash:
        other = index.by_hash.get(features.body_hash)
        if other is not None and other != article.article_id and other in story_of:
            return origin_of.get(other, other), f"body identical to article {other}"
    near = index.near_duplicate(features, article.article_id)
    if near is not None and near[0] in story_of:
        return origin_of.get(near[0], near[0]), near[1]
    return None
