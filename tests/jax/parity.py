"""Shared steps of the array-family parity tests (test helper, not a test module).

A pair is the PyTorch and the JAX workload of one name at ``tiny`` sizes; the PyTorch
model's weights are first perturbed (so zero-initialised heads and batch-norm scales do
not make the comparison trivial), batch-norm running statistics are moved off their
initial values by one training-mode forward, and then everything is converted to the
Flax tree (:mod:`tests.jax.torch_weights`), whose paths and shapes must equal the ones
the JAX workload's own ``init_model_fn`` makes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import torch

from autotune import rng, spec
from autotune.frameworks import jax_setup
from autotune.testing import make_workload
from tests.jax.torch_weights import assert_same_structure, flax_variables

TRAIN = spec.ForwardPassMode.TRAIN


@dataclass
class Pair:
    torch_w: Any
    model: torch.nn.Module
    jax_w: Any
    params: Any
    state: Any


def make_pair(name: str, rename: Callable[[str], str],
              adjust: Callable[[dict[str, Any], torch.nn.Module], None] | None = None,
              **overrides: Any) -> Pair:  # fmt: skip
    """The pair for ``name`` (``tiny``, dropout off, plus ``overrides``), same weights;
    ``adjust(params, model)`` converts in place what ``flax_variables`` leaves as is."""
    torch_w = make_workload(name, "pytorch", tiny=True, dropout_rate=0.0, **overrides)
    jax_w = make_workload(name, "jax", tiny=True, dropout_rate=0.0, **overrides)
    model, _ = torch_w.init_model_fn(rng.key(0))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=gen) * (p.std() if p.numel() > 1 else 1))
    batch = {k: v[:16] for k, v in torch_w.splits["train"].items()}
    torch_w.model_fn(model, batch, None, TRAIN, rng.key(0), update_batch_norm=True)
    variables = flax_variables(model, rename)
    params = variables.pop("params")
    if adjust is not None:
        adjust(params, model)
    flax_params, flax_state = jax_w.init_model_fn(jax_setup.key(0))
    assert_same_structure(params, flax_params)
    assert_same_structure(variables, flax_state or {})
    return Pair(torch_w, model, jax_w, params, variables or None)


def eval_metrics(pair: Pair) -> tuple[dict[str, float], dict[str, float]]:
    """Both workloads' ``eval_model`` results (PyTorch's, JAX's) on the tiny splits."""
    n = pair.torch_w.eval_batch_size
    ours = pair.torch_w.eval_model(n, pair.model, None, rng.key(1), None, None, 0)
    theirs = pair.jax_w.eval_model(n, pair.params, pair.state, jax_setup.key(1), None, None, 0)
    return ours, theirs


def training_outputs(pair: Pair, size: int = 16, label_smoothing: float = 0.0) -> dict[str, Any]:
    """Training-mode logits, summed loss and new model state (PyTorch's: its model, a
    copy) of both, on one batch; ``pair`` itself is left as it was."""
    batch = {k: v[:size] for k, v in pair.torch_w.splits["train"].items()}
    model = copy.deepcopy(pair.model)
    logits, _ = pair.torch_w.model_fn(model, batch, None, TRAIN, rng.key(0), True)
    loss = pair.torch_w.loss_fn(batch["targets"], logits, label_smoothing=label_smoothing)
    jbatch = {k: v.numpy() for k, v in batch.items()}
    step = jax.jit(lambda p, s, b: pair.jax_w.model_fn(p, b, s, TRAIN, jax_setup.key(0), True))
    jlogits, state = step(pair.params, pair.state, jbatch)  # one compilation, not one per op
    jloss = pair.jax_w.loss_fn(jbatch["targets"], jlogits, label_smoothing=label_smoothing)
    return {
        "logits": (logits.detach().numpy(), np.asarray(jlogits)),
        "summed": (loss["summed"].item(), float(jloss["summed"])),
        "state": (model, state),
    }
