"""NAdamW in JAX, from optax pieces: AlgoPerf's baseline recipe, jit + sharding era.

The same algorithm, search space (``search_spaces/nadamw.json``) and self-tuning point
as :mod:`autotune.baselines.nadamw_torch`: Nesterov Adam moments (:func:`scale_by_nadam`,
bias-corrected as the PyTorch class and AlgoPerf's JAX baseline do), decoupled weight
decay scaled by the learning rate, linear warm-up then cosine decay over ``step_hint``
(0.75 x step_hint when self-tuning), optional global-norm gradient clipping::

    chain(clip?, scale_by_nadam(b1, b2), add_decayed_weights(wd), scale_by_learning_rate(lr_t))

The train step is one ``jax.jit``; parameters arrive replicated and batches sharded on
dim 0 over all local devices (the workload's ``sharded`` layout), so XLA inserts the
gradient all-reduce and the loss is the mean over the global batch.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from autotune import spec

# The batch sizes and the self-tuning point (``_hparams``) are the PyTorch baseline's.
from autotune.baselines.nadamw_torch import BATCH_SIZES, _hparams
from autotune.compat._api import jax_sharding_utils

__all__ = [
    "data_selection",
    "get_batch_size",
    "init_optimizer_state",
    "scale_by_nadam",
    "update_params",
]


class NadamState(NamedTuple):
    steps: jax.Array
    mu: Any
    nu: Any


def scale_by_nadam(b1: float, b2: float, eps: float = 1e-8) -> optax.GradientTransformation:
    """Nesterov Adam: ``(b1 m_t + (1 - b1) g) / (1 - b1^t)`` over ``sqrt(v_t / (1 - b2^t)) + eps``."""

    def init(params: Any) -> NadamState:
        zeros = jax.tree.map(jnp.zeros_like, params)
        return NadamState(jnp.zeros([], jnp.int32), zeros, zeros)

    def update(updates: Any, state: NadamState, params: Any = None) -> tuple[Any, NadamState]:
        count = state.steps + 1
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, updates)
        c1, c2 = 1 - b1**count, 1 - b2**count
        new = jax.tree.map(
            lambda m, v, g: (b1 * m + (1 - b1) * g) / c1 / (jnp.sqrt(v / c2) + eps),
            mu, nu, updates,
        )  # fmt: skip
        return new, NadamState(count, mu, nu)

    return optax.GradientTransformation(init, update)


def warmup_cosine(base_lr: float, step_hint: int, warmup_factor: float) -> optax.Schedule:
    """The PyTorch baseline's schedule: ``(t + 1) / warmup`` then cosine to ``step_hint``."""
    warmup = max(1, int(warmup_factor * step_hint))

    def schedule(count: jax.Array) -> jax.Array:
        ramp = (count + 1) / warmup
        progress = jnp.clip((count - warmup) / max(1, step_hint - warmup), 0.0, 1.0)
        cosine = 0.5 * (1 + jnp.cos(jnp.pi * progress))
        return base_lr * jnp.where(count < warmup, ramp, cosine)

    return schedule


def get_batch_size(workload_name: str) -> int:
    if workload_name in BATCH_SIZES:
        return BATCH_SIZES[workload_name]
    raise ValueError(f"no batch size for {workload_name}")


def _optimizer(workload: spec.Workload, hyperparameters: Any) -> optax.GradientTransformation:
    hp = _hparams(hyperparameters)
    step_hint = (
        workload.step_hint if hyperparameters is not None else int(0.75 * workload.step_hint)
    )
    clip = getattr(hp, "grad_clip", None)
    return optax.chain(
        optax.clip_by_global_norm(clip) if clip is not None else optax.identity(),
        scale_by_nadam(1.0 - hp.one_minus_beta1, hp.beta2),
        optax.add_decayed_weights(hp.weight_decay),
        optax.scale_by_learning_rate(warmup_cosine(hp.learning_rate, step_hint, hp.warmup_factor)),
    )


def init_optimizer_state(workload: spec.Workload, model_params: spec.ParameterContainer,
                         model_state: spec.ModelAuxiliaryState,
                         hyperparameters: spec.Hyperparameters,
                         rng: spec.RandomState) -> spec.OptimizerState:  # fmt: skip
    opt = _optimizer(workload, hyperparameters)
    # Placed like the parameters (replicated over the mesh, as AlgoPerf's jit-era baseline
    # does): an unplaced step counter would make jit compile the step twice, the second
    # time at step 2, inside submission time.
    return {"optax": jax_sharding_utils.replicate(opt.init(model_params)), "update_fn": opt.update}


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _train_step(workload: spec.Workload, update_fn: Any, label_smoothing: float, opt_state: Any,
                params: Any, model_state: Any, batch: dict[str, jax.Array],
                rng: jax.Array) -> tuple[Any, Any, Any, jax.Array]:  # fmt: skip
    def loss(p: Any) -> tuple[jax.Array, Any]:
        logits, new_state = workload.model_fn(p, batch, model_state, spec.ForwardPassMode.TRAIN,
                                              rng, update_batch_norm=True)  # fmt: skip
        out = workload.loss_fn(label_batch=batch["targets"], logits_batch=logits,
                               mask_batch=batch.get("weights"),
                               label_smoothing=label_smoothing)  # fmt: skip
        return out["summed"] / out["n_valid_examples"], new_state

    (value, new_state), grads = jax.value_and_grad(loss, has_aux=True)(params)
    updates, opt_state = update_fn(grads, opt_state, params)
    return opt_state, optax.apply_updates(params, updates), new_state, value


def update_params(workload: spec.Workload, current_param_container: spec.ParameterContainer,
                  current_params_types: spec.ParameterTypeTree,
                  model_state: spec.ModelAuxiliaryState, hyperparameters: spec.Hyperparameters,
                  batch: dict[str, spec.Tensor], loss_type: spec.LossType,
                  optimizer_state: spec.OptimizerState, eval_results: list[tuple[int, float]],
                  global_step: int, rng: spec.RandomState) -> spec.UpdateReturn:  # fmt: skip
    hp = _hparams(hyperparameters)
    state: dict[str, Any] = optimizer_state  # type: ignore[assignment]
    opt_state, params, new_state, _ = _train_step(
        workload, state["update_fn"], float(getattr(hp, "label_smoothing", 0.0)),
        state["optax"], current_param_container, model_state, batch, rng,
    )  # fmt: skip
    return {"optax": opt_state, "update_fn": state["update_fn"]}, params, new_state


def data_selection(workload: spec.Workload, input_queue: Any,
                   optimizer_state: spec.OptimizerState,
                   current_param_container: spec.ParameterContainer,
                   model_state: spec.ModelAuxiliaryState, hyperparameters: spec.Hyperparameters,
                   global_step: int, rng: spec.RandomState) -> dict[str, spec.Tensor]:  # fmt: skip
    return dict(next(input_queue))
