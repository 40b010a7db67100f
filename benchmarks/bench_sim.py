"""Simulation speed: events per second through the real components, dashboard redraws, scaling.

Run: ``python benchmarks/bench_sim.py [--sizes 10000,100000,1000000] [--repeat 5]``

1. Throughput: the default scenario (20,000 commands at 200/s, Template 4 projector, every tenth
   sender reading its write) -- each command goes through the real CommandBus into the real
   InMemoryEventStore and is applied by a real Projector. Target: >= 100,000 events/s.
2. Dashboard: the lag explorer's plain callbacks on the default scenario, with Agg:
   ``redraw()`` (draw the last run and encode the PNG the widget shows; target <= 250 ms) and
   ``update()`` (run the simulation again, then redraw: what a slider change costs).
3. Scaling: the same scenario at 500 commands/s for longer and longer, to show that the cost per
   event stays flat from 10k to 1M events.

Timings are the best of ``--repeat`` runs, in wall time and in CPU time of this process; on a
shared machine the CPU figure is the steadier one. Virtual time never depends on either.
"""

from __future__ import annotations

import argparse
import functools
import gc
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from cqrs_lab.sim.engine import Simulation
from cqrs_lab.sim.scenario import ConstantArrivals, Scenario
from cqrs_lab.ui.lag_explorer import LagExplorer

EVENTS_TARGET = 100_000
REDRAW_TARGET = 0.250
SCALING_RATE = 500.0


@dataclass(frozen=True)
class Timing:
    """Best wall and CPU seconds over several runs."""

    wall: float
    cpu: float


def best_of(repeat: int, setup: Callable[[], Callable[[], object]]) -> Timing:
    """Time ``setup()()`` ``repeat`` times (setup untimed); keep the best wall and CPU times."""
    walls, cpus = [], []
    for _ in range(repeat):
        action = setup()
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return Timing(min(walls), min(cpus))


def bench_throughput(repeat: int) -> None:
    scenario = Scenario()
    events = Simulation(scenario).run().store.head
    timing = best_of(repeat, lambda: Simulation(scenario).run)
    with_result = best_of(repeat, lambda: lambda: Simulation(scenario).run().result())
    print(f"\n1. Throughput, default scenario ({events:,} events)")
    print(
        f"   run only        : {events / timing.wall:>10,.0f} events/s wall, "
        f"{events / timing.cpu:>10,.0f} events/s CPU   (target >= {EVENTS_TARGET:,})"
    )
    print(
        f"   run + DataFrames: {events / with_result.wall:>10,.0f} events/s wall, "
        f"{events / with_result.cpu:>10,.0f} events/s CPU"
    )


def bench_dashboard(repeat: int) -> None:
    explorer = LagExplorer(run=False)
    explorer.update()
    redraw = best_of(repeat, lambda: explorer.redraw)
    update = best_of(repeat, lambda: explorer.update)
    four = LagExplorer(run=False, panels=("lag", "head", "lag_seconds", "reads"))
    four.update()
    redraw_four = best_of(repeat, lambda: four.redraw)
    print("\n2. Dashboard, default scenario (20,000 events), Agg")
    print(
        f"   redraw(), 2 panels : {redraw.wall * 1000:6.0f} ms wall, {redraw.cpu * 1000:6.0f} ms "
        f"CPU   (target <= {REDRAW_TARGET * 1000:.0f} ms)"
    )
    print(
        f"   redraw(), 4 panels : {redraw_four.wall * 1000:6.0f} ms wall, "
        f"{redraw_four.cpu * 1000:6.0f} ms CPU"
    )
    print(
        f"   update() = run + redraw, 2 panels: {update.wall * 1000:6.0f} ms wall, "
        f"{update.cpu * 1000:6.0f} ms CPU"
    )


def _runner(scenario: Scenario) -> Callable[[], object]:
    return Simulation(scenario).run


def bench_scaling(sizes: list[int], repeat: int) -> None:
    print(f"\n3. Scaling at {SCALING_RATE:g} commands/s")
    header = ("events", "wall s", "CPU s", "µs/event (CPU)", "events/s (CPU)")
    print("   {:>10} {:>8} {:>8} {:>15} {:>15}".format(*header))
    per_event = []
    for size in sizes:
        duration = size / SCALING_RATE
        scenario = Scenario(
            arrivals=ConstantArrivals(rate=SCALING_RATE, end=duration), duration=duration + 1.0
        )
        runs = 1 if size >= 500_000 else repeat
        timing = best_of(runs, functools.partial(_runner, scenario))
        micro = timing.cpu / size * 1e6
        per_event.append(micro)
        print(
            f"   {size:>10,} {timing.wall:>8.2f} {timing.cpu:>8.2f} {micro:>15.2f} "
            f"{size / timing.cpu:>15,.0f}"
        )
    spread = max(per_event) / min(per_event)
    verdict = "linear" if spread < 1.5 else "NOT linear"
    print(f"   cost per event varies by x{spread:.2f} across sizes: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="event counts for the scaling table, comma-separated",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (best kept)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{platform.processor() or platform.system()}"
    )
    bench_throughput(args.repeat)
    bench_dashboard(args.repeat)
    bench_scaling(sizes, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
