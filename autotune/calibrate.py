"""Target setting for proxy workloads: AlgoPerf's protocol, in small.

AlgoPerf set each workload's target by tuning standard optimizers within a fixed step
budget and taking the best validation result; the time budget and the step hint are
4/3 of what the target-setting run needed. :func:`calibrate` does the same on the
proxy, on this machine:

1. for each optimizer (AdamW, NAdamW, Nesterov, heavy-ball momentum) and each
   learning rate of a log-spaced grid, train ``step_budget`` steps (warm-up + cosine
   over the step budget) through the timed runner, the other hyperparameters fixed
   (:data:`FIXED`); keep each run's best validation value; while an optimizer's best
   learning rate is an end of what it tried, try one grid step beyond it (at most
   ``extend`` times), so a grid that was set too narrow cannot cap the target;
2. re-run the best (optimizer, learning rate) with ``reruns`` fresh seeds;
3. validation target = median over the reruns of their best validation value; test
   target = median of the test metric at those evals;
4. ``max_allowed_runtime_sec`` = 4/3 x the median submission time of the reruns' full
   step budget; ``step_hint`` = 4/3 x the step budget. A held-out variant's budget is
   then put on its base's clock (:func:`in_reference_seconds`): divided by this
   machine's speed against the machine that calibrated the base.

``reference="baseline"`` replaces steps 1-3 for a smoke-test workload (mnist, whose
AlgoPerf target is a hand-set development value): no sweep; the built-in baseline at its
default point (``search_spaces/nadamw_default.json``) runs ``reruns`` seeds exactly as
``autotune run`` runs it, its schedule over the resulting step_hint (4/3 x the step
budget), stopped after the step budget; the target is the *worst* seed's best value, so
the baseline reaches it within 3/4 of its budget in every calibration seed.

:func:`autotune.calibration_record.write_calibration` stores the result, with its
provenance (date, machine, torch threads, seeds, command), in the proxy's table of
``workloads/<family>/workload.toml``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from autotune import calibration_record as record
from autotune import facts as facts_mod
from autotune.errors import UserError
from autotune.hparams import default_point, make_hyperparameters
from autotune.registry import get_workload
from autotune.rules import load_rules
from autotune.runner import TrialConfig, TrialResult, run_trial
from autotune.submission import from_module
from autotune.timing import DeviceClock

__all__ = [
    "Calibration",
    "CalibrationPlan",
    "calibrate",
    "train_configuration",
]

LR_RANGES = {"adamw": (3e-4, 1e-2), "nadamw": (3e-4, 1e-2), "nesterov": (1e-2, 0.5),
             "heavy_ball": (1e-2, 0.5)}  # fmt: skip
# Everything but the learning rate, per optimizer kind: the adaptive ones at the NAdamW
# baseline's default point (search_spaces/nadamw_default.json), so the sweep is never
# weaker than the baseline it sets targets for; the momentum ones at the usual
# momentum 0.9 with L2 5e-4. Both with the baseline's label smoothing and dropout.
_REGULARISATION = {"label_smoothing": 0.1, "dropout_rate": 0.1}
FIXED = {
    "adamw": {"one_minus_beta1": 0.06733926164, "beta2": 0.9955159689799007,
              "weight_decay": 0.08121616522670176, "warmup_factor": 0.02, **_REGULARISATION},
    "nesterov": {"one_minus_beta1": 0.1, "weight_decay": 5e-4, "warmup_factor": 0.05,
                 **_REGULARISATION},
}  # fmt: skip
FIXED["nadamw"], FIXED["heavy_ball"] = FIXED["adamw"], FIXED["nesterov"]
REFERENCE_PROBE_SEC = 24.0  # reference seconds a variant's calibration times its base for


@dataclass(frozen=True)
class CalibrationPlan:
    workload: str
    step_budget: int
    optimizers: tuple[str, ...] = ("adamw", "nadamw", "nesterov", "heavy_ball")
    points: int = 3
    reruns: int = 3
    seed: int = 0
    batch_size: int | None = None  # None: the proxy's max_batch_size
    extend: int = 2  # grid steps beyond an edge that was best
    reference: str | None = None  # "baseline": the built-in baseline sets the target

    def batch_for(self, wf: facts_mod.WorkloadFacts) -> int:
        cap = int(wf.extra.get("max_batch_size", wf.num_train_examples or 128))
        return cap if self.batch_size is None else min(self.batch_size, cap)

    def grid(self, optimizer: str) -> list[float]:
        lo, hi = LR_RANGES[optimizer]
        if self.points == 1:
            return [math.sqrt(lo * hi)]
        return [lo * (hi / lo) ** (i / (self.points - 1)) for i in range(self.points)]


@dataclass
class RunSummary:
    optimizer: str
    learning_rate: float
    seed: int
    best_validation: float
    test_at_best: float
    submission_time: float
    global_step: int
    stop_reason: str


@dataclass
class Calibration:
    workload: str
    validation_target: float
    test_target: float
    max_allowed_runtime_sec: float
    step_hint: int
    best_optimizer: str
    best_learning_rate: float
    sweep: list[RunSummary] = field(default_factory=list)
    reruns: list[RunSummary] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)


def _one_run(plan: CalibrationPlan, optimizer: str, lr: float, seed: int) -> RunSummary:
    result = train_configuration(plan, optimizer, lr, seed)
    return _summarise(result, facts_mod.proxy(plan.workload), optimizer, lr, seed)


def train_configuration(plan: CalibrationPlan, optimizer: str, lr: float, seed: int) -> TrialResult:
    """``plan.step_budget`` steps of one sweep configuration (``optimizer`` at ``lr``, the
    rest :data:`FIXED`; ``"baseline"``: the built-in baseline at its default point, its
    schedule over 4/3 of the budget) through the timed runner. :mod:`autotune.speed`
    times the calibration's best configuration with it."""
    from autotune.baselines.torch_optimizers import make_submission
    from autotune.submission import load_submission

    if optimizer == "baseline":
        hp = make_hyperparameters(default_point("baseline"))
        with load_submission("baseline") as baseline:
            return _train(plan, baseline, hp, seed, round(4 / 3 * plan.step_budget))
    batch_size = plan.batch_for(facts_mod.proxy(plan.workload))
    submission = from_module(
        make_submission(optimizer, batch_size), Path(f"<{optimizer}>"), optimizer
    )
    hp = make_hyperparameters({"learning_rate": lr, **FIXED[optimizer]})
    return _train(plan, submission, hp, seed, schedule_steps=plan.step_budget)


