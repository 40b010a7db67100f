"""The checking framework behind the exercises: three outcomes, hints and worked solutions.

An :class:`Exercise` grades a student's answer by running it against the real kit. A grader
raises :class:`Mistake` naming what went wrong; the framework turns that -- and a placeholder,
an unfinished ``NotImplementedError``, or any other error -- into one :class:`CheckResult`, so
``check()`` never raises and an unsolved notebook still runs top to bottom.

>>> class Double(Exercise):
...     number = 0
...     title = "Double a number"
...     answer_names = ("double",)
...     hints = ("Multiply by two.",)
...     def grade(self, *answers):
...         (double,) = answers
...         with self.case("doubling 3"):
...             found = double(3)
...         expect(found != 3, "double(3) returned 3: you returned the input unchanged")
...         expect(found == 6, f"double(3) should be 6, found {found!r}")
...         return "double(3) is 6"
>>> Double().check(lambda x: x * 2)
Exercise 0 · correct: double(3) is 6
>>> Double().check(lambda x: x)
Exercise 0 · incorrect: double(3) returned 3: you returned the input unchanged
>>> Double().check(...)
Exercise 0 · not attempted: write `double` in the cell above, then run this cell again.
>>> Double().check(lambda x: x / 0).message
'while doubling 3, your code raised ZeroDivisionError: division by zero'
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any, ClassVar

from cqrs_lab.errors import InvalidArgumentError

__all__ = [
    "CheckResult",
    "Exercise",
    "Hint",
    "Mistake",
    "NotAttempted",
    "Outcome",
    "Solution",
    "expect",
    "is_placeholder",
]


class Outcome(StrEnum):
    """How a check ended."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    NOT_ATTEMPTED = "not attempted"


