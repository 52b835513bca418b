"""The NAdamW baseline whose rank 0 is SIGKILLed at its first step, as the kernel's
out-of-memory killer does to a process that outgrows the machine's memory."""

from __future__ import annotations

import os
import signal
from typing import Any

from autotune.baselines import nadamw_torch
from autotune.baselines.nadamw_torch import data_selection, get_batch_size, init_optimizer_state

__all__ = ["data_selection", "get_batch_size", "init_optimizer_state", "update_params"]


def update_params(workload: Any, current_param_container: Any, current_params_types: Any,
                  model_state: Any, hyperparameters: Any, batch: Any, loss_type: Any,
                  optimizer_state: Any, eval_results: Any, global_step: int,
                  rng: Any) -> Any:  # fmt: skip
    if os.environ.get("RANK") == "0":
        os.kill(os.getpid(), signal.SIGKILL)
    return nadamw_torch.update_params(workload, current_param_container, current_params_types,
                                      model_state, hyperparameters, batch, loss_type,
                                      optimizer_state, eval_results, global_step, rng)  # fmt: skip
