"""ImageNet ViT proxy (JAX/Flax): the model, data and facts of ``pytorch.py``.

The Flax ViT mirrors :mod:`workloads.imagenet_vit.vit` (the same :class:`ViTConfig`,
variants and ``tiny`` sizes; the same fixed sin-cos position embedding): ``PatchConv``,
``Block_<i>`` with ``LayerNorm_0``/``LayerNorm_1``, ``Attention`` (a fused ``in_proj``
and ``out_proj``, laid out as PyTorch's ``nn.MultiheadAttention``) and ``Mlp``
(``fc1``, ``gate``, ``fc2``), the encoder's ``LayerNorm``, ``MapHead`` (``probe``,
``Attention``, ``LayerNorm``, ``Mlp``), ``pre_logits`` and ``head``; so PyTorch weights
map onto it by name (the parity test does). LayerNorm eps 1e-5 and exact GELU, as
PyTorch's defaults; dropout on attention weights and after each sublayer.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from autotune.frameworks.flax_init import torch_bias, torch_kernel, uniform_symmetric
from autotune.frameworks.jax_workload import JaxWorkload, NumpyBatch
from workloads.imagenet_resnet.photos import IMAGENET_PHOTOS, workload_photo_splits
from workloads.imagenet_vit.vit import ViTConfig, sincos_2d

SPLIT_SEED = 0  # as the PyTorch workload
xavier = nn.initializers.xavier_uniform()


class InProj(nn.Module):
    """The fused query/key/value projection's parameters: ``kernel (w, 3w)``, ``bias``."""

    width: int

    @nn.compact
    def __call__(self) -> tuple[jax.Array, jax.Array]:
        kernel = self.param("kernel", xavier, (self.width, 3 * self.width))
        return kernel, self.param("bias", nn.initializers.zeros, (3 * self.width,))


class Attention(nn.Module):
    """Multi-head attention of ``query`` over ``tokens`` (PyTorch's layout and init)."""

    width: int
    num_heads: int
    dropout_rate: float = 0.0

    @nn.compact
    def __call__(self, query: jax.Array, tokens: jax.Array, train: bool) -> jax.Array:
        w, h = self.width, self.num_heads
        kernel, bias = InProj(w, name="in_proj")()
        split = lambda x: x.reshape(*x.shape[:2], h, w // h)  # noqa: E731
        q = split(query @ kernel[:, :w] + bias[:w])
        k = split(tokens @ kernel[:, w : 2 * w] + bias[w : 2 * w])
        v = split(tokens @ kernel[:, 2 * w :] + bias[2 * w :])
        weights = jax.nn.softmax(jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(w // h), -1)
        weights = nn.Dropout(self.dropout_rate, deterministic=not train)(weights)
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(*query.shape[:2], w)
        return nn.Dense(w, kernel_init=torch_kernel, name="out_proj")(out)


class Mlp(nn.Module):
    """Dense -> exact GELU (-> self-gating, GLU variant) -> dropout -> Dense."""

    config: ViTConfig

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        c = self.config
        dense = lambda n, name: nn.Dense(n, kernel_init=xavier,  # noqa: E731
                                         bias_init=nn.initializers.normal(1e-6), name=name)  # fmt: skip
        y = nn.gelu(dense(c.mlp_dim, "fc1")(x), approximate=False)
        if c.use_glu:
            y = y * dense(c.mlp_dim, "gate")(y)
        y = nn.Dropout(c.dropout_rate, deterministic=not train)(y)
        return dense(c.width, "fc2")(y)


class Block(nn.Module):
    """Self-attention and MLP, each residual, LayerNorm before (or after) each."""

    config: ViTConfig

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        c = self.config
        norm1 = nn.LayerNorm(epsilon=1e-5, name="LayerNorm_0")
        norm2 = nn.LayerNorm(epsilon=1e-5, name="LayerNorm_1")
        attention = Attention(c.width, c.num_heads, c.dropout_rate, name="Attention")
        mlp = Mlp(c, name="Mlp")
        drop = nn.Dropout(c.dropout_rate, deterministic=not train)
        if c.use_post_layer_norm:
            x = norm1(x + drop(attention(x, x, train)))
            return norm2(x + drop(mlp(x, train)))
        y = norm1(x)
        x = x + drop(attention(y, y, train))
        return x + drop(mlp(norm2(x), train))


class MapHead(nn.Module):
    """Multi-head attention pooling: a learned probe attends over the tokens."""

    config: ViTConfig

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        c = self.config
        # torch's xavier_uniform_ of a (1, 1, w) tensor: fan_in = fan_out = w
        probe = self.param("probe", uniform_symmetric(float(np.sqrt(3 / c.width))), (1, 1, c.width))
        probe = jnp.broadcast_to(probe, (x.shape[0], 1, c.width))
        y = Attention(c.width, c.num_heads, name="Attention")(probe, x, train)
        y = y + Mlp(c, name="Mlp")(nn.LayerNorm(epsilon=1e-5, name="LayerNorm")(y), train)
        return y[:, 0]


class ViT(nn.Module):
    """``(B, 3, H, W)`` images -> ``(B, classes)`` logits."""

    config: ViTConfig

    @nn.compact
    def __call__(self, images: jax.Array, train: bool = False) -> jax.Array:
        c = self.config
        p, w = c.patch_size, c.width
        x = nn.Conv(w, (p, p), (p, p), padding="VALID", kernel_init=torch_kernel,
                    bias_init=torch_bias(3 * p * p), name="PatchConv")(
            jnp.transpose(images, (0, 2, 3, 1)))  # fmt: skip
        posemb = np.asarray(sincos_2d(c.image_size // p, w))
        x = x.reshape(x.shape[0], -1, w) + posemb
        x = nn.Dropout(c.dropout_rate, deterministic=not train)(x)
        for i in range(c.depth):
            x = Block(c, name=f"Block_{i}")(x, train)
        if not c.use_post_layer_norm:  # post-LN blocks already end in a LayerNorm
            x = nn.LayerNorm(epsilon=1e-5, name="LayerNorm")(x)
        pooled = MapHead(c, name="MapHead")(x, train) if c.use_map else x.mean(axis=1)
        if c.use_representation:
            dense = nn.Dense(
                w, kernel_init=torch_kernel, bias_init=torch_bias(w), name="pre_logits"
            )
            pooled = jnp.tanh(dense(pooled))
        zeros = nn.initializers.zeros
        return nn.Dense(c.num_classes, kernel_init=zeros, bias_init=zeros, name="head")(pooled)


class ImagenetVitWorkload(JaxWorkload):
    def build_model(self) -> nn.Module:
        return ViT(ViTConfig.from_overrides(self.overrides, num_classes=len(IMAGENET_PHOTOS)))

    def load_splits(self) -> dict[str, NumpyBatch]:
        return workload_photo_splits(self, IMAGENET_PHOTOS, SPLIT_SEED)
