"""Instructions per command and per projected event, counted by callgrind: the steady figures.

Run: ``python benchmarks/bench_instructions.py [--orders N] [--contenders LIST] [--kit DIR]``
(needs valgrind, and the eventsourcing library: the bench extra, which ``make bench`` installs)

On a shared machine a timing moves by a third from one minute to the next; the number of
instructions run for the same work does not. This script runs the workloads of
bench_write_side.py and bench_read_side.py under ``valgrind --tool=callgrind``, each in a
fresh Python with a fixed PYTHONHASHSEED, and takes differences, so that start-up and imports
cancel out:

- per command: (the write workload for 2 N orders) - (for N orders), over the 2 N commands
  between them;
- per projected event: (the workload for N orders, then a catch-up of every event into the
  order views) - (the workload alone), over the 2 N events projected.

``--kit DIR`` puts DIR first on the children's PYTHONPATH, to count an older cqrs_lab, for
example a ``git worktree`` of an earlier commit. Callgrind counts no time spent in the kernel,
where ``uuid4`` fetches its random bytes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bench_write_side as write_side
from eventsourcing_orders import EsOrders, place_orders, project_notifications

CONTENDERS = ("cqrs_lab", "eventsourcing", "playbook")
PROJECTING = ("cqrs_lab", "eventsourcing")  # the playbook has no projector


def child(contender: str, orders: int, project: bool) -> None:
    """The work one callgrind run counts (with this process's start-up)."""
    if contender == "cqrs_lab":
        system = write_side.kit_system()
        write_side.place_kit_orders(system, orders)
        if project:
            system.catch_up()
    elif contender == "eventsourcing":
        app = EsOrders()
        place_orders(app, orders)
        if project:
            project_notifications(app, {})
    else:
        bus, _ = write_side.playbook_bus()
        write_side.place_playbook_orders(bus, orders)


def count(contender: str, orders: int, project: bool, kit: str | None, folder: str) -> int:
    """Instructions callgrind counts in a child running ``child(contender, orders, project)``."""
    name = f"{contender}-{orders}{'-project' if project else ''}"
    out_file = Path(folder) / f"callgrind.{name}"
    here = str(Path(__file__).resolve().parent)
    path = [kit] if kit else []
    path += [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=os.pathsep.join([*path, here]))
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out_file}",
        sys.executable,
        __file__,
        "--child",
        contender,
        "--orders",
        str(orders),
    ]
    if project:
        command.append("--project")
    subprocess.run(command, env=env, check=True, capture_output=True)
    for line in out_file.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise AssertionError(f"no instruction total in {out_file}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=2_000, help="N: 2 N commands per step")
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="comma-separated, from " + ", ".join(CONTENDERS),
    )
    parser.add_argument("--kit", help="a folder holding the cqrs_lab to count (default: installed)")
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--project", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.orders, args.project)
        return 0
    contenders = [name for name in args.contenders.split(",") if name]
    unknown = set(contenders) - set(CONTENDERS)
    if unknown or not contenders:
        parser.error(
            f"--contenders takes names from {', '.join(CONTENDERS)}, found {args.contenders!r}"
        )

    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind): no instruction counts")
        return 0
    n = args.orders
    runs = [(name, orders, False) for name in contenders for orders in (n, 2 * n)]
    runs += [(name, n, True) for name in contenders if name in PROJECTING]
    source = args.kit or "the installed cqrs_lab"
    print(f"callgrind: {len(runs)} runs, two at a time; N = {n:,} orders; kit: {source}")
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(max_workers=2) as pool:

        def counted(run: tuple[str, int, bool]) -> int:
            name, orders, project = run
            return count(name, orders, project, args.kit, folder)

        totals = dict(zip(runs, pool.map(counted, runs), strict=True))

    per_command = {
        name: (totals[name, 2 * n, False] - totals[name, n, False]) / (2 * n) for name in contenders
    }
    per_event = {
        name: (totals[name, n, True] - totals[name, n, False]) / (2 * n)
        for name in contenders
        if name in PROJECTING
    }
    for name in contenders:
        line = f"{name:<14} {per_command[name]:>10,.0f} instructions per command"
        if name in per_event:
            line += f", {per_event[name]:>10,.0f} per projected event"
        print(line)
    if "cqrs_lab" in per_command:
        for name in contenders:
            if name == "cqrs_lab":
                continue
            ratio = per_command[name] / per_command["cqrs_lab"]
            line = f"{name} / cqrs_lab: {ratio:.2f}x per command"
            if name in per_event and "cqrs_lab" in per_event:
                line += f", {per_event[name] / per_event['cqrs_lab']:.2f}x per projected event"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
