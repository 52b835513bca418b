"""``autotune publish`` and ``autotune worker``: one search, many machines.

``publish`` puts a search (same flags and experiment files as ``autotune search``) into
a shared PostgreSQL database; each ``worker`` then claims its trials until none is left.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autotune.cli import app
from autotune.cli._output import console, print_json


@app.command()
def publish(
    storage: Annotated[str, typer.Option(help="Shared Optuna storage: postgresql://...")],
    config: Annotated[
        Path | None, typer.Option(help="Experiment TOML file (experiments/*.toml).")
    ] = None,
    submission: Annotated[str | None, typer.Option(help="submission.py or a built-in.")] = None,
    workload: Annotated[list[str] | None, typer.Option(help="Workload(s) to tune on.")] = None,
    search_space: Annotated[Path | None, typer.Option(help="AlgoPerf search space JSON.")] = None,
    ruleset: Annotated[str | None, typer.Option(help="external or self.")] = None,
    rules: Annotated[str | None, typer.Option(help="Rules: v0.5, v0.6 or dev.")] = None,
    framework: Annotated[str | None, typer.Option(help="pytorch or jax.")] = None,
    sampler: Annotated[str | None, typer.Option(help="halton (default) or tpe|gp|...")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the points and trials.")] = None,
    devices: Annotated[
        int | None, typer.Option(help="Devices per trial (DDP under torchrun) on every worker.")
    ] = None,
    studies: Annotated[int | None, typer.Option(help="Override the studies.")] = None,
    trials: Annotated[int | None, typer.Option(help="Override trials per study.")] = None,
    budget_sec: Annotated[
        float | None, typer.Option(help="Development only: per-trial budget.")
    ] = None,
    budget_scale: Annotated[
        str | None,
        typer.Option(help="Proxies: budgets x this, or 'auto' (each worker times its machine)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Experiment name (workers use it).")] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking server URL (http://host:5000).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Publish a search into a shared database for `autotune worker`s to run."""
    from autotune.search import build_config
    from autotune.worker import shared

    workloads = [w for item in workload or [] for w in item.split(",") if w]
    overrides = {
        "submission": submission, "workloads": workloads or None,
        "search_space": str(search_space) if search_space else None, "ruleset": ruleset,
        "rules": rules, "framework": framework, "sampler": sampler, "seed": seed,
        "devices": devices, "studies": studies, "trials": trials, "budget_sec": budget_sec,
        "budget_scale": budget_scale, "name": name, "storage": storage, "tracking_uri": tracking_uri,
    }  # fmt: skip
    result = shared.publish(build_config(overrides, config))
    if json_out:
        print_json(result)
        return
    console.print(f"published '{result['name']}': {result['planned']} planned trials, "
                  f"{result['enqueued']} newly enqueued; run `autotune worker --storage "
                  f"{storage} --experiment {result['name']}` on each machine")  # fmt: skip


@app.command()
def worker(
    storage: Annotated[str, typer.Option(help="Shared Optuna storage: postgresql://...")],
    experiment: Annotated[str, typer.Option(help="Name of the published search.")],
    tracking_uri: Annotated[
        str | None,
        typer.Option(help="MLflow tracking server URL (default: the one it was published with)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Local folder for logs (default: runs/<experiment>).")
    ] = None,
    heartbeat_sec: Annotated[int, typer.Option(help="Seconds between heartbeats.")] = 5,
    grace_sec: Annotated[
        int, typer.Option(help="A trial without a heartbeat for this long is re-run.")
    ] = 30,
    max_trials: Annotated[
        int | None, typer.Option(help="Stop after this many trials (default: until done).")
    ] = None,
    devices: Annotated[
        int | None,
        typer.Option(help="Devices per trial; must match the published search (default: it)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Claim and run trials of a published search until every one is done."""
    from autotune.errors import UserError
    from autotune.worker import WorkerOptions, run_worker

    if heartbeat_sec < 1 or grace_sec <= heartbeat_sec:
        raise UserError("--heartbeat-sec must be >= 1 and --grace-sec larger than it")
    opts = WorkerOptions(storage=storage, experiment=experiment,
                         out=out or Path("runs") / experiment, tracking_uri=tracking_uri,
                         heartbeat_sec=heartbeat_sec, grace_sec=grace_sec, max_trials=max_trials,
                         devices=devices)  # fmt: skip
    summary = run_worker(opts)
    if json_out:
        print_json(summary)
        return
    console.print(f"worker {summary['worker']}: ran {len(summary['trials'])} trial(s) of "
                  f"'{experiment}'; results in {summary['tracking_uri']}")  # fmt: skip