def _train(plan: CalibrationPlan, submission: Any, hp: Any, seed: int,
           schedule_steps: int) -> TrialResult:  # fmt: skip
    """``plan.step_budget`` steps through the timed runner, the learning-rate schedule
    built over ``schedule_steps`` (the step_hint the submission sees)."""
    workload = get_workload(plan.workload)
    wf = workload.facts
    # The current targets must not end a run early: only the step budget does.
    never = -math.inf if wf.minimize else math.inf
    workload.facts = replace(wf, step_hint=schedule_steps, validation_target=never,
                             test_target=never)  # fmt: skip
    config = TrialConfig(budget_sec=math.inf, timing=load_rules("v0.6").timing, seed=seed,
                         batch_size=plan.batch_for(wf), step_cap=plan.step_budget)  # fmt: skip
    return run_trial(workload, submission, hp, config, DeviceClock())


def _baseline_reruns(plan: CalibrationPlan, progress: Any) -> list[RunSummary]:
    """The built-in baseline at its default point, as ``autotune run`` trains it."""
    from autotune.submission import load_submission

    hp = make_hyperparameters(default_point("baseline"))
    wf = facts_mod.proxy(plan.workload)
    schedule = round(4 / 3 * plan.step_budget)
    runs = []
    with load_submission("baseline") as submission:  # loaded and checked once, not per seed
        for i in range(plan.reruns):
            result = _train(plan, submission, hp, plan.seed + i, schedule)
            runs.append(_summarise(result, wf, "baseline", hp.learning_rate, plan.seed + i))
            if progress:
                progress(runs[-1])
    return runs


def _summarise(result: TrialResult, wf: facts_mod.WorkloadFacts, optimizer: str, lr: float,
               seed: int) -> RunSummary:  # fmt: skip
    key, test_key = wf.validation_metric, f"test/{wf.target_metric_name}"
    finite = [e for e in result.evals if math.isfinite(e.metrics.get(key, math.nan))]
    sign = -1.0 if wf.minimize else 1.0
    best = max(finite, key=lambda e: sign * e.metrics[key]) if finite else None
    return RunSummary(
        optimizer=optimizer, learning_rate=lr, seed=seed,
        best_validation=best.metrics[key] if best else math.nan,
        test_at_best=best.metrics.get(test_key, math.nan) if best else math.nan,
        submission_time=result.submission_time, global_step=result.global_step,
        stop_reason=result.stop_reason,
    )  # fmt: skip


def _best(runs: list[RunSummary], minimize: bool) -> RunSummary:
    finite = [r for r in runs if math.isfinite(r.best_validation)]
    if not finite:
        raise UserError("calibration could not reach any target: every run diverged or failed")
    sign = -1.0 if minimize else 1.0
    return max(finite, key=lambda r: sign * r.best_validation)


