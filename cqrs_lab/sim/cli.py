"""The command line: ``python -m cqrs_lab simulate [options]`` runs a scenario without Jupyter.

It prints the summary, and on request writes the timeline (``--csv``), the reads
(``--reads-csv``) and a dashboard chart (``--out chart.png`` or ``.svg``). Bad arguments exit with
status 2 and say what was expected. A progress bar goes to stderr when it is a terminal (or with
``--progress``). The options themselves are defined in :mod:`cqrs_lab.sim.cli_options`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.examples.orders.projector_process import run_project
from cqrs_lab.failures import FailurePolicy
from cqrs_lab.progress import TextProgressBar
from cqrs_lab.rebuild import RebuildMode
from cqrs_lab.sim.cli_options import build_parser, build_parsers
from cqrs_lab.sim.engine import simulate
from cqrs_lab.sim.results import SimulationResult
from cqrs_lab.sim.scenario import (
    Arrivals,
    Burst,
    BurstArrivals,
    ConstantArrivals,
    Outage,
    OutageKind,
    Poison,
    PoissonArrivals,
    ProjectorConfig,
    Readers,
    RebuildPlan,
    Scenario,
    SleepMode,
    TraceArrivals,
)

__all__ = ["build_parser", "main", "scenario_from_args"]


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The :class:`Scenario` the parsed options describe (raises InvalidArgumentError)."""
    arrivals: Arrivals
    if args.trace is not None:
        try:
            arrivals = TraceArrivals.from_csv(args.trace, args.trace_column)
        except OSError as error:
            raise InvalidArgumentError(f"--trace: cannot read {args.trace}: {error}") from None
    elif args.burst:
        bursts = tuple(Burst(start=s, end=e, rate=r) for s, e, r in args.burst)
        arrivals = BurstArrivals(
            rate=args.rate, end=args.arrive_for, bursts=bursts, poisson=args.arrivals == "poisson"
        )
    elif args.arrivals == "poisson":
        arrivals = PoissonArrivals(rate=args.rate, end=args.arrive_for)
    else:
        arrivals = ConstantArrivals(rate=args.rate, end=args.arrive_for)
    projector = ProjectorConfig(
        batch_size=args.batch_size,
        poll_interval=args.poll_interval,
        sleep=SleepMode(args.sleep),
        cost_per_event=args.cost_per_event,
        cost_per_batch=args.cost_per_batch,
        policy=FailurePolicy(args.policy),
        checkpoint_every=args.checkpoint_every,
        silent_skip_pitfall=args.silent_skip_pitfall,
        sla_seconds=args.sla_seconds,
        sla_events=args.sla_events,
    )
    outages = tuple(Outage(start=s, end=e, kind=OutageKind.PAUSE) for s, e in args.pause) + tuple(
        Outage(start=s, end=e, kind=OutageKind.CRASH) for s, e in args.crash
    )
    poison = None
    if args.poison is not None:
        poison = Poison(at_event=args.poison, failures=args.poison_failures, fixed_at=args.fix_at)
    elif args.poison_failures is not None or args.fix_at is not None:
        raise InvalidArgumentError("--poison-failures and --fix-at need --poison N")
    rebuild = None
    if args.rebuild_at is not None:
        rebuild = RebuildPlan(at=args.rebuild_at, mode=RebuildMode(args.rebuild_mode))
    if args.read_every < 0:
        raise InvalidArgumentError(f"--read-every must be >= 0, found {args.read_every}")
    readers = (
        Readers(every=args.read_every, timeout=args.waiter_timeout) if args.read_every else None
    )
    return Scenario(
        arrivals=arrivals,
        projectors=(projector,),
        outages=outages,
        poison=poison,
        rebuild=rebuild,
        readers=readers,
        duration=args.duration,
        step=args.step,
        keys=args.keys,
    )


def _check_outputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.out is not None and args.out.suffix.lower() not in (".png", ".svg"):
        parser.error(f"--out must end in .png or .svg, found {args.out.name!r}")
    for option in ("out", "csv", "reads_csv"):
        path: Path | None = getattr(args, option)
        if path is not None and not path.parent.is_dir():
            flag = "--" + option.replace("_", "-")
            parser.error(f"{flag}: directory {str(path.parent)!r} does not exist")


def _report(result: SimulationResult, stream: TextIO) -> None:
    summary = result.summary.T
    stream.write(
        f"{result.events:,} events in {result.until:g} virtual seconds (seed {result.seed})\n"
    )
    stream.write(summary.to_string(float_format=lambda v: f"{v:.4g}") + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse exits 2 on bad arguments)."""
    parser, sim_parser = build_parsers()
    args = parser.parse_args(argv)
    if args.command == "project":
        return run_project(args, parser)
    try:
        scenario = scenario_from_args(args)
    except InvalidArgumentError as error:
        sim_parser.error(str(error))
    _check_outputs(sim_parser, args)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    bar = TextProgressBar(sys.stderr, label="simulating", unit=" s") if show else None
    try:
        result = simulate(scenario, seed=args.seed, progress=bar)
    except InvalidArgumentError as error:
        sim_parser.error(str(error))
    finally:
        if bar is not None:
            bar.close()
    _report(result, sys.stdout)
    if args.csv is not None:
        result.timeline.to_csv(args.csv, index=False)
        print(f"timeline written to {args.csv}")
    if args.reads_csv is not None:
        result.reads.to_csv(args.reads_csv, index=False)
        print(f"reads written to {args.reads_csv}")
    if args.out is not None:
        from matplotlib.figure import Figure

        from cqrs_lab.ui.charts import plot_dashboard, save_figure

        save_figure(plot_dashboard(result, Figure(figsize=(11.0, 7.0))), args.out)
        print(f"chart written to {args.out}")
    return 0
