"""What every page shares: the database path, cached queries, "data as of", refresh, the time-zone choice and
the friendly explanations shown while there is nothing (or not everything) to show.

Query results are cached with ``st.cache_data`` keyed by the file's modification time, so a snapshot newly
published by ``ingest`` is read on the next rerun and an unchanged one is never queried twice. Connections are
never cached: each query opens a read-only connection and closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import duckdb
import streamlit as st

from common.errors import DatabaseError
from scooptrace import queries
from scooptrace.pages._text import COMMON_ZONES, UTC_NAME, escape_markdown, format_duration, zone

P = ParamSpec("P")
R = TypeVar("R")

CACHE_TTL_SECONDS = 300
FOLLOW_SECONDS = 30
TZ_KEY = "scooptrace_tz"
HOW_TO_INGEST = """scooptrace ingest --feeds feeds.opml   # fetch feeds and pages, group into stories
scooptrace import articles.csv         # or load url,title,outlet,published_at"""


# Streamlit's data grid: 35 px a row and for the header, plus its border.
ROW_PX = 35
TABLE_MAX_ROWS = 30


def table_height(rows: int, max_rows: int = TABLE_MAX_ROWS, row_px: int = ROW_PX) -> int:
    """A table as tall as its rows (none cut in half), up to ``max_rows``; longer tables scroll."""
    return ROW_PX + row_px * max(1, min(rows, max_rows)) + 3


def table(frame: Any, column_config: dict[str, Any] | None = None, **options: Any) -> Any:
    """st.dataframe as every page shows it: full width, sized to its rows, empty cells blank (not "None")."""
    options.setdefault("height", table_height(len(frame)))
    return st.dataframe(
        frame, hide_index=True, width="stretch", column_config=column_config, placeholder="", **options
    )


def page_file(name: str) -> str:
    """A page's script for st.switch_page / st.page_link (the same path app.py registers)."""
    return str(Path(__file__).resolve().with_name(f"{name}.py"))


def db_path() -> Path:
    return queries.db_path_from_env()


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=1000)
def _cached_call(name: str, version: int, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    del version  # part of the cache key only
    function: Callable[..., Any] = getattr(queries, name)
    return function(*args, **dict(kwargs))


def cached(function: Callable[P, R]) -> Callable[P, R]:
    """``queries.X`` with its result cached until the database file changes (or the ttl passes)."""

    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        path = Path(args[0]) if args else db_path()  # type: ignore[arg-type]
        result: R = _cached_call(
            function.__name__, queries.file_version(path), args, tuple(sorted(kwargs.items()))
        )
        return result

    return call


def status() -> queries.DbStatus:
    path = db_path()
    return cached(queries.db_status)(path)


def sidebar(state: queries.DbStatus) -> None:
    """Data as of, refresh, and the time-zone choice, on every page."""
    with st.sidebar:
        if state.modified_at is not None:
            age = (datetime.now(UTC) - state.modified_at).total_seconds()
            st.caption(
                f"Data as of {state.modified_at:%Y-%m-%d %H:%M} UTC ({format_duration(age)} ago) · "
                f"{state.n_articles:,} articles"
            )
        if st.button("Refresh", icon=":material/refresh:", help="Read the latest published snapshot"):
            st.cache_data.clear()
            st.rerun()
        if st.toggle("Follow new data", key="scooptrace_follow", help=f"Check every {FOLLOW_SECONDS} s"):
            follow(str(state.path), queries.file_version(state.path))
        zone_choice()


@st.fragment(run_every=FOLLOW_SECONDS)
def follow(path: str, seen_version: int) -> None:
    """Rerun the page when ingest has published a newer snapshot than the one it shows."""
    if queries.file_version(Path(path)) != seen_version:
        st.rerun(scope="app")


def zone_choice() -> str:
    """The viewer's time zone for every time shown: UTC, the browser's, or a common one. A link may carry
    one (``/story?id=...&tz=America/New_York``), and choosing one puts it in the address to share."""
    browser = st.context.timezone
    requested = st.query_params.get("tz")
    options = list(COMMON_ZONES)
    labels = {name: name for name in options}
    for extra in (browser, requested if is_zone(requested) else None):
        if extra and extra not in options:
            options.insert(1, extra)
    if browser:
        labels[browser] = f"{browser} (your browser)"
    if TZ_KEY not in st.session_state:
        st.session_state[TZ_KEY] = requested if is_zone(requested) else UTC_NAME
    choice: str = st.selectbox(
        "Time zone",
        options,
        key=TZ_KEY,
        format_func=lambda name: labels.get(name, name),
        on_change=share_zone,
    )
    return choice


def share_zone() -> None:
    st.query_params["tz"] = st.session_state[TZ_KEY]


def is_zone(name: str | None) -> bool:
    return bool(name) and str(zone(name)) == name


def current_zone() -> str:
    value = st.session_state.get(TZ_KEY, UTC_NAME)
    return value if isinstance(value, str) else UTC_NAME


def explain_missing(state: queries.DbStatus, *views: str) -> bool:
    """True when the page can go on; else shows what is missing and how to get it, and returns False."""
    if not state.exists:
        st.info(
            f"No scooptrace database at {escape_markdown(state.path)} yet. Build one with `ingest` or "
            "`import`, then press Refresh (or set `SCOOPTRACE_DB` / `scooptrace app --db PATH`).",
            icon=":material/database:",
        )
        st.code(HOW_TO_INGEST, language="bash")
        return False
    if state.error is not None:
        st.warning(
            f"{escape_markdown(state.path)} could not be read: {escape_markdown(state.error.splitlines()[0])}. "
            "If a writer is replacing it right now, press Refresh in a moment; files written by DuckDB 1.x "
            "or other programs cannot be read.",
            icon=":material/hourglass:",
        )
        return False
    missing = [view for view in views if view not in state.views]
    if missing:
        st.info(
            f"This database has no {', '.join(missing)} view yet: the stage that builds it has not run on it. "
            "Run `scooptrace cluster` (or `ingest`/`import`, which end with it), then press Refresh.",
            icon=":material/hourglass_empty:",
        )
        return False
    return True


def guarded(render: Callable[[], None]) -> None:
    """Run a page; a database replaced or locked mid-read becomes a message, not a traceback."""
    try:
        render()
    except (DatabaseError, duckdb.IOException, duckdb.CatalogException) as exc:
        st.warning(
            "The database changed while this page was reading it. Press Refresh in a moment.",
            icon=":material/sync_problem:",
        )
        st.caption(escape_markdown(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
