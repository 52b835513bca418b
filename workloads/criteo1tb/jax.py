"""Criteo 1TB proxy (JAX/Flax): the DLRM-small, data and facts of ``pytorch.py``.

The Flax model mirrors :mod:`workloads.criteo1tb.dlrm` (the same :class:`DlrmConfig`,
variants and ``tiny`` sizes): ``Embed`` (one table shared by the 26 fields), ``bottom``
and ``top`` MLPs of ``Dense_<i>`` (and ``LayerNorm_<i>``, eps 1e-5, in the layer-norm
variant), the dot interactions of all 27 vectors (upper triangle, diagonal included,
row-major as ``torch.triu_indices``); so PyTorch weights map onto it by name (the parity
test does). Inputs are the shared numpy rows: 13 dense features then 26 hashed ids, one
float32 array. Sigmoid cross-entropy; the metric is the loss.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from autotune.frameworks.flax_init import uniform_symmetric
from autotune.frameworks.jax_workload import JaxWorkload, NumpyBatch
from workloads.criteo1tb.data import load_splits
from workloads.criteo1tb.dlrm import DlrmConfig


class Mlp(nn.Module):
    """Dense layers with ReLU (LayerNorm / residuals when asked); with ``last_linear``
    the last layer is linear and dropout precedes it."""

    dims: tuple[int, ...]  # output sizes
    config: DlrmConfig
    last_linear: bool

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        c, last = self.config, len(self.dims) - 1
        for i, out in enumerate(self.dims):
            fan_in = x.shape[-1]
            dense = nn.Dense(out, name=f"Dense_{i}",
                kernel_init=nn.initializers.normal(math.sqrt(2.0 / (fan_in + out))),
                bias_init=nn.initializers.normal(math.sqrt(1.0 / out)))  # fmt: skip
            if i == last and self.last_linear:
                return dense(x)
            y = dense(x)
            if c.use_layer_norm:
                y = nn.LayerNorm(epsilon=1e-5, name=f"LayerNorm_{i}")(y)
            y = nn.relu(y)
            x = x + y if c.use_resnet and y.shape == x.shape else y
            if i == last - 1 and self.last_linear:
                x = nn.Dropout(c.dropout_rate, deterministic=not train)(x)
        return x


class DlrmSmall(nn.Module):
    """``(B, 13 + 26)`` rows -> ``(B,)`` click logits."""

    config: DlrmConfig

    @nn.compact
    def __call__(self, inputs: jax.Array, train: bool = False) -> jax.Array:
        c = self.config
        d = c.embed_dim
        dense = inputs[:, : c.num_dense]
        ids = inputs[:, c.num_dense :].astype(jnp.int32) % c.vocab_size
        scale = c.embedding_init_scale or 1.0 / math.sqrt(c.vocab_size)
        table = nn.Embed(c.vocab_size, d, embedding_init=uniform_symmetric(scale), name="Embed")
        bottom = Mlp((*c.bottom_mlp[:-1], d), c, last_linear=False, name="bottom")(dense, train)
        stack = jnp.concatenate([bottom[:, None, :], table(ids)], axis=1)
        rows, cols = np.triu_indices(c.num_sparse + 1)
        dots = jnp.einsum("bnd,bmd->bnm", stack, stack)[:, rows, cols]
        top = Mlp(c.top_mlp, c, last_linear=True, name="top")
        return top(jnp.concatenate([bottom, dots], axis=1), train)[:, 0]


class Criteo1tbWorkload(JaxWorkload):
    def build_model(self) -> nn.Module:
        return DlrmSmall(DlrmConfig.from_overrides(self.overrides))

    def load_splits(self) -> dict[str, NumpyBatch]:
        return load_splits(self, DlrmConfig.from_overrides(self.overrides).vocab_size)
