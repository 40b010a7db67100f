"""Progress bars for long runs: a rebuild replaying the log, a simulation covering its time.

Anything that reports progress takes a callable ``progress(done, total)``; these are two.
:class:`TextProgressBar` writes one line to a terminal (or a notebook's stdout);
:class:`cqrs_lab.ui.progress.WidgetProgressBar` is the ipywidgets one.

>>> import io
>>> out = io.StringIO()
>>> bar = TextProgressBar(out, label="rebuild", width=10)
>>> for done in (0, 500, 1000):
...     bar(done, 1000)
>>> bar.close()
>>> out.getvalue().split("\\r")[-1]
'rebuild [##########] 100%  1000/1000\\n'
"""

from __future__ import annotations

from typing import TextIO

from cqrs_lab.errors import InvalidArgumentError

__all__ = ["TextProgressBar"]


class TextProgressBar:
    """A one-line text bar, redrawn (after a carriage return) only when its percentage changes.

    Args:
        stream: where to write, e.g. ``sys.stderr`` in a terminal or ``sys.stdout`` in a notebook.
        label: words before the bar.
        unit: appended to the counts (``" s"`` for simulated seconds).
        width: characters in the bar.
    """

    def __init__(self, stream: TextIO, *, label: str = "", unit: str = "", width: int = 30) -> None:
        if width < 1:
            raise InvalidArgumentError(f"width must be >= 1, found {width}")
        self.stream = stream
        self.label = label
        self.unit = unit
        self.width = width
        self._shown = -1

    def __call__(self, done: float, total: float) -> None:
        percent = min(int(100 * done / total), 100) if total else 100
        if percent == self._shown:
            return
        self._shown = percent
        filled = self.width * percent // 100
        bar = "#" * filled + "." * (self.width - filled)
        prefix = f"{self.label} " if self.label else ""
        self.stream.write(f"\r{prefix}[{bar}] {percent:3d}%  {done:g}/{total:g}{self.unit}")
        self.stream.flush()

    def close(self) -> None:
        """End the line, if anything was drawn."""
        if self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