def next_learning_rate(runs: list[RunSummary], ratio: float, minimize: bool) -> float | None:
    """One grid step (``ratio``) beyond the tried learning rates when the best of ``runs``
    (one optimizer's) is the largest or smallest tried; None when it lies inside."""
    if ratio <= 1.0 or not any(math.isfinite(r.best_validation) for r in runs):
        return None
    tried = sorted(r.learning_rate for r in runs)
    best = _best(runs, minimize).learning_rate
    if best == tried[-1]:
        return tried[-1] * ratio
    if best == tried[0]:
        return tried[0] / ratio
    return None


def _sweep(
    plan: CalibrationPlan, optimizer: str, minimize: bool, progress: Any
) -> list[RunSummary]:
    """One optimizer's grid, extended past a best edge up to ``plan.extend`` times."""
    grid = plan.grid(optimizer)
    ratio = grid[1] / grid[0] if len(grid) > 1 else 1.0
    runs: list[RunSummary] = []
    for i in range(len(grid) + plan.extend):
        lr = grid[i] if i < len(grid) else next_learning_rate(runs, ratio, minimize)
        if lr is None:
            break
        runs.append(_one_run(plan, optimizer, lr, plan.seed))
        if progress:
            progress(runs[-1])
    return runs


def calibrate(plan: CalibrationPlan, progress: Any = None) -> Calibration:
    """Run the target-setting protocol of the module docstring."""
    wf = facts_mod.proxy(plan.workload)
    unknown = set(plan.optimizers) - set(LR_RANGES)
    if unknown:
        raise UserError(f"unknown optimizer(s) {sorted(unknown)}; known: {', '.join(LR_RANGES)}")
    if plan.step_budget < 10:
        raise UserError("--steps must be at least 10")
    if plan.extend < 0:
        raise UserError("--extend must be 0 or more")
    if plan.reference not in (None, "baseline"):
        raise UserError(f"unknown --reference {plan.reference!r}; known: baseline")
    if plan.reference == "baseline":
        sweep, reruns = [], _baseline_reruns(plan, progress)
        best = _best(reruns, wf.minimize)
        good = [r for r in reruns if math.isfinite(r.best_validation)]
        worst = max(good, key=lambda r: (1.0 if wf.minimize else -1.0) * r.best_validation)
        target, test_target = worst.best_validation, worst.test_at_best
    else:
        sweep = [r for o in plan.optimizers for r in _sweep(plan, o, wf.minimize, progress)]
        best = _best(sweep, wf.minimize)
        reruns = []
        for i in range(plan.reruns):
            reruns.append(_one_run(plan, best.optimizer, best.learning_rate, plan.seed + 1 + i))
            if progress:
                progress(reruns[-1])
        good = [r for r in reruns if math.isfinite(r.best_validation)] or [best]
        target = statistics.median(r.best_validation for r in good)
        test_target = statistics.median(r.test_at_best for r in good)
    budget, clock = in_reference_seconds(
        wf, round(4 / 3 * statistics.median(r.submission_time for r in good), 1)
    )
    return Calibration(
        workload=plan.workload,
        validation_target=target,
        test_target=test_target,
        max_allowed_runtime_sec=budget,
        step_hint=round(4 / 3 * plan.step_budget),
        best_optimizer=best.optimizer,
        best_learning_rate=best.learning_rate,
        sweep=sweep,
        reruns=reruns,
        provenance={
            **record.provenance(plan, _fixed(plan)),
            **record.tried_learning_rates(sweep),
            **clock,
        },
    )


def in_reference_seconds(
    wf: facts_mod.WorkloadFacts, local_budget: float
) -> tuple[float, dict[str, Any]]:
    """A variant's budget on its base's clock: ``local_budget`` over this machine's speed
    probe of the calibrated base (:mod:`autotune.speed`), so a base and its variants
    share one reference machine whichever machine calibrates the variant. A base, or a
    variant of an uncalibrated base, keeps local seconds: it defines the reference."""
    from autotune import speed

    base = facts_mod.proxy(wf.base) if wf.base and wf.base != wf.name else None
    if base is None or "calibration" not in base.extra:
        return local_budget, {}
    found = speed.probe(base.name, seconds=REFERENCE_PROBE_SEC)
    clock = {"local_budget_sec": local_budget, "base_speed_scale": round(found.scale, 4)}
    return round(local_budget / found.scale, 1), clock


def _fixed(plan: CalibrationPlan) -> dict[str, Any]:
    """The hyperparameters the plan holds fixed (all but the learning rate), per optimizer."""
    if plan.reference == "baseline":
        return {"baseline": default_point("baseline")}
    return {o: FIXED[o] for o in plan.optimizers}
