"""The app in a real browser: ``scooptrace app`` on a free port, driven by Playwright with Debian's Chromium
(never a downloaded browser). Opens a story's deep link, checks the first reporter and the chart are there,
that hostile titles run nothing, and saves screenshots to test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from tests.app_fixtures import AMAZON, EVIL, build_story_db, free_port, serving

CHROMIUM = os.environ.get("SCOOPTRACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
TIMEOUT_MS = 45_000


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = build_story_db(tmp_path_factory.mktemp("browser") / "s.duckdb")
    port = free_port()
    with serving(db, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    with sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


DIALOGS: dict[int, list[str]] = {}  # per page: every alert/confirm/prompt it tried to open


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    opened = DIALOGS.setdefault(id(tab), [])

    def record(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", record)
    yield tab
    context.close()


def wait_for_story(page: Page) -> None:
    page.get_by_test_id("stMetricValue").first.wait_for()
    page.locator(
        "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
    ).first.wait_for()
    page.wait_for_timeout(1500)  # let the charts and table settle


def assert_nothing_ran(page: Page) -> None:
    assert page.evaluate("() => window.__pwned === undefined")
    assert DIALOGS.get(id(page), []) == []
    assert page.locator("script:text-matches('__pwned')").count() == 0
    assert page.locator("img[onerror]").count() == 0
    assert page.locator("a[href^='javascript:'], a[href^='data:']").count() == 0


def test_story_deep_link_shows_first_reporter_and_chart(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/story?id={AMAZON}")
    wait_for_story(page)
    first = page.get_by_test_id("stMetricValue").first.inner_text()
    assert first.strip() == "GeekWire"
    heading = page.get_by_role("heading", level=1).first.inner_text()
    assert "Amazon.com checkout outage" in heading
    assert page.get_by_text("Amazon complaints started rising").count() == 1
    assert page.get_by_test_id("stVegaLiteChart").count() == 2
    tooltips = hover_every_point(page)
    hostile = [tip for tip in tooltips if "__pwned" in tip]
    assert hostile, f"the hostile title's tooltip was never shown: {tooltips}"
    assert "<script>window.__pwned = 1</script>" in hostile[0]  # shown as text
    screenshot(page, "story.png")
    assert_nothing_ran(page)


def hover_every_point(page: Page) -> list[str]:
    """Hover the mouse over every article mark of the timeline (Vega draws them as SVG paths) and return the
    tooltip texts, titles included, as the browser rendered them."""
    points = page.locator("[data-testid=stVegaLiteChart] g.mark-symbol path")
    tooltip = page.locator("#vg-tooltip-element")
    seen: list[str] = []
    for index in range(points.count()):
        points.nth(index).hover(force=True)
        if tooltip.count() and tooltip.inner_text().strip():
            seen.append(tooltip.inner_text())
    page.mouse.move(0, 0)
    return seen


def screenshot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so grow the viewport to the content."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section, main')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": 1440, "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(1200)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_hostile_headline_is_shown_as_text(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/story?id={EVIL}")
    wait_for_story(page)
    heading = page.get_by_role("heading", level=1).first.inner_text()
    assert "<script>window.__pwned = 1</script>" in heading
    assert "$5bn" in heading and "[click](javascript:alert(1))" in heading
    evidence = page.get_by_test_id("stAlertContentInfo").first.inner_text()
    assert "Evil <b>Weekly</b> $2 **bold** at" in evidence  # the stored evidence names the hostile outlet
    assert any("__pwned" in tip for tip in hover_every_point(page))
    screenshot(page, "story-hostile.png")
    assert_nothing_ran(page)


def test_stories_page_lists_the_hostile_headline_as_text(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_test_id("stDataFrame").first.wait_for()
    page.wait_for_timeout(1500)
    screenshot(page, "stories.png")
    assert_nothing_ran(page)  # the grid draws titles on a canvas; nothing in them may become markup


def test_selecting_a_story_opens_its_page_and_back(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    grid = page.get_by_test_id("stDataFrame").first
    grid.wait_for()
    page.wait_for_timeout(1000)
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 18)  # the first row's selection box
    page.wait_for_url(f"**/story?id={AMAZON}")
    wait_for_story(page)
    assert page.get_by_test_id("stMetricValue").first.inner_text().strip() == "GeekWire"
    page.get_by_test_id("stSidebarNav").get_by_text("Stories").click()
    page.wait_for_url(f"{base_url}/")
    page.get_by_test_id("stDataFrame").first.wait_for()
    page.wait_for_timeout(1500)
    assert page.url == f"{base_url}/"  # the old selection does not bounce back to the story


def test_unknown_story_id_is_echoed_as_plain_text(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/story?id=a%24b*c%3Cscript%3E")
    warning = page.get_by_test_id("stAlertContentWarning").first
    warning.wait_for()
    assert "There is no story with id a$b*c<script> in this database." in warning.inner_text()
    assert_nothing_ran(page)


def test_link_with_a_time_zone(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/story?id={AMAZON}&tz=America/New_York")
    wait_for_story(page)
    values = page.get_by_test_id("stMetricValue").all_inner_texts()
    assert "16:38 EDT" in [value.strip() for value in values]


def test_no_request_leaves_the_machine(browser: Browser, base_url: str) -> None:
    """Offline means offline: the favicon, fonts and icons all come from the app itself."""
    context = browser.new_context(viewport={"width": 420, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))
    try:
        tab.goto(f"{base_url}/story?id={AMAZON}")
        wait_for_story(tab)
        icon = tab.evaluate("() => document.querySelector('link[rel~=icon]')?.href || ''")
        screenshot_at(tab, "story-420.png", 420)
    finally:
        context.close()
    outside = sorted({url for url in requested if not url.startswith((base_url, "data:", "blob:"))})
    assert outside == []
    assert icon.startswith(base_url), icon


def screenshot_at(page: Page, name: str, width: int) -> None:
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section, main')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(1200)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
