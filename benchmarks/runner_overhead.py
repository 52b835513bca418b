"""Runner overhead: steps/s of autotune's timed loop divided by a bare PyTorch loop.

Both train the mnist proxy's model with the built-in NAdamW baseline's optimizer and
schedule on the *same* pre-built batches, in one process, alternating in an order
rotated every repeat, so machine load and warm-up effects hit all loops alike. The runner's figure is global_step / submission time (evals
excluded, as the runner itself reports it); the bare loop's is steps / wall time.

    .venv/bin/python -m benchmarks.runner_overhead [--workload mnist] [--steps 2000]
        [--repeats 11] [--threads 1]

``--workload``: any proxy whose model is called as ``model(inputs)`` with a softmax
cross-entropy loss (mnist, cifar, imagenet_resnet, imagenet_vit and their variants).
mnist, whose step takes ~1 ms, shows the runner's fixed per-step cost at its largest.

Goal: ratio >= 0.98. Reported: the median of the per-repeat ratios and the ratio of
the best repeats (the least disturbed by other processes).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from autotune import rng
from autotune.baselines import nadamw_torch as baseline
from autotune.hparams import make_hyperparameters
from autotune.registry import get_workload
from autotune.rules import load_rules
from autotune.runner import TrialConfig, run_trial
from autotune.submission import from_module, load_submission
from autotune.timing import DeviceClock

HP = make_hyperparameters({**baseline.SELF_TUNING_POINT})
WORKLOAD = "mnist"  # set by --workload


def _batch_size() -> int:
    cap = get_workload(WORKLOAD).facts.extra.get("max_batch_size", 128)
    return min(128, int(cap))


def _batches(n: int) -> list[dict[str, torch.Tensor]]:
    workload = get_workload(WORKLOAD)
    queue = workload._build_input_queue(rng.key(0), "train", None, _batch_size())
    return [next(queue) for _ in range(n)]


class _FixedBatches:
    """Mixed into the proxy's class: fed a fixed list of batches (the bare loop's)."""

    batches: ClassVar[list[dict[str, torch.Tensor]]] = []

    def _build_input_queue(self, data_rng: Any, split: str, *args: Any, **kwargs: Any) -> Any:
        if split == "train":
            return itertools.cycle(self.batches)
        return super()._build_input_queue(data_rng, split, *args, **kwargs)  # type: ignore[misc]


def bare_loop(batches: list[dict[str, torch.Tensor]]) -> float:
    workload = get_workload(WORKLOAD)
    model, _ = workload.init_model_fn(rng.key(1))
    state = baseline.init_optimizer_state(workload, model, None, HP, None)
    opt, sched = state["optimizer"], state["scheduler"]  # type: ignore[call-overload]
    model.train()
    start = time.perf_counter()
    for batch in batches:
        opt.zero_grad(set_to_none=True)
        logits = model(batch["inputs"])
        loss = F.cross_entropy(logits, batch["targets"], label_smoothing=HP.label_smoothing)
        loss.backward()
        opt.step()
        sched.step()
    return len(batches) / (time.perf_counter() - start)


def api_loop(batches: list[dict[str, torch.Tensor]]) -> float:
    """The baseline's own update_params called in a plain for loop: the AlgoPerf API's
    cost (model_fn, per-example loss_fn) without autotune's harness."""
    workload = get_workload(WORKLOAD)
    model, _ = workload.init_model_fn(rng.key(1))
    state = baseline.init_optimizer_state(workload, model, None, HP, None)
    types = workload.model_params_types
    start = time.perf_counter()
    for step, batch in enumerate(batches):
        baseline.update_params(workload, model, types, None, HP, batch, workload.loss_type,
                               state, [], step, None)  # fmt: skip
    return len(batches) / (time.perf_counter() - start)


