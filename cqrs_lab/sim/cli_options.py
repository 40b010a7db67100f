"""The options of ``python -m cqrs_lab simulate``: one per knob of a scenario, with its defaults.

The defaults are the :class:`~cqrs_lab.sim.scenario.Scenario` defaults, read from the knobs
themselves, so the command line and a notebook start from the same place:

>>> args = build_parser().parse_args(["simulate", "--pause", "10:15"])
>>> args.rate, args.batch_size, args.pause
(200.0, 100, [(10.0, 15.0)])
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from cqrs_lab.examples.orders.projector_process import add_project_parser
from cqrs_lab.failures import FailurePolicy
from cqrs_lab.rebuild import RebuildMode
from cqrs_lab.sim.scenario import ConstantArrivals, ProjectorConfig, Scenario, SleepMode

__all__ = ["build_parser", "build_parsers"]

_DEFAULT = Scenario()
_PROJECTOR = ProjectorConfig()
_ARRIVALS = ConstantArrivals()


def _window(text: str) -> tuple[float, float]:
    """Parse ``START:END`` (seconds)."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:END in seconds, e.g. 10:15, found {text!r}"
        ) from None


def _burst(text: str) -> tuple[float, float, float]:
    """Parse ``START:END:RATE``."""
    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        return float(parts[0]), float(parts[1]), float(parts[2])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:END:RATE (seconds, seconds, arrivals/s), e.g. 30:35:2000, "
            f"found {text!r}"
        ) from None


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default only when it has one and its help does not already say."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, [], argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action) or text


class _Option(NamedTuple):
    """One option of ``simulate``: its flag, its help, and whichever argparse settings it needs.

    ``parse`` is argparse's ``type``: what turns the option's text into its value.
    """

    flag: str
    help: str
    parse: Callable[[str], Any] | None = None
    default: Any = None
    metavar: str | None = None
    choices: list[str] | None = None
    action: str | type[argparse.Action] | None = None

    def add_to(self, group: argparse._ArgumentGroup) -> None:
        """Add this option to ``group``, passing only the settings it has (not None)."""
        settings = {
            "type": self.parse,
            "default": self.default,
            "metavar": self.metavar,
            "choices": self.choices,
            "action": self.action,
        }
        given = {name: value for name, value in settings.items() if value is not None}
        group.add_argument(self.flag, help=self.help, **given)


