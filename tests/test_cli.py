"""``python -m cqrs_lab simulate``: the happy path writes its files; bad arguments exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cqrs_lab.sim.cli import build_parser, main, scenario_from_args
from cqrs_lab.sim.scenario import BurstArrivals, OutageKind, PoissonArrivals, TraceArrivals

SHORT = ["--duration", "5", "--arrive-for", "4", "--rate", "100"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cqrs_lab", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_simulate_writes_the_timeline_and_a_png_chart(tmp_path: Path) -> None:
    done = run_cli(
        "simulate",
        *SHORT,
        "--seed",
        "3",
        "--csv",
        "timeline.csv",
        "--out",
        "chart.png",
        "--reads-csv",
        "reads.csv",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "400 events in 5 virtual seconds (seed 3)" in done.stdout
    assert "max_lag_events" in done.stdout
    timeline = pd.read_csv(tmp_path / "timeline.csv")
    assert list(timeline.columns[:4]) == ["time", "projection", "head", "checkpoint"]
    assert timeline["head"].iloc[-1] == 400
    assert len(pd.read_csv(tmp_path / "reads.csv")) == 40
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert "simulating" not in done.stderr  # not a terminal: no progress bar


def test_simulate_writes_svg_and_a_progress_bar_when_asked(tmp_path: Path) -> None:
    done = run_cli("simulate", *SHORT, "--out", "chart.svg", "--progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert b"<svg" in (tmp_path / "chart.svg").read_bytes()[:500]
    assert "simulating [" in done.stderr and "100%" in done.stderr


def test_the_same_seed_writes_the_same_csv(tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv"):
        args = ("simulate", *SHORT, "--arrivals", "poisson", "--seed", "9", "--csv", name)
        assert run_cli(*args, cwd=tmp_path).returncode == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_help_lists_the_main_knobs(tmp_path: Path) -> None:
    done = run_cli("simulate", "--help", cwd=tmp_path)
    assert done.returncode == 0
    for option in (
        "--rate",
        "--batch-size",
        "--poll-interval",
        "--cost-per-event",
        "--crash",
        "--poison",
        "--rebuild-at",
        "--waiter-timeout",
        "--seed",
        "--out",
        "--csv",
    ):
        assert option in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "-5"], "ConstantArrivals.rate must be a number > 0"),
        (["--rate", "fast"], "argument --rate: invalid float value: 'fast'"),
        (["--batch-size", "0"], "ProjectorConfig.batch_size must be a whole number >= 1, found 0"),
        (["--pause", "10:5"], "Outage.end must be a number > start (10), found 5.0"),
        (["--crash", "soon"], "argument --crash: expected START:END in seconds"),
        (["--burst", "1:2"], "argument --burst: expected START:END:RATE"),
        (["--out", "chart.gif"], "--out must end in .png or .svg, found 'chart.gif'"),
        (["--csv", "no/such/dir/t.csv"], "--csv: directory 'no/such/dir' does not exist"),
        (["--policy", "ignore"], "argument --policy: invalid choice: 'ignore'"),
        (["--fix-at", "3"], "--poison-failures and --fix-at need --poison N"),
        (["--poison", "100000"], "Poison.at_event must be at most the number of arrivals"),
        (["--trace", "missing.csv"], "--trace: cannot read missing.csv"),
        (["--step", "10"], "Scenario.step must be <= duration (5 s)"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", *SHORT, *args])
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert message in stderr
    assert stderr.startswith("usage: python -m cqrs_lab simulate [options]")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--rate", "-5"], "ConstantArrivals.rate must be a number > 0"),
        (["simulate", "--out", "chart.gif"], "--out must end in .png or .svg"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_arguments_exit_2_from_the_command_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_options_become_a_scenario(tmp_path: Path) -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            "simulate",
            "--arrivals",
            "poisson",
            "--rate",
            "50",
            "--crash",
            "1:2",
            "--pause",
            "3:4",
            "--poison",
            "7",
            "--policy",
            "dead_letter",
            "--read-every",
            "0",
            "--checkpoint-every",
            "20",
            "--silent-skip-pitfall",
            "--rebuild-at",
            "5",
            "--rebuild-mode",
            "in_place",
        ]
    )
    scenario = scenario_from_args(args)
    assert isinstance(scenario.arrivals, PoissonArrivals) and scenario.arrivals.rate == 50
    assert [o.kind for o in scenario.outages] == [OutageKind.PAUSE, OutageKind.CRASH]
    assert scenario.poison is not None and scenario.poison.at_event == 7
    assert scenario.projector().checkpoint_every == 20
    assert scenario.projector().silent_skip_pitfall
    assert not scenario_from_args(parser.parse_args(["simulate"])).projector().silent_skip_pitfall
    assert scenario.readers is None
    assert scenario.rebuild is not None and scenario.rebuild.at == 5
    bursty = scenario_from_args(parser.parse_args(["simulate", "--burst", "1:2:300"]))
    assert isinstance(bursty.arrivals, BurstArrivals)
    trace = tmp_path / "t.csv"
    trace.write_text("when\n0.5\n1.5\n")
    traced = scenario_from_args(
        parser.parse_args(["simulate", "--trace", str(trace), "--trace-column", "when"])
    )
    assert isinstance(traced.arrivals, TraceArrivals) and traced.arrivals.times == (0.5, 1.5)
