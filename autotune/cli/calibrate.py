"""``autotune calibrate``: set a proxy's target and budget by AlgoPerf's protocol."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from autotune.cli import app
from autotune.cli._output import console, print_json


@app.command()
def calibrate(
    workload: Annotated[str, typer.Argument(help="Proxy workload to calibrate.")],
    steps: Annotated[int, typer.Option(help="Step budget of the target-setting runs.")],
    points: Annotated[int, typer.Option(help="Learning rates per optimizer (log grid).")] = 3,
    extend: Annotated[
        int, typer.Option(help="Grid steps to try beyond an end of the grid that was best.")
    ] = 2,
    reference: Annotated[
        str | None,
        typer.Option(
            help="'baseline': no sweep; the built-in baseline's default point sets "
            "the target (its worst seed), for a smoke-test workload like mnist."
        ),
    ] = None,
    reruns: Annotated[int, typer.Option(help="Re-runs of the best configuration.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the sweep (re-runs use seed+1...).")] = 0,
    batch_size: Annotated[
        int | None, typer.Option(help="Global batch size (default: the proxy's max_batch_size).")
    ] = None,
    optimizers: Annotated[
        str, typer.Option(help="Comma-separated: adamw,nadamw,nesterov,heavy_ball.")
    ] = "adamw,nadamw,nesterov,heavy_ball",
    write: Annotated[
        bool, typer.Option("--write/--dry-run", help="Store the result in the workload's TOML.")
    ] = True,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON on stdout.")
    ] = False,
) -> None:
    """Tune standard optimizers within a step budget; the best result is the target."""
    from autotune.calibrate import CalibrationPlan, RunSummary
    from autotune.calibrate import calibrate as run_calibration
    from autotune.calibration_record import write_calibration

    plan = CalibrationPlan(workload=workload, step_budget=steps, points=points, reruns=reruns, seed=seed, extend=extend, reference=reference,
                           batch_size=batch_size, optimizers=tuple(o.strip() for o in optimizers.split(",") if o.strip()))  # fmt: skip

    def show(run: RunSummary) -> None:
        console.print(f"{run.optimizer:>10}  lr {run.learning_rate:.2e}  seed {run.seed}  "
                      f"best validation {run.best_validation:.4f}  {run.submission_time:.1f}s")  # fmt: skip

    result = run_calibration(plan, progress=None if json_out else show)
    where = write_calibration(result) if write else None
    if json_out:
        print_json({**asdict(result), "written_to": str(where) if where else None})
        return
    console.print(f"[bold]{workload}[/bold]: validation target {result.validation_target:.4f}, "
                  f"test target {result.test_target:.4f}, budget {result.max_allowed_runtime_sec}s, "
                  f"step_hint {result.step_hint} (best: {result.best_optimizer}, "
                  f"lr {result.best_learning_rate:.2e})")  # fmt: skip
    console.print(f"written to {where}" if where else "dry run: nothing written")