def runner_loop(batches: list[dict[str, torch.Tensor]]) -> float:
    proxy = get_workload(WORKLOAD)
    facts = replace(proxy.facts, eval_period_time_sec=1e9)
    fixed = type("Fixed", (_FixedBatches, type(proxy)), {"batches": batches})
    workload = fixed(facts)
    config = TrialConfig(budget_sec=1e9, timing=load_rules("v0.6").timing, batch_size=_batch_size(),
                         step_cap=len(batches), seed=1)  # fmt: skip
    result = run_trial(workload, load_submission("baseline"), HP, config, DeviceClock())
    assert result.stop_reason == "step_cap", result.error
    return result.global_step / result.submission_time


def _noop_submission() -> Any:
    """A submission whose update does nothing: the runner's own per-step cost alone."""

    def update_params(workload: Any, current_param_container: Any, current_params_types: Any,
                      model_state: Any, hyperparameters: Any, batch: Any, loss_type: Any,
                      optimizer_state: Any, eval_results: Any, global_step: int,
                      rng: Any) -> Any:  # fmt: skip
        return optimizer_state, current_param_container, model_state

    def data_selection(workload: Any, input_queue: Any, optimizer_state: Any,
                       current_param_container: Any, model_state: Any, hyperparameters: Any,
                       global_step: int, rng: Any) -> Any:  # fmt: skip
        return next(input_queue)

    ns = SimpleNamespace(
        get_batch_size=lambda workload_name: _batch_size(),
        init_optimizer_state=lambda workload, model_params, model_state, hyperparameters, rng: {},
        update_params=update_params, data_selection=data_selection,
    )  # fmt: skip
    return from_module(ns, Path("<noop>"), "noop")


def harness_us_per_step(batches: list[dict[str, torch.Tensor]], steps: int = 20000) -> float:
    """Microseconds per step of ``run_trial`` around a submission that does nothing."""
    proxy = get_workload(WORKLOAD)
    fixed = type("Fixed", (_FixedBatches, type(proxy)), {"batches": batches})
    workload = fixed(replace(proxy.facts, eval_period_time_sec=1e9))
    config = TrialConfig(budget_sec=1e9, timing=load_rules("v0.6").timing, batch_size=_batch_size(),
                         step_cap=steps, seed=1)  # fmt: skip
    result = run_trial(workload, _noop_submission(), HP, config, DeviceClock())
    return 1e6 * result.submission_time / result.global_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="mnist")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: least noise)")
    args = parser.parse_args()
    global WORKLOAD
    WORKLOAD = args.workload
    torch.set_num_threads(args.threads)
    batches = _batches(args.steps)
    bare_loop(batches[:200])  # warm-up: allocator, kernels
    loops = {"bare": bare_loop, "api": api_loop, "runner": runner_loop}
    got: dict[str, list[float]] = {name: [] for name in loops}
    order = list(loops)
    for _ in range(args.repeats):
        for name in order:  # rotated every repeat: no loop always runs first
            got[name].append(loops[name](batches))
        order = order[1:] + order[:1]
    bare, api, runner = got["bare"], got["api"], got["runner"]
    harness_us = statistics.median(harness_us_per_step(batches) for _ in range(3))
    ratios = [r / b for r, b in zip(runner, bare, strict=True)]
    harness = [r / a for r, a in zip(runner, api, strict=True)]
    print(json.dumps({
        "workload": WORKLOAD, "batch_size": _batch_size(), "steps": args.steps,
        "repeats": args.repeats, "torch_threads": torch.get_num_threads(),
        "bare_steps_per_s": round(statistics.median(bare), 1),
        "runner_steps_per_s": round(statistics.median(runner), 1),
        "ratio_median": round(statistics.median(ratios), 4),
        "ratio_of_best": round(max(runner) / max(bare), 4),
        "api_steps_per_s": round(statistics.median(api), 1),
        "harness_ratio_median": round(statistics.median(harness), 4),
        "noop_harness_us_per_step": round(harness_us, 2),
        "noop_harness_share_of_bare_step": round(harness_us * statistics.median(bare) / 1e6, 4),
        "ratios": [round(r, 4) for r in ratios], "python": platform.python_version(),
        "torch": torch.__version__,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
