"""Flax model pieces shared by the librispeech proxies, mirroring :mod:`workloads.speech.layers`.

The convolutional subsampler (module names ``conv_0``, ``conv_2``, ``proj`` follow the
PyTorch ``Sequential`` indices, so weights map by name), its paddings, sinusoidal
positions and PyTorch-equivalent activations and batch norm.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["ACTIVATIONS", "Subsample", "batch_norm", "sinusoidal", "subsample_paddings"]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu, "tanh": jnp.tanh, "gelu": functools.partial(nn.gelu, approximate=False),
    "swish": nn.silu,
}  # fmt: skip


def batch_norm(update_batch_norm: bool, name: str = "batchnorm") -> nn.BatchNorm:
    """torch.nn.BatchNorm1d's constants (momentum 0.1, eps 1e-5) over all but the last
    axis, normalising by the batch's statistics iff ``update_batch_norm`` (AlgoPerf's
    JAX convention); unlike PyTorch, Flax tracks the biased batch variance."""
    return nn.BatchNorm(use_running_average=not update_batch_norm, momentum=0.9,
                        epsilon=1e-5, name=name)  # fmt: skip


def subsample_paddings(paddings: jax.Array, steps: int = 2) -> jax.Array:
    """Paddings after ``steps`` stride-2 convolutions with kernel 3 and padding 1."""
    lengths = (1 - paddings).sum(1).astype(jnp.int32)
    t = paddings.shape[1]
    for _ in range(steps):
        lengths, t = (lengths - 1) // 2 + 1, (t - 1) // 2 + 1
    return (jnp.arange(t)[None, :] >= lengths[:, None]).astype(jnp.float32)


def sinusoidal(length: int, dim: int) -> jax.Array:
    """``[length, dim]`` sinusoidal position encodings."""
    pos = jnp.arange(length, dtype=jnp.float32)[:, None]
    rates = jnp.exp(jnp.arange(0, dim // 2) * (-math.log(10_000.0) / (dim // 2)))
    return jnp.concatenate([jnp.sin(pos * rates), jnp.cos(pos * rates)], -1)


class Subsample(nn.Module):
    """Two stride-2 3x3 convolutions over (time, frequency), then a linear projection."""

    channels: int
    out_dim: int
    activation: str
    dropout: float

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        x = x[..., None]  # [B, T, F, 1]
        for name in ("conv_0", "conv_2"):
            x = act(nn.Conv(self.channels, (3, 3), strides=2, padding=((1, 1), (1, 1)),
                            name=name)(x))  # fmt: skip
        b, t = x.shape[:2]
        x = x.transpose(0, 1, 3, 2).reshape(b, t, -1)  # PyTorch's (channel, frequency) order
        x = nn.Dense(self.out_dim, name="proj")(x)
        return nn.Dropout(self.dropout, deterministic=not train)(x)
