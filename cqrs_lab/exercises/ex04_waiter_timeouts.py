"""Exercise 4 (medium): choose the consistency waiter's timeout from a simulation, to meet an SLA.

A reader that has just written waits on the :class:`~cqrs_lab.consistency.ConsistencyWaiter` for
the read model to catch up, at most ``timeout`` seconds. Too short, and too many readers miss
their own write (the SLA: at least ``target`` of them must see it); too long, and when the read
side is slow or down every request hangs for the whole timeout. The student writes
``choose_timeout(reads, target)``, which picks the timeout from the reads of a probe simulation
in which every reader waited as long as it took.

>>> [case.name for case in CASES]
['steady', 'notified', 'burst', 'pause']
>>> CASES[0].target
0.99
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from cqrs_lab.errors import InvalidArgumentError
from cqrs_lab.exercises.framework import Exercise, Mistake, expect

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes

    from cqrs_lab.sim import Scenario, SimulationResult

__all__ = [
    "CASES",
    "PROBE_TIMEOUT",
    "Case",
    "TimeoutChooser",
    "TimeoutVerdict",
    "case",
    "cases_frame",
    "check",
    "evaluate",
    "exercise",
    "hint",
    "plot_waits",
    "probe",
    "solution",
    "try_timeout",
    "verdicts_frame",
]

PROBE_TIMEOUT = 30.0
"""The probe's timeout: long enough that every reader waits as long as it takes."""

TimeoutChooser = Callable[["pd.DataFrame", float], float]
"""What the student writes: ``choose_timeout(reads, target) -> seconds``."""


@dataclass(frozen=True, slots=True)
class Case:
    """One system, one SLA: a scenario to simulate, the share of reads that must see their write."""

    name: str
    description: str
    target: float
    seed: int

    def scenario(self, timeout: float) -> Scenario:
        """The case's scenario, with readers (every 5th writer) waiting up to ``timeout``."""
        from cqrs_lab.sim import (
            Burst,
            BurstArrivals,
            Outage,
            PoissonArrivals,
            ProjectorConfig,
            Readers,
            Scenario,
            SleepMode,
        )

        arrivals: Any = PoissonArrivals(rate=200, end=30)
        projectors = (ProjectorConfig(),)
        outages: tuple[Outage, ...] = ()
        if self.name == "notified":
            projectors = (ProjectorConfig(sleep=SleepMode.NOTIFY),)
        elif self.name == "burst":
            burst = Burst(start=10, end=13, rate=1500)
            arrivals = BurstArrivals(rate=200, end=30, bursts=(burst,), poisson=True)
        elif self.name == "pause":
            outages = (Outage(start=15, end=16.5),)
        return Scenario(
            arrivals=arrivals,
            projectors=projectors,
            outages=outages,
            readers=Readers(every=5, timeout=timeout),
            duration=40,
            step=0.5,
        )


CASES: tuple[Case, ...] = (
    Case(
        "steady",
        "the playbook's projector (batches of 100, a 0.1 s sleep after each), 200 writes/s",
        0.99,
        11,
    ),
    Case("notified", "a projector woken by the store after each append, 200 writes/s", 0.99, 12),
    Case("burst", "200 writes/s, and a 3 s burst of 1,500/s: beyond what it can apply", 0.95, 13),
    Case("pause", "200 writes/s; the projector freezes for 1.5 s (a long GC pause)", 0.90, 14),
)
"""The cases the check runs, from the simplest."""


def case(name: str | Case) -> Case:
    """The case called ``name``."""
    if isinstance(name, Case):
        return name
    for candidate in CASES:
        if candidate.name == name:
            return candidate
    raise InvalidArgumentError(
        f"expected a case name, one of {[c.name for c in CASES]}, found {name!r}"
    )


def cases_frame() -> pd.DataFrame:
    """The cases as a table: what each system is, and its SLA."""
    import pandas as pd

    return pd.DataFrame(
        {
            "system": [c.description for c in CASES],
            "SLA: reads that must see their write": [f"{c.target:.0%}" for c in CASES],
        },
        index=pd.Index([c.name for c in CASES], name="case"),
    )


@cache
def _probe(name: str) -> SimulationResult:
    from cqrs_lab.sim import simulate

    chosen = case(name)
    return simulate(chosen.scenario(PROBE_TIMEOUT), seed=chosen.seed)


def probe(name: str | Case) -> SimulationResult:
    """The case simulated with a generous timeout: ``reads["waited"]`` is how long each needed."""
    return _probe(case(name).name)


def try_timeout(name: str | Case, timeout: float) -> SimulationResult:
    """The case simulated (same seed) with readers waiting at most ``timeout`` seconds."""
    from cqrs_lab.sim import simulate

    chosen = case(name)
    return simulate(chosen.scenario(timeout), seed=chosen.seed)


