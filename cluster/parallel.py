"""Featurising articles on other cores while this one clusters.

Features are a pure function of an article's text, so which process computes them changes nothing: the
clustering itself stays sequential and deterministic. Worth it only for large batches (a rebuild, a big
import): a worker process costs about half a second to start.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from itertools import islice
from multiprocessing import get_context
from sys import intern

from cluster.features import Features, featurize
from cluster.model import ArticleIn
from cluster.params import ClusterParams
from common.processes import quiet_worker

log = logging.getLogger(__name__)

# Below this many articles one process is faster than starting workers.
PARALLEL_MIN = 20_000
CHUNK = 2_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_Row = tuple[str, str, str | None, str, str]
# Features as a flat tuple (title, lead and portable tokens, language, fuzzy title, shingles, body hash).
_Fields = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str, str, tuple[int, ...], str]
_Pending = deque[tuple[list[ArticleIn], "Future[list[_Fields]] | None"]]


def default_workers() -> int:
    """Featurising processes beside the clustering one: one core is left for clustering."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _features(article: ArticleIn, params: ClusterParams) -> Features:
    return featurize(article, params)


def _featurize_rows(rows: list[_Row], params: ClusterParams) -> list[_Fields]:
    out: list[_Fields] = []
    for title, outlet, language, summary, text in rows:
        article = ArticleIn("", title, _EPOCH, outlet, language, summary, text)
        f = _features(article, params)  # a flat tuple pickles much faster than the dataclass
        out.append(
            (f.title_tokens, f.lead_tokens, f.portable, f.language, f.fuzzy_title, f.shingles, f.body_hash)
        )
    return out


def featurize_stream(
    articles: Iterable[ArticleIn], params: ClusterParams, workers: int | None = 0
) -> Iterator[tuple[ArticleIn, Features]]:
    """Each article with its features, in order; computed on ``workers`` other processes (None: one per
    spare core, 0: here). Reads ahead a few chunks only, so ``articles`` may be a stream."""
    workers = default_workers() if workers is None else workers
    source = iter(articles)
    if workers >= 1:
        pending: _Pending = deque()
        try:
            yield from _from_workers(source, params, workers, pending)
            return
        except BrokenProcessPool:
            # A worker could not start (e.g. a calling script without an ``if __name__ == "__main__"``
            # guard): carry on here with what was in flight; features are the same wherever computed.
            log.warning("featurising workers failed; continuing in one process")
            for chunk, _ in pending:
                for article in chunk:
                    yield article, _features(article, params)
    for article in source:
        yield article, _features(article, params)


def _from_workers(
    source: Iterator[ArticleIn], params: ClusterParams, workers: int, pending: _Pending
) -> Iterator[tuple[ArticleIn, Features]]:
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=quiet_worker
    ) as pool:

        def submit_next() -> None:
            chunk = list(islice(source, CHUNK))
            if chunk:
                pending.append((chunk, None))  # in the queue before submitting: a failure loses nothing
                rows = [(a.title, a.outlet, a.language, a.summary, a.text) for a in chunk]
                pending[-1] = (chunk, pool.submit(_featurize_rows, rows, params))

        for _ in range(2 * workers + 1):  # a few chunks in flight, never the whole batch in memory
            submit_next()
        while pending:
            chunk, future = pending[0]
            assert future is not None
            values = future.result()
            pending.popleft()
            submit_next()
            for article, (title, lead, portable, language, fuzzy, shingles, body) in zip(
                chunk, values, strict=True
            ):
                # Interned: unpickled tokens are new string objects, and the core's dictionaries (df, postings,
                # story profiles) find a token far faster when it is the very object they hold.
                tokens = (tuple(map(intern, title)), tuple(map(intern, lead)), tuple(map(intern, portable)))
                yield article, Features(*tokens, language, fuzzy, shingles, body)
