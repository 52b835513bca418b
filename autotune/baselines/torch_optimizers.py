"""Standard PyTorch optimizers as AlgoPerf submissions, for target setting.

AlgoPerf set its targets by tuning AdamW, NAdamW, Nesterov and heavy-ball momentum
within a step budget. :func:`make_submission` turns each into a module-like namespace
with the five AlgoPerf functions (linear warm-up then cosine decay over ``step_hint``,
hyperparameters ``learning_rate``, ``one_minus_beta1`` (momentum = 1 - it),
``beta2`` (adaptive ones; default 0.999), ``weight_decay``, ``warmup_factor``,
``label_smoothing``, ``dropout_rate``), so the calibration runs go
through the same timed runner as any submission.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

from autotune import spec
from autotune.baselines import nadamw_torch as nadamw

__all__ = ["OPTIMIZERS", "make_submission"]


def _beta2(hp: Any) -> float:
    return float(getattr(hp, "beta2", 0.999))


def _adamw(params: Any, hp: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=hp.learning_rate, betas=(1 - hp.one_minus_beta1, _beta2(hp)),
                             weight_decay=hp.weight_decay)  # fmt: skip


def _nadamw(params: Any, hp: Any) -> torch.optim.Optimizer:
    return nadamw.NAdamW(params, lr=hp.learning_rate, betas=(1 - hp.one_minus_beta1, _beta2(hp)),
                         weight_decay=hp.weight_decay)  # fmt: skip


def _nesterov(params: Any, hp: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=hp.learning_rate, momentum=1 - hp.one_minus_beta1,
                           nesterov=True, weight_decay=hp.weight_decay)  # fmt: skip


def _heavy_ball(params: Any, hp: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=hp.learning_rate, momentum=1 - hp.one_minus_beta1,
                           weight_decay=hp.weight_decay)  # fmt: skip


OPTIMIZERS = {"adamw": _adamw, "nadamw": _nadamw, "nesterov": _nesterov, "heavy_ball": _heavy_ball}


def make_submission(name: str, batch_size: int) -> SimpleNamespace:
    """An AlgoPerf submission (as a namespace) training with optimizer ``name``."""
    build = OPTIMIZERS[name]

    def get_batch_size(workload_name: str) -> int:
        return batch_size

    def init_optimizer_state(workload: spec.Workload, model_params: Any, model_state: Any,
                             hyperparameters: Any, rng: Any) -> dict[str, Any]:  # fmt: skip
        opt = build(model_params.parameters(), hyperparameters)
        schedule = nadamw._schedule(workload.step_hint, hyperparameters.warmup_factor)
        return {"optimizer": opt, "scheduler": LambdaLR(opt, schedule)}

    def update_params(workload: spec.Workload, current_param_container: Any,
                      current_params_types: Any, model_state: Any, hyperparameters: Any,
                      batch: dict[str, Any], loss_type: Any, optimizer_state: Any,
                      eval_results: Any, global_step: int, rng: Any) -> spec.UpdateReturn:  # fmt: skip
        return nadamw.update_params(
            workload, current_param_container, current_params_types, model_state,
            hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step, rng,
        )  # fmt: skip

    return SimpleNamespace(
        get_batch_size=get_batch_size,
        init_optimizer_state=init_optimizer_state,
        update_params=update_params,
        data_selection=nadamw.data_selection,
    )
