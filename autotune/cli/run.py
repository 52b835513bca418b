"""``autotune run``: one timed trial of a submission on a workload."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from autotune.cli import app
from autotune.cli._output import console, print_json
from autotune.runner import EvalRecord, TrialResult


class ConsoleObserver:
    """A line per eval on stderr (inside the untimed logging window)."""

    def __init__(self, metric: str) -> None:
        self.metric = metric

    def on_eval(self, record: EvalRecord) -> None:
        val = record.metrics.get(f"validation/{self.metric}", math.nan)
        train = record.metrics.get("train/loss", math.nan)
        console.print(
            f"step {record.global_step:>7}  time {record.submission_time:8.2f}s  "
            f"train/loss {train:.4f}  validation/{self.metric} {val:.4f}"
        )

    def on_end(self, result: TrialResult) -> None:
        return None


@app.command()
def run(
    workload: Annotated[str, typer.Option(help="Workload name (see `autotune workloads`).")],
    submission: Annotated[
        str, typer.Option(help="submission.py, its folder, or a built-in name (baseline).")
    ],
    hparams: Annotated[
        str | None, typer.Option(help="Hyperparameters: a JSON object or file.")
    ] = None,
    rules: Annotated[
        str, typer.Option(help="Rules version: v0.5, v0.6, or a rules file.")
    ] = "v0.6",
    ruleset: Annotated[str, typer.Option(help="external or self.")] = "external",
    framework: Annotated[str, typer.Option(help="pytorch or jax.")] = "pytorch",
    jax_batch_layout: Annotated[
        str,
        typer.Option(
            help="JAX batches: pmap (leading device axis, leaderboard era), sharded "
            "(global batch sharded on dim 0, jit era), or auto (pmap if the submission uses it)."
        ),
    ] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the trial.")] = 0,
    out: Annotated[
        Path, typer.Option(help="Output folder (logs and the default MLflow store).")
    ] = Path("runs"),
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "autotune-run",
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            help="MLflow tracking URI (default: SQLite in --out, or $MLFLOW_TRACKING_URI)."
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary on stdout.")
    ] = False,
    devices: Annotated[
        int,
        typer.Option(
            help="Run the trial as N DDP processes under torchrun (NCCL on GPUs, gloo on CPU)."
        ),
    ] = 1,
    data_dir: Annotated[
        str | None,
        typer.Option(
            help="The AlgoPerf dataset folder: run the full-size workload (AlgoPerf's model, "
            "targets and budget of --rules) on it (see `autotune data check`)."
        ),
    ] = None,
    budget_scale: Annotated[
        str,
        typer.Option(
            help="Proxies: scale the budget (and eval period) by this number, or 'auto' to "
            "time this machine against the one that calibrated the proxy (autotune.speed)."
        ),
    ] = "1",
) -> None:
    """Run one timed trial, AlgoPerf-style, and record it in MLflow."""
    from autotune import trial
    from autotune.hparams import default_point, parse_hparams
    from autotune.registry import workload_facts
    from autotune.rules import load_rules

    scale = _budget_scale(budget_scale, workload, data_dir)
    values = parse_hparams(hparams)
    if values is None and ruleset == "external":
        values = default_point(submission)
    spec = trial.TrialSpec(
        workload=workload, submission=submission, hparams=values, rules=rules, ruleset=ruleset,
        framework=framework, jax_batch_layout=jax_batch_layout, seed=seed, data_dir=data_dir,
        out_dir=out, experiment=experiment, tracking_uri=tracking_uri, budget_scale=scale,
    )  # fmt: skip
    metric = workload_facts(workload, load_rules(rules).version, data_dir).target_metric_name
    if devices != 1:
        from autotune import multidevice

        outcome = multidevice.launch(spec, devices, console_metric=None if json_out else metric)
    else:
        outcome = trial.run(spec, observers=[] if json_out else [ConsoleObserver(metric)])
    r = outcome.result
    summary = {
        "workload": workload, "submission": submission, "reached_target": r.reached_target,
        "time_to_target": r.time_to_target, "global_step": r.global_step,
        "submission_time": r.submission_time, "stop_reason": r.stop_reason, "error": r.error,
        "run_id": outcome.run_id, "tracking_uri": outcome.tracking_uri,
        "log_dir": str(outcome.log_dir), "batch_size": outcome.batch.used,
        "batch_policy": outcome.batch.policy, "devices": devices,
    }  # fmt: skip
    if json_out:
        print_json(summary)
        return
    reached = f"reached in {r.time_to_target:.2f}s" if r.reached_target else "NOT reached"
    console.print(f"[bold]target {reached}[/bold]; stopped: {r.stop_reason} after {r.global_step} steps, "
                  f"{r.submission_time:.2f}s of submission time")  # fmt: skip
    if r.error:
        console.print(f"[red]trial error:[/red] {r.error}")
    console.print(f"logs: {outcome.log_dir}")
    if outcome.run_id:
        console.print(
            f"MLflow run {outcome.run_id}: mlflow ui --backend-store-uri {outcome.tracking_uri}"
        )


def _budget_scale(value: str, workload: str, data_dir: str | None) -> float:
    """The trial's budget scale; ``auto`` probes this machine first (a line on stderr)."""
    from autotune import speed

    wanted = speed.parse_budget_scale(value)
    scale = speed.resolve_budget_scale(wanted, workload, full_size=data_dir is not None)
    if wanted == "auto":
        console.print(f"budget scale {scale:.3f} (this machine's step time on {workload} "
                      "against the calibration machine's)")  # fmt: skip
    return scale