def _waits(name: str) -> np.ndarray:
    import numpy as np

    reads = probe(name).reads
    waits = reads["waited"].to_numpy(dtype=float)
    return np.where(reads["timed_out"].to_numpy(dtype=bool), np.inf, waits)


def _smallest(name: str) -> float:
    """The smallest timeout that lets ``target`` of the probe's reads see their write."""
    import numpy as np

    return float(np.quantile(_waits(name), case(name).target, method="inverted_cdf"))


def _waste_limit(smallest: float) -> float:
    return 2 * smallest + 0.05


@dataclass(frozen=True, slots=True)
class TimeoutVerdict:
    """What a timeout does in one case: the SLA met or missed, and whether it is wasteful."""

    case: str
    target: float
    timeout: float
    reads: int
    ryw_success: float
    smallest: float
    """The smallest timeout that meets the SLA in this case."""

    @property
    def meets_sla(self) -> bool:
        """Whether enough reads saw their write (within one read: quantiles round)."""
        return self.ryw_success >= self.target - 1 / self.reads - 1e-12

    @property
    def wasteful(self) -> bool:
        """Whether the timeout is more than twice (plus 50 ms) what the SLA needs."""
        return self.timeout > _waste_limit(self.smallest)

    @property
    def verdict(self) -> str:
        """One word: ok, missed or wasteful."""
        if not self.meets_sla:
            return "SLA missed"
        return "wasteful" if self.wasteful else "ok"


def evaluate(name: str | Case, timeout: float) -> TimeoutVerdict:
    """Simulate ``timeout`` in the case and judge it against the SLA."""
    return _evaluate(case(name).name, float(timeout))


@cache
def _evaluate(name: str, timeout: float) -> TimeoutVerdict:
    chosen = case(name)
    result = try_timeout(chosen, timeout)
    summary = result.summary.iloc[0]
    return TimeoutVerdict(
        chosen.name,
        chosen.target,
        float(timeout),
        int(summary["reads"]),
        float(summary["ryw_success"]),
        _smallest(chosen.name),
    )


def verdicts_frame(choose: TimeoutChooser) -> pd.DataFrame:
    """Each case's SLA, the timeout ``choose`` picks from the probe, and what it achieves."""
    import pandas as pd

    rows = []
    for chosen in CASES:
        timeout = float(choose(probe(chosen).reads.copy(), chosen.target))
        verdict = evaluate(chosen, timeout)
        rows.append(
            {
                "target": f"{chosen.target:.0%}",
                "timeout (s)": round(timeout, 4),
                "reads seeing their write": f"{verdict.ryw_success:.2%}",
                "smallest enough (s)": round(verdict.smallest, 4),
                "verdict": verdict.verdict,
            }
        )
    return pd.DataFrame(rows, index=pd.Index([c.name for c in CASES], name="case"))


