"""Moved to :mod:`cqrs_lab.ui.tracer`; this name stays only until the last tests import from there.

Nothing in the package imports it, so ``import cqrs_lab`` still pulls in no ui module.
"""

from cqrs_lab.ui.trace import STEP_COLUMNS, Component, StepKind, TraceStep
from cqrs_lab.ui.trace_text import answer_summary, fields_summary, row_change, summarize
from cqrs_lab.ui.tracer import Tracer

__all__ = [
    "STEP_COLUMNS",
    "Component",
    "StepKind",
    "TraceStep",
    "Tracer",
    "answer_summary",
    "fields_summary",
    "row_change",
    "summarize",
]