_COLOURS = {
    Outcome.CORRECT: ("#2e7d32", "#e8f5e9", "&#10004;"),
    Outcome.INCORRECT: ("#c62828", "#ffebee", "&#10008;"),
    Outcome.NOT_ATTEMPTED: ("#757575", "#f5f5f5", "&#8230;"),
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check, with a message that says why; displays itself in a notebook."""

    exercise: int
    outcome: Outcome
    message: str

    @property
    def correct(self) -> bool:
        """Whether the answer passed every case."""
        return self.outcome is Outcome.CORRECT

    @property
    def attempted(self) -> bool:
        """Whether there was an answer to grade at all."""
        return self.outcome is not Outcome.NOT_ATTEMPTED

    def __str__(self) -> str:
        return f"Exercise {self.exercise} · {self.outcome.value}: {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        border, background, mark = _COLOURS[self.outcome]
        return (
            f'<div style="border-left: 4px solid {border}; background: {background}; '
            f'padding: 0.5em 0.9em; margin: 0.2em 0">'
            f'<strong style="color: {border}">{mark} Exercise {self.exercise} · '
            f"{self.outcome.value}</strong><br>{_code_spans(self.message)}</div>"
        )


@dataclass(frozen=True, slots=True)
class Hint:
    """One hint of an exercise; hints go from a nudge to nearly the answer."""

    exercise: int
    level: int
    of: int
    text: str

    def __str__(self) -> str:
        return f"Exercise {self.exercise} · hint {self.level} of {self.of}: {self.text}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        return f"**Exercise {self.exercise} · hint {self.level} of {self.of}.** {self.text}"


@dataclass(frozen=True, slots=True)
class Solution:
    """The worked solution of an exercise: source code to read, run, and compare with yours."""

    exercise: int
    title: str
    source: str

    def __str__(self) -> str:
        return f"# Exercise {self.exercise} · worked solution: {self.title}\n{self.source}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        return (
            f"**Exercise {self.exercise} · worked solution: {self.title}**\n\n"
            f"```python\n{self.source}```\n"
        )


class Mistake(Exception):
    """Raised by a grader when the answer shows a known mistake; the message names it."""


class NotAttempted(Exception):
    """Raised by a grader when part of the answer is still a placeholder."""


def expect(condition: bool, message: str) -> None:
    """Raise :class:`Mistake` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise Mistake(message)


def is_placeholder(answer: object) -> bool:
    """Whether ``answer`` is what a student copy holds before it is solved: ``...`` or ``None``.

    >>> is_placeholder(...), is_placeholder(None), is_placeholder(0)
    (True, True, False)
    """
    return answer is ... or answer is None


class Exercise:
    """One exercise: :meth:`check` an answer, ask for a :meth:`hint`, see the :meth:`solution`.

    Subclasses set the class attributes and implement :meth:`grade`, which runs the answer on
    several cases, raises :class:`Mistake` for what it finds wrong and returns a one-line
    summary of what a correct answer did.
    """

    number: ClassVar[int] = 0
    title: ClassVar[str] = ""
    difficulty: ClassVar[str] = "easy"
    minutes: ClassVar[int] = 15
    notebook: ClassVar[str] = ""
    answer_names: ClassVar[tuple[str, ...]] = ("answer",)
    hints: ClassVar[tuple[str, ...]] = ()
    solution_module: ClassVar[str] = ""

    # -- what the notebook calls -------------------------------------------------------------

    def check(self, *answers: object) -> CheckResult:
        """Grade ``answers`` (one per name in ``answer_names``); never raises."""
        names = self.answer_names
        if len(answers) != len(names):
            return self._result(
                Outcome.INCORRECT,
                f"check() expected {len(names)} answer(s) ({', '.join(names)}), "
                f"found {len(answers)}: call check({', '.join(names)})",
            )
        pairs = zip(names, answers, strict=True)
        missing = [name for name, answer in pairs if is_placeholder(answer)]
        if missing:
            return self._result(Outcome.NOT_ATTEMPTED, _write(missing))
        try:
            summary = self.grade(*answers)
        except NotAttempted as unfinished:
            return self._result(Outcome.NOT_ATTEMPTED, str(unfinished))
        except NotImplementedError:
            return self._result(
                Outcome.NOT_ATTEMPTED,
                f"your code still raises NotImplementedError; {_write(list(names))}",
            )
        except Mistake as mistake:
            return self._result(Outcome.INCORRECT, str(mistake))
        except Exception as error:  # the student's code failed outside any named case
            return self._result(Outcome.INCORRECT, f"your code raised {_describe(error)}")
        return self._result(Outcome.CORRECT, summary)

    def hint(self, level: int = 1) -> Hint:
        """Hint number ``level`` (1 is a nudge; the last is nearly the answer)."""
        count = len(self.hints)
        if not 1 <= level <= count:
            raise InvalidArgumentError(
                f"exercise {self.number} has hints 1 to {count}, found level={level!r}"
            )
        return Hint(self.number, level, count, self.hints[level - 1])

    def solution(self) -> Solution:
        """The worked solution's source, read from :mod:`cqrs_lab.exercises.solutions`."""
        package = resources.files("cqrs_lab.exercises.solutions")
        text = package.joinpath(f"{self.solution_module}.py").read_text(encoding="utf-8")
        return Solution(self.number, self.title, _without_docstring(text))

    # -- what a subclass implements and uses -------------------------------------------------

    def grade(self, *answers: Any) -> str:
        """Run the answers through every case; raise :class:`Mistake`, or return a summary."""
        raise NotImplementedError(f"{type(self).__name__} must implement grade()")

    @contextmanager
    def case(self, description: str) -> Iterator[None]:
        """Run student code for one case; an unexpected error becomes a :class:`Mistake`."""
        try:
            yield
        except (Mistake, NotAttempted, NotImplementedError):
            raise
        except Exception as error:
            if _caused_by_not_implemented(error):  # e.g. wrapped by the projector
                raise NotAttempted(
                    f"while {description}, your code still raised NotImplementedError: "
                    "finish it, then run this cell again."
                ) from error
            raise Mistake(f"while {description}, your code raised {_describe(error)}") from error

    def _result(self, outcome: Outcome, message: str) -> CheckResult:
        return CheckResult(self.number, outcome, message)

    def __repr__(self) -> str:
        return f"Exercise {self.number} ({self.difficulty}, ~{self.minutes} min): {self.title}"


_CODE_SPAN = re.compile(r"`([^`]+)`")


def _code_spans(message: str) -> str:
    """``message`` as HTML, its Markdown code spans (`name`) as ``<code>`` elements.

    >>> _code_spans("write `double` <here>")
    'write <code>double</code> &lt;here&gt;'
    """
    return _CODE_SPAN.sub(r"<code>\1</code>", html.escape(message))


def _write(names: list[str]) -> str:
    listed = " and ".join(f"`{name}`" for name in names)
    return f"write {listed} in the cell above, then run this cell again."


def _caused_by_not_implemented(error: BaseException) -> bool:
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, NotImplementedError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _without_docstring(source: str) -> str:
    """``source`` without its module docstring and the blank lines after it."""
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        end = body[0].end_lineno or 0
        source = "\n".join(source.splitlines()[end:]) + "\n"
    return source.lstrip("\n")
