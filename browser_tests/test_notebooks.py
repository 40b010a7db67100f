"""What a reader sees in JupyterLab: every notebook before running, after Run All, and the widgets.

Run with ``make test-browser``. Screenshots of failures are kept in browser_tests/screenshots/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from browser_tests.lab import Lab

_FOLDER = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = [
    *sorted(p.name for p in _FOLDER.glob("[0-9][0-9]_*.ipynb")),
    *sorted(f"exercises/{p.name}" for p in (_FOLDER / "exercises").glob("*.ipynb")),
    *sorted(f"solutions/{p.name}" for p in (_FOLDER / "solutions").glob("*.ipynb")),
]
PLAYER = "04_projections_and_checkpoints.ipynb"
EXPLORER = "05_eventual_consistency_and_lag.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# A human runs cells a second or so apart: long enough for the browser to answer each update.
PAUSE_MS = 1500


def _problems(cells: list[dict[str, Any]], *, ran: bool) -> list[str]:
    """What a reader would see wrong in the outputs: raw reprs, SVG as text, broken images."""
    problems = []
    for cell in cells:
        for number, out in enumerate(cell["outputs"]):
            where = f"cell {cell['index']} output {number}"
            if out["type"] == "error":
                problems.append(f"{where}: an error: {out['text'][:200]!r}")
            rich = [m for m in out["mimes"] if m != "text/plain"]
            if rich and out["rendered"] == "text/plain":
                problems.append(f"{where}: shows its text repr {out['text'][:80]!r}, not {rich}")
            if out["html"].count("<svg") > out["svgs"]:
                problems.append(f"{where}: an SVG in its HTML is not drawn (shown as text)")
            broken = [image["src"] for image in out["images"] if not image["loaded"]]
            if broken:
                problems.append(f"{where}: images that do not load: {broken}")
            if out["rendered"] == WIDGET_MIME and (
                not out["widgets"] or "Error displaying widget" in out["text"]
            ):
                problems.append(f"{where}: a widget that did not render: {out['text'][:80]!r}")
            if ran and WIDGET_MIME in out["mimes"] and out["rendered"] != WIDGET_MIME:
                problems.append(f"{where}: a widget shown as {out['rendered']}, not as a widget")
    return problems


def _wrapped_code_blocks(lab: Lab) -> list[str]:
    """Text diagrams in Markdown cells that wrap (or scroll) in the page as it is."""
    wide: list[str] = lab.page.evaluate(
        """() => Array.from(document.querySelectorAll('.jp-MarkdownOutput pre')).filter(pre => {
             const lines = pre.innerText.replace(/\\n$/, '').split('\\n').length;
             const style = getComputedStyle(pre);
             const lineHeight = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
             const height = pre.clientHeight - parseFloat(style.paddingTop)
               - parseFloat(style.paddingBottom);
             return pre.scrollWidth > pre.clientWidth + 1
               || height > (lines + 0.5) * lineHeight;
           }).map(pre => pre.innerText.split('\\n')[0].slice(0, 60))"""
    )
    return wide


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_committed_outputs_render_before_running(lab: Lab, notebook: str) -> None:
    lab.open(notebook)
    problems = _problems(lab.cells(), ran=False)
    wrapped = _wrapped_code_blocks(lab)
    problems += [f"a text diagram too wide for the page: {line!r}" for line in wrapped]
    assert not problems, "\n".join(problems)


NEEDS_POSTGRES = ("10_postgres_and_processes.ipynb",)
"""Notebooks that stop at their first cell when no PostgreSQL server is named (as make test)."""


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_run_all_renders_every_output(lab: Lab, notebook: str) -> None:
    if notebook in NEEDS_POSTGRES and not os.environ.get("CQRS_LAB_POSTGRES_URL"):
        pytest.skip(f"{notebook} needs a PostgreSQL server: set CQRS_LAB_POSTGRES_URL")
    lab.open(notebook)
    lab.run_all()
    cells = lab.cells()
    not_run = [c["index"] for c in cells if c["type"] == "code" and c["count"] is None]
    assert not not_run, f"cells that did not run: {not_run}"
    problems = _problems(cells, ran=True)
    assert not problems, "\n".join(problems)


def _player_status(lab: Lab) -> str:
    """What the player's widget says it shows, e.g. 'Step 7 of 18: ...' or 'Press Next ...'."""
    status: str = lab.page.evaluate(
        """() => {
             const texts = Array.from(document.querySelectorAll(
               '.jupyter-widgets .widget-html-content')).map(n => n.innerText.trim());
             return texts.find(t => /^(Step \\d+ of \\d+|Press Next)/.test(t))
               || '(no player status in the page)';
           }"""
    )
    return status


