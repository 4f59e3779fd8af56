"""``lute report`` in a real headless Chromium: clean pages, a working table, markup as text.

The database is made by real ``lute run`` and ``lute workflow run``
commands (``conftest.py``); the report by the real ``lute report``; the
pages are opened from ``file://`` as a colleague would open them from a
shared file system, with no server and no network.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.report.conftest import HOSTILE_PARAM, HOSTILE_RUN


class Watched:
    """A browser page that records console errors, uncaught exceptions and dialogs."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("dialog", self._dialog)
        # Anything fetched from outside the report would be a broken promise.
        page.on("request", self._request)

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"console {message.type}: {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, request: Any) -> None:
        if not request.url.startswith("file://"):
            self.errors.append(f"fetched {request.url}")

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        return self.page


@pytest.fixture
def page(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = Watched(context.new_page())
    yield watched
    context.close()


def visible_cells(page: Any, column: int) -> list[str]:
    return page.eval_on_selector_all(
        "#runs-table tbody tr:not([hidden])",
        f"rows => rows.map(r => r.cells[{column}].textContent.trim())",
    )


def test_index_loads_cleanly_with_every_run_and_the_plots(built, page):
    shown = page.open((built.out / "index.html").as_uri())
    rows = shown.locator("#runs-table tbody tr")
    assert rows.count() == len(built.runs) >= 9
    assert {
        shown.eval_on_selector_all("#runs-table tbody tr", "rs => rs.map(r => r.dataset.task)")[i]
        for i in range(rows.count())
    } == {"Test", "TestWriteOutput", "TestReadOutput"}
    assert shown.locator("#duration-plot svg circle").count() == len(built.runs)
    assert shown.locator("#history-plot svg rect").count() == len(built.runs)
    assert shown.locator("#workflows-table tbody tr").count() == 2
    assert shown.locator("#shown").text_content() == f"{len(built.runs)} of {len(built.runs)} shown"
    assert page.errors == [] and page.dialogs == []


def test_typing_filters_and_clicking_a_header_sorts(built, page):
    shown = page.open((built.out / "index.html").as_uri())
    shown.fill("#filter", "TestWriteOutput")
    tasks = visible_cells(shown, 1)
    assert tasks and set(tasks) == {"TestWriteOutput"}
    assert len(tasks) < len(built.runs)
    shown.fill("#filter", "")
    shown.select_option("#status-filter", "FAILED")
    assert set(visible_cells(shown, 2)) == {"FAILED"}
    shown.select_option("#status-filter", "")

    header = shown.locator("#runs-table th", has_text="Duration")
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    keys = shown.eval_on_selector_all(
        "#runs-table tbody tr", "rs => rs.map(r => parseFloat(r.cells[4].dataset.sort))"
    )
    assert keys == sorted(keys) and keys != sorted(keys, reverse=True)
    header.click()
    keys = shown.eval_on_selector_all(
        "#runs-table tbody tr", "rs => rs.map(r => parseFloat(r.cells[4].dataset.sort))"
    )
    assert keys == sorted(keys, reverse=True)
    assert page.errors == []


def test_a_run_page_shows_markup_in_values_as_text(built, page):
    index = page.open((built.out / "index.html").as_uri())
    index.click(f"#runs-table a[href='runs/{built.hostile_run}-1.html']")
    shown = page.page
    shown.wait_for_load_state("load")
    assert shown.url.endswith(f"/runs/{built.hostile_run}-1.html")
    values = dict(
        shown.eval_on_selector_all(
            "#parameters tbody tr",
            "rs => rs.map(r => [r.cells[0].textContent, r.cells[1].textContent])",
        )
    )
    assert values["str_var"] == HOSTILE_PARAM
    assert HOSTILE_RUN in shown.locator("#header").text_content()
    # The markup is text: no element was made of it, and nothing ran.
    assert shown.locator("#parameters script, #header img, body img").count() == 0
    assert page.dialogs == []
    assert "COMPLETED" in shown.locator("#outcome").text_content()
    log = shown.locator("#logs a").first
    assert log.get_attribute("href").startswith("../../../work/logs/Test/")
    assert page.errors == []


def test_a_workflow_page_draws_the_graph_coloured_by_status(built, page):
    shown = page.open((built.out / "workflows" / f"{built.failed_workflow}.html").as_uri())
    nodes = dict(
        shown.eval_on_selector_all(
            "svg.dag g.node", "gs => gs.map(g => [g.dataset.node, g.dataset.status])"
        )
    )
    assert nodes == {"A": "COMPLETED", "B": "FAILED", "C": "NOT_RUN", "D": "COMPLETED"}
    fills = dict(
        shown.eval_on_selector_all(
            "svg.dag g.node",
            "gs => gs.map(g => [g.dataset.node, g.querySelector('rect').getAttribute('fill')])",
        )
    )
    assert len({fills["A"], fills["B"], fills["C"]}) == 3 and fills["A"] == fills["D"]
    assert shown.locator("svg.dag path.edge").count() == 3
    assert shown.locator("svg.dag .legend text").all_text_contents() == [
        "COMPLETED",
        "FAILED",
        "NOT_RUN",
    ]
    shown.click("svg.dag a:has(g[data-node='B'])")
    shown.wait_for_load_state("load")
    assert "/runs/" in shown.url and "FAILED" in shown.locator("#outcome").text_content()
    assert page.errors == []
