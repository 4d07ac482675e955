"""The scooptrace Streamlit app: ``streamlit run app.py`` (or ``scooptrace app``) on the database named by
``SCOOPTRACE_DB`` (default ./scooptrace.duckdb). Read-only: it never blocks or breaks a running ingest.

A story's page is the shareable deep link ``/story?id=STORY_ID``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from scooptrace.pages import _common

PAGES = Path(__file__).resolve().parent / "scooptrace" / "pages"
# A local image: a :material/...: page icon makes the browser fetch the favicon from a font host on the
# internet, which an offline machine cannot reach.
FAVICON = Path(__file__).resolve().parent / "scooptrace" / "static" / "favicon.png"


def main() -> None:
    st.set_page_config(page_title="scooptrace", page_icon=str(FAVICON), layout="wide")
    pages = [
        st.Page(
            PAGES / "stories.py",
            title="Stories",
            icon=":material/newspaper:",
            url_path="stories",
            default=True,
        ),
        st.Page(PAGES / "story.py", title="Story", icon=":material/timeline:", url_path="story"),
        st.Page(PAGES / "outlets.py", title="Outlets", icon=":material/leaderboard:", url_path="outlets"),
        st.Page(PAGES / "feeds.py", title="Feeds", icon=":material/rss_feed:", url_path="feeds"),
        st.Page(PAGES / "alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
        st.Page(PAGES / "sql.py", title="SQL", icon=":material/terminal:", url_path="sql"),
    ]
    page = st.navigation(pages)
    # In the entrypoint, so the sidebar's widgets (time zone, follow) keep their state across pages.
    _common.sidebar(_common.status())
    page.run()


if __name__ == "__main__":
    main()
