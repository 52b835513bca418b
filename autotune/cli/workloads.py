"""``autotune workloads``: every workload with its metric, target and budget."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from autotune.cli import app
from autotune.cli._output import console, print_json


@app.command()
def workloads(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List the workloads autotune can run, with metric, target and budget."""
    from autotune.registry import FAMILIES, list_workloads

    rows: list[dict[str, Any]] = [
        {
            "name": f.name, "family": f.family, "metric": f.validation_metric,
            "direction": "min" if f.minimize else "max", "validation_target": f.validation_target,
            "test_target": f.test_target, "budget_sec": f.max_allowed_runtime_sec,
            "eval_period_sec": f.eval_period_time_sec, "step_hint": f.step_hint,
            "frameworks": [fw for fw in ("pytorch", "jax") if FAMILIES[f.family].implementation(fw)],
            "target_source": _source(f.extra.get("calibration")),
        }
        for f in list_workloads()
    ]  # fmt: skip
    if json_out:
        print_json(rows)
        return
    table = Table(title="autotune workloads (CPU proxies)")
    for col in (
        "name",
        "metric",
        "dir",
        "target",
        "budget s",
        "eval every s",
        "step hint",
        "frameworks",
        "target set by",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["metric"], r["direction"], f"{r['validation_target']:g}",
                      f"{r['budget_sec']:g}", f"{r['eval_period_sec']:g}", str(r["step_hint"]),
                      ",".join(r["frameworks"]), r["target_source"])  # fmt: skip
    console.print(table)


def _source(calibration: Any) -> str:
    """How a proxy's target was set: ``autotune calibrate`` (with its date) or by hand."""
    if isinstance(calibration, dict) and calibration.get("date"):
        return f"calibrate {calibration['date']}"
    return "provisional"
