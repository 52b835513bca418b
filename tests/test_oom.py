"""A model or batch that does not fit: one clear line with the batch size, a failed trial."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from autotune import trial
from autotune.rules import load_rules
from autotune.runner import TrialConfig, run_trial
from autotune.submission import from_module
from autotune.timing import FakeClock
from tests.fakes import FakeWorkload, make_submission_module

V06 = load_rules("v0.6").timing
CPU_OOM = "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory: you tried to allocate 8 GB"


def _run(batch_size: int = 128, **sub_kwargs):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    module = make_submission_module(clock, **sub_kwargs)
    config = TrialConfig(budget_sec=100.0, timing=V06, batch_size=batch_size)
    return module, run_trial(
        FakeWorkload(clock), from_module(module, Path("fake.py"), "fake"), None, config, clock
    )


def test_cuda_oom_in_a_step_is_a_failed_trial_naming_the_batch_size() -> None:
    _, result = _run(batch_size=512, raise_at=2, exc=torch.cuda.OutOfMemoryError)
    assert result.stop_reason == "out_of_memory" and not result.reached_target
    assert result.global_step == 2
    assert result.error is not None and "\n" not in result.error
    assert "out of memory during training at global batch size 512" in result.error
    assert "OutOfMemoryError: stop here" in (result.traceback or "")  # the original kept


def test_cpu_allocation_failure_in_setup_is_recorded_not_raised() -> None:
    module, _ = _run()  # a module to borrow the functions from

    def init_optimizer_state(*args: object) -> None:
        raise RuntimeError(CPU_OOM)

    module.init_optimizer_state = init_optimizer_state
    clock = FakeClock()
    config = TrialConfig(budget_sec=100.0, timing=V06, batch_size=64)
    result = run_trial(
        FakeWorkload(clock), from_module(module, Path("fake.py"), "fake"), None, config, clock
    )
    assert (result.stop_reason, result.global_step, result.evals) == ("out_of_memory", 0, [])
    assert result.error is not None and "during setup at global batch size 64" in result.error
    assert "not enough memory" in result.error


def test_other_setup_errors_still_raise() -> None:
    module, _ = _run()

    def init_optimizer_state(*args: object) -> None:
        raise ValueError("a bug, not memory")

    module.init_optimizer_state = init_optimizer_state
    clock = FakeClock()
    with pytest.raises(ValueError, match="a bug"):
        run_trial(FakeWorkload(clock), from_module(module, Path("fake.py"), "fake"), None,
                  TrialConfig(budget_sec=1.0, timing=V06), clock)  # fmt: skip


SUBMISSION = """
import torch
from autotune.baselines.nadamw_torch import data_selection, init_optimizer_state

def get_batch_size(workload_name):
    return 32

def update_params(workload, current_param_container, current_params_types, model_state,
                  hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step,
                  rng):
    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
"""


def test_trial_records_the_oom_and_returns(tmp_path: Path) -> None:
    path = tmp_path / "submission.py"
    path.write_text(SUBMISSION)
    spec = trial.TrialSpec(workload="mnist", submission=str(path), ruleset="self",
                           out_dir=tmp_path, track=False)  # fmt: skip
    outcome = trial.run(spec)
    assert outcome.result.stop_reason == "out_of_memory"
    assert "global batch size 32" in (outcome.result.error or "")
    assert "Tried to allocate 2.00 GiB" in (outcome.result.error or "")
