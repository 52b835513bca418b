"""ImageNet ResNet proxy (JAX/Flax): the model, data and facts of ``pytorch.py``.

The Flax ResNet mirrors :mod:`workloads.imagenet_resnet.resnet` layer for layer (the
same :class:`ResNetConfig`, overrides and ``tiny`` sizes): ``StemConv``/``StemBatchNorm``,
``Block_<i>`` with ``Conv_<j>``/``BatchNorm_<j>`` (and ``ShortcutConv``/
``ShortcutBatchNorm``), ``fc``; so PyTorch weights map onto it by name (the parity test
does). Images arrive NCHW, as the shared numpy splits store them, and are transposed to
NHWC inside the model. Batch norm follows AlgoPerf's JAX workloads: statistics live in
the ``batch_stats`` collection (the model state); ``update_batch_norm=True`` normalises
with the batch's statistics and updates the running averages (momentum 0.9, i.e.
PyTorch's 0.1; eps 1e-5), ``False`` uses the running averages.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from autotune.errors import UserError
from autotune.frameworks.flax_init import he_fan_out
from autotune.frameworks.jax_workload import JaxWorkload, NumpyBatch
from workloads.imagenet_resnet.photos import IMAGENET_PHOTOS, workload_photo_splits
from workloads.imagenet_resnet.resnet import ResNetConfig

SPLIT_SEED = 0  # as the PyTorch workload
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu, "silu": nn.silu, "tanh": nn.tanh,
    "gelu": functools.partial(nn.gelu, approximate=False),  # torch's nn.GELU is exact
}  # fmt: skip


def _conv(features: int, kernel: int, stride: int = 1, name: str | None = None) -> nn.Conv:
    pad = kernel // 2  # torch's padding=kernel // 2, explicitly (not "SAME")
    return nn.Conv(features, (kernel, kernel), (stride, stride), padding=[(pad, pad)] * 2,
                   use_bias=False, kernel_init=he_fan_out, name=name)  # fmt: skip


class Block(nn.Module):
    """A basic (two 3x3) or bottleneck (1x1-3x3-1x1, x4) residual block."""

    config: ResNetConfig
    width: int
    stride: int

    @nn.compact
    def __call__(self, x: jax.Array, use_running_average: bool) -> jax.Array:
        c = self.config
        act = ACTIVATIONS[c.activation]
        norm = functools.partial(nn.BatchNorm, use_running_average=use_running_average,
                                 momentum=0.9, epsilon=1e-5)  # fmt: skip
        c_out = self.width * (4 if c.block == "bottleneck" else 1)
        if c.block == "bottleneck":
            shapes = [(self.width, 1, 1), (self.width, 3, self.stride), (c_out, 1, 1)]
        else:
            shapes = [(self.width, 3, self.stride), (c_out, 3, 1)]
        y = x
        for j, (features, kernel, stride) in enumerate(shapes):
            y = _conv(features, kernel, stride, name=f"Conv_{j}")(y)
            last = j == len(shapes) - 1
            scale_init = nn.initializers.constant(c.bn_init_scale if last else 1.0)
            y = norm(scale_init=scale_init, name=f"BatchNorm_{j}")(y)
            y = y if last else act(y)
        if self.stride != 1 or x.shape[-1] != c_out:
            x = _conv(c_out, 1, self.stride, name="ShortcutConv")(x)
            x = norm(name="ShortcutBatchNorm")(x)
        return act(y + x)


class ResNet(nn.Module):
    """Stem, stages of blocks (width doubling, stride 2 after the first), global average
    pooling and a linear classifier; ``(B, 3, H, W)`` images -> ``(B, classes)`` logits."""

    config: ResNetConfig

    @nn.compact
    def __call__(
        self, x: jax.Array, train: bool = False, update_batch_norm: bool | None = None
    ) -> jax.Array:
        c = self.config
        running = not (train if update_batch_norm is None else update_batch_norm)
        act = ACTIVATIONS[c.activation]
        if c.stem not in ("imagenet", "cifar", "proxy"):
            raise UserError(f"unknown ResNet stem '{c.stem}'; use imagenet, cifar or proxy")
        x = jnp.transpose(x, (0, 2, 3, 1))
        x = _conv(c.width, 7 if c.stem == "imagenet" else 3, 2 if c.stem == "imagenet" else 1,
                  name="StemConv")(x)  # fmt: skip
        x = act(nn.BatchNorm(running, momentum=0.9, epsilon=1e-5, name="StemBatchNorm")(x))
        if c.stem == "imagenet":
            x = nn.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))
        elif c.stem == "proxy":
            x = nn.max_pool(x, (2, 2), (2, 2))
        index = 0
        for stage, n_blocks in enumerate(c.stage_sizes):
            for b in range(n_blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                x = Block(c, c.width * 2**stage, stride, name=f"Block_{index}")(x, running)
                index += 1
        x = x.mean(axis=(1, 2))
        return nn.Dense(c.num_classes, kernel_init=nn.initializers.normal(0.01), name="fc")(x)


class ImagenetResnetWorkload(JaxWorkload):
    photos: tuple[str, ...] = IMAGENET_PHOTOS
    block = "bottleneck"

    def build_model(self) -> nn.Module:
        config = ResNetConfig.from_overrides(
            self.overrides, block=self.block, num_classes=len(self.photos)
        )
        return ResNet(config)

    def load_splits(self) -> dict[str, NumpyBatch]:
        return workload_photo_splits(self, self.photos, SPLIT_SEED)
