"""Flax model pieces shared by the librispeech proxies, mirroring :mod:`workloads.speech.layers`.

SpecAugment (:mod:`workloads.speech.spec_augment`; its keys come from the ``dropout``
rng stream that ``model_fn`` supplies in training), the convolutional subsampler (module
names ``conv_0``, ``conv_2``, ``proj`` follow the PyTorch ``Sequential`` indices, so
weights map by name), its paddings, sinusoidal positions and PyTorch-equivalent
activations and batch norm.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from workloads.speech.spec_augment import SpecAugmentConfig

__all__ = [
    "ACTIVATIONS",
    "SpecAugment",
    "Subsample",
    "batch_norm",
    "sinusoidal",
    "subsample_paddings",
]

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


def _keep(u: jax.Array, max_width: jax.Array, cap: jax.Array, bound: jax.Array,
          active: jax.Array, size: int) -> jax.Array:  # fmt: skip
    """``[B, size]``: 0 inside any active mask, else 1. ``u [2, B, n]`` uniforms; a mask
    is ``min(floor(max_width u0), cap)`` wide and starts within ``[0, bound - width]``."""
    width = jnp.minimum(jnp.floor(max_width[:, None] * u[0]), cap[:, None])
    start = jnp.floor(u[1] * (bound[:, None] - width + 1))
    pos = jnp.arange(size, dtype=u.dtype)
    inside = (pos >= start[..., None]) & (pos < (start + width)[..., None]) & active[..., None]
    return 1.0 - inside.any(1).astype(u.dtype)


def _freq_keep(c: SpecAugmentConfig, key: jax.Array, b: int, f: int) -> jax.Array:
    """``[B, F]`` keep-mask of ``freq_mask_count`` bands within the ``F`` bins."""
    full = jnp.ones(b)
    u = jax.random.uniform(key, (2, b, c.freq_mask_count))
    active = jnp.ones((b, c.freq_mask_count), dtype=bool)
    return _keep(u, c.freq_mask_max_bins * full, f * full, f * full, active, f)


def _time_keep(c: SpecAugmentConfig, key: jax.Array, paddings: jax.Array) -> jax.Array:
    """``[B, T]`` keep-mask of ``time_mask_count`` spans within each utterance's frames."""
    (b, t), n = paddings.shape, c.time_mask_count
    length = (1 - paddings).sum(1)
    fixed, count = jnp.full_like(length, c.time_mask_max_frames), jnp.full_like(length, n)
    max_width = c.time_mask_max_ratio * length if c.use_dynamic_time_mask_max_frames else fixed
    cap = jnp.maximum(jnp.floor(c.time_mask_max_ratio * length), 1.0)
    limit = c.time_masks_per_frame * length if c.time_masks_per_frame > 0 else count
    active = jnp.arange(n, dtype=length.dtype)[None, :] < limit[:, None]
    return _keep(jax.random.uniform(key, (2, b, n)), max_width, cap, length, active, t)


class SpecAugment(nn.Module):
    """Zeroes random frequency bands and time spans of ``features [B, T, F]`` when
    ``train`` (:mod:`workloads.speech.spec_augment`); keys from the ``dropout`` stream."""

    config: SpecAugmentConfig

    def __call__(self, x: jax.Array, paddings: jax.Array, train: bool) -> jax.Array:
        c = self.config
        if not train:
            return x
        time_key, freq_key = jax.random.split(self.make_rng("dropout"))
        if c.time_mask_count and c.time_mask_max_ratio > 0:
            x = x * _time_keep(c, time_key, paddings.astype(x.dtype))[..., None]
        if c.freq_mask_count:
            x = x * _freq_keep(c, freq_key, x.shape[0], x.shape[-1])[:, None, :]
        return x


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
