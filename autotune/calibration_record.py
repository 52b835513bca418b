"""The record of a calibration: its provenance, and where it is stored.

A proxy's targets, budget and step hint live once, in its table of
``workloads/<family>/workload.toml``; :func:`write_calibration` puts them there with a
``calibration`` sub-table saying how they were made (date, machine, torch version and
threads, the hyperparameters held fixed, the seeds, the learning rates tried, and the
``autotune calibrate`` command that reproduces them). ``autotune workloads`` reads that
sub-table to tell a calibrated target from a provisional one.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune import facts as facts_mod

if TYPE_CHECKING:
    from autotune.calibrate import Calibration, CalibrationPlan, RunSummary

__all__ = ["provenance", "tried_learning_rates", "write_calibration"]


def provenance(plan: CalibrationPlan, fixed: dict[str, Any]) -> dict[str, Any]:
    """Where and how ``plan`` ran, with ``fixed`` (the hyperparameters it did not tune)
    and the command that runs it again."""
    import torch

    batch = plan.batch_for(facts_mod.proxy(plan.workload))
    command = f"autotune calibrate {plan.workload} --steps {plan.step_budget} "
    if plan.reference == "baseline":
        seeds = list(range(plan.seed, plan.seed + plan.reruns))
        command += f"--reference baseline --reruns {plan.reruns} --seed {plan.seed} "
    else:
        seeds = [plan.seed, *range(plan.seed + 1, plan.seed + 1 + plan.reruns)]
        command += (f"--points {plan.points} --extend {plan.extend} --reruns {plan.reruns} "
                    f"--seed {plan.seed} --optimizers {','.join(plan.optimizers)} ")  # fmt: skip
    return {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_count": os.cpu_count() or 0,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "fixed_hyperparameters": fixed,
        "seeds": seeds,
        "command": command + f"--batch-size {batch}",
    }


def tried_learning_rates(sweep: list[RunSummary]) -> dict[str, Any]:
    """The learning rates each optimizer's sweep tried (grid and extensions), if any."""
    tried: dict[str, list[float]] = {}
    for r in sweep:
        tried.setdefault(r.optimizer, []).append(float(f"{r.learning_rate:.4g}"))
    return {"learning_rates": tried} if tried else {}


def write_calibration(result: Calibration) -> Path:
    """Store targets, budget and step hint (with provenance) in the proxy's TOML table."""
    import tomlkit

    wf = facts_mod.proxy(result.workload)
    path = facts_mod.facts_file(wf.family)
    doc = tomlkit.parse(path.read_text())
    table: Any = doc["proxy"][result.workload]
    table["validation_target"] = round(result.validation_target, 6)
    table["test_target"] = round(result.test_target, 6)
    table["max_allowed_runtime_sec"] = result.max_allowed_runtime_sec
    table["step_hint"] = result.step_hint
    prov = tomlkit.table()
    for k, v in {**result.provenance, "best_optimizer": result.best_optimizer,
                 "best_learning_rate": result.best_learning_rate,
                 "rerun_best_validation": [r.best_validation for r in result.reruns]}.items():  # fmt: skip
        prov[k] = _inline(v) if isinstance(v, dict) else v
    table["calibration"] = prov
    path.write_text(tomlkit.dumps(doc))
    facts_mod._family_file.cache_clear()
    return path


def _inline(value: dict[str, Any]) -> Any:
    """A nested dict as TOML inline tables (one line per entry, not a table each)."""
    import tomlkit

    table = tomlkit.inline_table()
    for k, v in value.items():
        table[k] = _inline(v) if isinstance(v, dict) else v
    return table
