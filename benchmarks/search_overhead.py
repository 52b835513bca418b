"""Search overhead: bookkeeping per trial, and trials/hour with --jobs 2 over --jobs 1.

Everything is real: the built-in baseline on the mnist proxy, ``search_spaces/nadamw.json``,
trial subprocesses, Optuna SQLite and MLflow SQLite stores in a temporary folder.

1. **Bookkeeping fraction.** Two parts, both per trial, over the trial's wall time:
   * the coordinator's Optuna + MLflow work (ask, enqueue/attrs, tell, and mirroring the
     trial's log folder into its MLflow run: :mod:`autotune.search.mirror`), timed inside
     the coordinator (``bookkeeping_sec`` of the search summary). Trial processes of a
     search do no MLflow work at all;
   * for reference, what in-process tracking (``autotune run``'s way: import, run
     creation, per-eval batches, artifacts, close) would add to a trial process: the
     wall-time difference between the same trial process run with tracking on and off,
     pairs alternated so that machine load hits both alike.
2. **Parallel throughput.** The same search (N trials, one study) with ``--jobs 1`` and
   ``--jobs 2``; trials/hour from the coordinator's loop time (set-up excluded: it is paid
   once per search). Trials are budget-timed, so the steps each trial fits into its budget
   are reported too: that is what splitting the cores costs.

    .venv/bin/python -m benchmarks.search_overhead [--trials 4] [--budget 10] [--pairs 3]

Goals (issue 3): bookkeeping <= 1% of trial wall time; ratio >= 1.8.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from autotune import paths
from autotune.search import build_config, plan_trials, resolve
from autotune.search.coordinator import run_search
from autotune.search.display import Display
from autotune.search.process import Slot, run_planned_trial


def _search(out: Path, trials: int, budget: float, jobs: int) -> dict[str, Any]:
    config = build_config({
        "submission": "baseline", "workloads": ["mnist"], "rules": "dev",
        "search_space": str(paths.search_spaces_dir() / "nadamw.json"), "studies": 1,
        "trials": trials, "jobs": jobs, "budget_sec": budget, "out": str(out), "name": "bench",
    })  # fmt: skip
    t0 = time.perf_counter()
    summary = run_search(resolve(config), Display())
    summary["total_sec"] = time.perf_counter() - t0
    steps = []
    for trial_dir in (out / "logs").rglob("trial_result.json"):
        steps.append(json.loads(trial_dir.read_text())["global_step"])
    summary["steps"] = steps
    return summary


def _child_pair(root: Path, budget: float, k: int) -> tuple[float, float]:
    """Wall seconds of one trial process with MLflow tracking on, then off."""
    config = build_config({
        "submission": "baseline", "workloads": ["mnist"], "rules": "dev",
        "search_space": str(paths.search_spaces_dir() / "nadamw.json"), "studies": 1,
        "trials": 1, "budget_sec": budget, "out": str(root / f"pair{k}"), "name": "pair",
    })  # fmt: skip
    planned = plan_trials(resolve(config))[0]
    walls = []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2
    for track in (True, False):
        out = root / f"pair{k}" / ("on" if track else "off")
        spec = {"workload": "mnist", "submission": "baseline", "hparams": planned.point,
                "rules": "dev", "seed": planned.seed, "out_dir": str(out), "experiment": "pair",
                "tracking_uri": f"sqlite:///{root / 'pair_mlflow.db'}", "track": track,
                "budget_sec_override": budget}  # fmt: skip
        rec = run_planned_trial(planned, 0, spec, Slot(0, cores), out / "proc", out / "logs")
        assert not rec.crashed, rec.error
        walls.append(rec.wall_sec)
    return walls[0], walls[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # the MLflow store of the pairs exists before the first pair (as in a search)
        from autotune.search.records import prepare_experiment

        prepare_experiment(f"sqlite:///{root / 'pair_mlflow.db'}", "pair")
        pairs = [_child_pair(root, args.budget, k) for k in range(args.pairs)]
        one = _search(root / "jobs1", args.trials, args.budget, 1)
        two = _search(root / "jobs2", args.trials, args.budget, 2)
    report(args, pairs, one, two)


def report(args: Any, pairs: list[tuple[float, float]], one: dict[str, Any],
           two: dict[str, Any]) -> None:  # fmt: skip
    walls = one["trial_wall_sec"] + two["trial_wall_sec"]
    coord = one["bookkeeping_sec"] + two["bookkeeping_sec"]
    child = statistics.median(on - off for on, off in pairs)
    wall = statistics.median(walls)
    rate1 = args.trials / one["loop_sec"] * 3600
    rate2 = args.trials / two["loop_sec"] * 3600
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} (shared with other jobs)")  # fmt: skip
    print(f"trial budget {args.budget}s, {args.trials} trials per search, {args.pairs} pairs")
    print("| quantity | value |\n|---|---|")
    print(f"| median trial wall time | {wall:.2f} s |")
    print(f"| coordinator Optuna+MLflow per trial (median) | {statistics.median(coord) * 1000:.0f} ms "
          f"({statistics.median(coord) / wall:.2%}) |")  # fmt: skip
    print(f"| (reference) in-process MLflow per trial, median on-off of {args.pairs} pairs | {child:.2f} s "
          f"({child / wall:.2%}) |")  # fmt: skip
    print(f"| pairs on/off wall (s) | {', '.join(f'{a:.1f}/{b:.1f}' for a, b in pairs)} |")
    print(f"| --jobs 1: loop / total wall | {one['loop_sec']:.1f} s / {one['total_sec']:.1f} s |")
    print(f"| --jobs 2: loop / total wall | {two['loop_sec']:.1f} s / {two['total_sec']:.1f} s |")
    print(f"| trials/hour --jobs 1, --jobs 2 | {rate1:.0f}, {rate2:.0f} |")
    print(f"| ratio --jobs 2 / --jobs 1 | {rate2 / rate1:.2f} |")
    print(f"| median steps per trial --jobs 1, --jobs 2 | {statistics.median(one['steps']):.0f}, "
          f"{statistics.median(two['steps']):.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