def _kernel_step(lab: Lab) -> str:
    """The step the kernel's player is at, in the widget's words."""
    found = lab.kernel_output("print(len(player.shown), player.total)").split()
    return f"Step {found[0]} of {found[1]}" if found[0] != "0" else "Press Next"


def _assert_player_matches_kernel(lab: Lab) -> None:
    # give the browser time to send anything it would send back
    lab.page.wait_for_timeout(PAUSE_MS)
    lab.wait_for_kernel()
    assert _player_status(lab).startswith(_kernel_step(lab)), (
        f"the widget shows {_player_status(lab)!r}; the kernel's player is at {_kernel_step(lab)!r}"
    )


def _code_cell(cells: list[dict[str, Any]], source_start: str, lab: Lab) -> int:
    index: int = lab.page.evaluate(
        """(start) => window.jupyterapp.shell.currentWidget.content.widgets
             .findIndex(c => c.model.type === 'code'
                          && c.model.sharedModel.getSource().startsWith(start))""",
        source_start,
    )
    assert index >= 0, f"no code cell starts with {source_start!r}"
    return index


def test_player_follows_the_kernel_cell_by_cell(lab: Lab) -> None:
    lab.open(PLAYER)
    cells = lab.cells()
    made = _code_cell(cells, "tea = line(", lab)
    frame = _code_cell(cells, "player.checkpoints_frame()", lab)
    last = _code_cell(cells, "player.read_model_frame()", lab)
    for cell in cells[: last + 1]:
        if cell["type"] != "code":
            continue
        lab.run_cell(cell["index"])
        lab.page.wait_for_timeout(PAUSE_MS)
        if cell["index"] >= made:
            _assert_player_matches_kernel(lab)
        if cell["index"] == frame:
            text = lab.cells()[frame]["outputs"][0]["text"]
            row = re.search(r"order_views\s+(\d+)\s+(\d+)\s+(\d+)", text)
            assert row and row.groups() == ("0", "1", "1"), (
                f"checkpoints_frame() after seven steps should show checkpoint 0, head 1, "
                f"behind 1; the page shows {text!r}"
            )
    assert _kernel_step(lab) == "Step 18 of 18"


def test_player_shows_the_kernel_state_after_run_all(lab: Lab) -> None:
    lab.open(PLAYER)
    lab.run_all()
    _assert_player_matches_kernel(lab)
    assert _kernel_step(lab) == "Step 18 of 18"


def test_lag_explorer_slider_redraws_the_chart(lab: Lab) -> None:
    lab.open(EXPLORER)
    lab.run_all()
    index = _code_cell(lab.cells(), "from cqrs_lab.ui.lag_explorer import", lab)
    explorer = (
        lab.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jupyter-widgets").first
    )
    image = explorer.locator("img").first
    image.wait_for()
    before = image.get_attribute("src")
    handle = explorer.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    assert box is not None
    lab.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lab.page.mouse.down()
    lab.page.mouse.move(box["x"] + 120, box["y"] + box["height"] / 2, steps=5)
    lab.page.mouse.up()
    lab.page.wait_for_function(
        "([node, before]) => node.src !== before",
        arg=[image.element_handle(), before],
        timeout=120_000,
    )
    clipped: list[str] = explorer.evaluate(
        """(root) => Array.from(root.querySelectorAll('.widget-label, .widget-readout'))
             .filter(n => n.offsetParent && n.scrollWidth > n.clientWidth + 1)
             .map(n => n.innerText)"""
    )
    assert not clipped, f"labels or readouts cut off: {clipped}"
