"""Featurising many articles on other cores while this one clusters.

Features are a pure function of an article's text, so which process computes them changes nothing: the
clustering itself stays sequential and deterministic. Worth it only for large batches (a rebuild, a big
import): a worker process costs about half a second to start.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import astuple
from datetime import UTC, datetime
from multiprocessing import get_context

from cluster.features import Features, featurize
from cluster.model import ArticleIn
from cluster.params import ClusterParams

# Below this many articles one process is faster than starting workers.
PARALLEL_MIN = 20_000
CHUNK = 2_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

log = logging.getLogger(__name__)

_Row = tuple[str, str | None, str, str]


def default_workers() -> int:
    """Featurising processes beside the clustering one: one core is left for clustering."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _featurize_rows(rows: list[_Row], params: ClusterParams) -> list[tuple[object, ...]]:
    out = []
    for title, language, summary, text in rows:
        article = ArticleIn("", title, _EPOCH, language=language, summary=summary, text=text)
        features = featurize(
            article, params.lead_words, params.syndication_chars, params.syndication_min_chars
        )
        out.append(astuple(features))  # tuples pickle much faster than the dataclass
    return out


def featurize_many(
    articles: Sequence[ArticleIn],
    params: ClusterParams,
    workers: int | None = None,
    min_items: int = PARALLEL_MIN,
) -> Iterator[Features]:
    """The features of ``articles``, in order; on ``workers`` other processes when the batch is large."""
    workers = default_workers() if workers is None else workers
    if workers < 1 or len(articles) < min_items:
        for article in articles:
            yield featurize(
                article, params.lead_words, params.syndication_chars, params.syndication_min_chars
            )
        return
    done = 0
    try:
        for features in _from_workers(articles, params, workers):
            yield features
            done += 1
    except BrokenProcessPool:
        # A worker could not start (e.g. a calling script without an ``if __name__ == "__main__"`` guard):
        # carry on in this process; features are the same wherever they are computed.
        log.warning("featurising workers failed; continuing in one process")
        for article in articles[done:]:
            yield featurize(
                article, params.lead_words, params.syndication_chars, params.syndication_min_chars
            )


def _from_workers(articles: Sequence[ArticleIn], params: ClusterParams, workers: int) -> Iterator[Features]:
    starts = iter(range(0, len(articles), CHUNK))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending: deque[Future[list[tuple[object, ...]]]] = deque()

        def submit_next() -> None:
            start = next(starts, None)
            if start is not None:
                rows = [(a.title, a.language, a.summary, a.text) for a in articles[start : start + CHUNK]]
                pending.append(pool.submit(_featurize_rows, rows, params))

        for _ in range(2 * workers + 1):  # a few chunks in flight, never the whole batch in memory
            submit_next()
        while pending:
            chunk = pending.popleft().result()
            submit_next()
            for values in chunk:
                yield Features(*values)  # type: ignore[arg-type]
