"""Budget scale: how fast this machine trains a proxy, against the machine that set its budget.

A proxy's time budget is in seconds of the machine that calibrated it, and CPUs differ
(two VMs of the same kind here differed 1.5-2x on the same proxy step). AlgoPerf fixes
the hardware; a laptop tool cannot, so a trial can scale its budget (and its eval
period, so evals fall at the same training progress) by the ratio of the two machines'
step times on that proxy:

* the **reference** step time is stored already: ``autotune calibrate`` sets
  ``budget = 4/3 x T`` and ``step_hint = 4/3 x S`` for ``S`` steps of the calibration's
  best configuration taking ``T`` seconds, so ``budget / step_hint = T / S``;
* the **local** step time: :func:`probe` trains that same configuration (optimizer,
  learning rate, batch size; the built-in baseline for a ``--reference baseline`` proxy)
  through the timed runner for about :data:`PROBE_SEC` reference seconds, and takes the
  submission time per step between the first and the last eval (so the first step's
  set-up is left out).

A variant that is not calibrated yet is timed by its base's configuration. The scale of
a full-size workload is always 1: its budget is AlgoPerf's, for AlgoPerf's hardware.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from autotune import facts as facts_mod
from autotune.errors import UserError

__all__ = [
    "PROBE_SEC",
    "SpeedProbe",
    "parse_budget_scale",
    "probe",
    "resolve_budget_scale",
    "scaled_facts",
]

PROBE_SEC = 8.0  # reference seconds of training per probe
MIN_PROBE_STEPS = 20
SCALE_RANGE = (0.1, 20.0)  # outside it the probe or the machine is broken


@dataclass(frozen=True)
class SpeedProbe:
    """One probe: ``scale`` = local / reference seconds per step of ``configuration``."""

    workload: str
    timed: str  # the calibrated proxy whose configuration was timed
    configuration: str
    steps: int
    local_step_sec: float
    reference_step_sec: float

    @property
    def scale(self) -> float:
        return self.local_step_sec / self.reference_step_sec


def parse_budget_scale(value: str | float | None) -> float | str:
    """``"auto"`` or a positive number (``None``: 1, AlgoPerf's fixed budgets)."""
    if value is None:
        return 1.0
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        scale = float(value)
    except (TypeError, ValueError):
        raise UserError(
            f"budget scale must be 'auto' or a positive number, not {value!r}"
        ) from None
    if not (math.isfinite(scale) and scale > 0):
        raise UserError(f"budget scale must be 'auto' or a positive number, not {value!r}")
    return scale


def _timed_proxy(name: str) -> facts_mod.WorkloadFacts:
    """The calibrated proxy whose configuration times ``name``: itself, else its base."""
    wf = facts_mod.proxy(name)
    for candidate in (wf, facts_mod.proxy(wf.base) if wf.base and wf.base != name else None):
        if candidate is not None and "calibration" in candidate.extra:
            return candidate
    raise UserError(f"budget scale 'auto' needs a calibrated proxy; '{name}' and its base "
                    "have no calibration (pass a number instead)")  # fmt: skip


def _batch_size(command: str) -> int | None:
    found = re.search(r"--batch-size (\d+)", command)
    return int(found.group(1)) if found else None


def probe(name: str, seconds: float = PROBE_SEC, threads: int | None = None) -> SpeedProbe:
    """Time proxy ``name``'s calibration configuration on this machine (see the module),
    with ``threads`` torch threads (None: as set) — those its trials will have."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        return _probe(name, seconds)
    finally:
        torch.set_num_threads(before)


def _probe(name: str, seconds: float) -> SpeedProbe:
    from autotune.calibrate import CalibrationPlan, train_configuration

    wf = _timed_proxy(name)
    cal = wf.extra["calibration"]
    reference = wf.max_allowed_runtime_sec / wf.step_hint
    steps = max(MIN_PROBE_STEPS, math.ceil(seconds / reference))
    plan = CalibrationPlan(workload=wf.name, step_budget=steps,
                           batch_size=_batch_size(str(cal.get("command", ""))))  # fmt: skip
    optimizer, lr = str(cal["best_optimizer"]), float(cal["best_learning_rate"])
    result = train_configuration(plan, optimizer, lr, seed=0)
    first, last = result.evals[0], result.evals[-1]
    if result.error or last.global_step <= first.global_step:
        raise UserError(f"speed probe of '{wf.name}' failed ({result.stop_reason}: "
                        f"{result.error or 'no steps between evals'})")  # fmt: skip
    local = (last.submission_time - first.submission_time) / (last.global_step - first.global_step)
    found = SpeedProbe(name, wf.name, f"{optimizer} lr {lr:.3g}", steps, local, reference)
    lo, hi = SCALE_RANGE
    if not lo <= found.scale <= hi:
        raise UserError(f"speed probe of '{wf.name}': this machine takes {found.scale:.2f}x "
                        "the reference time per step, outside "
                        f"[{lo}, {hi}]; pass a budget scale by hand")  # fmt: skip
    return found


def _full_size_error() -> UserError:
    return UserError("a budget scale applies to the CPU proxies only; a full-size workload "
                     "keeps AlgoPerf's budget")  # fmt: skip


def resolve_budget_scale(value: str | float, workload: str, full_size: bool = False,
                         threads: int | None = None) -> float:  # fmt: skip
    """The number a trial of ``workload`` (``threads`` torch threads) scales its budget by
    (``"auto"``: probe now)."""
    if full_size and value != 1.0:
        raise _full_size_error()
    return probe(workload, threads=threads).scale if value == "auto" else float(value)


def scaled_facts(wf: facts_mod.WorkloadFacts, scale: float,
                 full_size: bool = False) -> facts_mod.WorkloadFacts:  # fmt: skip
    """``wf`` with its budget and eval period times ``scale`` (targets and step hint kept:
    the same training, on a slower or faster clock)."""
    if full_size:
        raise _full_size_error()
    return replace(wf, max_allowed_runtime_sec=wf.max_allowed_runtime_sec * scale,
                   eval_period_time_sec=wf.eval_period_time_sec * scale)  # fmt: skip
