"""The options of ``python -m cqrs_lab simulate``: one per knob of a scenario, with its defaults.

The defaults are the :class:`~cqrs_lab.sim.scenario.Scenario` defaults, read from the knobs
themselves, so the command line and a notebook start from the same place:

>>> args = build_parser().parse_args(["simulate", "--pause", "10:15"])
>>> args.rate, args.batch_size, args.pause
(200.0, 100, [(10.0, 15.0)])
"""

from __future__ import annotations

import argparse
from pathlib import Path

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
    arrivals = sim.add_argument_group("arrivals")
    arrivals.add_argument(
        "--arrivals",
        choices=["constant", "poisson"],
        default="constant",
        help="evenly spaced or random (Poisson) arrivals",
    )
    arrivals.add_argument("--rate", type=float, default=_ARRIVALS.rate, help="commands per second")
    arrivals.add_argument(
        "--arrive-for",
        type=float,
        default=_ARRIVALS.end,
        metavar="SECONDS",
        help="commands arrive from 0 until this time",
    )
    arrivals.add_argument(
        "--burst",
        type=_burst,
        action="append",
        default=[],
        metavar="START:END:RATE",
        help="extra arrivals (repeatable)",
    )
    arrivals.add_argument(
        "--trace",
        type=Path,
        metavar="CSV",
        help="replay recorded arrival times from a CSV (overrides --rate)",
    )
    arrivals.add_argument(
        "--trace-column",
        default="time",
        help="the CSV column holding the times (seconds or ISO datetimes)",
    )
    arrivals.add_argument(
        "--keys",
        type=int,
        default=_DEFAULT.keys,
        help="distinct keys (streams) commands spread over",
    )

    projector = sim.add_argument_group("projector")
    projector.add_argument(
        "--batch-size", type=int, default=_PROJECTOR.batch_size, help="events read per batch"
    )
    projector.add_argument(
        "--poll-interval",
        type=float,
        default=_PROJECTOR.poll_interval,
        metavar="SECONDS",
        help="sleep between polls",
    )
    projector.add_argument(
        "--sleep",
        choices=[m.value for m in SleepMode],
        default=_PROJECTOR.sleep.value,
        help="always: after every batch (the playbook's Template 4)",
    )
    projector.add_argument(
        "--cost-per-event",
        type=float,
        default=_PROJECTOR.cost_per_event,
        metavar="SECONDS",
        help="virtual time to apply one event",
    )
    projector.add_argument(
        "--cost-per-batch",
        type=float,
        default=_PROJECTOR.cost_per_batch,
        metavar="SECONDS",
        help="virtual time to read and commit a batch (or poll an empty log)",
    )
    projector.add_argument(
        "--policy",
        choices=[p.value for p in FailurePolicy],
        default=_PROJECTOR.policy.value,
        help="what to do on a failing event",
    )
    projector.add_argument(
        "--silent-skip-pitfall",
        action="store_true",
        help="Template 4's pitfall: log a failing event and move past it (loses it)",
    )
    projector.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="EVENTS",
        help="save the checkpoint apart from the rows every N events "
        "(default: atomically with them)",
    )
    projector.add_argument(
        "--sla-seconds",
        type=float,
        default=_PROJECTOR.sla_seconds,
        metavar="SECONDS",
        help="the oldest unapplied event may be this old",
    )
    projector.add_argument(
        "--sla-events",
        type=int,
        default=_PROJECTOR.sla_events,
        metavar="N",
        help="the projection may be this many events behind (default: no bound)",
    )

    trouble = sim.add_argument_group("trouble")
    trouble.add_argument(
        "--pause",
        type=_window,
        action="append",
        default=[],
        metavar="START:END",
        help="pause the projector (repeatable)",
    )
    trouble.add_argument(
        "--crash",
        type=_window,
        action="append",
        default=[],
        metavar="START:END",
        help="crash it, restart at END (repeatable)",
    )
    trouble.add_argument(
        "--poison",
        type=int,
        metavar="N",
        help="the N-th command records an event projections fail on",
    )
    trouble.add_argument(
        "--poison-failures",
        type=int,
        metavar="K",
        help="it fails only K times (default: until the fix)",
    )
    trouble.add_argument(
        "--fix-at",
        type=float,
        metavar="SECONDS",
        help="deploy the fix for the poison event at this time",
    )
    trouble.add_argument(
        "--rebuild-at", type=float, metavar="SECONDS", help="rebuild the read model at this time"
    )
    trouble.add_argument(
        "--rebuild-mode",
        choices=[m.value for m in RebuildMode],
        default=RebuildMode.BLUE_GREEN.value,
        help="clear and replay the live view, or build a new one beside it",
    )

    readers = sim.add_argument_group("readers")
    readers.add_argument(
        "--read-every",
        type=int,
        default=10,
        metavar="N",
        help="every N-th sender reads its own write (0: no readers)",
    )
    readers.add_argument(
        "--waiter-timeout",
        type=float,
        metavar="SECONDS",
        help="wait for the read model up to this long (default: read at once, no waiter)",
    )

    run = sim.add_argument_group("run and output")
    run.add_argument(
        "--duration",
        type=float,
        default=_DEFAULT.duration,
        metavar="SECONDS",
        help="virtual seconds to simulate",
    )
    run.add_argument(
        "--step",
        type=float,
        default=_DEFAULT.step,
        metavar="SECONDS",
        help="timeline sampling step",
    )
    run.add_argument("--seed", type=int, default=42, help="random seed")
    run.add_argument("--out", type=Path, metavar="CHART", help="write a chart (.png or .svg)")
    run.add_argument("--csv", type=Path, metavar="FILE", help="write the timeline as CSV")
    run.add_argument("--reads-csv", type=Path, metavar="FILE", help="write the reads as CSV")
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: when it is a terminal)",
    )
    return parser, sim
