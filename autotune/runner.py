"""The timed trial: one submission on one workload, timed the way AlgoPerf times it.

Setup (batch size, input pipeline, model, optimizer state) is untimed. Submission time
accrues from each step's end to the next (``data_selection`` + ``update_params``, data
loading and host overhead included) and over ``prepare_for_eval``; evaluations and
logging are excluded. Evals fall due every ``eval_period_time_sec`` (the first right
after step 1). A trial stops when the budget is spent, when both the validation and the
test target are reached, when the submission raises ``TrainingCompleteError``, or at the
step cap. Time-to-target is the submission time of the first eval at the target
(inclusive comparison, as AlgoPerf's scorer applies it). Keys come from
``config.prng`` (numpy-emulated for PyTorch, ``jax.random`` for JAX): per step
``split(fold_in(loop_key, step), rng_splits)``. After each ``update_params`` and
``prepare_for_eval`` the outputs are handed to the clock (``watch``), so a clock that
blocks on device results times asynchronously dispatched JAX work in its own step;
JIT compilation inside the first calls is submission time, as in AlgoPerf. A non-finite
loss or an exception raised by the submission ends the trial and is recorded; it never
propagates. Running out of device memory, in setup or in the loop, is recorded as stop
reason ``out_of_memory`` with one line naming the batch size (:mod:`autotune.oom`).
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from autotune import oom
from autotune import rng as default_prng
from autotune.rules import TimingRules
from autotune.spec import TrainingCompleteError, Workload
from autotune.submission import Submission
from autotune.timing import Clock

__all__ = ["EvalRecord", "Observer", "TrialConfig", "TrialResult", "run_trial"]


class Prng(Protocol):
    def key(self, seed: int) -> Any: ...
    def fold_in(self, k: Any, data: int) -> Any: ...
    def split(self, k: Any, num: int = 2) -> Any: ...


@dataclass(frozen=True)
class TrialConfig:
    """What one trial runs under: its budget, cap, rules of timing and seed."""

    budget_sec: float
    timing: TimingRules
    seed: int = 0
    batch_size: int = 128
    step_cap: int | None = None
    data_dir: str | None = None
    prng: Any = default_prng


@dataclass(frozen=True)
class EvalRecord:
    """One row of ``eval_measurements.csv``."""

    global_step: int
    submission_time: float
    eval_time: float
    logging_time: float
    total_duration: float
    metrics: dict[str, float]

    def row(self, preemption_count: int = 0) -> dict[str, float]:
        return {
            "accumulated_eval_time": self.eval_time,
            "accumulated_logging_time": self.logging_time,
            "accumulated_submission_time": self.submission_time,
            "global_step": self.global_step,
            "preemption_count": preemption_count,
            "score": self.submission_time,
            "total_duration": self.total_duration,
            **self.metrics,
        }


@dataclass
class TrialResult:
    time_to_target: float
    reached_target: bool
    global_step: int
    submission_time: float
    stop_reason: str
    evals: list[EvalRecord] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None


class Observer(Protocol):
    """Sees every eval (inside the logging window) and the end of the trial."""

    def on_eval(self, record: EvalRecord) -> None: ...
    def on_end(self, result: TrialResult) -> None: ...


class _Stop(Exception):
    def __init__(self, reason: str, error: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason, self.error = reason, error


def _init_model(workload: Workload, hparams: Any, timing: TimingRules, key: Any) -> tuple[Any, Any]:
    if timing.dropout_at_init and hparams is not None:
        return workload.init_model_fn(
            key,
            dropout_rate=getattr(hparams, "dropout_rate", None),
            aux_dropout_rate=getattr(hparams, "aux_dropout_rate", None),
        )
    return workload.init_model_fn(key)


def _watch(clock: Clock, *outputs: Any) -> None:
    """Hand the submission's latest outputs to a clock that blocks on them (JAX)."""
    watch = getattr(clock, "watch", None)
    if watch is not None:
        watch(outputs)


def _diverged(metrics: dict[str, float]) -> str | None:
    for name, value in metrics.items():
        if name.endswith("loss") and not math.isfinite(value):
            return f"{name} is {value}"
    return None


