"""Navigation: every notebook ends with a link onwards, and its links and exercise names resolve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(NOTEBOOKS.glob("*/*.ipynb"))
LINK = re.compile(r"\]\(([^)\s#]+\.ipynb)(?:#[^)]*)?\)")
# "exercise 4" or "Exercise 4" in prose; a link's text "[exercise 4](...)" is fine
EXERCISE = re.compile(r"(?<!\[)\b[Ee]xercise (\d)\b(?![^\[]*\]\()")


def markdown(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]


def name(path: Path) -> str:
    return str(path.relative_to(NOTEBOOKS))


@pytest.mark.parametrize("path", ALL, ids=name)
def test_the_last_cell_links_to_another_notebook(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    last = "".join(cells[-1]["source"])
    assert cells[-1]["cell_type"] == "markdown" and LINK.search(last), (
        f"{name(path)} should end with a Markdown link to the next notebook; its last cell is "
        f"{last[-120:]!r}"
    )


@pytest.mark.parametrize("path", ALL, ids=name)
def test_every_link_to_a_notebook_resolves(path: Path) -> None:
    targets = [t for text in markdown(path) for t in LINK.findall(text)]
    missing = [t for t in targets if not (path.parent / t).resolve().is_file()]
    assert missing == [], f"{name(path)} links to notebooks that do not exist: {missing}"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), ids=name)
def test_an_exercise_named_in_a_lesson_is_a_link(path: Path) -> None:
    unlinked = [
        line.strip()
        for text in markdown(path)
        for line in text.splitlines()
        if EXERCISE.search(line) and "](exercises/" not in line
    ]
    assert unlinked == [], f"{name(path)} names exercises without linking them: {unlinked}"


def test_the_checks_can_fail() -> None:
    assert not LINK.search("Next: **06 · Read-your-writes**")
    assert LINK.search("Next: [**06**](06_read_your_writes.ipynb)")
    assert EXERCISE.search("5. Exercise 4 (`notebooks/exercises/ex04_waiter_timeouts.ipynb`)")
    assert not EXERCISE.search("[Exercise 4](exercises/ex04_waiter_timeouts.ipynb)")
