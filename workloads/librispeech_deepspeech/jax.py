"""librispeech_deepspeech proxy (JAX/Flax): the model of ``workloads/librispeech_deepspeech/pytorch.py``.

The same DeepSpeech shape: SpecAugment when ``train`` and ``spec_augment`` (full size;
keys from the ``dropout`` stream), the shared convolutional subsampler, ``num_lstm_layers``
residual batch-normed bidirectional LSTMs (``encoder_dim / 2`` units per direction,
concatenated, zero on padded frames as PyTorch's packed sequences give), residual
batch-normed feed-forward layers, LayerNorm and a linear head. The LSTM keeps
PyTorch's gate order (i, f, g, o) with one input kernel (both PyTorch biases summed)
and one recurrent kernel per direction; the backward direction runs over each
utterance's own frames, reversed. Batch norm uses the batch's statistics iff
``update_batch_norm`` (AlgoPerf's JAX convention). Module names follow PyTorch's (``lstms_<i>``,
``ffns_<i>``, ``batchnorm`` for its ``norm``, or ``layernorm`` when ``use_layer_norm``
puts LayerNorm there; ``layernorm`` for the decoder's), so weights map by name. The
variant knobs (``activation``, ``use_residual``, ``use_layer_norm``,
``use_decoder_layer_norm``) are :mod:`workloads.librispeech_deepspeech.config`'s, as in
PyTorch. Data, CTC loss and WER: :mod:`workloads.speech.flax_workload`.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from workloads.librispeech_deepspeech.config import model_config
from workloads.speech.flax_layers import (
    ACTIVATIONS,
    SpecAugment,
    Subsample,
    batch_norm,
    subsample_paddings,
)
from workloads.speech.flax_workload import SpeechWorkload
from workloads.speech.spec_augment import SpecAugmentConfig


def _uniform(scale: float) -> Any:
    """PyTorch's LSTM initialiser: U(-scale, scale)."""
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(
        key, shape, dtype, -scale, scale
    )


def _reverse(x: jax.Array, lengths: jax.Array) -> jax.Array:
    """Each row's first ``lengths`` steps reversed in place (the rest kept)."""
    t = jnp.arange(x.shape[1])[None, :]
    idx = jnp.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return jnp.take_along_axis(x, idx[..., None], axis=1)


def _lstm_scan(proj: jax.Array, w_hh: jax.Array) -> jax.Array:
    """Hidden states ``[B, T, H]`` given the input projections ``[B, T, 4H]``."""
    h0 = jnp.zeros((proj.shape[0], w_hh.shape[0]), proj.dtype)

    def cell(carry: tuple[jax.Array, jax.Array], p_t: jax.Array) -> tuple[Any, jax.Array]:
        h, c = carry
        i, f, g, o = jnp.split(p_t + h @ w_hh, 4, -1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    _, hs = jax.lax.scan(cell, (h0, h0), proj.swapaxes(0, 1))
    return hs.swapaxes(0, 1)


class _Kernel(nn.Module):
    shape: tuple[int, int]

    @nn.compact
    def __call__(self) -> jax.Array:
        return self.param("kernel", _uniform(1 / math.sqrt(self.shape[0])), self.shape)


class BiLSTM(nn.Module):
    """Bidirectional single-layer LSTM over valid frames, directions concatenated."""

    hidden: int

    @nn.compact
    def __call__(self, x: jax.Array, lengths: jax.Array) -> jax.Array:
        init = _uniform(1 / math.sqrt(self.hidden))
        outs = []
        for direction in ("forward", "backward"):
            xs = x if direction == "forward" else _reverse(x, lengths)
            proj = nn.Dense(4 * self.hidden, kernel_init=init, bias_init=init,
                            name=f"{direction}_ih")(xs)  # fmt: skip
            hs = _lstm_scan(proj, _Kernel((self.hidden, 4 * self.hidden), name=f"{direction}_hh")())
            outs.append(hs if direction == "forward" else _reverse(hs, lengths))
        valid = jnp.arange(x.shape[1])[None, :, None] < lengths[:, None, None]
        return jnp.concatenate(outs, -1) * valid


def _norm(use_layer_norm: bool, update_batch_norm: bool) -> nn.Module:
    """The normalisation before an LSTM or feed-forward layer: BatchNorm, or LayerNorm
    (PyTorch's epsilon)."""
    if use_layer_norm:
        return nn.LayerNorm(epsilon=1e-5, name="layernorm")
    return batch_norm(update_batch_norm)


class BatchLSTM(nn.Module):
    dim: int
    use_layer_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, lengths: jax.Array, update_batch_norm: bool) -> jax.Array:
        x = _norm(self.use_layer_norm, update_batch_norm)(x)
        return BiLSTM(self.dim // 2, name="lstm")(x, lengths)


class FeedForward(nn.Module):
    dim: int
    activation: str
    dropout: float
    residual: bool = True
    use_layer_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, train: bool, update_batch_norm: bool) -> jax.Array:
        h = nn.Dense(self.dim, name="fc")(_norm(self.use_layer_norm, update_batch_norm)(x))
        h = nn.Dropout(self.dropout, deterministic=not train)(ACTIVATIONS[self.activation](h))
        return x + h if self.residual else h


class DeepSpeech(nn.Module):
    """``{"inputs", "input_paddings"} -> (logits, logit_paddings)`` at a quarter of the rate."""

    vocab_size: int
    encoder_dim: int = 512
    num_lstm_layers: int = 6
    num_ffn_layers: int = 3
    conv_channels: int = 512
    dropout_rate: float = 0.1
    activation: str = "relu"
    use_residual: bool = True
    use_layer_norm: bool = False
    use_decoder_layer_norm: bool = True
    spec_augment: SpecAugmentConfig | None = None

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], train: bool = False,
                 update_batch_norm: bool = False) -> tuple[jax.Array, jax.Array]:  # fmt: skip
        x = batch["inputs"].astype(jnp.float32)
        if self.spec_augment is not None:  # training mode only
            x = SpecAugment(self.spec_augment)(x, batch["input_paddings"], train)
        x = Subsample(self.conv_channels, self.encoder_dim, self.activation, self.dropout_rate,
                      name="subsample")(x, train)  # fmt: skip
        paddings = subsample_paddings(batch["input_paddings"])
        lengths = jnp.maximum((1 - paddings).sum(1).astype(jnp.int32), 1)
        for i in range(self.num_lstm_layers):
            y = BatchLSTM(self.encoder_dim, self.use_layer_norm, name=f"lstms_{i}")(
                x, lengths, update_batch_norm
            )
            x = x + y if self.use_residual else y
        for i in range(self.num_ffn_layers):
            ffn = FeedForward(self.encoder_dim, self.activation, self.dropout_rate,
                              self.use_residual, self.use_layer_norm, name=f"ffns_{i}")  # fmt: skip
            x = ffn(x, train, update_batch_norm)
        if self.use_decoder_layer_norm:
            x = nn.LayerNorm(epsilon=1e-5, name="layernorm")(x)
        return nn.Dense(self.vocab_size, name="head")(x), paddings


class DeepspeechWorkload(SpeechWorkload):
    """The deepspeech proxy in JAX; variants set the knobs of :func:`model_config`."""

    def build_model(self) -> nn.Module:
        return DeepSpeech(**model_config(self.overrides))
