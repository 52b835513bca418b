"""librispeech_conformer proxy (JAX/Flax): the model of ``workloads/librispeech_conformer/pytorch.py``.

The same Conformer: SpecAugment when ``train`` and ``spec_augment`` (full size; keys
from the ``dropout`` stream), the shared convolutional subsampler, sinusoidal positions, then
blocks of half-step feed-forward, self-attention over unpadded frames (queries scaled
by AlgoPerf's learned ``1.4427 softplus(s)``, logits divided by
``attention_temperature``), the convolution module (GLU, bias-free depthwise
convolution as shifted products, batch norm, swish) and half-step feed-forward, with an optional final
LayerNorm; then LayerNorm and a linear head. Batch norm uses the batch's statistics iff
``update_batch_norm`` (AlgoPerf's JAX convention). Module names follow PyTorch's
(``blocks_<i>``, ``ff1``/``ff2`` with ``layernorm``, ``net_1``, ``net_4``; ``attn``;
``conv`` with ``batchnorm`` for its ``bn``), so weights map by name. Data, CTC loss and
WER: :mod:`workloads.speech.flax_workload`.
"""

from __future__ import annotations

import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from workloads.librispeech_conformer.config import model_config
from workloads.speech import flax_layers as layers
from workloads.speech.flax_workload import SpeechWorkload
from workloads.speech.spec_augment import SpecAugmentConfig

QUERY_SCALE_NORM = 1.0 / math.log(2.0)  # makes softplus(0) scale queries by 1
LayerNorm = functools.partial(nn.LayerNorm, epsilon=1e-5)  # torch.nn.LayerNorm's


class FeedForward(nn.Module):
    dropout: float
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        dim = x.shape[-1]
        h = nn.Dense(4 * dim, name="net_1")(LayerNorm(name="layernorm")(x))
        h = nn.Dropout(self.dropout, deterministic=not train)(
            layers.ACTIVATIONS[self.activation](h)
        )
        h = nn.Dense(dim, name="net_4")(h)
        return nn.Dropout(self.dropout, deterministic=not train)(h)


class SelfAttention(nn.Module):
    heads: int
    dropout: float
    temperature: float

    @nn.compact
    def __call__(self, x: jax.Array, key_mask: jax.Array, train: bool) -> jax.Array:
        b, t, dim = x.shape
        qkv = nn.Dense(3 * dim, name="qkv")(LayerNorm(name="layernorm")(x))
        q, k, v = (a.reshape(b, t, self.heads, -1) for a in jnp.split(qkv, 3, -1))
        query_scale = self.param("query_scale", nn.initializers.zeros, (dim // self.heads,))
        q = q * (QUERY_SCALE_NORM * jax.nn.softplus(query_scale))
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / (math.sqrt(q.shape[-1]) * self.temperature)
        logits = jnp.where(key_mask[:, None, None, :], logits, jnp.finfo(logits.dtype).min)
        y = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(logits, -1), v).reshape(b, t, dim)
        return nn.Dropout(self.dropout, deterministic=not train)(nn.Dense(dim, name="out")(y))


class DepthwiseConv(nn.Module):
    """PyTorch's ``Conv1d(dim, dim, k, padding=k // 2, groups=dim, bias=False)`` over
    time, output cut to the input's length; a sum of ``k`` shifted products (XLA's
    grouped convolution is several times slower on CPU). Kernel ``[k, 1, dim]`` as
    Flax's ``nn.Conv`` stores it."""

    kernel: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        t, dim, pad = x.shape[1], x.shape[-1], self.kernel // 2
        w = self.param("kernel", nn.initializers.lecun_normal(), (self.kernel, 1, dim))
        padded = jnp.pad(x, ((0, 0), (pad, pad), (0, 0)))
        return sum(padded[:, i : i + t] * w[i, 0] for i in range(self.kernel))  # type: ignore[return-value]


class ConvModule(nn.Module):
    """LN -> pointwise (2d) -> GLU -> depthwise conv -> BN -> swish -> pointwise."""

    kernel: int
    dropout: float

    @nn.compact
    def __call__(self, x: jax.Array, valid: jax.Array, train: bool,
                 update_batch_norm: bool) -> jax.Array:  # fmt: skip
        dim = x.shape[-1]
        h = nn.Dense(2 * dim, name="expand")(LayerNorm(name="layernorm")(x))
        h = nn.glu(h, -1) * valid[..., None]
        h = DepthwiseConv(self.kernel, name="depthwise")(h)
        h = nn.silu(layers.batch_norm(update_batch_norm)(h))
        return nn.Dropout(self.dropout, deterministic=not train)(nn.Dense(dim, name="project")(h))


class ConformerBlock(nn.Module):
    heads: int
    kernel: int
    dropout: float
    temperature: float
    post_layer_norm: bool
    activation: str

    @nn.compact
    def __call__(self, x: jax.Array, valid: jax.Array, train: bool,
                 update_batch_norm: bool) -> jax.Array:  # fmt: skip
        x = x + 0.5 * FeedForward(self.dropout, self.activation, name="ff1")(x, train)
        attn = SelfAttention(self.heads, self.dropout, self.temperature, name="attn")
        x = x + attn(x, valid > 0, train)
        conv = ConvModule(self.kernel, self.dropout, name="conv")
        x = x + conv(x, valid, train, update_batch_norm)
        x = x + 0.5 * FeedForward(self.dropout, self.activation, name="ff2")(x, train)
        return LayerNorm(name="layernorm")(x) if self.post_layer_norm else x


class Conformer(nn.Module):
    """``{"inputs", "input_paddings"} -> (logits, logit_paddings)`` at a quarter of the rate."""

    vocab_size: int
    encoder_dim: int = 512
    num_heads: int = 8
    num_blocks: int = 4
    kernel_size: int = 5
    subsample_channels: int = 512
    dropout_rate: float = 0.1
    attention_temperature: float = 1.0
    use_post_layer_norm: bool = True
    activation: str = "swish"
    spec_augment: SpecAugmentConfig | None = None

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], train: bool = False,
                 update_batch_norm: bool = False) -> tuple[jax.Array, jax.Array]:  # fmt: skip
        x = batch["inputs"].astype(jnp.float32)
        if self.spec_augment is not None:  # training mode only
            x = layers.SpecAugment(self.spec_augment)(x, batch["input_paddings"], train)
        x = layers.Subsample(self.subsample_channels, self.encoder_dim, "relu", self.dropout_rate,
                      name="subsample")(x, train)  # fmt: skip
        paddings = layers.subsample_paddings(batch["input_paddings"])
        x = x + layers.sinusoidal(x.shape[1], x.shape[-1])
        valid = 1.0 - paddings
        for i in range(self.num_blocks):
            x = ConformerBlock(self.num_heads, self.kernel_size, self.dropout_rate,
                               self.attention_temperature, self.use_post_layer_norm,
                               self.activation, name=f"blocks_{i}")(
                x, valid, train, update_batch_norm)  # fmt: skip
        return nn.Dense(self.vocab_size, name="head")(LayerNorm(name="layernorm")(x)), paddings


class ConformerWorkload(SpeechWorkload):
    """The conformer proxy in JAX; variants set ``attention_temperature``,
    ``use_post_layer_norm`` or ``activation``."""

    def build_model(self) -> nn.Module:
        return Conformer(**model_config(self.overrides))
