"""ogbg: the JAX and PyTorch GNNs given the same weights give the same loss and mAP.

Both run the ``tiny`` model (latent 16, one message-passing step) on the ``tiny`` splits
(64 molecules each), dropout off. Tolerance: float32 on CPU, where the two frameworks
sum messages in different orders (PyTorch with ``index_add`` over the graphs it packs
itself, Flax with ``segment_sum`` over the packed, padded arrays of ``pack_graphs``, in
two device slices): losses agree to 1e-5
relative, logits to 1e-5 absolute. Mean average precision ranks the scores: an untrained
model gives near-ties (about 1e-7 apart) that float32 noise may swap, which moved the
tiny splits' mAP by 1e-5 (measured): it must agree to 1e-4.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from autotune import rng, spec
from autotune.frameworks import jax_setup
from autotune.testing import make_workload
from tests.jax.torch_weights import assert_same_structure, flax_variables

RTOL = 1e-5


def _rename(path: str) -> str:
    path = re.sub(r"graph_network\.(\d+)\.(\w+_fn)", r"graph_network_\1_\2", path)
    return re.sub(r"\bnorm_", "layernorm_", path).replace(".", "/")


@functools.cache
def _pair():
    torch_w = make_workload("ogbg", "pytorch", tiny=True, dropout_rate=0.0)
    jax_w = make_workload("ogbg", "jax", tiny=True, dropout_rate=0.0)
    model, _ = torch_w.init_model_fn(rng.key(0))
    flax_params, _ = jax_w.init_model_fn(jax_setup.key(0))
    params = flax_variables(model, _rename)["params"]
    assert_same_structure(params, flax_params)
    return torch_w, model, jax_w, params


def test_same_weights_same_eval_metrics(two_devices):
    torch_w, model, jax_w, params = _pair()
    ours = torch_w.eval_model(64, model, None, rng.key(1), None, None, 0)
    theirs = jax_w.eval_model(64, params, None, jax_setup.key(1), None, None, 0)
    for split in ("train", "validation", "test"):
        np.testing.assert_allclose(theirs[f"{split}/loss"], ours[f"{split}/loss"], rtol=RTOL)
        mean_ap = f"{split}/mean_average_precision"
        np.testing.assert_allclose(theirs[mean_ap], ours[mean_ap], atol=1e-4)


def test_same_weights_same_training_loss(two_devices):
    torch_w, model, jax_w, params = _pair()
    batch = {k: v[:16] for k, v in torch_w.splits["train"].items()}
    mode = spec.ForwardPassMode.TRAIN
    logits, _ = torch_w.model_fn(model, batch, None, mode, rng.key(0), update_batch_norm=True)
    ours = torch_w.loss_fn(batch["targets"], logits, batch["weights"], label_smoothing=0.1)
    jbatch = jax_w.prepare_batch({k: v.numpy() for k, v in batch.items()})
    jlogits, _ = jax_w.model_fn(params, jbatch, None, mode, jax_setup.key(0), True)
    theirs = jax_w.loss_fn(jbatch["targets"], jlogits, jbatch["weights"], label_smoothing=0.1)
    np.testing.assert_allclose(np.asarray(jlogits), logits.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(float(theirs["summed"]), ours["summed"].item(), rtol=RTOL)
    assert float(theirs["n_valid_examples"]) == float(ours["n_valid_examples"])


def test_each_device_slice_of_a_packed_batch_is_its_graphs(two_devices):
    """Under ``pmap`` each device gets one slice of every packed array: its logits must
    be those of the whole batch's graphs in that slice."""
    _, _, jax_w, params = _pair()
    packed = jax_w.prepare_batch({k: v[:16] for k, v in jax_w.splits["train"].items()})
    inputs = jax_w.model_inputs(packed)
    whole = jax_w.model.apply({"params": params}, inputs)
    halves = [
        jax_w.model.apply({"params": params}, {k: np.split(v, 2)[i] for k, v in inputs.items()})
        for i in range(2)
    ]
    np.testing.assert_allclose(np.concatenate(halves), np.asarray(whole), atol=1e-6)