def _option_groups() -> list[tuple[str, tuple[_Option, ...]]]:
    """The options of ``simulate`` by help section, in the order ``--help`` lists them.

    Built afresh on every call, so each parser gets its own ``[]`` defaults.
    """
    arrivals = (
        _Option(
            "--arrivals",
            "evenly spaced or random (Poisson) arrivals",
            default="constant",
            choices=["constant", "poisson"],
        ),
        _Option("--rate", "commands per second", float, _ARRIVALS.rate),
        _Option(
            "--arrive-for",
            "commands arrive from 0 until this time",
            float,
            _ARRIVALS.end,
            "SECONDS",
        ),
        _Option(
            "--burst",
            "extra arrivals (repeatable)",
            _burst,
            [],
            "START:END:RATE",
            action="append",
        ),
        _Option(
            "--trace",
            "replay recorded arrival times from a CSV (overrides --rate)",
            Path,
            metavar="CSV",
        ),
        _Option(
            "--trace-column",
            "the CSV column holding the times (seconds or ISO datetimes)",
            default="time",
        ),
        _Option("--keys", "distinct keys (streams) commands spread over", int, _DEFAULT.keys),
    )
    projector = (
        _Option("--batch-size", "events read per batch", int, _PROJECTOR.batch_size),
        _Option(
            "--poll-interval", "sleep between polls", float, _PROJECTOR.poll_interval, "SECONDS"
        ),
        _Option(
            "--sleep",
            "always: after every batch (the playbook's Template 4)",
            default=_PROJECTOR.sleep.value,
            choices=[m.value for m in SleepMode],
        ),
        _Option(
            "--cost-per-event",
            "virtual time to apply one event",
            float,
            _PROJECTOR.cost_per_event,
            "SECONDS",
        ),
        _Option(
            "--cost-per-batch",
            "virtual time to read and commit a batch (or poll an empty log)",
            float,
            _PROJECTOR.cost_per_batch,
            "SECONDS",
        ),
        _Option(
            "--policy",
            "what to do on a failing event",
            default=_PROJECTOR.policy.value,
            choices=[p.value for p in FailurePolicy],
        ),
        _Option(
            "--silent-skip-pitfall",
            "Template 4's pitfall: log a failing event and move past it (loses it)",
            action="store_true",
        ),
        _Option(
            "--checkpoint-every",
            "save the checkpoint apart from the rows every N events "
            "(default: atomically with them)",
            int,
            metavar="EVENTS",
        ),
        _Option(
            "--sla-seconds",
            "the oldest unapplied event may be this old",
            float,
            _PROJECTOR.sla_seconds,
            "SECONDS",
        ),
        _Option(
            "--sla-events",
            "the projection may be this many events behind (default: no bound)",
            int,
            _PROJECTOR.sla_events,
            "N",
        ),
    )
    trouble = (
        _Option(
            "--pause", "pause the projector (repeatable)", _window, [], "START:END", action="append"
        ),
        _Option(
            "--crash",
            "crash it, restart at END (repeatable)",
            _window,
            [],
            "START:END",
            action="append",
        ),
        _Option(
            "--poison", "the N-th command records an event projections fail on", int, metavar="N"
        ),
        _Option(
            "--poison-failures", "it fails only K times (default: until the fix)", int, metavar="K"
        ),
        _Option(
            "--fix-at", "deploy the fix for the poison event at this time", float, metavar="SECONDS"
        ),
        _Option("--rebuild-at", "rebuild the read model at this time", float, metavar="SECONDS"),
        _Option(
            "--rebuild-mode",
            "clear and replay the live view, or build a new one beside it",
            default=RebuildMode.BLUE_GREEN.value,
            choices=[m.value for m in RebuildMode],
        ),
    )
    readers = (
        _Option(
            "--read-every", "every N-th sender reads its own write (0: no readers)", int, 10, "N"
        ),
        _Option(
            "--waiter-timeout",
            "wait for the read model up to this long (default: read at once, no waiter)",
            float,
            metavar="SECONDS",
        ),
    )
    run = (
        _Option("--duration", "virtual seconds to simulate", float, _DEFAULT.duration, "SECONDS"),
        _Option("--step", "timeline sampling step", float, _DEFAULT.step, "SECONDS"),
        _Option("--seed", "random seed", int, 42),
        _Option("--out", "write a chart (.png or .svg)", Path, metavar="CHART"),
        _Option("--csv", "write the timeline as CSV", Path, metavar="FILE"),
        _Option("--reads-csv", "write the reads as CSV", Path, metavar="FILE"),
        _Option(
            "--progress",
            "show a progress bar on stderr (default: when it is a terminal)",
            action=argparse.BooleanOptionalAction,
        ),
    )
    return [
        ("arrivals", arrivals),
        ("projector", projector),
        ("trouble", trouble),
        ("readers", readers),
        ("run and output", run),
    ]


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m cqrs_lab``, with its ``simulate`` subcommand."""
    return build_parsers()[0]


def build_parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The parser of ``python -m cqrs_lab``, and its ``simulate`` subparser for reporting errors."""
    parser = argparse.ArgumentParser(
        prog="python -m cqrs_lab",
        description="cqrs_lab from the command line.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_project_parser(commands)
    sim = commands.add_parser(
        "simulate",
        help="simulate projection lag in virtual time and report it",
        description=(
            "Simulate commands arriving, projectors catching up, outages, poison events, "
            "rebuilds and readers, in virtual time, through the kit's real components. "
            "Prints a summary; writes the timeline, reads and a chart on request."
        ),
        usage="python -m cqrs_lab simulate [options]",
        formatter_class=_HelpFormatter,
    )
    for title, options in _option_groups():
        group = sim.add_argument_group(title)
        for option in options:
            option.add_to(group)
    return parser, sim
