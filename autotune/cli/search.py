"""``autotune search``: the AlgoPerf tuning protocol for a submission, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autotune.cli import app
from autotune.cli._output import console, print_json


@app.command()
def search(
    config: Annotated[
        Path | None,
        typer.Option(help="Experiment TOML file (experiments/*.toml); flags override it."),
    ] = None,
    submission: Annotated[
        str | None, typer.Option(help="submission.py, its folder, or a built-in (baseline).")
    ] = None,
    workload: Annotated[
        list[str] | None, typer.Option(help="Workload(s) to tune on; repeat or comma-separate.")
    ] = None,
    search_space: Annotated[
        Path | None, typer.Option(help="AlgoPerf search space JSON (dict or list format).")
    ] = None,
    ruleset: Annotated[str | None, typer.Option(help="external or self.")] = None,
    rules: Annotated[str | None, typer.Option(help="Rules: v0.5, v0.6 or dev.")] = None,
    framework: Annotated[str | None, typer.Option(help="pytorch or jax.")] = None,
    sampler: Annotated[
        str | None,
        typer.Option(help="halton (AlgoPerf, default), or tpe|gp|cmaes|random (not official)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the points and trials.")] = None,
    jobs: Annotated[int | None, typer.Option(help="Trials run at once on this machine.")] = None,
    devices: Annotated[
        int | None,
        typer.Option(help="Devices per trial: N DDP processes under torchrun (gloo on CPU)."),
    ] = None,
    studies: Annotated[
        int | None, typer.Option(help="Override the studies (not official).")
    ] = None,
    trials: Annotated[
        int | None, typer.Option(help="Override trials per study (not official).")
    ] = None,
    study_points: Annotated[
        str | None, typer.Option(help="halton: 'same' points in every study, or 'split'.")
    ] = None,
    budget_sec: Annotated[
        float | None, typer.Option(help="Development only: per-trial budget (not official).")
    ] = None,
    budget_scale: Annotated[
        str | None,
        typer.Option(
            help="Proxies: scale budgets by this number, or 'auto' to time this machine "
            "against the one that calibrated each proxy (default 1: the stored budgets)."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Experiment name (MLflow, studies).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Experiment folder (default: runs/<name>).")
    ] = None,
    storage: Annotated[
        str | None, typer.Option(help="Optuna storage URL (default: SQLite in the folder).")
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default: SQLite in the folder).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Tune a submission under the AlgoPerf rules; run it again to resume."""
    from autotune.search import build_config, resolve
    from autotune.search.coordinator import run_search
    from autotune.search.display import LineDisplay, LiveDisplay, summary_table

    workloads = [w for item in workload or [] for w in item.split(",") if w]
    overrides = {
        "submission": submission, "workloads": workloads or None,
        "search_space": str(search_space) if search_space else None, "ruleset": ruleset,
        "rules": rules, "framework": framework, "sampler": sampler, "seed": seed, "jobs": jobs,
        "devices": devices, "studies": studies, "trials": trials, "study_points": study_points,
        "budget_sec": budget_sec, "budget_scale": budget_scale, "name": name,
        "out": str(out) if out else None, "storage": storage, "tracking_uri": tracking_uri,
    }  # fmt: skip
    plan = resolve(build_config(overrides, config))
    live = console.is_terminal and not json_out
    display = LiveDisplay(console) if live else LineDisplay(console)
    summary = run_search(plan, display)
    if json_out:
        print_json(summary)
        return
    console.print(summary_table(summary))
    console.print(f"MLflow: mlflow ui --backend-store-uri {summary['tracking_uri']}")
