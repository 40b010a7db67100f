"""Classroom exercises: each checks a student's answer against the real kit.

Every exercise module offers ``check(answer)``, ``hint()`` and ``solution()``; a check ends
correct, incorrect (with a message naming the mistake) or not attempted, and never raises.

>>> from cqrs_lab.exercises import ex01
>>> ex01.check(...)
Exercise 1 · not attempted: write `handle_withdraw` in the cell above, then run this cell again.
"""

from cqrs_lab.exercises import ex01_command_validation as ex01
from cqrs_lab.exercises import ex02_new_projection as ex02
from cqrs_lab.exercises import ex03_crash_safe_projection as ex03
from cqrs_lab.exercises import ex04_waiter_timeouts as ex04
from cqrs_lab.exercises import ex05_upcasting as ex05
from cqrs_lab.exercises import ex06_read_model_query as ex06
from cqrs_lab.exercises.framework import CheckResult, Exercise, Hint, Outcome, Solution

EXERCISES: tuple[Exercise, ...] = (
    ex01.exercise,
    ex02.exercise,
    ex03.exercise,
    ex04.exercise,
    ex05.exercise,
    ex06.exercise,
)
"""Every exercise, from easy to hard."""

__all__ = [
    "EXERCISES",
    "CheckResult",
    "Exercise",
    "Hint",
    "Outcome",
    "Solution",
    "ex01",
    "ex02",
    "ex03",
    "ex04",
    "ex05",
    "ex06",
]
