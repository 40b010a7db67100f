"""``python -m cqrs_lab project --database URL``: the projector as a process of its own.

It keeps the Order example's ``order_views`` up to date on a PostgreSQL database, woken by
LISTEN/NOTIFY whenever any process appends -- it never polls. SIGTERM (or Ctrl-C) lets the
batch in progress commit, then exits 0; SIGKILL loses nothing, since a batch commits with its
checkpoint in one transaction and the next run resumes there. A lost connection is retried,
and the projector resumes from its checkpoint. If the projection fails on an event, it stops
before that event and exits 1, saying which: fix the cause and start it again. Needs the
``postgres`` extra.

It prints one line as it starts (``projecting order_views on URL from checkpoint N``), one when
it stops (``stopped order_views at checkpoint N``), and with ``--verbose`` one per committed
batch (``order_views N``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

from cqrs_lab.errors import CqrsLabError

__all__ = ["add_project_parser", "main", "run_project"]


def add_project_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``project`` subcommand to ``commands`` (argparse's subparsers); returns it."""
    project = commands.add_parser(
        "project",
        help="run the Order projections live on PostgreSQL, in this process",
        description=(
            "Keep the order_views read model up to date on a PostgreSQL database, woken by "
            "LISTEN/NOTIFY when any process appends. Stop it with SIGTERM or Ctrl-C: the batch "
            "in progress commits first. Needs the postgres extra (pip install -e '.[postgres]')."
        ),
        usage="python -m cqrs_lab project --database URL [options]",
    )
    project.add_argument(
        "--database",
        required=True,
        metavar="URL",
        help="the PostgreSQL database, e.g. postgresql://postgres@127.0.0.1:5432/postgres",
    )
    project.add_argument(
        "--schema", default=None, help="the schema holding the tables (default: public)"
    )
    project.add_argument(
        "--batch-size", type=int, default=100, help="events per batch (default: 100)"
    )
    project.add_argument("--verbose", action="store_true", help="print a line per committed batch")
    return project


def run_project(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the projector until SIGTERM or SIGINT; returns the exit status."""
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, found {args.batch_size}")
    try:
        from cqrs_lab.adapters.postgres_database import PostgresDatabase
        from cqrs_lab.examples.orders.postgres_app import build_order_projector_runner
    except ImportError as error:  # psycopg missing
        parser.error(f"needs the postgres extra (pip install -e '.[postgres]'): {error}")
    try:
        database = PostgresDatabase(
            args.database, schema=args.schema, application_name="cqrs_lab project"
        )
    except CqrsLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        stop = threading.Event()
        failures: list[BaseException] = []

        def on_failure(error: BaseException) -> None:
            failures.append(error)  # nothing more can be projected until the cause is fixed
            stop.set()

        runner = build_order_projector_runner(
            database, batch_size=args.batch_size, on_failure=on_failure
        )
        (projector,) = runner.projectors
        if args.verbose:
            projector.on_checkpoint(lambda name, position: print(name, position, flush=True))

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()  # only a flag: the batch in progress commits, then the runner stops

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            # first, so it is the first line: the batches print from the runner's thread
            print(
                f"projecting {projector.name} on {database.safe_url} "
                f"from checkpoint {projector.checkpoint}",
                flush=True,
            )
            runner.start()
            stop.wait()
            runner.stop()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        print(f"stopped {projector.name} at checkpoint {projector.checkpoint}", flush=True)
        for failure in failures:
            print(f"error: {failure}", file=sys.stderr)
        return 1 if failures else 0
    except CqrsLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        database.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m cqrs_lab project ...`` alone: what ``__main__`` runs for this subcommand, so
    that the projector process starts without importing the simulator."""
    parser = argparse.ArgumentParser(prog="python -m cqrs_lab")
    project = add_project_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run_project(args, project)