def run_trial(
    workload: Workload,
    submission: Submission,
    hparams: Any,
    config: TrialConfig,
    clock: Clock,
    observers: Sequence[Observer] = (),
) -> TrialResult:
    """Run one timed trial; see the module docstring for the rules it applies."""
    prng, timing = config.prng, config.timing
    data_key, opt_key, model_key, loop_key = prng.split(prng.key(config.seed), 4)
    evals: list[EvalRecord] = []
    eval_results: list[tuple[int, dict[str, float]]] = []
    state: dict[str, Any] = dict(
        validation_goal_reached=False, test_goal_reached=False, is_time_remaining=True,
        last_eval_time=-math.inf, training_complete=False, accumulated_submission_time=0.0,
        accumulated_eval_time=0.0, accumulated_logging_time=0.0,
    )  # fmt: skip
    try:
        queue = workload._build_input_queue(data_key, "train", config.data_dir, config.batch_size)
        params, model_state = _init_model(workload, hparams, timing, model_key)
        opt_state = submission.init_optimizer_state(workload, params, model_state, hparams,
                                                    opt_key)  # fmt: skip
    except Exception as e:  # only running out of memory is the trial's failure here
        if not oom.is_out_of_memory(e):
            raise
        failure = oom.OutOfMemory(e, config.batch_size, "setup")
        return _finish(workload, evals, 0, state, "out_of_memory", failure, observers)
    prepare = submission.prepare_for_eval if timing.prepare_for_eval else None
    wants_state = timing.pass_train_state and submission.takes_train_state
    extra: dict[str, Any] = {}

    step, stop, error = 0, "budget", None
    start = state["last_step_end_time"] = clock.now()
    try:
        while (
            state["is_time_remaining"]
            and not (state["validation_goal_reached"] and state["test_goal_reached"])
            and not state["training_complete"]
        ):
            keys = prng.split(prng.fold_in(loop_key, step), timing.rng_splits)
            try:
                batch = submission.data_selection(
                    workload, queue, opt_state, params, model_state, hparams, step, keys[0]
                )
                if wants_state:
                    extra["train_state"] = MappingProxyType(state)
                opt_state, params, model_state = submission.update_params(
                    workload=workload, current_param_container=params,
                    current_params_types=workload.model_params_types, model_state=model_state,
                    hyperparameters=hparams, batch=batch, loss_type=workload.loss_type,
                    optimizer_state=opt_state, eval_results=eval_results, global_step=step,
                    rng=keys[1], **extra)  # fmt: skip
                _watch(clock, opt_state, params, model_state)
            except TrainingCompleteError:
                state["training_complete"], stop = True, "training_complete"
            step += 1
            if config.step_cap is not None and step >= config.step_cap:
                state["training_complete"], stop = True, "step_cap"
            now = clock.now()
            state["accumulated_submission_time"] += now - state["last_step_end_time"]
            budget_left = state["accumulated_submission_time"] < config.budget_sec
            if timing.free_eval:  # v0.5: checked every step, and a due eval still runs
                state["is_time_remaining"] = budget_left
            if (
                now - state["last_eval_time"] >= workload.eval_period_time_sec
                or state["training_complete"]
            ):
                if prepare is not None:
                    t0 = clock.now()
                    opt_state, params, model_state = prepare(
                        workload=workload, current_param_container=params,
                        current_params_types=workload.model_params_types, model_state=model_state,
                        hyperparameters=hparams, loss_type=workload.loss_type,
                        optimizer_state=opt_state, eval_results=eval_results, global_step=step,
                        rng=keys[2])  # fmt: skip
                    _watch(clock, opt_state, params, model_state)
                    state["accumulated_submission_time"] += clock.now() - t0
                if not timing.free_eval:  # v0.6: checked only here, after prepare_for_eval
                    state["is_time_remaining"] = budget_left = (
                        state["accumulated_submission_time"] < config.budget_sec
                    )
                if budget_left or timing.free_eval:
                    record = _evaluate(workload, params, model_state, keys[-1], step, state, clock,
                                       start, config, observers)  # fmt: skip
                    evals.append(record)
                    eval_results.append((step, dict(record.metrics)))
                    if (why := _diverged(record.metrics)) is not None:
                        raise _Stop("diverged", FloatingPointError(why))
            state["last_step_end_time"] = clock.now()
        if state["validation_goal_reached"] and state["test_goal_reached"]:
            stop = "targets_reached"
        elif stop not in ("training_complete", "step_cap"):
            stop = "budget"
    except _Stop as s:
        stop, error = s.reason, s.error
    except Exception as e:  # the submission crashed: record it, never propagate
        stop, error = "error", e
        if oom.is_out_of_memory(e):
            stop, error = "out_of_memory", oom.OutOfMemory(e, config.batch_size, "training")
    return _finish(workload, evals, step, state, stop, error, observers)


def _evaluate(
    workload: Workload, params: Any, model_state: Any, key: Any, step: int,
    state: dict[str, Any], clock: Clock, start: float, config: TrialConfig,
    observers: Sequence[Observer],
) -> EvalRecord:  # fmt: skip
    t0 = clock.now()
    metrics = workload.eval_model(workload.eval_batch_size, params, model_state, key,
                                  config.data_dir, None, step)  # fmt: skip
    state["validation_goal_reached"] |= workload.has_reached_validation_target(metrics)
    state["test_goal_reached"] |= workload.has_reached_test_target(metrics)
    t1 = state["last_eval_time"] = clock.now()
    state["accumulated_eval_time"] += t1 - t0
    record = EvalRecord(
        global_step=step,
        submission_time=state["accumulated_submission_time"],
        eval_time=state["accumulated_eval_time"],
        logging_time=state["accumulated_logging_time"],
        total_duration=t1 - start,
        metrics={k: float(v) for k, v in metrics.items()},
    )
    for observer in observers:
        observer.on_eval(record)
    state["accumulated_logging_time"] += clock.now() - t1
    return record


def _finish(
    workload: Workload, evals: list[EvalRecord], step: int, state: dict[str, Any], stop: str,
    error: BaseException | None, observers: Sequence[Observer],
) -> TrialResult:  # fmt: skip
    facts = workload.facts
    key = f"validation/{workload.target_metric_name}"
    hits = [e for e in evals if key in e.metrics and facts.reached(e.metrics[key])]
    result = TrialResult(
        time_to_target=hits[0].submission_time if hits else math.inf,
        reached_target=bool(hits),
        global_step=step,
        submission_time=state["accumulated_submission_time"],
        stop_reason=stop,
        evals=evals,
        error=None if error is None else f"{type(error).__name__}: {error}",
        traceback=None if error is None else "".join(traceback.format_exception(error)),
    )
    for observer in observers:
        observer.on_end(result)
    return result
