"""SQL page: one read-only SELECT over the views, with a row limit and a time limit (see sql_sandbox)."""

from __future__ import annotations

import streamlit as st

from scooptrace import queries, sql_sandbox
from scooptrace.pages import _common
from scooptrace.pages._text import escape_markdown

EXAMPLE = """-- Who broke the most stories?
SELECT first_outlet, count(*) AS stories_first
FROM stories
GROUP BY first_outlet
ORDER BY stories_first DESC
LIMIT 20"""


def views_help() -> str:
    """The views of the schema (every one, from the schema itself) and the sandbox's limits."""
    views = ", ".join(f"`{name}`" for name in queries.schema_views())
    return (
        f"Views: {views}. One SELECT at a time; no files, URLs, ATTACH or settings; "
        f"at most {sql_sandbox.DEFAULT_ROW_LIMIT:,} rows and {sql_sandbox.DEFAULT_TIME_LIMIT_SECONDS:g} s."
    )


LAST_KEY = "scooptrace_sql_last"


def render() -> None:
    state = _common.status()
    st.title("SQL")
    st.caption(views_help())
    if not _common.explain_missing(state):
        return
    present = ", ".join(sorted(state.views)) or "none yet"
    st.caption(f"In this database: {escape_markdown(present)}")
    with st.form("sql_form"):
        sql = st.text_area("Query", EXAMPLE, height=180, key="sql_text")
        submitted = st.form_submit_button("Run", icon=":material/play_arrow:", type="primary")
    if submitted:
        try:
            st.session_state[LAST_KEY] = sql_sandbox.run_query(state.path, sql)
        except sql_sandbox.SandboxError as exc:
            st.session_state[LAST_KEY] = str(exc)
    last = st.session_state.get(LAST_KEY)  # kept, so changing the time zone does not lose the result
    if isinstance(last, str):
        st.error(escape_markdown(last), icon=":material/block:")
    elif isinstance(last, sql_sandbox.SandboxResult):
        show_result(last)


def show_result(result: sql_sandbox.SandboxResult) -> None:
    note = f"{len(result.frame):,} rows in {result.elapsed_seconds * 1000:.0f} ms"
    if result.truncated:
        note += f" (stopped at the limit of {sql_sandbox.DEFAULT_ROW_LIMIT:,} rows)"
    st.caption(note)
    st.dataframe(
        result.frame, hide_index=True, width="stretch", height=_common.table_height(len(result.frame))
    )
    st.download_button(
        "CSV",
        result.frame.to_csv(index=False).encode("utf-8"),
        "query.csv",
        "text/csv",
        icon=":material/download:",
    )


if __name__ == "__main__":
    _common.guarded(render)
