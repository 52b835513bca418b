"""fastMRI proxy (JAX/Flax): the U-Net, data, loss and SSIM metric of ``pytorch.py``.

The Flax U-Net mirrors :mod:`workloads.fastmri.unet` (the same :class:`UNetConfig`,
variants and ``tiny`` sizes): ``down_<i>``, ``bottom`` and ``up_conv_<i>`` conv blocks
of ``Conv_<j>`` (and ``GroupNorm_<j>`` in the layer-norm variant; instance norm has no
parameters), ``up_<i>/ConvTranspose`` and ``HeadConv``; so PyTorch weights map onto it
by name (the parity test does). Norm eps 1e-5 as PyTorch's; channel dropout
(``Dropout2d``) drops whole feature maps. SSIM is :mod:`workloads.fastmri.ssim`'s
computation in ``jax.numpy``; padded eval examples (weight 0) count in neither sum.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from autotune.errors import UserError
from autotune.frameworks.flax_init import torch_bias, torch_kernel
from autotune.frameworks.jax_workload import JaxWorkload, NumpyBatch
from workloads.fastmri.data import load_splits
from workloads.fastmri.unet import UNetConfig

EPS = 1e-5  # torch's InstanceNorm2d / GroupNorm default


def _instance_norm(x: jax.Array) -> jax.Array:
    """Per example and channel over the pixels, no affine parameters (NHWC)."""
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = jnp.square(x - mean).mean(axis=(1, 2), keepdims=True)
    return (x - mean) / jnp.sqrt(var + EPS)


def _act(config: UNetConfig, x: jax.Array) -> jax.Array:
    return jnp.tanh(x) if config.activation == "tanh" else nn.leaky_relu(x, 0.2)


class ConvBlock(nn.Module):
    """Two (3x3 conv without bias, norm, activation, channel dropout)."""

    config: UNetConfig
    features: int

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        c = self.config
        for j in range(2):
            x = nn.Conv(self.features, (3, 3), padding=((1, 1), (1, 1)), use_bias=False,
                        kernel_init=torch_kernel, name=f"Conv_{j}")(x)  # fmt: skip
            if c.use_layer_norm:  # over channels and pixels, as GroupNorm(1, C)
                x = nn.GroupNorm(num_groups=1, epsilon=EPS, name=f"GroupNorm_{j}")(x)
            else:
                x = _instance_norm(x)
            x = _act(c, x)
            x = nn.Dropout(c.dropout_rate, broadcast_dims=(1, 2), deterministic=not train)(x)
        return x


class UpBlock(nn.Module):
    """2x2 stride-2 transposed convolution, instance norm (in every variant), activation."""

    config: UNetConfig
    features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        # PyTorch's ConvTranspose2d, kernel laid out (kh, kw, out, in) as its gradient-of-conv
        up = nn.ConvTranspose(self.features, (2, 2), (2, 2), padding="VALID", use_bias=False,
                              kernel_init=torch_kernel, transpose_kernel=True,
                              name="ConvTranspose")  # fmt: skip
        return _act(self.config, _instance_norm(up(x)))


class UNet(nn.Module):
    """``(B, H, W)`` normalised zero-filled image -> ``(B, H, W)`` reconstruction."""

    config: UNetConfig

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        c = self.config
        if c.activation not in ("leaky_relu", "tanh"):
            raise UserError(f"unknown U-Net activation '{c.activation}'")
        ch, y, skips = c.num_channels, x[..., None], []
        for i in range(c.num_pool_layers):
            y = ConvBlock(c, ch * 2**i, name=f"down_{i}")(y, train)
            skips.append(y)
            y = nn.avg_pool(y, (2, 2), (2, 2))
        ch *= 2 ** (c.num_pool_layers - 1)
        y = ConvBlock(c, ch * 2, name="bottom")(y, train)
        for i in range(c.num_pool_layers):
            skip = skips.pop()
            y = UpBlock(c, ch, name=f"up_{i}")(y)
            dh, dw = skip.shape[1] - y.shape[1], skip.shape[2] - y.shape[2]
            if dh or dw:  # reflect-pad when an odd size was pooled, as AlgoPerf does
                y = jnp.pad(y, ((0, 0), (0, dh), (0, dw), (0, 0)), mode="reflect")
            y = ConvBlock(c, ch, name=f"up_conv_{i}")(jnp.concatenate([y, skip], -1), train)
            ch //= 2
        head = nn.Conv(1, (1, 1), kernel_init=torch_kernel, bias_init=torch_bias(ch * 2),
                       name="HeadConv")  # fmt: skip
        return head(y)[..., 0]


def _uniform_filter(x: jax.Array, size: int) -> jax.Array:
    """Mean over ``size`` x ``size`` windows of a symmetric-padded ``(B, H, W)`` batch."""
    pad = size // 2
    padded = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad)), mode="symmetric")[..., None]
    return nn.avg_pool(padded, (size, size), (1, 1))[..., 0]


def ssim(outputs: jax.Array, batch: dict[str, Any], win_size: int = 7) -> jax.Array:
    """Per-example SSIM in image units (see :mod:`workloads.fastmri.ssim`), ``(B,)``."""
    scale, shift = batch["std"][:, None, None], batch["mean"][:, None, None]
    im1, im2 = outputs * scale + shift, batch["targets"] * scale + shift
    volume_max = batch["volume_max"]
    r = jnp.where(volume_max == 0, 1.0, volume_max)[:, None, None]
    cov_norm = win_size**2 / (win_size**2 - 1)
    ux, uy = _uniform_filter(im1, win_size), _uniform_filter(im2, win_size)
    vx = cov_norm * (_uniform_filter(im1 * im1, win_size) - ux * ux)
    vy = cov_norm * (_uniform_filter(im2 * im2, win_size) - uy * uy)
    vxy = cov_norm * (_uniform_filter(im1 * im2, win_size) - ux * uy)
    c1, c2 = (0.01 * r) ** 2, (0.03 * r) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    pad = (win_size - 1) // 2
    return jnp.clip(s[:, pad:-pad, pad:-pad].mean(axis=(1, 2)), -1.0, 1.0)


class FastmriWorkload(JaxWorkload):
    def build_model(self) -> nn.Module:
        return UNet(UNetConfig.from_overrides(self.overrides))

    def load_splits(self) -> dict[str, NumpyBatch]:
        return load_splits(self, int(self.overrides.get("image_size", 32)))

    def split_metrics(self, logits: jax.Array, batch: dict[str, jax.Array]) -> dict[str, Any]:
        weights = batch["weights"]
        per_example = self.loss_fn(batch["targets"], logits, weights)["per_example"]
        return {"loss": per_example.sum(), "ssim": (ssim(logits, batch) * weights).sum()}