def plot_waits(
    reads: pd.DataFrame,
    target: float,
    *,
    timeout: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The share of reads answered within each wait: the success a timeout would buy.

    A horizontal line marks the ``target``; a vertical one the ``timeout``, if given.
    """
    import numpy as np

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8.0, 4.0))
    waits = np.sort(reads["waited"].to_numpy(dtype=float))
    shares = 100 * np.arange(1, waits.size + 1) / max(waits.size, 1)
    ax.step(waits, shares, where="post", label="reads answered within this wait")
    ax.axhline(100 * target, color="tab:red", linestyle="--", label=f"SLA: {target:.0%}")
    if timeout is not None:
        ax.axvline(timeout, color="tab:green", linestyle=":", label=f"timeout {timeout:.3g} s")
    ax.set_xlabel("wait until the read model had the reader's write (s)")
    ax.set_ylabel("share of reads (%)")
    ax.set_xlim(left=0)
    ax.set_ylim(-2, 102)
    ax.set_title("Read-your-writes success as a function of the waiter's timeout")
    ax.legend(loc="lower right")
    return ax


# -- the check ---------------------------------------------------------------------------------


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


class WaiterTimeoutExercise(Exercise):
    """Exercise 4: a function that picks the waiter's timeout from a simulation's reads."""

    number = 4
    title = "Choosing the waiter's timeout from a simulation, to meet an SLA"
    difficulty = "medium"
    minutes = 25
    notebook = "ex04_waiter_timeouts"
    answer_names = ("choose_timeout",)
    solution_module = "ex04_waiter_timeouts"
    hints = (
        "With a timeout T, a read sees its write when the read model gets there within T. The "
        "probe's reads['waited'] says how long each read needed. Which T lets `target` of them "
        "through?",
        "That T is a quantile of the waits -- the target one, not the middle (mean, median) and "
        "not the very end (max). Quantiles take a share from 0 to 1 in pandas "
        "(Series.quantile) and np.quantile, but a percentage from 0 to 100 in np.percentile.",
        "return float(reads['waited'].quantile(target)). The waits are in seconds, and so is "
        "the waiter's timeout.",
    )

    def grade(self, *answers: Any) -> str:
        """Run the chooser on every case's probe, then simulate the timeout it picks."""
        (choose,) = answers
        expect(
            callable(choose),
            f"choose_timeout must be a function (reads, target) -> seconds, "
            f"found {type(choose).__name__}",
        )
        picked = []
        for chosen in CASES:
            reads = probe(chosen).reads
            with self.case(f"choosing a timeout for case {chosen.name!r}"):
                timeout = choose(reads.copy(), chosen.target)
            self._judge(chosen, timeout)
            picked.append(f"{chosen.name} {float(timeout):.3g} s")
        return (
            "choose_timeout meets every SLA without waste: " + ", ".join(picked) + " -- each "
            "checked by simulating it with the real waiter."
        )

    def _judge(self, chosen: Case, timeout: Any) -> None:
        where = f"case {chosen.name!r} (SLA {chosen.target:.0%})"
        try:
            number = math.nan if isinstance(timeout, str | bool) else float(timeout)
        except (TypeError, ValueError):
            number = math.nan
        expect(
            math.isfinite(number) and number >= 0,
            f"{where}: choose_timeout returned {timeout!r}; expected a number of seconds >= 0",
        )
        timeout = number
        smallest = _smallest(chosen.name)
        limit = _waste_limit(smallest)
        expect(
            not (timeout > limit and smallest / 2 <= timeout / 1000 <= limit),
            f"{where}: a timeout of {timeout:g} s looks like milliseconds; the waits and the "
            "waiter's timeout are in seconds",
        )
        verdict = evaluate(chosen, timeout)
        if not verdict.meets_sla:
            raise Mistake(
                f"{where}: with a timeout of {timeout:.4g} s only {verdict.ryw_success:.2%} of "
                f"reads saw their own write; the SLA asks for {chosen.target:.0%}. "
                + self._why_too_small(chosen, timeout)
            )
        if verdict.wasteful:
            raise Mistake(
                f"{where}: a timeout of {timeout:.4g} s meets the SLA, but about "
                f"{smallest:.3g} s would too; when the read model is slow or down, every "
                f"request hangs for the whole timeout. " + self._why_too_large(chosen, timeout)
            )

    @staticmethod
    def _why_too_small(chosen: Case, timeout: float) -> str:
        import numpy as np

        waits = _waits(chosen.name)
        finite = waits[np.isfinite(waits)]
        target = chosen.target
        if _close(timeout, float(finite.mean())):
            return (
                "That is the mean wait: half the reads or more wait longer than the mean. Take "
                "the quantile at the target instead"
            )
        if _close(timeout, float(np.median(finite))):
            return "That is the median wait (half the reads); take the quantile at the target"
        if _close(timeout, float(np.percentile(finite, target))):
            return (
                f"That is np.percentile(waits, {target}), the {target}th *percentile* -- nearly "
                f"the shortest wait. np.percentile takes 0-100: ask for {100 * target:g}, or use "
                "Series.quantile / np.quantile, which take 0-1"
            )
        if _close(timeout, float(np.quantile(finite, target, method="lower"))):
            return (
                "That is the quantile rounded down to the wait just below it (interpolation="
                "'lower'), which leaves a read or two too many out; take the default (linear) "
                "interpolation, or 'higher'"
            )
        if _close(timeout, float(np.quantile(finite, 1 - target))):
            return (
                f"That is the {1 - target:.0%} quantile: the wait that only {1 - target:.0%} of "
                f"reads are under. You need the one {target:.0%} of reads are under"
            )
        return (
            "The timeout must cover the slow reads too: look at the tail of reads['waited'], "
            "not its middle"
        )

    @staticmethod
    def _why_too_large(chosen: Case, timeout: float) -> str:
        import numpy as np

        waits = _waits(chosen.name)
        finite = waits[np.isfinite(waits)]
        if timeout >= PROBE_TIMEOUT:
            return f"{PROBE_TIMEOUT:g} s is the probe's timeout, chosen only to be generous"
        if _close(timeout, float(finite.max())):
            return (
                "That is the longest wait of all: the SLA lets the slowest "
                f"{1 - chosen.target:.0%} of reads go stale, so take the quantile at the target"
            )
        return "Take the quantile of the waits at the target, without a large safety margin"


exercise = WaiterTimeoutExercise()
check = exercise.check
hint = exercise.hint
solution = exercise.solution
