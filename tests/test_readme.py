"""The README's examples run as written: its ``pycon`` blocks are doctests."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def pycon_blocks(text: str) -> list[str]:
    """The bodies of the fenced ``pycon`` blocks in ``text``."""
    return re.findall(r"```pycon\n(.*?)```", text, flags=re.DOTALL)


def test_the_readme_has_examples() -> None:
    assert pycon_blocks(README.read_text(encoding="utf-8"))


def test_every_readme_example_prints_what_it_shows() -> None:
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for number, block in enumerate(pycon_blocks(README.read_text(encoding="utf-8")), 1):
        test = parser.get_doctest(block, {}, f"README block {number}", str(README), 0)
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0
    assert results.failed == 0


def test_a_wrong_example_is_caught() -> None:
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner()
    test = parser.get_doctest(">>> 1 + 1\n3\n", {}, "wrong", "wrong", 0)
    runner.run(test, out=lambda _text: None)
    assert runner.summarize(verbose=False).failed == 1
